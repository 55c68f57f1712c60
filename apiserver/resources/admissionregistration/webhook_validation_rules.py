"""A webhook's matchConditions: named CEL expressions that further restrict what the webhook's rules match.

Upstream v1.32 pkg/apis/admissionregistration/validation: validateMatchConditions, with its messages. The rules
themselves are `matching_rules` (shared with policies), the review versions `webhook_validation_client`.
"""
from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from apiserver.meta.validation import FieldError, FieldErrors, FieldPath, is_qualified_name
from apiserver.resources.admissionregistration.matching_rules import MAX_MATCH_CONDITIONS


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
