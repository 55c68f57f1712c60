"""Pod rules outside the spec's own fields: pod-specific annotations, overhead, and disabled DRA fields.

Upstream v1.32 (pkg/apis/core/validation): ValidatePodSpecificAnnotations (mirror pods need a node, the
legacy tolerations annotation holds valid tolerations, `controller.kubernetes.io/pod-deletion-cost` is an
int32, seccomp and AppArmor annotations name valid profiles and existing containers), the update rules for
mirror and AppArmor annotations, and the create-time check that seccomp/AppArmor annotations agree with the
fields. `spec.overhead` follows the resource-requirements rules at `spec.overhead.limits`. The
DynamicResourceAllocation gate is off by default in v1.32, so `spec.resourceClaims` and containers'
`resources.claims` are dropped as upstream's dropDisabledFields does, unless the stored pod already uses them.
Annotation maps are walked in sorted key order (Go's is random).
"""
from __future__ import annotations

import json
import posixpath
from collections.abc import Iterator, Mapping
from typing import Any, Final

from apiserver.meta.validation import FieldError, FieldErrors, FieldPath
from apiserver.resources.core.podspec_fields import items, mapping, text
from apiserver.resources.core.podspec_resources import validate_resource_requirements

MIRROR: Final = "kubernetes.io/config.mirror"
TOLERATIONS: Final = "scheduler.alpha.kubernetes.io/tolerations"
DELETION_COST: Final = "controller.kubernetes.io/pod-deletion-cost"
SECCOMP_POD: Final = "seccomp.security.alpha.kubernetes.io/pod"
SECCOMP_CONTAINER: Final = "container.seccomp.security.alpha.kubernetes.io/"
APPARMOR_CONTAINER: Final = "container.apparmor.security.beta.kubernetes.io/"
LOCALHOST: Final = "localhost/"
CONTAINER_KINDS: Final = ("initContainers", "containers", "ephemeralContainers")
_INT32: Final = range(-(2**31), 2**31)


def _containers(spec: Mapping[str, Any], path: FieldPath) -> Iterator[tuple[Mapping[str, Any], FieldPath]]:
    """VisitContainersWithPath: init, regular, then ephemeral containers with their paths."""
    for kind in CONTAINER_KINDS:
        for index, container in enumerate(items(spec.get(kind))):
            yield container, path.child(kind).index(index)


def is_valid_deletion_cost(annotations: Mapping[str, Any]) -> bool:
    """GetDeletionCostFromPodAnnotations: absent, or an int32 without '+' or leading zeros."""
    if DELETION_COST not in annotations:
        return True
    value = text(annotations[DELETION_COST])
    if not value or not (value[0] == "-" or value == "0" or value[0] in "123456789"):
        return False
    digits = value[1:] if value[0] == "-" else value
    return digits.isdigit() and digits.isascii() and int(value) in _INT32


def _validate_seccomp(profile: str, path: FieldPath) -> FieldErrors:
    """ValidateSeccompProfile of an annotation value."""
    if profile in ("runtime/default", "docker/default", "unconfined"):
        return []
    if not profile.startswith(LOCALHOST):
        return [FieldError.invalid(path, profile, "must be a valid seccomp profile")]
    target = profile.removeprefix(LOCALHOST)
    errors = [FieldError.invalid(path, target, "must be a relative path")] if posixpath.isabs(target) else []
    if ".." in target.split("/"):
        errors.append(FieldError.invalid(path, target, "must not contain '..'"))
    return errors


def _apparmor_format_error(profile: str) -> str:
    if profile in ("", "runtime/default", "unconfined") or profile.startswith(LOCALHOST):
        return ""
    return f'invalid AppArmor profile name: "{profile}"'


def _go_json_type(value: object) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, bool):
        return "bool"
    return "number" if isinstance(value, int | float) else "string"


def _validate_tolerations_annotation(value: str, path: FieldPath) -> FieldErrors:
    from apiserver.resources.core.podspec import validate_tolerations

    try:
        tolerations = json.loads(value)
    except ValueError as error:
        return [FieldError.invalid(path, TOLERATIONS, f"invalid character in JSON: {error.args[0]}")]
    if tolerations is None:
        return []
    if not isinstance(tolerations, list):
        detail = f"json: cannot unmarshal {_go_json_type(tolerations)} into Go value of type []v1.Toleration"
        return [FieldError.invalid(path, TOLERATIONS, detail)]
    return validate_tolerations([mapping(entry) for entry in tolerations], path.child(TOLERATIONS))


def _has_container(spec: Mapping[str, Any], name: str) -> bool:
    return any(text(container.get("name")) == name for container, _ in _containers(spec, FieldPath("spec")))


def validate_pod_annotations(annotations: Mapping[str, Any], spec: Mapping[str, Any], path: FieldPath,
                             allow_invalid_deletion_cost: bool = False) -> FieldErrors:
    """ValidatePodSpecificAnnotations at `path` (a pod's `metadata.annotations`, a template's `annotations`)."""
    errors: FieldErrors = []
    if MIRROR in annotations and not text(spec.get("nodeName")):
        errors.append(FieldError.invalid(path.key(MIRROR), text(annotations[MIRROR]),
                                         "must set spec.nodeName if mirror pod annotation is set"))
    if text(annotations.get(TOLERATIONS)):
        errors.extend(_validate_tolerations_annotation(text(annotations[TOLERATIONS]), path))
    if not allow_invalid_deletion_cost and not is_valid_deletion_cost(annotations):
        errors.append(FieldError.invalid(path.key(DELETION_COST), text(annotations[DELETION_COST]),
                                         "must be a 32bit integer"))
    if SECCOMP_POD in annotations:
        errors.extend(_validate_seccomp(text(annotations[SECCOMP_POD]), path.child(SECCOMP_POD)))
    for key in sorted(annotations):
        if key.startswith(SECCOMP_CONTAINER):
            errors.extend(_validate_seccomp(text(annotations[key]), path.child(key)))
    for key in sorted(annotations):
        if not key.startswith(APPARMOR_CONTAINER):
            continue
        container = key.removeprefix(APPARMOR_CONTAINER)
        if not _has_container(spec, container):
            errors.append(FieldError.invalid(path.key(key), container, "container not found"))
        problem = _apparmor_format_error(text(annotations[key]))
        if problem:
            errors.append(FieldError.invalid(path.key(key), text(annotations[key]), problem))
    return errors


def validate_pod_annotation_updates(annotations: Mapping[str, Any], old_annotations: Mapping[str, Any],
                                    path: FieldPath) -> FieldErrors:
    """ValidatePodSpecificAnnotationUpdates, without the repeated ValidatePodSpecificAnnotations (caller's)."""
    errors: FieldErrors = []
    for key in sorted(old_annotations):
        if key in annotations and annotations[key] == old_annotations[key]:
            continue
        if key.startswith(APPARMOR_CONTAINER):
            errors.append(FieldError.forbidden(path.key(key), "may not remove or update AppArmor annotations"))
        if key == MIRROR:
            errors.append(FieldError.forbidden(path.key(key), "may not remove or update mirror pod annotation"))
    for key in sorted(annotations):
        if key in old_annotations:
            continue
        if key.startswith(APPARMOR_CONTAINER):
            errors.append(FieldError.forbidden(path.key(key), "may not add AppArmor annotations"))
        if key == MIRROR:
            errors.append(FieldError.forbidden(path.key(key), "may not add mirror pod annotation"))
    return errors


def _profile_mismatch(kind: str, annotation: str, profile: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    """seccomp/AppArmor: the annotation and the field must name the same profile."""
    wanted: dict[str, tuple[str, ...]] = {"Unconfined": ("unconfined",), "RuntimeDefault": ("runtime/default",)}
    if kind == "seccomp":
        wanted["RuntimeDefault"] = ("runtime/default", "docker/default")
    profile_type = text(profile.get("type"))
    type_error = [FieldError.forbidden(path.child("type"), f"{kind} type in annotation and field must match")]
    if profile_type in wanted:
        return type_error if annotation not in wanted[profile_type] else []
    if profile_type != "Localhost":
        return []
    if not annotation.startswith(LOCALHOST):
        return type_error
    localhost = profile.get("localhostProfile")
    if not isinstance(localhost, str) or annotation.removeprefix(LOCALHOST) != localhost:
        return [FieldError.forbidden(path.child("localhostProfile"),
                                     f"{kind} profile in annotation and field must match")]
    return []


def validate_annotations_match_fields(annotations: Mapping[str, Any], spec: Mapping[str, Any],
                                      path: FieldPath) -> FieldErrors:
    """validateSeccompAnnotationsAndFields and validateAppArmorAnnotationsAndFieldsMatchOnCreate."""
    errors: FieldErrors = []
    pod_context = mapping(spec.get("securityContext"))
    pod_seccomp = pod_context.get("seccompProfile")
    if isinstance(pod_seccomp, Mapping) and SECCOMP_POD in annotations:
        errors.extend(_profile_mismatch("seccomp", text(annotations[SECCOMP_POD]), pod_seccomp,
                                        path.child("securityContext", "seccompProfile")))
    for container, container_path in _containers(spec, path):
        seccomp = mapping(container.get("securityContext")).get("seccompProfile")
        key = SECCOMP_CONTAINER + text(container.get("name"))
        if isinstance(seccomp, Mapping) and key in annotations:
            errors.extend(_profile_mismatch("seccomp", text(annotations[key]), seccomp,
                                            container_path.child("securityContext", "seccompProfile")))
    if text(mapping(spec.get("os")).get("name")) == "windows":
        return errors
    for container, container_path in _containers(spec, path):
        apparmor = mapping(container.get("securityContext")).get("appArmorProfile") or pod_context.get(
            "appArmorProfile")
        key = APPARMOR_CONTAINER + text(container.get("name"))
        if isinstance(apparmor, Mapping) and key in annotations:
            errors.extend(_profile_mismatch("apparmor", text(annotations[key]), apparmor,
                                            container_path.child("securityContext", "appArmorProfile")))
    return errors


def validate_overhead(spec: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    """validateOverhead: the resource-requirements rules, with the overhead as limits."""
    overhead = mapping(spec.get("overhead"))
    if not overhead:
        return []
    return validate_resource_requirements({"limits": overhead}, path.child("overhead"))


def _uses_claims(spec: Mapping[str, Any]) -> bool:
    if items(spec.get("resourceClaims")):
        return True
    return any(items(mapping(container.get("resources")).get("claims"))
               for container, _ in _containers(spec, FieldPath("spec")))


def drop_disabled_fields(spec: dict[str, Any], old_spec: Mapping[str, Any] | None) -> None:
    """dropDisabledDynamicResourceAllocationFields: claims go unless the old spec already used them."""
    if old_spec is not None and _uses_claims(old_spec):
        return
    spec.pop("resourceClaims", None)
    for kind in CONTAINER_KINDS:
        for container in spec.get(kind) or ():
            resources = container.get("resources") if isinstance(container, dict) else None
            if isinstance(resources, dict):
                resources.pop("claims", None)
