"""PersistentVolumes (core/v1): cluster-scoped storage, bound to at most one claim."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from apiserver.registry.columns import UNSET, access_modes, dig, text
from apiserver.registry.spec import AGE, NAME, Column, JSONObject, ResourceSpec, Subresource

# The beta annotation still wins over spec.storageClassName, as upstream's GetPersistentVolumeClass decides.
STORAGE_CLASS_ANNOTATION = "volume.beta.kubernetes.io/storage-class"


def storage_class(obj: JSONObject, now: datetime | None = None) -> str:
    """The class from the beta annotation when present, else spec.storageClassName."""
    annotations = dig(obj, "metadata", "annotations")
    if isinstance(annotations, Mapping) and STORAGE_CLASS_ANNOTATION in annotations:
        return text(annotations[STORAGE_CLASS_ANNOTATION])
    return text(dig(obj, "spec", "storageClassName"))


def phase_or_terminating(obj: JSONObject, now: datetime | None = None) -> str:
    """status.phase, or `Terminating` once deletion has begun."""
    if dig(obj, "metadata", "deletionTimestamp") is not None:
        return "Terminating"
    return text(dig(obj, "status", "phase"))


def optional_text(obj: JSONObject, *path: str) -> str:
    """A *string field, `<unset>` when nil."""
    value = dig(obj, *path)
    return text(value) if value is not None else UNSET


def _claim(obj: JSONObject, now: datetime) -> str:
    claim = dig(obj, "spec", "claimRef")
    if claim is None:
        return ""
    return f"{text(dig(claim, 'namespace'))}/{text(dig(claim, 'name'))}"


def _capacity(obj: JSONObject, now: datetime) -> str:
    # Quantities are shown as stored; the store keeps them in canonical form.
    return text(dig(obj, "spec", "capacity", "storage")) or "0"


COLUMNS = (
    NAME,
    Column("Capacity", "string", description="The storage capacity of the volume.", value=_capacity),
    Column("Access Modes", "string", description="The ways the volume can be mounted.",
           value=lambda obj, now: access_modes(dig(obj, "spec", "accessModes"))),
    Column("Reclaim Policy", "string", description="What happens to the volume when released from its claim.",
           value=lambda obj, now: text(dig(obj, "spec", "persistentVolumeReclaimPolicy"))),
    Column("Status", "string", description="The phase of the volume.", value=phase_or_terminating),
    Column("Claim", "string", description="The claim bound to this volume.", value=_claim),
    Column("StorageClass", "string", description="StorageClass of the pv", value=storage_class),
    Column("VolumeAttributesClass", "string", description="VolumeAttributesClass of the pv",
           value=lambda obj, now: optional_text(obj, "spec", "volumeAttributesClassName")),
    Column("Reason", "string", description="Why the volume is in its phase, if it failed.",
           value=lambda obj, now: text(dig(obj, "status", "reason"))),
    AGE,
    Column("VolumeMode", "string", priority=1, description="Whether the volume is a filesystem or a raw block.",
           value=lambda obj, now: optional_text(obj, "spec", "volumeMode")),
)

SPEC = ResourceSpec(
    group="", version="v1", kind="PersistentVolume", plural="persistentvolumes", namespaced=False,
    short_names=("pv",), subresources=(Subresource("status", "PersistentVolume"),), columns=COLUMNS,
)
