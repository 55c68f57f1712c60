"""What admission webhooks and admission policies share about matching requests: the rules (operations, API
groups and versions, resources with subresources, scope) and the match/failure policy vocabulary.

Upstream v1.32 pkg/apis/admissionregistration/validation: validateRuleWithOperations, validateRule (subresources
allowed) and validateResources, used by webhook configurations and ValidatingAdmissionPolicy(Binding) alike.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from apiserver.meta.errors import go_quote
from apiserver.meta.govalues import go_invalid
from apiserver.meta.validation import FieldError, FieldErrors, FieldPath

FAILURE_POLICIES: Final = ("Fail", "Ignore")
MATCH_POLICIES: Final = ("Equivalent", "Exact")
OPERATIONS: Final = ("*", "CONNECT", "CREATE", "DELETE", "UPDATE")
SCOPES: Final = ("*", "Cluster", "Namespaced")
MAX_MATCH_CONDITIONS: Final = 64


def strings(value: object) -> list[str]:
    """A JSON list of strings as decoded (anything else reads as empty)."""
    return [str(item) for item in value] if isinstance(value, list) else []


def validate_rule_with_operations(rule: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    """validateRuleWithOperations: operations, then the rule (subresources allowed)."""
    errors: FieldErrors = []
    operations = strings(rule.get("operations"))
    if not operations:
        errors.append(FieldError.required(path.child("operations")))
    if len(operations) > 1 and "*" in operations:
        errors.append(go_invalid(path.child("operations"), _go_operations(operations),
                                 "if '*' is present, must not specify other operations"))
    for index, operation in enumerate(operations):
        if operation not in OPERATIONS:
            errors.append(FieldError.not_supported(path.child("operations").index(index), operation, OPERATIONS))
    return [*errors, *validate_rule(rule, path)]


def _go_operations(operations: list[str]) -> str:
    """`%#v` of the rule's []admissionregistration.OperationType, as upstream prints the bad value."""
    return "[]admissionregistration.OperationType{" + ", ".join(go_quote(operation) for operation in operations) + "}"


def validate_rule(rule: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    """validateRule: API groups and versions (`*` alone), resources, scope."""
    errors: FieldErrors = []
    groups, versions = strings(rule.get("apiGroups")), strings(rule.get("apiVersions"))
    if not groups:
        errors.append(FieldError.required(path.child("apiGroups")))
    if len(groups) > 1 and "*" in groups:
        errors.append(FieldError.invalid(path.child("apiGroups"), groups,
                                         "if '*' is present, must not specify other API groups"))
    if not versions:
        errors.append(FieldError.required(path.child("apiVersions")))
    if len(versions) > 1 and "*" in versions:
        errors.append(FieldError.invalid(path.child("apiVersions"), versions,
                                         "if '*' is present, must not specify other API versions"))
    errors.extend(FieldError.required(path.child("apiVersions").index(index))
                  for index, version in enumerate(versions) if not version)
    errors.extend(validate_resources(strings(rule.get("resources")), path.child("resources")))
    scope = rule.get("scope")
    if scope is not None and scope not in SCOPES:
        errors.append(FieldError.not_supported(path.child("scope"), scope, SCOPES))
    return errors


def validate_resources(resources: Sequence[str], path: FieldPath) -> FieldErrors:
    """validateResources: `*`, `*/*`, `x/*` and `*/x` may not be combined with what they already cover."""
    errors: FieldErrors = []
    if not resources:
        errors.append(FieldError.required(path))
    with_any_subresource: set[str] = set()  # x/*
    under_any_resource: set[str] = set()  # */x
    has_plain = False
    for index, entry in enumerate(resources):
        if not entry:
            errors.append(FieldError.required(path.index(index)))
            continue
        resource, slash, subresource = entry.partition("/")
        if not slash:
            # As upstream: the last entry without a subresource decides (a later `*` clears it).
            has_plain = entry != "*"
            continue
        if resource in with_any_subresource:
            errors.append(FieldError.invalid(path.index(index), entry,
                                             f"if '{resource}/*' is present, must not specify {entry}"))
        if subresource in under_any_resource:
            errors.append(FieldError.invalid(path.index(index), entry,
                                             f"if '*/{subresource}' is present, must not specify {entry}"))
        if subresource == "*":
            with_any_subresource.add(resource)
        if resource == "*":
            under_any_resource.add(subresource)
    if len(resources) > 1 and "*/*" in resources:
        errors.append(FieldError.invalid(path, list(resources),
                                         "if '*/*' is present, must not specify other resources"))
    if "*" in resources and has_plain:
        errors.append(FieldError.invalid(path, list(resources),
                                         "if '*' is present, must not specify other resources without subresources"))
    return errors
