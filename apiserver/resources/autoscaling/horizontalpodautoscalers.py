"""HorizontalPodAutoscalers (autoscaling/v2 and v1): one stored resource, two served versions, stored as v2.

The printer works on v2's metric list; a v1 object's CPU target is read as the one metric it stands for.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from apiserver.registry.columns import UNSET, dig, integer, mapping, sequence, text
from apiserver.registry.spec import AGE, NAME, Column, JSONObject, ResourceSpec, Subresource
from apiserver.resources.autoscaling.hpa_strategy import HorizontalPodAutoscalerStrategy

SHOWN_METRICS = 2
DEFAULT_CPU_UTILIZATION = 80  # v2 defaulting: an HPA without metrics targets 80% average CPU
UNKNOWN_CURRENT = "<unknown>"
SOURCE_KEYS = {
    "External": "external",
    "Pods": "pods",
    "Object": "object",
    "Resource": "resource",
    "ContainerResource": "containerResource",
}


def _quantity(value: object) -> str:
    # Go prints a nil *Quantity as <nil>.
    return text(value) if value is not None else "<nil>"


def _value_metric(target: Mapping[str, Any], current: Mapping[str, Any] | None) -> str:
    if target.get("averageValue") is not None:
        shown = UNKNOWN_CURRENT
        if current is not None and current.get("averageValue") is not None:
            shown = _quantity(current.get("averageValue"))
        return f"{shown}/{_quantity(target.get('averageValue'))} (avg)"
    shown = UNKNOWN_CURRENT if current is None else _quantity(current.get("value"))
    return f"{shown}/{_quantity(target.get('value'))}"


def _resource_metric(source: Mapping[str, Any], current: Mapping[str, Any] | None) -> str:
    name, target = text(source.get("name")), mapping(source.get("target"))
    if target.get("averageValue") is not None:
        shown = UNKNOWN_CURRENT if current is None else _quantity(current.get("averageValue"))
        return f"{name}: {shown}/{_quantity(target.get('averageValue'))}"
    shown = UNKNOWN_CURRENT
    if current is not None and current.get("averageUtilization") is not None:
        shown = f"{integer(current.get('averageUtilization'))}%"
    utilization = target.get("averageUtilization")
    wanted = f"{integer(utilization)}%" if utilization is not None else "<auto>"
    return f"{name}: {shown}/{wanted}"


def format_metric(spec: Mapping[str, Any], status: Mapping[str, Any] | None) -> str:
    """One TARGETS entry: `cpu: 40%/80%`, `memory: 1Gi/2Gi`, `3/5`, `1/10 (avg)`; `<unknown>` before status."""
    key = SOURCE_KEYS.get(text(spec.get("type")))
    if key is None:
        return "<unknown type>"
    source = mapping(spec.get(key))
    current_source = None if status is None or status.get(key) is None else mapping(status.get(key))
    current = None if current_source is None else mapping(current_source.get("current"))
    if key in ("resource", "containerResource"):
        return _resource_metric(source, current)
    if key == "pods":
        shown = UNKNOWN_CURRENT if current is None else _quantity(current.get("averageValue"))
        return f"{shown}/{_quantity(dig(source, 'target', 'averageValue'))}"
    return _value_metric(mapping(source.get("target")), current)


def format_metrics(specs: Sequence[Any], statuses: Sequence[Any]) -> str:
    """TARGETS: the first two metrics, current/target each, then `+ N more...`."""
    if not specs:
        specs = [_cpu_metric(DEFAULT_CPU_UTILIZATION)]
    rendered = [
        format_metric(mapping(spec), mapping(statuses[index]) if index < len(statuses) else None)
        for index, spec in enumerate(specs)
    ]
    shown = ", ".join(rendered[:SHOWN_METRICS])
    return f"{shown} + {len(rendered) - SHOWN_METRICS} more..." if len(rendered) > SHOWN_METRICS else shown


def _cpu_metric(utilization: int) -> dict[str, Any]:
    return {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization",
                                                                       "averageUtilization": utilization}}}


def targets(obj: JSONObject, now: datetime | None = None) -> str:
    """TARGETS of either served form: v2's metric list, or v1's CPU percentage read as the one metric it means.

    Both versions share storage, so a Table may be rendered from either form; the object decides.
    """
    spec, status = mapping(obj.get("spec")), mapping(obj.get("status"))
    if "metrics" in spec or "currentMetrics" in status:
        return format_metrics(sequence(spec.get("metrics")), sequence(status.get("currentMetrics")))
    target, current = spec.get("targetCPUUtilizationPercentage"), status.get("currentCPUUtilizationPercentage")
    specs = [_cpu_metric(integer(target))] if target is not None else []
    statuses = [{"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": current}}}]
    return format_metrics(specs, statuses if current is not None else [])


def _min_pods(obj: JSONObject, now: datetime) -> str:
    minimum = dig(obj, "spec", "minReplicas")
    return str(integer(minimum)) if minimum is not None else UNSET


COLUMNS = (
    NAME,
    Column("Reference", "string", description="The scaled object, as kind/name.",
           value=lambda obj, now: f"{text(dig(obj, 'spec', 'scaleTargetRef', 'kind'))}/"
                                  f"{text(dig(obj, 'spec', 'scaleTargetRef', 'name'))}"),
    Column("Targets", "string", description="The metrics used to calculate the desired replica count, "
                                            "current/target.",
           value=targets),
    Column("MinPods", "string", description="The lower limit for the number of replicas.", value=_min_pods),
    Column("MaxPods", "string", description="The upper limit for the number of replicas.",
           value=lambda obj, now: integer(dig(obj, "spec", "maxReplicas"))),
    Column("Replicas", "string", description="Current number of replicas of pods managed by this autoscaler.",
           value=lambda obj, now: integer(dig(obj, "status", "currentReplicas"))),
    AGE,
)


def _spec(version: str, garbage_collected: bool) -> ResourceSpec:
    return ResourceSpec(
        group="autoscaling", version=version, kind="HorizontalPodAutoscaler", plural="horizontalpodautoscalers",
        namespaced=True, short_names=("hpa",), categories=("all",),
        subresources=(Subresource("status", "HorizontalPodAutoscaler"),),
        strategy=HorizontalPodAutoscalerStrategy(version),
        columns=COLUMNS,
        storage_version="autoscaling/v2",
        # One stored resource: the garbage collector works through the preferred version only.
        garbage_collected=garbage_collected,
    )


SPECS = (_spec("v2", garbage_collected=True), _spec("v1", garbage_collected=False))
