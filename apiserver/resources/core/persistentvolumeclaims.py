"""PersistentVolumeClaims (core/v1): a namespaced request for storage, bound to a PersistentVolume."""
from __future__ import annotations

from datetime import datetime

from apiserver.registry.columns import access_modes, dig, text
from apiserver.registry.spec import AGE, NAME, Column, JSONObject, ResourceSpec, Subresource
from apiserver.resources.core.persistentvolumes import optional_text, phase_or_terminating, storage_class


def _bound(obj: JSONObject) -> bool:
    return bool(text(dig(obj, "spec", "volumeName")))


def _capacity(obj: JSONObject, now: datetime) -> str:
    # Capacity and access modes describe the bound volume, so they stay empty until the claim is bound.
    return (text(dig(obj, "status", "capacity", "storage")) or "0") if _bound(obj) else ""


COLUMNS = (
    NAME,
    Column("Status", "string", description="The phase of the claim.", value=phase_or_terminating),
    Column("Volume", "string", description="The volume bound to this claim.",
           value=lambda obj, now: text(dig(obj, "spec", "volumeName"))),
    Column("Capacity", "string", description="The capacity of the bound volume.", value=_capacity),
    Column("Access Modes", "string", description="The access modes of the bound volume.",
           value=lambda obj, now: access_modes(dig(obj, "status", "accessModes")) if _bound(obj) else ""),
    Column("StorageClass", "string", description="StorageClass of the pvc", value=storage_class),
    Column("VolumeAttributesClass", "string", description="VolumeAttributesClass of the pvc",
           value=lambda obj, now: optional_text(obj, "spec", "volumeAttributesClassName")),
    AGE,
    Column("VolumeMode", "string", priority=1, description="Whether the claim wants a filesystem or a raw block.",
           value=lambda obj, now: optional_text(obj, "spec", "volumeMode")),
)

SPEC = ResourceSpec(
    group="", version="v1", kind="PersistentVolumeClaim", plural="persistentvolumeclaims", namespaced=True,
    short_names=("pvc",), subresources=(Subresource("status", "PersistentVolumeClaim"),), columns=COLUMNS,
)
