"""HorizontalPodAutoscaler defaults and validation (autoscaling/v2 and v1 defaults.go, pkg/apis/autoscaling/validation).

Kept to the spec's core: minReplicas defaults to 1, v2's metrics default to 80% average CPU and a given behavior
is completed with upstream's scale-up and scale-down rules; scaleTargetRef needs a kind and name, minReplicas is
at least 1 and maxReplicas at least minReplicas. Metric and behavior details are not validated.
"""
from __future__ import annotations

import copy
from typing import Any, Final

from apiserver.meta.validation import FieldError, FieldErrors, FieldPath, is_valid_path_segment_name
from apiserver.registry.context import RequestContext
from apiserver.registry.strategy import DefaultStrategy, MutableObject

SPEC_PATH = FieldPath("spec")
DEFAULT_CPU_UTILIZATION: Final = 80
SCALE_UP_RULES: Final = {
    "stabilizationWindowSeconds": 0,
    "selectPolicy": "Max",
    "policies": [{"type": "Pods", "value": 4, "periodSeconds": 15},
                 {"type": "Percent", "value": 100, "periodSeconds": 15}],
}
SCALE_DOWN_RULES: Final = {"selectPolicy": "Max", "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]}


def _spec(obj: MutableObject) -> dict[str, Any]:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        spec = obj["spec"] = {}
    return spec


def _scaling_rules(given: object, defaults: dict[str, Any]) -> dict[str, Any]:
    """copyHPAScalingRules: the defaults with every field the object sets."""
    rules = copy.deepcopy(defaults)
    if isinstance(given, dict):
        rules.update({key: value for key, value in given.items() if value is not None})
    return rules


def default_v2(obj: MutableObject) -> None:
    """autoscaling/v2 SetDefaults_HorizontalPodAutoscaler."""
    spec = _spec(obj)
    if spec.get("minReplicas") is None:
        spec["minReplicas"] = 1
    if not spec.get("metrics"):
        target = {"type": "Utilization", "averageUtilization": DEFAULT_CPU_UTILIZATION}
        spec["metrics"] = [{"type": "Resource", "resource": {"name": "cpu", "target": target}}]
    behavior = spec.get("behavior")
    if isinstance(behavior, dict):
        behavior["scaleUp"] = _scaling_rules(behavior.get("scaleUp"), SCALE_UP_RULES)
        behavior["scaleDown"] = _scaling_rules(behavior.get("scaleDown"), SCALE_DOWN_RULES)


def default_v1(obj: MutableObject) -> None:
    """autoscaling/v1 SetDefaults_HorizontalPodAutoscaler."""
    spec = _spec(obj)
    if spec.get("minReplicas") is None:
        spec["minReplicas"] = 1


def _reference_errors(reference: object, path: FieldPath) -> FieldErrors:
    """ValidateCrossVersionObjectReference."""
    reference = reference if isinstance(reference, dict) else {}
    errors: FieldErrors = []
    for key in ("kind", "name"):
        value = str(reference.get(key) or "")
        if not value:
            errors.append(FieldError.required(path.child(key)))
        else:
            errors += [FieldError.invalid(path.child(key), value, message)
                       for message in is_valid_path_segment_name(value)]
    return errors


def validate_spec(spec: dict[str, Any], path: FieldPath) -> FieldErrors:
    errors: FieldErrors = []
    minimum, maximum = spec.get("minReplicas"), spec.get("maxReplicas")
    maximum = maximum if isinstance(maximum, int) else 0
    if isinstance(minimum, int) and minimum < 1:
        errors.append(FieldError.invalid(path.child("minReplicas"), minimum, "must be greater than or equal to 1"))
    if maximum < 1:
        errors.append(FieldError.invalid(path.child("maxReplicas"), maximum, "must be greater than 0"))
    if isinstance(minimum, int) and maximum < minimum:
        errors.append(FieldError.invalid(path.child("maxReplicas"), maximum,
                                         "must be greater than or equal to `minReplicas`"))
    return errors + _reference_errors(spec.get("scaleTargetRef"), path.child("scaleTargetRef"))


class HorizontalPodAutoscalerStrategy(DefaultStrategy):
    """Defaults of one served version, and the spec rules both versions share."""

    def __init__(self, version: str) -> None:
        self._default = default_v2 if version == "v2" else default_v1

    def default(self, obj: MutableObject) -> None:
        """Upstream's scheme defaults, applied by the endpoints when they decode a body."""
        self._default(obj)

    def prepare_for_create(self, obj: MutableObject, ctx: RequestContext) -> None:
        self._default(obj)

    def prepare_for_update(self, obj: MutableObject, old: MutableObject, ctx: RequestContext) -> None:
        self._default(obj)

    def validate(self, obj: MutableObject, ctx: RequestContext) -> FieldErrors:
        return validate_spec(_spec(obj), SPEC_PATH)

    def validate_update(self, obj: MutableObject, old: MutableObject, ctx: RequestContext) -> FieldErrors:
        return validate_spec(_spec(obj), SPEC_PATH)
