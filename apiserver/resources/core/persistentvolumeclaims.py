"""PersistentVolumeClaims (core/v1): a namespaced request for storage, bound to a PersistentVolume.

The strategy follows upstream v1.32: volumeMode defaults to Filesystem, status is `{phase: Pending}` on create;
access modes and a positive `resources.requests[storage]` are required; after creation the spec may only gain
its volumeName once, and (for a bound claim) change resources.requests and volumeAttributesClassName, and the
requested storage may not shrink.
"""
from __future__ import annotations

import copy
from datetime import datetime
from typing import Any, Final

from apiserver.meta.validation import FIELD_IMMUTABLE_MESSAGE, FieldError, FieldErrors, FieldPath, is_dns1123_subdomain
from apiserver.registry.columns import access_modes, dig, mapping, sequence, text
from apiserver.registry.context import RequestContext
from apiserver.registry.spec import AGE, NAME, Column, JSONObject, ResourceSpec, Subresource
from apiserver.registry.strategy import DefaultStrategy, MutableObject
from apiserver.resources.core.namespaces import default_status_phase
from apiserver.resources.core.persistentvolumes import (
    optional_text,
    phase_or_terminating,
    storage_class,
    validate_access_modes,
    validate_positive_storage,
    validate_volume_mode,
)
from apiserver.resources.core.podspec_diff import spec_diff
from apiserver.resources.core.podspec_resources import quantity_of

SPEC_PATH: Final = FieldPath("spec")
IMMUTABLE_SPEC: Final = (
    "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims"
)


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

def validate_claim_spec(spec: dict[str, Any], path: FieldPath) -> FieldErrors:
    """ValidatePersistentVolumeClaimSpec (also for the claim templates of StatefulSets and ephemeral volumes)."""
    errors = validate_access_modes(list(sequence(spec.get("accessModes"))), path.child("accessModes"),
                                   "at least 1 access mode is required")
    storage_path = path.child("resources").key("storage")
    requests = mapping(mapping(spec.get("resources")).get("requests"))
    if "storage" not in requests:
        errors.append(FieldError.required(storage_path))
    else:
        errors.extend(validate_positive_storage(requests["storage"], storage_path))
    class_name = spec.get("storageClassName")
    if isinstance(class_name, str) and class_name:
        errors.extend(FieldError.invalid(path.child("storageClassName"), class_name, message)
                      for message in is_dns1123_subdomain(class_name))
    return errors + validate_volume_mode(spec, path.child("volumeMode"))


def _storage(spec: dict[str, Any]) -> Any:
    return mapping(mapping(spec.get("resources")).get("requests")).get("storage")


def _validate_claim_update(new: MutableObject, old: MutableObject) -> FieldErrors:
    new_spec, old_spec = copy.deepcopy(_spec_of(new)), copy.deepcopy(_spec_of(old))
    if not text(old_spec.get("volumeName")):
        old_spec.pop("volumeName", None)
        if "volumeName" in new_spec:
            old_spec["volumeName"] = new_spec["volumeName"]
    bound = dig(new, "status", "phase") == "Bound"
    if bound and isinstance(mapping(new_spec.get("resources")).get("requests"), dict):
        new_spec["resources"]["requests"]["storage"] = _storage(old_spec)
    if bound and new_spec.get("volumeAttributesClassName") is not None:
        new_spec["volumeAttributesClassName"] = old_spec.get("volumeAttributesClassName")
    errors: FieldErrors = []
    if new_spec != old_spec:
        detail = f"{IMMUTABLE_SPEC}\n{spec_diff(old_spec, new_spec, 'core.PersistentVolumeClaimSpec')}"
        errors.append(FieldError.forbidden(SPEC_PATH, detail))
    new_size, old_size = quantity_of(_storage(_spec_of(new))), quantity_of(_storage(_spec_of(old)))
    if new_size is not None and old_size is not None and new_size.value < old_size.value:
        errors.append(FieldError.forbidden(SPEC_PATH.child("resources", "requests", "storage"),
                                           "field can not be less than previous value"))
    if _spec_of(new).get("volumeMode") != _spec_of(old).get("volumeMode"):
        errors.append(FieldError.invalid(FieldPath("volumeMode"), _spec_of(new).get("volumeMode"),
                                         FIELD_IMMUTABLE_MESSAGE))
    return errors


def _spec_of(obj: MutableObject) -> dict[str, Any]:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        spec = obj["spec"] = {}
    return spec


class PersistentVolumeClaimStrategy(DefaultStrategy):
    """Defaults, initial status and update rules of PersistentVolumeClaims."""

    def default(self, obj: MutableObject) -> None:
        """Upstream's scheme defaults, applied by the endpoints when they decode a body."""
        spec = _spec_of(obj)
        if spec.get("volumeMode") is None:
            spec["volumeMode"] = "Filesystem"
        default_status_phase(obj, "Pending")

    def prepare_for_create(self, obj: MutableObject, ctx: RequestContext) -> None:
        self.prepare_for_update(obj, obj, ctx)
        obj["status"] = {"phase": "Pending"}

    def prepare_for_update(self, obj: MutableObject, old: MutableObject, ctx: RequestContext) -> None:
        spec = _spec_of(obj)
        if spec.get("volumeMode") is None:
            spec["volumeMode"] = "Filesystem"

    def validate(self, obj: MutableObject, ctx: RequestContext) -> FieldErrors:
        return validate_claim_spec(_spec_of(obj), SPEC_PATH)

    def validate_update(self, obj: MutableObject, old: MutableObject, ctx: RequestContext) -> FieldErrors:
        return validate_claim_spec(_spec_of(obj), SPEC_PATH) + _validate_claim_update(obj, old)


SPEC = ResourceSpec(
    group="", version="v1", kind="PersistentVolumeClaim", plural="persistentvolumeclaims", namespaced=True,
    short_names=("pvc",), subresources=(Subresource("status", "PersistentVolumeClaim"),),
    strategy=PersistentVolumeClaimStrategy(), columns=COLUMNS,
)
