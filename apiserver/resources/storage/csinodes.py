"""CSINodes (storage.k8s.io/v1): the CSI drivers registered on each node."""
from __future__ import annotations

from apiserver.registry.columns import dig, sequence
from apiserver.registry.spec import AGE, NAME, Column, ResourceSpec

COLUMNS = (
    NAME,
    Column("Drivers", "integer", description="Drivers indicates the number of CSI drivers registered on the node",
           value=lambda obj, now: len(sequence(dig(obj, "spec", "drivers")))),
    AGE,
)

SPEC = ResourceSpec(
    group="storage.k8s.io", version="v1", kind="CSINode", plural="csinodes", namespaced=False, columns=COLUMNS,
)
