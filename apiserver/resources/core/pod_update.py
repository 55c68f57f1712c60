"""What an update of a pod's spec may change: upstream v1.32's ValidatePodUpdate.

Images of containers and init containers, activeDeadlineSeconds (set, or lowered), tolerations (additions, and
tolerationSeconds of existing ones), removal of scheduling gates, and terminationGracePeriodSeconds from a
negative value to 1. Anything else is one Forbidden error on `spec` whose text lists the mutable fields and ends
with a diff of the old spec against the new one. Upstream prints that diff with go-cmp over its internal Go
types, whose output is unstable by design; `spec_diff` prints the same shape (Go field names, `-`/`+` lines,
elided identical fields), not the same bytes.
"""
from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, Final

from apiserver.meta.validation import FieldError, FieldErrors, FieldPath
from apiserver.resources.core.podspec import validate_tolerations
from apiserver.resources.core.podspec_diff import spec_diff
from apiserver.resources.core.podspec_fields import MAX_INT32, inclusive_range_message, items, mapping, number, text
from apiserver.resources.core.podspec_resources import compute_qos_class

SPEC_PATH: Final = FieldPath("spec")
UPDATABLE_FIELDS: Final = (
    "`spec.containers[*].image`",
    "`spec.initContainers[*].image`",
    "`spec.activeDeadlineSeconds`",
    "`spec.tolerations` (only additions to existing tolerations)",
    "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
)
FORBIDDEN_PREFIX: Final = "pod updates may not change fields other than " + ",".join(UPDATABLE_FIELDS)


def validate_container_updates(new: list[Mapping[str, Any]], old: list[Mapping[str, Any]],
                               path: FieldPath) -> tuple[FieldErrors, bool]:
    """ValidateContainerUpdates: the same number of containers, each with an image; True means stop here."""
    if len(new) != len(old):
        return [FieldError.forbidden(path, "pod updates may not add or remove containers")], True
    errors: FieldErrors = []
    for index, container in enumerate(new):
        image = text(container.get("image"))
        if not image:
            errors.append(FieldError.required(path.index(index).child("image")))
        if image.strip() != image:
            errors.append(FieldError.invalid(path.index(index).child("image"), image,
                                             "must not have leading or trailing whitespace"))
    return errors, False


def _validate_deadline(new: Mapping[str, Any], old: Mapping[str, Any]) -> FieldErrors:
    path = SPEC_PATH.child("activeDeadlineSeconds")
    new_deadline, old_deadline = number(new.get("activeDeadlineSeconds")), number(old.get("activeDeadlineSeconds"))
    if new_deadline is not None:
        if not 0 <= new_deadline <= MAX_INT32:
            return [FieldError.invalid(path, new_deadline, inclusive_range_message(0, MAX_INT32))]
        if old_deadline is not None and old_deadline < new_deadline:
            return [FieldError.invalid(path, new_deadline, "must be less than or equal to previous value")]
    elif old_deadline is not None:
        return [FieldError.invalid(path, None, "must not update from a positive integer to nil value")]
    return []


def _validate_tolerations(new: list[Mapping[str, Any]], old: list[Mapping[str, Any]]) -> FieldErrors:
    path = SPEC_PATH.child("tolerations")
    for existing in old:
        unchanged = {key: value for key, value in existing.items() if key != "tolerationSeconds"}
        if not any({key: value for key, value in candidate.items() if key != "tolerationSeconds"} == unchanged
                   for candidate in new):
            return [FieldError.forbidden(path, "existing toleration can not be modified except its tolerationSeconds")]
    return validate_tolerations(new, path)


def _validate_scheduling_gates(new: list[Mapping[str, Any]], old: list[Mapping[str, Any]]) -> FieldErrors:
    old_names = {text(gate.get("name")) for gate in old}
    for index, gate in enumerate(new):
        if text(gate.get("name")) not in old_names:
            detail = f"only deletion is allowed, but found new scheduling gate '{text(gate.get('name'))}'"
            return [FieldError.forbidden(SPEC_PATH.child("schedulingGates").index(index), detail)]
    return []


def _munged(new: Mapping[str, Any], old: Mapping[str, Any]) -> dict[str, Any]:
    """The new spec with every field it may change put back to its old value."""
    munged = copy.deepcopy(dict(new))
    for key in ("containers", "initContainers"):
        old_containers = items(old.get(key))
        for index, container in enumerate(items(munged.get(key))):
            if isinstance(container, dict) and index < len(old_containers):
                container["image"] = old_containers[index].get("image")
    for key in ("activeDeadlineSeconds", "schedulingGates", "tolerations"):
        munged.pop(key, None)
        if key in old:
            munged[key] = copy.deepcopy(old[key])
    old_grace = number(old.get("terminationGracePeriodSeconds"))
    if old_grace is not None and old_grace < 0 and munged.get("terminationGracePeriodSeconds") == 1:
        munged["terminationGracePeriodSeconds"] = old_grace
    return munged


def validate_pod_spec_update(new_pod: Mapping[str, Any], old_pod: Mapping[str, Any]) -> FieldErrors:
    """The update rules of ValidatePodUpdate after the spec's own validation, in upstream's order."""
    new, old = mapping(new_pod.get("spec")), mapping(old_pod.get("spec"))
    errors: FieldErrors = []
    for key in ("containers", "initContainers"):
        found, stop = validate_container_updates(items(new.get(key)), items(old.get(key)), SPEC_PATH.child(key))
        errors.extend(found)
        if stop:
            return errors
    deadline = _validate_deadline(new, old)
    if deadline:
        return errors + deadline
    errors.extend(_validate_tolerations(items(new.get("tolerations")), items(old.get("tolerations"))))
    errors.extend(_validate_scheduling_gates(items(new.get("schedulingGates")), items(old.get("schedulingGates"))))
    if new == old:
        return errors
    old_qos = text(mapping(old_pod.get("status")).get("qosClass")) or compute_qos_class(old)
    if old_qos != compute_qos_class(new):
        errors.append(FieldError.invalid(FieldPath("metadata"), text(mapping(new_pod.get("status")).get("qosClass")),
                                         "Pod QoS is immutable"))
    munged = _munged(new, old)
    if munged != old:
        errors.append(FieldError.forbidden(SPEC_PATH, f"{FORBIDDEN_PREFIX}\n{spec_diff(old, munged)}"))
    return errors
