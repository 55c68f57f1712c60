"""autoscaling/v1 ⇄ autoscaling/v2 HorizontalPodAutoscaler conversion, as upstream's autoscaling/v1 conversion.

v1 has one metric (target CPU utilization). Everything v2 holds beyond it travels through v1 in four annotations
(other metrics, current metrics, behavior, conditions), so a v1 client that reads, edits and writes back an
object keeps what it cannot see. Metric specs in those annotations use v1's own MetricSpec shape. Key order
follows the Go types, and annotation JSON is written as Go's encoder writes it (compact, HTML-safe).
"""
from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, Final

from apiserver.meta.objects import JSONDict

METRICS_ANNOTATION: Final = "autoscaling.alpha.kubernetes.io/metrics"
CURRENT_METRICS_ANNOTATION: Final = "autoscaling.alpha.kubernetes.io/current-metrics"
BEHAVIOR_ANNOTATION: Final = "autoscaling.alpha.kubernetes.io/behavior"
CONDITIONS_ANNOTATION: Final = "autoscaling.alpha.kubernetes.io/conditions"
ROUND_TRIP_ANNOTATIONS: Final = (METRICS_ANNOTATION, CURRENT_METRICS_ANNOTATION, BEHAVIOR_ANNOTATION,
                                 CONDITIONS_ANNOTATION)
DEFAULT_CPU_UTILIZATION: Final = 80
_SOURCE_KEYS: Final = ("object", "pods", "resource", "containerResource", "external")

Source = Mapping[str, Any]


def _pick(**values: Any) -> dict[str, Any]:
    """A dict of the values that are set (Go's omitempty on pointers)."""
    return {key: value for key, value in values.items() if value is not None}


def _get(source: object, *path: str) -> Any:
    for key in path:
        if not isinstance(source, Mapping):
            return None
        source = source.get(key)
    return source


def go_json(value: object) -> str:
    """Go's json.Marshal: compact, non-ASCII kept, <, > and & escaped."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"),
                         ("\u2029", "\\u2029")):
        text = text.replace(char, escape)
    return text


def _metric_identifier(name: object, selector: object) -> dict[str, Any]:
    return _pick(name=name if name is not None else "", selector=selector)


# --- metric specs ---------------------------------------------------------------------------------------------

def _resource_spec_to_v1(source: Source) -> dict[str, Any]:
    return _pick(name=source.get("name"), targetAverageUtilization=_get(source, "target", "averageUtilization"),
                 targetAverageValue=_get(source, "target", "averageValue"), container=source.get("container"))


def _pods_spec_to_v1(source: Source) -> dict[str, Any]:
    return _pick(metricName=_get(source, "metric", "name") or "",
                 targetAverageValue=_get(source, "target", "averageValue") or "0",
                 selector=_get(source, "metric", "selector"))


def _object_spec_to_v1(source: Source) -> dict[str, Any]:
    return _pick(target=source.get("describedObject") or {}, metricName=_get(source, "metric", "name") or "",
                 targetValue=_get(source, "target", "value") or "0", selector=_get(source, "metric", "selector"),
                 averageValue=_get(source, "target", "averageValue"))


def _external_spec_to_v1(source: Source) -> dict[str, Any]:
    return _pick(metricName=_get(source, "metric", "name") or "", metricSelector=_get(source, "metric", "selector"),
                 targetValue=_get(source, "target", "value"),
                 targetAverageValue=_get(source, "target", "averageValue"))


def _resource_spec_to_v2(source: Source) -> dict[str, Any]:
    utilization = source.get("targetAverageUtilization")
    target = _pick(type="AverageValue" if utilization is None else "Utilization",
                   averageValue=source.get("targetAverageValue"), averageUtilization=utilization)
    return _pick(name=source.get("name"), target=target, container=source.get("container"))


def _pods_spec_to_v2(source: Source) -> dict[str, Any]:
    return {"metric": _metric_identifier(source.get("metricName"), source.get("selector")),
            "target": _pick(type="AverageValue", averageValue=source.get("targetAverageValue"))}


def _object_spec_to_v2(source: Source) -> dict[str, Any]:
    average = source.get("averageValue")
    target = _pick(type="Value" if average is None else "AverageValue", value=source.get("targetValue"),
                   averageValue=average)
    return {"describedObject": source.get("target") or {}, "target": target,
            "metric": _metric_identifier(source.get("metricName"), source.get("selector"))}


def _external_spec_to_v2(source: Source) -> dict[str, Any]:
    value = source.get("targetValue")
    target = _pick(type="Value" if value is not None else "AverageValue", value=value,
                   averageValue=source.get("targetAverageValue"))
    return {"metric": _metric_identifier(source.get("metricName"), source.get("metricSelector")), "target": target}


SourceConverter = Callable[[Source], dict[str, Any]]
_SPEC_TO_V1: Final[dict[str, SourceConverter]] = {
    "object": _object_spec_to_v1, "pods": _pods_spec_to_v1, "resource": _resource_spec_to_v1,
    "containerResource": _resource_spec_to_v1, "external": _external_spec_to_v1,
}
_SPEC_TO_V2: Final[dict[str, SourceConverter]] = {
    "object": _object_spec_to_v2, "pods": _pods_spec_to_v2, "resource": _resource_spec_to_v2,
    "containerResource": _resource_spec_to_v2, "external": _external_spec_to_v2,
}


# --- metric statuses ------------------------------------------------------------------------------------------

def _resource_status_to_v1(source: Source) -> dict[str, Any]:
    return _pick(name=source.get("name"), currentAverageUtilization=_get(source, "current", "averageUtilization"),
                 currentAverageValue=_get(source, "current", "averageValue") or "0", container=source.get("container"))


def _pods_status_to_v1(source: Source) -> dict[str, Any]:
    return _pick(metricName=_get(source, "metric", "name") or "",
                 currentAverageValue=_get(source, "current", "averageValue") or "0",
                 selector=_get(source, "metric", "selector"))


def _object_status_to_v1(source: Source) -> dict[str, Any]:
    return _pick(target=source.get("describedObject") or {}, metricName=_get(source, "metric", "name") or "",
                 currentValue=_get(source, "current", "value") or "0", selector=_get(source, "metric", "selector"),
                 averageValue=_get(source, "current", "averageValue"))


def _external_status_to_v1(source: Source) -> dict[str, Any]:
    return _pick(metricName=_get(source, "metric", "name") or "", metricSelector=_get(source, "metric", "selector"),
                 currentValue=_get(source, "current", "value") or "0",
                 currentAverageValue=_get(source, "current", "averageValue"))


def _resource_status_to_v2(source: Source) -> dict[str, Any]:
    current = _pick(averageValue=source.get("currentAverageValue"),
                    averageUtilization=source.get("currentAverageUtilization"))
    return _pick(name=source.get("name"), current=current, container=source.get("container"))


def _pods_status_to_v2(source: Source) -> dict[str, Any]:
    return {"metric": _metric_identifier(source.get("metricName"), source.get("selector")),
            "current": _pick(averageValue=source.get("currentAverageValue"))}


def _object_status_to_v2(source: Source) -> dict[str, Any]:
    return {"metric": _metric_identifier(source.get("metricName"), source.get("selector")),
            "current": _pick(value=source.get("currentValue"), averageValue=source.get("averageValue")),
            "describedObject": source.get("target") or {}}


def _external_status_to_v2(source: Source) -> dict[str, Any]:
    return {"metric": _metric_identifier(source.get("metricName"), source.get("metricSelector")),
            "current": _pick(value=source.get("currentValue"), averageValue=source.get("currentAverageValue"))}


_STATUS_TO_V1: Final[dict[str, SourceConverter]] = {
    "object": _object_status_to_v1, "pods": _pods_status_to_v1, "resource": _resource_status_to_v1,
    "containerResource": _resource_status_to_v1, "external": _external_status_to_v1,
}
_STATUS_TO_V2: Final[dict[str, SourceConverter]] = {
    "object": _object_status_to_v2, "pods": _pods_status_to_v2, "resource": _resource_status_to_v2,
    "containerResource": _resource_status_to_v2, "external": _external_status_to_v2,
}


def _convert_metric(metric: object, converters: Mapping[str, SourceConverter]) -> dict[str, Any]:
    """One MetricSpec or MetricStatus, every present source converted, keys in Go's order."""
    if not isinstance(metric, Mapping):
        return {}
    converted: dict[str, Any] = {"type": metric.get("type", "")}
    for key in _SOURCE_KEYS:
        source = metric.get(key)
        if isinstance(source, Mapping):
            converted[key] = converters[key](source)
    return converted


def _is_cpu_utilization_target(metric: object) -> bool:
    return (_get(metric, "type") == "Resource" and _get(metric, "resource", "name") == "cpu"
            and _get(metric, "resource", "target", "averageUtilization") is not None)


def _cpu_metric(utilization: object) -> dict[str, Any]:
    return {"type": "Resource",
            "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": utilization}}}


# --- whole objects ----------------------------------------------------------------------------------------------

def _metadata_with(obj: JSONDict, annotations: dict[str, str]) -> dict[str, Any]:
    metadata = dict(obj.get("metadata") or {})
    if annotations:
        metadata["annotations"] = annotations
    else:
        metadata.pop("annotations", None)
    return metadata


def _kept_annotations(obj: JSONDict) -> dict[str, str]:
    annotations = _get(obj, "metadata", "annotations")
    if not isinstance(annotations, Mapping):
        return {}
    return {key: value for key, value in annotations.items() if key not in ROUND_TRIP_ANNOTATIONS}


def v2_to_v1(obj: JSONDict) -> JSONDict:
    """An autoscaling/v2 HPA as autoscaling/v1 serves it."""
    spec, status = obj.get("spec") or {}, obj.get("status")
    metrics = [metric for metric in spec.get("metrics") or [] if isinstance(metric, Mapping)]
    annotations = _kept_annotations(obj)
    others = [_convert_metric(metric, _SPEC_TO_V1) for metric in metrics if not _is_cpu_utilization_target(metric)]
    if others:
        annotations[METRICS_ANNOTATION] = go_json(others)
    current = [metric for metric in _get(status, "currentMetrics") or [] if isinstance(metric, Mapping)]
    if current:
        statuses = [_convert_metric(metric, _STATUS_TO_V1) for metric in current]
        annotations[CURRENT_METRICS_ANNOTATION] = go_json(statuses)
    if spec.get("behavior") is not None:
        annotations[BEHAVIOR_ANNOTATION] = go_json(spec["behavior"])
    conditions = _get(status, "conditions")
    if conditions:
        annotations[CONDITIONS_ANNOTATION] = go_json(conditions)
    cpu = next((metric for metric in metrics if _is_cpu_utilization_target(metric)), None)
    converted: JSONDict = {"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
                           "metadata": _metadata_with(obj, annotations)}
    converted["spec"] = _pick(scaleTargetRef=spec.get("scaleTargetRef"), minReplicas=spec.get("minReplicas"),
                              maxReplicas=spec.get("maxReplicas"),
                              targetCPUUtilizationPercentage=_get(cpu, "resource", "target", "averageUtilization"))
    if isinstance(status, Mapping):
        converted["status"] = _v1_status(status, current)
    return converted


def _v1_status(status: Mapping[str, Any], current: list[Mapping[str, Any]]) -> dict[str, Any]:
    cpu = next((_get(metric, "resource", "current", "averageUtilization") for metric in current
                if _get(metric, "type") == "Resource" and _get(metric, "resource", "name") == "cpu"), None)
    return _pick(observedGeneration=status.get("observedGeneration"), lastScaleTime=status.get("lastScaleTime"),
                 currentReplicas=status.get("currentReplicas"), desiredReplicas=status.get("desiredReplicas"),
                 currentCPUUtilizationPercentage=cpu)


def _annotation_list(annotations: Mapping[str, str], key: str) -> list[Any] | None:
    try:
        value = json.loads(annotations[key]) if key in annotations else None
    except ValueError:
        return None
    return value if isinstance(value, list) else None


def v1_to_v2(obj: JSONDict) -> JSONDict:
    """An autoscaling/v1 HPA in its autoscaling/v2 (stored) form, round-trip annotations folded back in."""
    spec, status = obj.get("spec") or {}, obj.get("status")
    annotations = _get(obj, "metadata", "annotations") or {}
    target = spec.get("targetCPUUtilizationPercentage")
    metrics = [_cpu_metric(target)] if target is not None else []
    others = _annotation_list(annotations, METRICS_ANNOTATION)
    if others is not None:
        metrics = [_convert_metric(metric, _SPEC_TO_V2) for metric in others] + metrics
    if not metrics:
        # autoscaling/v1's implicit default, made explicit as upstream does on conversion.
        metrics = [_cpu_metric(DEFAULT_CPU_UTILIZATION)]
    converted: JSONDict = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                           "metadata": _metadata_with(obj, _kept_annotations(obj))}
    converted["spec"] = _pick(scaleTargetRef=spec.get("scaleTargetRef"), minReplicas=spec.get("minReplicas"),
                              maxReplicas=spec.get("maxReplicas"), metrics=metrics,
                              behavior=_behavior(annotations))
    v2_status = _v2_status(status, annotations)
    if v2_status is not None:
        converted["status"] = v2_status
    return converted


def _behavior(annotations: Mapping[str, str]) -> Any:
    try:
        behavior = json.loads(annotations[BEHAVIOR_ANNOTATION]) if BEHAVIOR_ANNOTATION in annotations else None
    except ValueError:
        return None
    return behavior if isinstance(behavior, dict) and behavior else None


def _v2_status(status: object, annotations: Mapping[str, str]) -> dict[str, Any] | None:
    current_annotation = _annotation_list(annotations, CURRENT_METRICS_ANNOTATION)
    conditions = _annotation_list(annotations, CONDITIONS_ANNOTATION)
    if not isinstance(status, Mapping) and current_annotation is None and conditions is None:
        return None
    status = status if isinstance(status, Mapping) else {}
    cpu = status.get("currentCPUUtilizationPercentage")
    current = ([{"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": cpu}}}]
               if cpu is not None else None)
    if current_annotation is not None:
        current = [_convert_metric(metric, _STATUS_TO_V2) for metric in current_annotation]
    return _pick(observedGeneration=status.get("observedGeneration"), lastScaleTime=status.get("lastScaleTime"),
                 currentReplicas=status.get("currentReplicas"), desiredReplicas=status.get("desiredReplicas"),
                 currentMetrics=current, conditions=conditions)
