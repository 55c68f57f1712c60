"""The CEL-bearing parts of a ValidatingAdmissionPolicy: matchConditions, variables, validations, auditAnnotations.

Upstream's validateMatchConditions, validateVariable, validateValidation and validateAuditAnnotation (v1.32): the
structural rules here, the compile checks through `policy_validation_cel` (apiserver.cel).
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from apiserver.cel import CelType
from apiserver.meta.validation import FieldError, FieldErrors, FieldPath, validate_label_name
from apiserver.resources.admissionregistration.matching_rules import MAX_MATCH_CONDITIONS
from apiserver.resources.admissionregistration.policy_validation_cel import (
    Declarations,
    compile_checked,
    validate_expression,
    variables_type,
)
from apiserver.resources.admissionregistration.policy_validation_rules import VALIDATION_REASONS, is_cel_identifier

MAX_AUDIT_ANNOTATIONS: Final = 20
MAX_AUDIT_ANNOTATION_VALUE_EXPRESSION_LENGTH: Final = 5 * 1024
_NEWLINES = re.compile(r"[\n\r]+")


def _compile(expression: str, path: FieldPath, returns: tuple[str, ...], *, has_params: bool,
             has_authorizer: bool = True, variables: CelType | None = None) -> FieldErrors:
    declarations = Declarations(has_params=has_params, has_authorizer=has_authorizer, variables=variables)
    return validate_expression(expression, path, declarations, returns)


def validate_match_conditions(conditions: object, path: FieldPath, *, has_params: bool) -> FieldErrors:
    """validateMatchConditions: at most 64, named with qualified names (unique), expressions that are booleans."""
    items = conditions if isinstance(conditions, list) else []
    errors: FieldErrors = []
    if len(items) > MAX_MATCH_CONDITIONS:
        errors.append(FieldError.too_many(path, len(items), MAX_MATCH_CONDITIONS))
    seen: set[str] = set()
    for index, condition in enumerate(items):
        condition = _mapping(condition)
        at = path.index(index)
        expression = str(condition.get("expression") or "").strip()
        if not expression:
            errors.append(FieldError.required(at.child("expression")))
        else:
            errors.extend(_compile(expression, at.child("expression"), ("bool",), has_params=has_params))
        name = str(condition.get("name") or "")
        if not name:
            errors.append(FieldError.required(at.child("name")))
        else:
            errors.extend(validate_label_name(name, at.child("name")))
            if name in seen:
                errors.append(FieldError.duplicate(at.child("name"), name))
            seen.add(name)
    return errors


def validate_variables(spec: Mapping[str, Any], path: FieldPath) -> tuple[FieldErrors, CelType | None]:
    """validateVariable for each variable (a CEL identifier, an expression that compiles with the variables
    before it), and the type of `variables` the other expressions see (None when there are none)."""
    variables = spec.get("variables")
    if not isinstance(variables, list) or not variables:
        return [], None
    has_params = isinstance(spec.get("paramKind"), Mapping)
    errors: FieldErrors = []
    fields: dict[str, CelType] = {}
    for index, variable in enumerate(variables):
        variable = _mapping(variable)
        at = path.index(index)
        name = str(variable.get("name") or "")
        if not name.strip():
            errors.append(FieldError.required(at.child("name"), "name is not specified"))
        elif not is_cel_identifier(name):
            errors.append(FieldError.invalid(at.child("name"), name, "name is not a valid CEL identifier"))
        expression = str(variable.get("expression") or "")
        if not expression.strip():
            errors.append(FieldError.required(at.child("expression"), "expression is not specified"))
            continue
        declarations = Declarations(has_params=has_params, variables=variables_type(fields))
        output, problem = compile_checked(expression, declarations, ())
        if problem is not None:
            errors.append(FieldError.invalid(at.child("expression"), expression, problem))
        if name.strip():
            fields[name] = output
    return errors, variables_type(fields)


def validate_validations(spec: Mapping[str, Any], path: FieldPath, variables: CelType | None) -> FieldErrors:
    """validateValidation for each validation."""
    validations = spec.get("validations")
    has_params = isinstance(spec.get("paramKind"), Mapping)
    errors: FieldErrors = []
    for index, validation in enumerate(validations if isinstance(validations, list) else ()):
        errors.extend(_validate_validation(_mapping(validation), path.index(index), has_params=has_params,
                                           variables=variables))
    return errors


def _validate_validation(validation: Mapping[str, Any], path: FieldPath, *, has_params: bool,
                         variables: CelType | None) -> FieldErrors:
    errors: FieldErrors = []
    expression = str(validation.get("expression") or "")
    if not expression.strip():
        errors.append(FieldError.required(path.child("expression"), "expression is not specified"))
    else:
        errors.extend(_compile(expression, path.child("expression"), ("bool",), has_params=has_params,
                               variables=variables))
    message_expression = str(validation.get("messageExpression") or "")
    if message_expression and not message_expression.strip():
        errors.append(FieldError.invalid(path.child("messageExpression"), message_expression,
                                         "must be non-empty if specified"))
    elif message_expression.strip():
        # Upstream compiles messageExpression without the authorizer, with params exactly when the policy
        # has a paramKind.
        errors.extend(_compile(message_expression, path.child("messageExpression"), ("string",),
                               has_params=has_params, has_authorizer=False, variables=variables))
    message = str(validation.get("message") or "")
    if message and not message.strip():
        errors.append(FieldError.invalid(path.child("message"), message, "message must be non-empty if specified"))
    elif _NEWLINES.search(message.strip()):
        errors.append(FieldError.invalid(path.child("message"), message, "message must not contain line breaks"))
    reason = validation.get("reason")
    if reason is not None and reason not in VALIDATION_REASONS:
        errors.append(FieldError.not_supported(path.child("reason"), reason, VALIDATION_REASONS))
    return errors


def validate_audit_annotations(spec: Mapping[str, Any], policy_name: str, path: FieldPath,
                               variables: CelType | None) -> FieldErrors:
    """At most 20 annotations, unique keys that make qualified names with the policy name, string values."""
    annotations = spec.get("auditAnnotations")
    if not isinstance(annotations, list):
        return []
    errors: FieldErrors = []
    if len(annotations) > MAX_AUDIT_ANNOTATIONS:
        errors.append(FieldError.invalid(path, annotations,
                                         f"must not have more than {MAX_AUDIT_ANNOTATIONS} auditAnnotations"))
    has_params = isinstance(spec.get("paramKind"), Mapping)
    seen: set[str] = set()
    for index, annotation in enumerate(annotations):
        annotation = _mapping(annotation)
        key = str(annotation.get("key") or "")
        errors.extend(_validate_audit_annotation(annotation, key, policy_name, path.index(index),
                                                 has_params=has_params, variables=variables))
        if key in seen:
            errors.append(FieldError.duplicate(path.index(index).child("key"), key))
        seen.add(key)
    return errors


def _validate_audit_annotation(annotation: Mapping[str, Any], key: str, policy_name: str, path: FieldPath, *,
                               has_params: bool, variables: CelType | None) -> FieldErrors:
    errors: FieldErrors = []
    if policy_name:
        errors.extend(validate_label_name(f"{policy_name}/{key}", path.child("key")))
    else:
        errors.append(FieldError.invalid(path.child("key"), key, "requires metadata.name be non-empty"))
    expression = str(annotation.get("valueExpression") or "")
    trimmed = expression.strip()
    at = path.child("valueExpression")
    if not trimmed:
        errors.append(FieldError.required(at, "valueExpression is not specified"))
    elif len(trimmed) > MAX_AUDIT_ANNOTATION_VALUE_EXPRESSION_LENGTH:
        errors.append(FieldError.required(
            at, f"must not exceed {MAX_AUDIT_ANNOTATION_VALUE_EXPRESSION_LENGTH} bytes in length"))
    else:
        problems = _compile(trimmed, at, ("string", "null_type"), has_params=has_params, variables=variables)
        errors.extend(FieldError.invalid(at, expression, problem.detail) for problem in problems)
    return errors


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}
