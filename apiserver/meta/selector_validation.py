"""Validation of metav1.LabelSelector objects as they are written in specs (matchLabels, matchExpressions).

Upstream's apimachinery apis/meta/v1/validation: ValidateLabelSelector and ValidateLabelSelectorRequirement, with
LabelSelectorValidationOptions.AllowInvalidLabelValueInSelector, which updates turn on when the stored selector
already had such values. Parsing and matching selectors is `meta.selectors`.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from apiserver.meta.validation import (
    FieldError,
    FieldErrors,
    FieldPath,
    is_valid_label_value,
    validate_label_name,
    validate_labels,
)

SET_OPERATORS: Final = ("In", "NotIn", "Exists", "DoesNotExist")
INVALID_OPERATOR_MESSAGE: Final = "not a valid selector operator"


def validate_label_selector(selector: object, path: FieldPath, *, allow_invalid_label_values: bool = False
                            ) -> FieldErrors:
    """ValidateLabelSelector: matchLabels as labels, each matchExpressions requirement on its own."""
    if not isinstance(selector, Mapping):
        return []
    labels = selector.get("matchLabels")
    errors = validate_labels(dict(labels) if isinstance(labels, Mapping) else {}, path.child("matchLabels"))
    expressions = selector.get("matchExpressions")
    for index, requirement in enumerate(expressions if isinstance(expressions, list) else []):
        errors += _validate_requirement(requirement if isinstance(requirement, Mapping) else {},
                                        path.child("matchExpressions").index(index), allow_invalid_label_values)
    return errors


def _validate_requirement(requirement: Mapping[str, Any], path: FieldPath, allow_invalid_values: bool
                          ) -> FieldErrors:
    operator = requirement.get("operator") or ""
    values = _values(requirement)
    if operator in SET_OPERATORS:
        errors = set_operator_errors(operator, values, path)
    else:
        errors = [FieldError.invalid(path.child("operator"), operator, INVALID_OPERATOR_MESSAGE)]
    errors += validate_label_name(str(requirement.get("key") or ""), path.child("key"))
    if not allow_invalid_values:
        errors += label_value_errors(values, path.child("values"))
    return errors


def set_operator_errors(operator: str, values: Sequence[object], path: FieldPath) -> FieldErrors:
    """The values of a requirement with a set operator (SET_OPERATORS): In and NotIn need some, Exists and
    DoesNotExist allow none. Label and node selector requirements share these rules."""
    if operator in ("In", "NotIn") and not values:
        return [FieldError.required(path.child("values"), "must be specified when `operator` is 'In' or 'NotIn'")]
    if operator in ("Exists", "DoesNotExist") and values:
        return [FieldError.forbidden(path.child("values"),
                                     "may not be specified when `operator` is 'Exists' or 'DoesNotExist'")]
    return []


def label_value_errors(values: Sequence[object], path: FieldPath) -> FieldErrors:
    """Every value must be a valid label value (reported at `path[i]`)."""
    return [FieldError.invalid(path.index(index), value, message)
            for index, value in enumerate(values) for message in is_valid_label_value(str(value))]


def has_invalid_label_value_in_selector(selector: object) -> bool:
    """Whether a stored selector has a value today's rules reject (an update may then keep such values)."""
    if not isinstance(selector, Mapping):
        return False
    expressions = selector.get("matchExpressions")
    return any(is_valid_label_value(str(value))
               for requirement in (expressions if isinstance(expressions, list) else [])
               if isinstance(requirement, Mapping) for value in _values(requirement))


def _values(requirement: Mapping[str, Any]) -> list[Any]:
    values = requirement.get("values")
    return values if isinstance(values, list) else []
