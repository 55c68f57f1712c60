"""CSIStorageCapacities (storage.k8s.io/v1): capacity a CSI driver reports per topology segment and class."""
from __future__ import annotations

from apiserver.registry.columns import UNSET, text
from apiserver.registry.spec import NAME, Column, ResourceSpec

COLUMNS = (
    NAME,
    Column("StorageClassName", "string", description="The storage class this capacity applies to.",
           value=lambda obj, now: text(obj.get("storageClassName"))),
    Column("Capacity", "string", description="The reported available capacity.",
           value=lambda obj, now: text(obj.get("capacity")) if obj.get("capacity") is not None else UNSET),
)

SPEC = ResourceSpec(
    group="storage.k8s.io", version="v1", kind="CSIStorageCapacity", plural="csistoragecapacities",
    namespaced=True, columns=COLUMNS,
)
