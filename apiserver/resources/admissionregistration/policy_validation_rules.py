"""The parts of admission policies that bindings share: match resources, rules, parameter references, actions.

Upstream's pkg/apis/admissionregistration/validation (v1.32): validateMatchResources, validateNamedRuleWithOperations,
validateParamRef, validateValidationActions, validateParamKind, and the variable name rules; the rules themselves are
`matching_rules`, shared with webhooks. Messages and paths are upstream's; validationActions print as `[]string{...}`
where upstream prints its named slice type (`[]admissionregistration.ValidationAction{...}`).
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

from apiserver.meta.selector_validation import validate_label_selector
from apiserver.meta.validation import (
    FieldError,
    FieldErrors,
    FieldPath,
    is_dns1035_label,
    is_dns1123_subdomain,
    is_valid_path_segment_name,
)
from apiserver.resources.admissionregistration.matching_rules import (
    MATCH_POLICIES,
    strings,
    validate_rule_with_operations,
)

VALIDATION_ACTIONS: Final = ("Audit", "Deny", "Warn")
PARAMETER_NOT_FOUND_ACTIONS: Final = ("Deny", "Allow")
VALIDATION_REASONS: Final = ("Forbidden", "Invalid", "RequestEntityTooLarge")

_CEL_IDENTIFIER = re.compile(r"[_a-zA-Z][_a-zA-Z0-9]*")
_CEL_RESERVED: Final = frozenset({
    "true", "false", "null", "in", "as", "break", "const", "continue", "else", "for", "function", "if", "import",
    "let", "loop", "package", "namespace", "return", "var", "void", "while",
})


def is_cel_identifier(name: str) -> bool:
    """A CEL IDENT that is not a reserved word (variable names)."""
    return _CEL_IDENTIFIER.fullmatch(name) is not None and name not in _CEL_RESERVED


def validate_match_resources(resources: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    """validateMatchResources: matchPolicy, both selectors (required after defaulting), each rule."""
    errors: FieldErrors = []
    policy = resources.get("matchPolicy")
    if not policy:
        errors.append(FieldError.required(path.child("matchPolicy")))
    elif policy not in MATCH_POLICIES:
        errors.append(FieldError.not_supported(path.child("matchPolicy"), policy, MATCH_POLICIES))
    for name in ("namespaceSelector", "objectSelector"):
        selector = resources.get(name)
        if selector is None:
            errors.append(FieldError.required(path.child(name)))
        else:
            errors.extend(validate_label_selector(selector, path.child(name)))
    for name in ("resourceRules", "excludeResourceRules"):
        for index, rule in enumerate(_items(resources.get(name))):
            errors.extend(validate_named_rule(rule, path.child(name).index(index)))
    return errors


def validate_named_rule(rule: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    """validateNamedRuleWithOperations: resourceNames are path segments without duplicates, then the rule."""
    errors: FieldErrors = []
    seen: set[str] = set()
    for index, name in enumerate(strings(rule.get("resourceNames"))):
        at = path.child("resourceNames").index(index)
        errors.extend(FieldError.invalid(at, name, message) for message in is_valid_path_segment_name(name))
        if name in seen:
            errors.append(FieldError.duplicate(at, name))
        seen.add(name)
    return [*errors, *validate_rule_with_operations(rule, path)]


def validate_param_kind(kind: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    """validateParamKind: apiVersion as an APIService group and version, kind as a mixed-case DNS-1035 label."""
    errors: FieldErrors = []
    api_version = str(kind.get("apiVersion") or "")
    at = path.child("apiVersion")
    if not api_version:
        errors.append(FieldError.required(at))
    elif api_version.count("/") > 1:
        errors.append(FieldError.invalid(at, api_version, f"unexpected GroupVersion string: {api_version}"))
    else:
        group, _, version = api_version.rpartition("/")
        if group and (problems := is_dns1123_subdomain(group)):
            errors.append(FieldError.invalid(at, group, ",".join(problems)))
        if not version:
            errors.append(FieldError.invalid(at, api_version, "version must be specified"))
        elif problems := is_dns1035_label(version):
            errors.append(FieldError.invalid(at, version, ",".join(problems)))
    name = str(kind.get("kind") or "")
    if not name:
        errors.append(FieldError.required(path.child("kind")))
    elif problems := is_dns1035_label(name.lower()):
        errors.append(FieldError.invalid(path.child("kind"), name,
                                         "may have mixed case, but should otherwise match: " + ",".join(problems)))
    return errors


def validate_param_ref(reference: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    """validateParamRef: name or selector (exclusively), and a parameterNotFoundAction."""
    errors: FieldErrors = []
    name = str(reference.get("name") or "")
    selector = reference.get("selector")
    exclusive = "name and selector are mutually exclusive"
    if name:
        errors.extend(FieldError.invalid(path.child("name"), name, message)
                      for message in is_valid_path_segment_name(name))
        if selector is not None:
            errors.append(FieldError.forbidden(path.child("name"), exclusive))
    if selector is not None:
        errors.extend(validate_label_selector(selector, path.child("selector")))
        if name:
            errors.append(FieldError.forbidden(path.child("selector"), exclusive))
    if not name and selector is None:
        errors.append(FieldError.required(path, "one of name or selector must be specified"))
    action = reference.get("parameterNotFoundAction")
    if not action:
        errors.append(FieldError.required(path.child("parameterNotFoundAction")))
    elif action not in PARAMETER_NOT_FOUND_ACTIONS:
        errors.append(FieldError.not_supported(path.child("parameterNotFoundAction"), action,
                                               PARAMETER_NOT_FOUND_ACTIONS))
    return errors


def validate_validation_actions(actions: Sequence[str], path: FieldPath) -> FieldErrors:
    """validateValidationActions: known, unique, not both Deny and Warn, at least one."""
    errors: FieldErrors = []
    seen: set[str] = set()
    for index, action in enumerate(actions):
        if action not in VALIDATION_ACTIONS:
            errors.append(FieldError.not_supported(path.index(index), action, VALIDATION_ACTIONS))
        if action in seen:
            errors.append(FieldError.duplicate(path.index(index), action))
        seen.add(action)
    if {"Deny", "Warn"} <= seen:
        errors.append(FieldError.invalid(path, list(actions), "must not contain both Deny and Warn (repeating the "
                                         "same validation failure information in the API response and headers "
                                         "serves no purpose)"))
    if not seen:
        errors.append(FieldError.required(path, "at least one validation action is required"))
    return errors


def _items(value: object) -> list[Mapping[str, Any]]:
    return [item if isinstance(item, Mapping) else {} for item in value] if isinstance(value, list) else []
