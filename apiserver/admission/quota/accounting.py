"""Which quotas an object counts against, and a quota's usage recalculated from the objects of its namespace
(upstream's generic.Matches, GetScopeSelectorsFromQuota and quota.CalculateUsage)."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from apiserver.admission.quota.evaluators import Evaluator, evaluator_for
from apiserver.admission.quota.resources import ZERO, ResourceList, add, mask, parse_list
from apiserver.meta.objects import JSONDict


def hard_of(quota: JSONDict) -> ResourceList:
    """What admission enforces: `status.hard` (set by the quota controller from spec.hard)."""
    return parse_list((quota.get("status") or {}).get("hard"))


def used_of(quota: JSONDict) -> ResourceList:
    return parse_list((quota.get("status") or {}).get("used"))


def scope_selectors(quota: JSONDict) -> list[JSONDict]:
    """spec.scopes as `Exists` requirements, then spec.scopeSelector.matchExpressions."""
    spec = quota.get("spec") or {}
    selectors: list[JSONDict] = [{"scopeName": scope, "operator": "Exists"} for scope in spec.get("scopes") or ()]
    expressions = (spec.get("scopeSelector") or {}).get("matchExpressions") or ()
    selectors += [expression for expression in expressions if isinstance(expression, dict)]
    return selectors


def matches(evaluator: Evaluator, quota: JSONDict, obj: JSONDict, hard: ResourceList | None = None) -> bool:
    """The quota limits a resource the evaluator charges, and the object is in every one of its scopes."""
    names = sorted(hard if hard is not None else hard_of(quota))
    if not evaluator.matching_resources(names):
        return False
    return all(evaluator.matches_scope(selector, obj) for selector in scope_selectors(quota))


ObjectsOf = Callable[[str, str], Iterable[JSONDict]]
"""(group, resource) → the objects of the quota's namespace."""


def calculate_usage(quota: JSONDict, objects_of: ObjectsOf, now: datetime | None = None) -> ResourceList:
    """The quota's `status.used`: every resource of spec.hard, zero when nothing uses it."""
    hard = parse_list((quota.get("spec") or {}).get("hard"))
    used: ResourceList = {name: ZERO for name in hard}
    for group, resource in charged_group_resources(sorted(hard)):
        evaluator = evaluator_for(group, resource)
        names = evaluator.matching_resources(sorted(hard))
        if not names:
            continue
        selectors = scope_selectors(quota)
        for obj in objects_of(group, resource):
            if all(evaluator.matches_scope(selector, obj) for selector in selectors):
                used = add(used, mask(evaluator.usage(obj, now), names))
    return mask(used, hard)


CORE_CHARGED = ("pods", "services", "persistentvolumeclaims", "configmaps", "secrets", "replicationcontrollers",
                "resourcequotas")


def charged_group_resources(names: list[str]) -> list[tuple[str, str]]:
    """The group-resources whose objects a quota with these resource names counts."""
    found = [("", resource) for resource in CORE_CHARGED if evaluator_for("", resource).matching_resources(names)]
    for name in names:
        if name.startswith("count/"):
            resource, _, group = name.removeprefix("count/").partition(".")
            if (group, resource) not in found:
                found.append((group, resource))
    return found
