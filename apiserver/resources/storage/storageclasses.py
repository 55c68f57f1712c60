"""StorageClasses (storage.k8s.io/v1): provisioners and parameters for dynamic volumes."""
from __future__ import annotations

from datetime import datetime

from apiserver.registry.columns import dig, mapping, text
from apiserver.registry.spec import AGE, Column, JSONObject, ResourceSpec

DEFAULT_CLASS_ANNOTATIONS = (
    "storageclass.kubernetes.io/is-default-class",
    "storageclass.beta.kubernetes.io/is-default-class",
)


def class_name(obj: JSONObject, now: datetime | None = None) -> str:
    """The name, with ` (default)` appended for the cluster's default class."""
    name = text(dig(obj, "metadata", "name"))
    annotations = mapping(dig(obj, "metadata", "annotations"))
    is_default = any(annotations.get(key) == "true" for key in DEFAULT_CLASS_ANNOTATIONS)
    return f"{name} (default)" if is_default else name


COLUMNS = (
    Column("Name", "string", "name", "Name of the object, unique within its namespace.", value=class_name),
    Column("Provisioner", "string", description="The provisioner of volumes of this class.",
           value=lambda obj, now: text(obj.get("provisioner"))),
    Column("ReclaimPolicy", "string", description="What happens to released volumes of this class.",
           value=lambda obj, now: text(obj.get("reclaimPolicy")) or "Delete"),
    Column("VolumeBindingMode", "string", description="When volumes are bound and provisioned.",
           value=lambda obj, now: text(obj.get("volumeBindingMode")) or "Immediate"),
    Column("AllowVolumeExpansion", "string", description="Whether volumes of this class may be expanded.",
           value=lambda obj, now: obj.get("allowVolumeExpansion") is True),
    AGE,
)

SPEC = ResourceSpec(
    group="storage.k8s.io", version="v1", kind="StorageClass", plural="storageclasses", namespaced=False,
    short_names=("sc",), columns=COLUMNS,
)
