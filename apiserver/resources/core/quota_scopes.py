"""ResourceQuota scopes and scopeSelector rules (upstream v1.32's validateResourceQuotaScopes and friends).

A scope only fits some quota resources: pod scopes (Terminating, NotTerminating, NotBestEffort, PriorityClass,
CrossNamespacePodAffinity) fit `pods` and the cpu/memory resources, BestEffort fits `pods` only,
VolumeAttributesClass fits `persistentvolumeclaims` and `requests.storage`. Upstream prints the whole scopes
list or the whole selector as the bad value (Go's `%#v`); those renderings are reproduced here.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from apiserver.meta.errors import go_quote
from apiserver.meta.govalues import go_invalid
from apiserver.meta.validation import FIELD_IMMUTABLE_MESSAGE, FieldError, FieldErrors, FieldPath
from apiserver.registry.columns import mapping, sequence
from apiserver.resources.core.podspec_resources import STANDARD_QUOTA_RESOURCES

SCOPES: Final = ("BestEffort", "CrossNamespacePodAffinity", "NotBestEffort", "NotTerminating", "PriorityClass",
                 "Terminating", "VolumeAttributesClass")
_POD_RESOURCES: Final = frozenset({"pods", "cpu", "memory", "limits.cpu", "limits.memory", "requests.cpu",
                                   "requests.memory"})
_FITTING_RESOURCES: Final[Mapping[str, frozenset[str]]] = {
    "Terminating": _POD_RESOURCES, "NotTerminating": _POD_RESOURCES, "NotBestEffort": _POD_RESOURCES,
    "PriorityClass": _POD_RESOURCES, "CrossNamespacePodAffinity": _POD_RESOURCES,
    "BestEffort": frozenset({"pods"}),
    "VolumeAttributesClass": frozenset({"persistentvolumeclaims", "requests.storage"}),
}
_EXISTS_ONLY: Final = ("BestEffort", "NotBestEffort", "Terminating", "NotTerminating", "CrossNamespacePodAffinity")
_CONFLICTING: Final = (("BestEffort", "NotBestEffort"), ("Terminating", "NotTerminating"))
EXISTS_ONLY_MESSAGE: Final = (
    "must be 'Exist' when scope is any of ResourceQuotaScopeTerminating, ResourceQuotaScopeNotTerminating, "
    "ResourceQuotaScopeBestEffort, ResourceQuotaScopeNotBestEffort or ResourceQuotaScopeCrossNamespacePodAffinity")
APPLIED_MESSAGE: Final = "unsupported scope applied to resource"


def _is_standard_quota_resource(name: str) -> bool:
    return name in STANDARD_QUOTA_RESOURCES or name.startswith(("hugepages-", "requests.hugepages-"))


def _misfits(scope: str, hard: Mapping[str, Any]) -> int:
    """How many standard resources of `hard` the scope does not fit (upstream adds one error for each)."""
    fitting = _FITTING_RESOURCES.get(scope)
    if fitting is None:
        return 0
    return sum(1 for name in hard if _is_standard_quota_resource(name) and name not in fitting)


def go_scopes(scopes: object) -> str:
    """`[]core.ResourceQuotaScope{"A", "B"}`, `(nil)` when absent."""
    if not isinstance(scopes, list):
        return "[]core.ResourceQuotaScope(nil)"
    return "[]core.ResourceQuotaScope{" + ", ".join(go_quote(str(scope)) for scope in scopes) + "}"


def _go_values(values: object) -> str:
    if not isinstance(values, list):
        return "[]string(nil)"
    return "[]string{" + ", ".join(go_quote(str(value)) for value in values) + "}"


def go_scope_selector(selector: Mapping[str, Any]) -> str:
    """`core.ScopeSelector{MatchExpressions:[]core.ScopedResourceSelectorRequirement{...}}`."""
    expressions = selector.get("matchExpressions")
    if not isinstance(expressions, list):
        return "core.ScopeSelector{MatchExpressions:[]core.ScopedResourceSelectorRequirement(nil)}"
    rendered = ", ".join(
        "core.ScopedResourceSelectorRequirement{"
        f"ScopeName:{go_quote(str(mapping(item).get('scopeName') or ''))}, "
        f"Operator:{go_quote(str(mapping(item).get('operator') or ''))}, "
        f"Values:{_go_values(mapping(item).get('values'))}}}"
        for item in expressions)
    return f"core.ScopeSelector{{MatchExpressions:[]core.ScopedResourceSelectorRequirement{{{rendered}}}}}"


def _conflicts(scopes: set[str], path: FieldPath, rendered: str) -> FieldErrors:
    return [go_invalid(path, rendered, "conflicting scopes")
            for pair in _CONFLICTING if all(scope in scopes for scope in pair)]


def validate_scopes(spec: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    """validateResourceQuotaScopes at `<path>.scopes`."""
    scopes = [str(scope) for scope in sequence(spec.get("scopes"))]
    if not scopes:
        return []
    scopes_path, rendered, hard = path.child("scopes"), go_scopes(spec.get("scopes")), mapping(spec.get("hard"))
    errors: FieldErrors = []
    for scope in scopes:
        if scope not in SCOPES:
            errors.append(go_invalid(scopes_path, rendered, "unsupported scope"))
        errors.extend(go_invalid(scopes_path, rendered, APPLIED_MESSAGE) for _ in range(_misfits(scope, hard)))
    errors.extend(_conflicts(set(scopes), scopes_path, rendered))
    return errors


def _validate_requirement(requirement: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    scope, operator = str(requirement.get("scopeName") or ""), str(requirement.get("operator") or "")
    values = sequence(requirement.get("values"))
    errors: FieldErrors = []
    if scope in _EXISTS_ONLY and operator != "Exists":
        errors.append(FieldError.invalid(path.child("operator"), operator, EXISTS_ONLY_MESSAGE))
    if operator in ("In", "NotIn") and not values:
        errors.append(FieldError.required(
            path.child("values"), "must be at least one value when `operator` is 'In' or 'NotIn' for scope selector"))
    elif operator in ("Exists", "DoesNotExist") and values:
        errors.append(FieldError.invalid(
            path.child("values"), [str(value) for value in values],
            "must be no value when `operator` is 'Exist' or 'DoesNotExist' for scope selector"))
    elif operator not in ("In", "NotIn", "Exists", "DoesNotExist"):
        errors.append(FieldError.invalid(path.child("operator"), operator, "not a valid selector operator"))
    return errors


def validate_scope_selector(spec: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    """validateScopeSelector at `<path>.scopeSelector.matchExpressions` (paths unindexed, as upstream's)."""
    selector = spec.get("scopeSelector")
    if not isinstance(selector, Mapping):
        return []
    expressions_path, hard = path.child("scopeSelector", "matchExpressions"), mapping(spec.get("hard"))
    errors: FieldErrors = []
    seen: set[str] = set()
    for requirement in (mapping(item) for item in sequence(selector.get("matchExpressions"))):
        scope = str(requirement.get("scopeName") or "")
        if scope not in SCOPES:
            errors.append(FieldError.invalid(expressions_path.child("scopeName"), scope, "unsupported scope"))
        errors.extend(go_invalid(expressions_path, go_scope_selector(selector), APPLIED_MESSAGE)
                      for _ in range(_misfits(scope, hard)))
        errors.extend(_validate_requirement(requirement, expressions_path))
        seen.add(scope)
    errors.extend(_conflicts(seen, expressions_path, go_scopes(spec.get("scopes"))))
    return errors


def validate_scopes_update(new: Mapping[str, Any], old: Mapping[str, Any]) -> FieldErrors:
    """Scopes are immutable (compared as sets, as upstream)."""
    new_scopes = {str(scope) for scope in sequence(new.get("scopes"))}
    if new_scopes == {str(scope) for scope in sequence(old.get("scopes"))}:
        return []
    return [go_invalid(FieldPath("spec", "scopes"), go_scopes(new.get("scopes")), FIELD_IMMUTABLE_MESSAGE)]
