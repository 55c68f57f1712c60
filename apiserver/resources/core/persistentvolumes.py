"""PersistentVolumes (core/v1): cluster-scoped storage, bound to at most one claim.

The strategy follows upstream v1.32: reclaim policy Retain and volume mode Filesystem by default, status
`{phase: Pending, lastPhaseTransitionTime}` on create; access modes, a positive `storage` capacity and exactly
one volume source are required; the volume source and mode never change. The access-mode and quantity rules are
shared with claims.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from apiserver.meta.objects import format_time
from apiserver.meta.validation import FIELD_IMMUTABLE_MESSAGE, FieldError, FieldErrors, FieldPath
from apiserver.registry.columns import UNSET, access_modes, dig, mapping, sequence, text
from apiserver.registry.context import RequestContext
from apiserver.registry.spec import AGE, NAME, Column, JSONObject, ResourceSpec, Subresource
from apiserver.registry.strategy import DefaultStrategy, MutableObject
from apiserver.resources.core.namespaces import default_status_phase
from apiserver.resources.core.podspec_defaults import default_volume_sources
from apiserver.resources.core.podspec_diff import spec_diff
from apiserver.resources.core.podspec_resources import quantity_of

ACCESS_MODES: Final = ("ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod")
VOLUME_MODES: Final = ("Block", "Filesystem")
RECLAIM_POLICIES: Final = ("Delete", "Recycle", "Retain")
PV_SOURCES: Final = (
    "gcePersistentDisk", "awsElasticBlockStore", "hostPath", "glusterfs", "nfs", "rbd", "quobyte", "iscsi",
    "cinder", "cephfs", "fc", "flocker", "flexVolume", "azureFile", "vsphereVolume", "azureDisk",
    "photonPersistentDisk", "portworxVolume", "scaleIO", "local", "storageos", "csi",
)
_SOURCE_REQUIRED: Final = {"hostPath": ("path",), "local": ("path",), "nfs": ("server", "path"),
                           "csi": ("driver", "volumeHandle")}

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

def _spec_of(obj: MutableObject) -> dict[str, Any]:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        spec = obj["spec"] = {}
    return spec


def validate_access_modes(modes: list[Any], path: FieldPath, detail: str = "") -> FieldErrors:
    """Required, each supported, ReadWriteOncePod alone."""
    if not modes:
        return [FieldError.required(path, detail)]
    errors = [FieldError.not_supported(path, mode, ACCESS_MODES) for mode in modes if mode not in ACCESS_MODES]
    if "ReadWriteOncePod" in modes and any(mode != "ReadWriteOncePod" for mode in modes):
        errors.append(FieldError.forbidden(path, "may not use ReadWriteOncePod with other access modes"))
    return errors


def validate_positive_storage(value: object, path: FieldPath) -> FieldErrors:
    quantity = quantity_of(value)
    if quantity is not None and quantity.value <= 0:
        return [FieldError.invalid(path, str(quantity), "must be greater than zero")]
    return []


def validate_volume_mode(spec: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    mode = spec.get("volumeMode")
    return [FieldError.not_supported(path, mode, VOLUME_MODES)] if mode is not None and mode not in VOLUME_MODES else []


def _validate_source(spec: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    present = [kind for kind in PV_SOURCES if spec.get(kind) is not None]
    if not present:
        return [FieldError.required(path, "must specify a volume type")]
    errors = [FieldError.forbidden(path.child(kind), "may not specify more than 1 volume type") for kind in present[1:]]
    source = mapping(spec.get(present[0]))
    errors.extend(FieldError.required(path.child(present[0], key))
                  for key in _SOURCE_REQUIRED.get(present[0], ()) if not source.get(key))
    return errors


def validate_persistent_volume(obj: Mapping[str, Any]) -> FieldErrors:
    spec, path = mapping(obj.get("spec")), FieldPath("spec")
    errors = validate_access_modes(list(sequence(spec.get("accessModes"))), path.child("accessModes"))
    capacity = mapping(spec.get("capacity"))
    if not capacity:
        errors.append(FieldError.required(path.child("capacity")))
    policy = spec.get("persistentVolumeReclaimPolicy")
    if policy not in RECLAIM_POLICIES:
        errors.append(FieldError.not_supported(path.child("persistentVolumeReclaimPolicy"), policy, RECLAIM_POLICIES))
    if "storage" not in capacity or len(capacity) > 1:
        errors.append(FieldError.not_supported(path.child("capacity"), dict(sorted(capacity.items())), ["storage"]))
    for name in sorted(capacity):
        errors.extend(validate_positive_storage(capacity[name], path.child("capacity").key(name)))
    errors.extend(_validate_source(spec, path))
    return errors + validate_volume_mode(spec, path.child("volumeMode"))


class PersistentVolumeStrategy(DefaultStrategy):
    """Defaults, initial status and update rules of PersistentVolumes."""

    def default(self, obj: MutableObject) -> None:
        """Upstream's scheme defaults, applied by the endpoints when they decode a body."""
        spec = _spec_of(obj)
        if not spec.get("persistentVolumeReclaimPolicy"):
            spec["persistentVolumeReclaimPolicy"] = "Retain"
        if spec.get("volumeMode") is None:
            spec["volumeMode"] = "Filesystem"
        default_volume_sources(spec)
        default_status_phase(obj, "Pending")

    def prepare_for_create(self, obj: MutableObject, ctx: RequestContext) -> None:
        self.prepare_for_update(obj, obj, ctx)
        obj["status"] = {"phase": "Pending", "lastPhaseTransitionTime": format_time(ctx.now())}

    def prepare_for_update(self, obj: MutableObject, old: MutableObject, ctx: RequestContext) -> None:
        spec = _spec_of(obj)
        if not spec.get("persistentVolumeReclaimPolicy"):
            spec["persistentVolumeReclaimPolicy"] = "Retain"
        if spec.get("volumeMode") is None:
            spec["volumeMode"] = "Filesystem"
        default_volume_sources(spec)

    def validate(self, obj: MutableObject, ctx: RequestContext) -> FieldErrors:
        return validate_persistent_volume(obj)

    def validate_update(self, obj: MutableObject, old: MutableObject, ctx: RequestContext) -> FieldErrors:
        errors = validate_persistent_volume(obj)
        new_spec, old_spec = mapping(obj.get("spec")), mapping(old.get("spec"))
        new_source = {kind: new_spec[kind] for kind in PV_SOURCES if kind in new_spec}
        old_source = {kind: old_spec[kind] for kind in PV_SOURCES if kind in old_spec}
        if new_source != old_source:
            detail = "spec.persistentvolumesource is immutable after creation\n"
            detail += spec_diff(old_source, new_source, "core.PersistentVolumeSource")
            errors.append(FieldError.forbidden(FieldPath("spec", "persistentvolumesource"), detail))
        if new_spec.get("volumeMode") != old_spec.get("volumeMode"):
            errors.append(FieldError.invalid(FieldPath("volumeMode"), new_spec.get("volumeMode"),
                                             FIELD_IMMUTABLE_MESSAGE))
        return errors


SPEC = ResourceSpec(
    group="", version="v1", kind="PersistentVolume", plural="persistentvolumes", namespaced=False,
    short_names=("pv",), subresources=(Subresource("status", "PersistentVolume"),),
    strategy=PersistentVolumeStrategy(), columns=COLUMNS,
)
