"""The pod strategy (upstream pkg/registry/core/pod/strategy.go, v1.32).

Create: the PodSpec defaults (and the pod-only ones), then status `{phase: Pending, qosClass}` (plus the
SchedulingGated condition for gated pods); nothing here ever moves a pod out of Pending, agents write status
through `/status`. Update: the same defaults on the new spec, then ValidatePodUpdate (pod_update.py); the store
keeps status on main-resource updates and spec on status updates. `ephemeralcontainers` changes only
spec.ephemeralContainers. Delete: graceful for a scheduled, unfinished pod (DeleteOptions.gracePeriodSeconds,
else spec.terminationGracePeriodSeconds), at once otherwise.
"""
from __future__ import annotations

import copy
from typing import Any, Final

from apiserver.meta.validation import FieldError, FieldErrors, FieldPath
from apiserver.registry.context import DeleteOptions, RequestContext
from apiserver.registry.strategy import DefaultStrategy, MutableObject
from apiserver.resources.core.pod_status import backfill_qos_class, is_status_write, validate_pod_status_update
from apiserver.resources.core.pod_update import validate_pod_spec_update
from apiserver.resources.core.podspec import default_pod_spec, validate_pod_spec
from apiserver.resources.core.podspec_containers import validate_container_common
from apiserver.resources.core.podspec_defaults import default_container, default_pod_only
from apiserver.resources.core.podspec_fields import items, mapping, number, text
from apiserver.resources.core.podspec_misc import (
    drop_disabled_fields,
    is_valid_deletion_cost,
    validate_annotations_match_fields,
    validate_pod_annotation_updates,
    validate_pod_annotations,
)
from apiserver.resources.core.podspec_resources import compute_qos_class
from apiserver.resources.core.podspec_scheduling import mutate_pod_affinity

PENDING: Final = "Pending"
TERMINAL_PHASES: Final = frozenset({"Succeeded", "Failed"})
SPEC_PATH: Final = FieldPath("spec")
EPHEMERAL: Final = SPEC_PATH.child("ephemeralContainers")
ANNOTATIONS_PATH: Final = FieldPath("metadata", "annotations")
GATED_MESSAGE: Final = "Scheduling is blocked due to non-empty scheduling gates"


def _spec(obj: MutableObject) -> dict[str, Any]:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        spec = obj["spec"] = {}
    return spec


def _annotations(obj: MutableObject) -> dict[str, Any]:
    return dict(mapping(mapping(obj.get("metadata")).get("annotations")))


def default_pod(obj: MutableObject) -> None:
    """Every default a Pod body gets when decoded (SetObjectDefaults_Pod)."""
    spec = _spec(obj)
    default_pod_only(spec)
    default_pod_spec(spec)


def initial_status(spec: dict[str, Any]) -> dict[str, Any]:
    """The status of a new pod: Pending, its QoS class, and SchedulingGated when it has scheduling gates."""
    status: dict[str, Any] = {"phase": PENDING}
    if items(spec.get("schedulingGates")):
        status["conditions"] = [{"type": "PodScheduled", "status": "False", "lastProbeTime": None,
                                 "lastTransitionTime": None, "reason": "SchedulingGated", "message": GATED_MESSAGE}]
    status["qosClass"] = compute_qos_class(spec)
    return status


class PodStrategy(DefaultStrategy):
    """Defaults, status on create, update rules and graceful deletion of pods."""

    def default(self, obj: MutableObject) -> None:
        """Upstream's scheme defaults, applied by the endpoints when they decode a body."""
        default_pod(obj)

    def prepare_for_create(self, obj: MutableObject, ctx: RequestContext) -> None:
        default_pod(obj)
        drop_disabled_fields(_spec(obj), None)
        obj["status"] = initial_status(_spec(obj))
        mutate_pod_affinity(obj)

    def prepare_for_update(self, obj: MutableObject, old: MutableObject, ctx: RequestContext) -> None:
        default_pod(obj)
        drop_disabled_fields(_spec(obj), mapping(old.get("spec")))

    def prepare_for_subresource_update(
        self, subresource: str, obj: MutableObject, old: MutableObject, ctx: RequestContext
    ) -> None:
        if subresource != "ephemeralcontainers":
            return
        wanted = copy.deepcopy(mapping(obj.get("spec")).get("ephemeralContainers"))
        resource_version = mapping(obj.get("metadata")).get("resourceVersion")
        obj.clear()
        obj.update(copy.deepcopy(old))
        if resource_version is not None:
            obj["metadata"]["resourceVersion"] = resource_version
        spec = _spec(obj)
        spec.pop("ephemeralContainers", None)
        if wanted is not None:
            spec["ephemeralContainers"] = wanted
            for container in items(wanted):
                default_container(container)  # type: ignore[arg-type]

    def validate(self, obj: MutableObject, ctx: RequestContext) -> FieldErrors:
        spec, annotations = _spec(obj), _annotations(obj)
        errors = validate_pod_annotations(annotations, spec, ANNOTATIONS_PATH)
        errors.extend(validate_pod_spec(spec, SPEC_PATH))
        if items(spec.get("ephemeralContainers")):
            errors.append(FieldError.forbidden(EPHEMERAL, "cannot be set on create"))
        if text(spec.get("nodeName")) and items(spec.get("schedulingGates")):
            errors.append(FieldError.forbidden(SPEC_PATH.child("nodeName"),
                                               "cannot be set until all schedulingGates have been cleared"))
        errors.extend(validate_annotations_match_fields(annotations, spec, SPEC_PATH))
        return errors

    def validate_update(self, obj: MutableObject, old: MutableObject, ctx: RequestContext) -> FieldErrors:
        if is_status_write(obj, old):
            backfill_qos_class(obj, old)  # the status strategy's PrepareForUpdate (the store has no hook for it)
            return validate_pod_status_update(obj, old)
        new_spec, old_spec = _spec(obj), mapping(old.get("spec"))
        annotations, old_annotations = _annotations(obj), _annotations(old)
        lenient = not is_valid_deletion_cost(old_annotations)
        errors = validate_pod_annotations(annotations, new_spec, ANNOTATIONS_PATH, lenient)
        errors.extend(validate_pod_spec(new_spec, SPEC_PATH))
        # ValidatePodSpecificAnnotationUpdates repeats the annotation rules, as upstream.
        errors.extend(validate_pod_annotation_updates(annotations, old_annotations, ANNOTATIONS_PATH))
        errors.extend(validate_pod_annotations(annotations, new_spec, ANNOTATIONS_PATH, lenient))
        errors.extend(_validate_ephemeral_update(new_spec, old_spec))
        # Ephemeral containers are checked above; the rest of the spec follows ValidatePodUpdate.
        comparable = {**new_spec}
        comparable.pop("ephemeralContainers", None)
        if "ephemeralContainers" in old_spec:
            comparable["ephemeralContainers"] = old_spec["ephemeralContainers"]
        errors.extend(validate_pod_spec_update({**obj, "spec": comparable}, old))
        return errors

    def check_graceful_delete(self, obj: MutableObject, options: DeleteOptions) -> int | None:
        spec, status = mapping(obj.get("spec")), mapping(obj.get("status"))
        period = options.grace_period_seconds
        if period is None:
            period = number(spec.get("terminationGracePeriodSeconds")) or 0
        if not text(spec.get("nodeName")) or status.get("phase") in TERMINAL_PHASES:
            period = 0
        return 1 if period < 0 else period


def _validate_ephemeral_update(new: dict[str, Any], old: Any) -> FieldErrors:
    """Existing ephemeral containers stay as they are; new ones are valid containers aimed at a real target."""
    errors: FieldErrors = []
    old_containers = items(mapping(old).get("ephemeralContainers"))
    old_by_name = {text(container.get("name")): container for container in old_containers}
    new_containers = items(new.get("ephemeralContainers"))
    new_names = {text(container.get("name")) for container in new_containers}
    for name in old_by_name:
        if name not in new_names:
            errors.append(FieldError.forbidden(EPHEMERAL, f'existing ephemeral containers "{name}" may not be removed'))
    regular = {text(container.get("name")) for key in ("containers", "initContainers")
               for container in items(new.get(key))}
    volumes = {text(volume.get("name")) for volume in items(new.get("volumes"))}
    seen: set[str] = set()
    for index, container in enumerate(new_containers):
        path, name = EPHEMERAL.index(index), text(container.get("name"))
        if name in old_by_name:
            if container != old_by_name[name]:
                errors.append(FieldError.forbidden(path, f'existing ephemeral containers "{name}" may not be changed'))
            seen.add(name)
            continue
        errors.extend(validate_container_common(container, volumes, path))
        if name in regular or name in seen:
            errors.append(FieldError.duplicate(path.child("name"), name))
        seen.add(name)
        target = text(container.get("targetContainerName"))
        if target and target not in regular:
            errors.append(FieldError.not_found(path.child("targetContainerName"), target))
    return errors
