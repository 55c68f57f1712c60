"""The parts of a webhook that say what it matches: rules, AdmissionReview versions, matchConditions.

Upstream v1.32 pkg/apis/admissionregistration/validation: validateRuleWithOperations, validateResources,
validateAdmissionReviewVersions and validateMatchConditions, with their messages.
"""
from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from typing import Any

from apiserver.meta.validation import FieldError, FieldErrors, FieldPath, is_dns1035_label, is_qualified_name

SUPPORTED_OPERATIONS = ("*", "CONNECT", "CREATE", "DELETE", "UPDATE")
SUPPORTED_SCOPES = ("*", "Cluster", "Namespaced")
ACCEPTED_REVIEW_VERSIONS = ("v1", "v1beta1")
MAX_MATCH_CONDITIONS = 64


def _strings(value: object) -> list[str]:
    return [str(item) for item in value] if isinstance(value, list) else []


def validate_rule_with_operations(rule: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    errors: FieldErrors = []
    operations = _strings(rule.get("operations"))
    if not operations:
        errors.append(FieldError.required(path.child("operations")))
    if len(operations) > 1 and "*" in operations:
        errors.append(FieldError.invalid(path.child("operations"), operations,
                                         "if '*' is present, must not specify other operations"))
    for index, operation in enumerate(operations):
        if operation not in SUPPORTED_OPERATIONS:
            errors.append(FieldError.not_supported(path.child("operations").index(index), operation,
                                                   SUPPORTED_OPERATIONS))
    return [*errors, *validate_rule(rule, path)]


def validate_rule(rule: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    errors: FieldErrors = []
    groups = _strings(rule.get("apiGroups"))
    if not groups:
        errors.append(FieldError.required(path.child("apiGroups")))
    if len(groups) > 1 and "*" in groups:
        errors.append(FieldError.invalid(path.child("apiGroups"), groups,
                                         "if '*' is present, must not specify other API groups"))
    versions = _strings(rule.get("apiVersions"))
    if not versions:
        errors.append(FieldError.required(path.child("apiVersions")))
    if len(versions) > 1 and "*" in versions:
        errors.append(FieldError.invalid(path.child("apiVersions"), versions,
                                         "if '*' is present, must not specify other API versions"))
    errors.extend(FieldError.required(path.child("apiVersions").index(index))
                  for index, version in enumerate(versions) if not version)
    errors.extend(validate_resources(_strings(rule.get("resources")), path.child("resources")))
    scope = rule.get("scope")
    if scope is not None and scope not in SUPPORTED_SCOPES:
        errors.append(FieldError.not_supported(path.child("scope"), scope, SUPPORTED_SCOPES))
    return errors


def validate_resources(resources: Sequence[str], path: FieldPath) -> FieldErrors:
    """validateResources: `*`, `*/*`, `x/*` and `*/x` may not be combined with what they already cover."""
    errors: FieldErrors = []
    if not resources:
        errors.append(FieldError.required(path))
    wildcard_subresources: set[str] = set()
    wildcard_resources: set[str] = set()
    has_double_wildcard = has_single_wildcard = has_plain_resource = False
    for index, entry in enumerate(resources):
        if not entry:
            errors.append(FieldError.required(path.index(index)))
            continue
        has_double_wildcard = has_double_wildcard or entry == "*/*"
        has_single_wildcard = has_single_wildcard or entry == "*"
        resource, slash, subresource = entry.partition("/")
        if not slash:
            has_plain_resource = entry != "*"
            continue
        if resource in wildcard_subresources:
            errors.append(FieldError.invalid(path.index(index), entry,
                                             f"if '{resource}/*' is present, must not specify {entry}"))
        if subresource in wildcard_resources:
            errors.append(FieldError.invalid(path.index(index), entry,
                                             f"if '*/{subresource}' is present, must not specify {entry}"))
        if subresource == "*":
            wildcard_subresources.add(resource)
        if resource == "*":
            wildcard_resources.add(subresource)
    if len(resources) > 1 and has_double_wildcard:
        errors.append(FieldError.invalid(path, list(resources),
                                         "if '*/*' is present, must not specify other resources"))
    if has_single_wildcard and has_plain_resource:
        errors.append(FieldError.invalid(path, list(resources),
                                         "if '*' is present, must not specify other resources without subresources"))
    return errors


def validate_review_versions(value: object, path: FieldPath, *, require_recognized: bool) -> FieldErrors:
    versions = _strings(value)
    if not versions:
        return [FieldError.required(path, f"must specify one of {', '.join(ACCEPTED_REVIEW_VERSIONS)}")]
    errors: FieldErrors = []
    seen: set[str] = set()
    for index, version in enumerate(versions):
        if version in seen:
            errors.append(FieldError.invalid(path.index(index), version, "duplicate version"))
            continue
        seen.add(version)
        errors.extend(FieldError.invalid(path.index(index), version, message) for message in is_dns1035_label(version))
    if require_recognized and not seen & set(ACCEPTED_REVIEW_VERSIONS):
        errors.append(FieldError.invalid(path, versions,
                                         f"must include at least one of {', '.join(ACCEPTED_REVIEW_VERSIONS)}"))
    return errors


def has_recognized_review_version(webhook: Mapping[str, Any]) -> bool:
    return bool(set(_strings(webhook.get("admissionReviewVersions"))) & set(ACCEPTED_REVIEW_VERSIONS))


def validate_match_conditions(value: object, path: FieldPath) -> FieldErrors:
    conditions = [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []
    errors: FieldErrors = []
    if len(conditions) > MAX_MATCH_CONDITIONS:
        errors.append(FieldError.too_many(path, len(conditions), MAX_MATCH_CONDITIONS))
    names: set[str] = set()
    for index, condition in enumerate(conditions):
        errors.extend(_validate_match_condition(condition, path.index(index)))
        name = str(condition.get("name") or "")
        if name and name in names:
            errors.append(FieldError.duplicate(path.index(index).child("name"), name))
        names.add(name)
    return errors


def _validate_match_condition(condition: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    errors: FieldErrors = []
    expression = str(condition.get("expression") or "").strip()
    if not expression:
        errors.append(FieldError.required(path.child("expression")))
    else:
        errors.extend(_compile_errors(expression, path.child("expression")))
    name = str(condition.get("name") or "")
    if not name:
        errors.append(FieldError.required(path.child("name")))
    else:
        errors.extend(FieldError.invalid(path.child("name"), name, message) for message in is_qualified_name(name))
    return errors


def _compile_errors(expression: str, path: FieldPath) -> FieldErrors:
    """The expression compiled as a boolean over object, oldObject, request and authorizer (apiserver.cel)."""
    try:
        cel = importlib.import_module("apiserver.cel")
    except ImportError:
        return []
    try:
        authz = importlib.import_module("apiserver.cel.authz")
        program = cel.compile_expression(expression, {"object": cel.DYN, "oldObject": cel.DYN, "request": cel.DYN,
                                                      "authorizer": authz.AUTHORIZER_TYPE})
    except cel.CompileError as error:
        return [FieldError.invalid(path, expression, str(error))]
    output = getattr(program, "output_type", None)
    if output is not None and output != cel.BOOL:
        return [FieldError.invalid(path, expression, "must evaluate to bool")]
    return []
