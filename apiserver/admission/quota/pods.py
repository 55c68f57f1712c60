"""The quota rules of pods (upstream's pkg/quota/v1/evaluator/core/pods.go and resourcehelper.PodRequests).

A pod always counts in `count/pods`; unless it has ended (Succeeded, Failed, or past its deletion grace period)
it also uses `pods` and its compute resources: the sum of its containers (restartable init containers, the
sidecars, included), or its largest init container when that is larger, plus the pod overhead.
"""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from apiserver.admission.quota.resources import ONE, ResourceList, add, max_list, parse_list
from apiserver.meta.objects import JSONDict

POD_RESOURCES = frozenset({
    "count/pods", "cpu", "memory", "ephemeral-storage", "requests.cpu", "requests.memory",
    "requests.ephemeral-storage", "limits.cpu", "limits.memory", "limits.ephemeral-storage", "pods",
})
POD_RESOURCE_PREFIXES = ("hugepages-", "requests.hugepages-")
# Quota on these resources demands that every container states them (the backward-compatibility rule).
VALIDATION_SET = frozenset({"requests.cpu", "requests.memory", "limits.cpu", "limits.memory", "cpu", "memory"})
_QUALIFIED_NAME = re.compile(r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
                             r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")


def is_extended_resource(name: str) -> bool:
    """IsExtendedResourceName: outside kubernetes.io, and `requests.<name>` is a qualified name."""
    if "/" not in name or "kubernetes.io/" in name or name.startswith("requests."):
        return False
    return bool(_QUALIFIED_NAME.match(f"requests.{name}")) and len(name.split("/")[-1]) <= 63


def is_pod_resource(name: str) -> bool:
    if name in POD_RESOURCES or name.startswith(POD_RESOURCE_PREFIXES):
        return True
    return name.startswith("requests.") and is_extended_resource(name.removeprefix("requests."))


def compute_usage(requests: ResourceList, limits: ResourceList) -> ResourceList:
    """podComputeUsageHelper: the quota names a pod's (or a container's) requests and limits charge."""
    result: ResourceList = {"pods": ONE}
    for resource in ("cpu", "memory", "ephemeral-storage"):
        if resource in requests:
            result[resource] = requests[resource]
            result[f"requests.{resource}"] = requests[resource]
        if resource in limits:
            result[f"limits.{resource}"] = limits[resource]
    for name, request in requests.items():
        if name.startswith("hugepages-"):
            result[name] = request
            result[f"requests.{name}"] = request
        if is_extended_resource(name):
            result[f"requests.{name}"] = request
    return result


def _containers(pod: JSONDict, field: str) -> list[JSONDict]:
    return [container for container in (pod.get("spec") or {}).get(field) or () if isinstance(container, dict)]


def _resources(container: JSONDict, field: str) -> ResourceList:
    return parse_list((container.get("resources") or {}).get(field))


def pod_totals(pod: JSONDict, field: str) -> ResourceList:
    """resourcehelper.PodRequests / PodLimits (`field` is "requests" or "limits")."""
    total: ResourceList = {}
    for container in _containers(pod, "containers"):
        total = add(total, _resources(container, field))
    sidecars: ResourceList = {}
    largest_init: ResourceList = {}
    for container in _containers(pod, "initContainers"):
        own = _resources(container, field)
        if container.get("restartPolicy") == "Always":
            total = add(total, own)
            sidecars = add(sidecars, own)
            own = sidecars
        else:
            own = add(own, sidecars)
        largest_init = max_list(largest_init, own)
    total = max_list(total, largest_init)
    overhead = parse_list((pod.get("spec") or {}).get("overhead"))
    if field == "requests":
        return add(total, overhead)
    return add(total, {name: value for name, value in overhead.items() if name in total})  # limits stay limits


def is_charged(pod: JSONDict, now: datetime | None = None) -> bool:
    """QuotaV1Pod: false for ended pods and for pods past their deletion grace period."""
    if (pod.get("status") or {}).get("phase") in ("Failed", "Succeeded"):
        return False
    metadata = pod.get("metadata") or {}
    deleted, grace = metadata.get("deletionTimestamp"), metadata.get("deletionGracePeriodSeconds")
    if isinstance(deleted, str) and isinstance(grace, int):
        moment = now or datetime.now(UTC)
        try:
            deletion = datetime.fromisoformat(deleted.replace("Z", "+00:00"))
        except ValueError:
            return True
        return moment <= deletion + timedelta(seconds=grace)
    return True


def pod_usage(pod: JSONDict, now: datetime | None = None) -> ResourceList:
    usage: ResourceList = {"count/pods": ONE}
    if not is_charged(pod, now):
        return usage
    return add(usage, compute_usage(pod_totals(pod, "requests"), pod_totals(pod, "limits")))


def is_terminating(pod: JSONDict) -> bool:
    deadline = (pod.get("spec") or {}).get("activeDeadlineSeconds")
    return isinstance(deadline, int) and deadline >= 0


def is_best_effort(pod: JSONDict) -> bool:
    """QoS BestEffort: no container (init ones included) requests or limits a positive cpu or memory."""
    for container in _containers(pod, "containers") + _containers(pod, "initContainers"):
        for field in ("requests", "limits"):
            values = _resources(container, field)
            if any(name in values and values[name].value > 0 for name in ("cpu", "memory")):
                return False
    return True


def matches_scope(scope: JSONDict, pod: JSONDict) -> bool:
    name, operator = scope.get("scopeName"), scope.get("operator")
    if name == "Terminating":
        return is_terminating(pod)
    if name == "NotTerminating":
        return not is_terminating(pod)
    if name == "BestEffort":
        return is_best_effort(pod)
    if name == "NotBestEffort":
        return not is_best_effort(pod)
    if name == "PriorityClass":
        value = str((pod.get("spec") or {}).get("priorityClassName") or "")
        values = [str(item) for item in scope.get("values") or ()]
        return _matches_operator(operator, value, values)
    if name == "CrossNamespacePodAffinity":
        return uses_cross_namespace_affinity(pod)
    return False


def _matches_operator(operator: Any, value: str, values: list[str]) -> bool:
    # The pod's priority class is always present as a label (possibly ""), as upstream's selector sees it.
    if operator == "Exists":
        return value != ""
    if operator == "In":
        return value in values
    if operator == "NotIn":
        return value not in values
    return False  # DoesNotExist: the key is always present


def uses_cross_namespace_affinity(pod: JSONDict) -> bool:
    affinity = (pod.get("spec") or {}).get("affinity") or {}
    for kind in ("podAffinity", "podAntiAffinity"):
        terms = affinity.get(kind) or {}
        required = terms.get("requiredDuringSchedulingIgnoredDuringExecution") or []
        preferred = [term.get("podAffinityTerm") or {}
                     for term in terms.get("preferredDuringSchedulingIgnoredDuringExecution") or []]
        for term in [*required, *preferred]:
            if term.get("namespaces") or term.get("namespaceSelector") is not None:
                return True
    return False


def constraints(required: list[str], pod: JSONDict) -> str:
    """`must specify limits.cpu for: a,b; requests.memory for: a` — containers missing a required resource."""
    wanted = set(required) & VALIDATION_SET
    missing: dict[str, set[str]] = {}
    for container in _containers(pod, "containers") + _containers(pod, "initContainers"):
        present = set(compute_usage(_resources(container, "requests"), _resources(container, "limits")))
        for resource in wanted - present:
            missing.setdefault(resource, set()).add(str(container.get("name") or ""))
    if not missing:
        return ""
    parts = [f"{resource} for: {','.join(sorted(missing[resource]))}" for resource in sorted(missing)]
    return "must specify " + "; ".join(parts)
