"""Validation of PodDisruptionBudgets (pkg/apis/policy/validation) and the metav1 pieces it uses.

The label selector and condition rules are apimachinery's (apis/meta/v1/validation); the int-or-percent rules
are the apps validation helpers PDBs share with Deployments. Messages and field paths are upstream's.
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from apiserver.meta.errors import go_quote
from apiserver.meta.validation import (
    IS_NEGATIVE_MESSAGE,
    FieldError,
    FieldErrors,
    FieldPath,
    byte_length,
    is_valid_label_value,
    non_negative,
    regex_message,
    validate_label_name,
    validate_labels,
)

PERCENT_MESSAGE: Final = regex_message(
    "a valid percent string must be a numeric string followed by an ending '%'", "[0-9]+%", "1%", "93%"
)
BOTH_SET_MESSAGE: Final = "minAvailable and maxUnavailable cannot be both set"
UNHEALTHY_POD_EVICTION_POLICIES: Final = ("AlwaysAllow", "IfHealthyBudget")
CONDITION_STATUSES: Final = ("False", "True", "Unknown")
_PERCENT: Final = re.compile(r"[0-9]+%")
_REASON: Final = re.compile(r"[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?")
_REASON_MESSAGE: Final = regex_message(
    "a condition reason must start with alphabetic character, optionally followed by a string of alphanumeric "
    "characters or '_,:', and must end with an alphanumeric character or '_'",
    _REASON.pattern, "my_name", "MY_NAME", "MyName", "ReasonA,ReasonB", "ReasonA:ReasonB",
)
_MAX_REASON_LENGTH: Final = 1024
_MAX_MESSAGE_LENGTH: Final = 32 * 1024
# The Go field order of policy/v1 PodDisruptionBudgetSpec, in which the bad value of BOTH_SET_MESSAGE is printed.
_SPEC_FIELDS: Final = ("minAvailable", "selector", "maxUnavailable", "unhealthyPodEvictionPolicy")


@dataclass(frozen=True, slots=True)
class _GoValueError(FieldError):
    """An error whose bad value is printed as given: Go's `%#v` of a value JSON cannot show (an IntOrString)."""

    def error_body(self) -> str:
        return f"{self.type.label}: {self.bad_value}: {self.detail}"


def int_or_string_repr(value: int | str) -> str:
    """`%#v` of an intstr.IntOrString, as field errors print it."""
    if isinstance(value, str):
        return f"intstr.IntOrString{{Type:1, IntVal:0, StrVal:{go_quote(value)}}}"
    return f'intstr.IntOrString{{Type:0, IntVal:{value}, StrVal:""}}'


def _invalid_int_or_string(path: FieldPath, value: int | str, detail: str) -> FieldError:
    return _GoValueError.invalid(path, int_or_string_repr(value), detail)


def percent_value(value: object) -> int | None:
    """The number of a valid percent string (`"30%"` → 30); None for integers and anything else."""
    if isinstance(value, str) and _PERCENT.fullmatch(value):
        return int(value[:-1])
    return None


def validate_positive_int_or_percent(value: object, path: FieldPath) -> FieldErrors:
    """ValidatePositiveIntOrPercent and IsNotMoreThan100Percent: a non-negative integer or a percent string of at
    most 100%."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        return []
    if isinstance(value, int):
        return [_invalid_int_or_string(path, value, IS_NEGATIVE_MESSAGE)] if value < 0 else []
    percent = percent_value(value)
    if percent is None:
        return [_invalid_int_or_string(path, value, PERCENT_MESSAGE)]
    if percent > 100:
        return [_invalid_int_or_string(path, value, "must not be greater than 100%")]
    return []


def validate_label_selector(selector: object, path: FieldPath, *, allow_invalid_label_values: bool = False
                            ) -> FieldErrors:
    """ValidateLabelSelector: matchLabels as labels, each matchExpressions requirement on its own."""
    if not isinstance(selector, Mapping):
        return []
    errors = validate_labels(selector.get("matchLabels") or {}, path.child("matchLabels"))
    for index, requirement in enumerate(selector.get("matchExpressions") or ()):
        if isinstance(requirement, Mapping):
            errors.extend(_validate_requirement(requirement, path.child("matchExpressions").index(index),
                                                allow_invalid_label_values))
    return errors


def _validate_requirement(requirement: Mapping[str, Any], path: FieldPath, allow_invalid_values: bool
                          ) -> FieldErrors:
    errors: FieldErrors = []
    operator = requirement.get("operator") or ""
    values: Sequence[str] = requirement.get("values") or ()
    if operator in ("In", "NotIn"):
        if not values:
            errors.append(FieldError.required(path.child("values"),
                                              "must be specified when `operator` is 'In' or 'NotIn'"))
    elif operator in ("Exists", "DoesNotExist"):
        if values:
            errors.append(FieldError.forbidden(path.child("values"),
                                               "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
    else:
        errors.append(FieldError.invalid(path.child("operator"), operator, "not a valid selector operator"))
    errors.extend(validate_label_name(str(requirement.get("key") or ""), path.child("key")))
    if not allow_invalid_values:
        for index, value in enumerate(values):
            errors.extend(FieldError.invalid(path.child("values").index(index), value, message)
                          for message in is_valid_label_value(value))
    return errors


def has_invalid_label_value_in_selector(selector: object) -> bool:
    """Whether a stored selector has a value today's rules reject (an update may then keep such values)."""
    if not isinstance(selector, Mapping):
        return False
    for requirement in selector.get("matchExpressions") or ():
        if isinstance(requirement, Mapping) and any(is_valid_label_value(value)
                                                    for value in requirement.get("values") or ()):
            return True
    return False


def validate_pdb_spec(spec: Mapping[str, Any], *, allow_invalid_label_values: bool = False) -> FieldErrors:
    """ValidatePodDisruptionBudgetSpec."""
    path = FieldPath("spec")
    errors: FieldErrors = []
    min_available, max_unavailable = spec.get("minAvailable"), spec.get("maxUnavailable")
    if min_available is not None and max_unavailable is not None:
        shown = {field: spec[field] for field in _SPEC_FIELDS if spec.get(field) is not None}
        errors.append(FieldError.invalid(path, shown, BOTH_SET_MESSAGE))
    if min_available is not None:
        errors.extend(validate_positive_int_or_percent(min_available, path.child("minAvailable")))
    if max_unavailable is not None:
        errors.extend(validate_positive_int_or_percent(max_unavailable, path.child("maxUnavailable")))
    errors.extend(validate_label_selector(spec.get("selector"), path.child("selector"),
                                          allow_invalid_label_values=allow_invalid_label_values))
    policy = spec.get("unhealthyPodEvictionPolicy")
    if policy is not None and policy not in UNHEALTHY_POD_EVICTION_POLICIES:
        errors.append(FieldError.not_supported(path.child("unhealthyPodEvictionPolicy"), policy,
                                               UNHEALTHY_POD_EVICTION_POLICIES))
    return errors


def validate_conditions(conditions: Sequence[Mapping[str, Any]], path: FieldPath) -> FieldErrors:
    """ValidateConditions (metav1.Condition): unique types, each condition valid."""
    errors: FieldErrors = []
    seen: set[str] = set()
    for index, condition in enumerate(conditions):
        condition_type = str(condition.get("type") or "")
        if condition_type in seen:
            errors.append(FieldError.duplicate(path.index(index).child("type"), condition_type))
        seen.add(condition_type)
        errors.extend(_validate_condition(condition, path.index(index)))
    return errors


def _validate_condition(condition: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    errors = validate_label_name(str(condition.get("type") or ""), path.child("type"))
    status = condition.get("status") or ""
    if status not in CONDITION_STATUSES:
        errors.append(FieldError.not_supported(path.child("status"), status, CONDITION_STATUSES))
    observed = condition.get("observedGeneration")
    if isinstance(observed, int) and observed < 0:
        errors.append(FieldError.invalid(path.child("observedGeneration"), observed,
                                         "must be greater than or equal to zero"))
    if not condition.get("lastTransitionTime"):
        errors.append(FieldError.required(path.child("lastTransitionTime"), "must be set"))
    reason = str(condition.get("reason") or "")
    if not reason:
        errors.append(FieldError.required(path.child("reason"), "must be set"))
    else:
        if not _REASON.fullmatch(reason):
            errors.append(FieldError.invalid(path.child("reason"), reason, _REASON_MESSAGE))
        if byte_length(reason) > _MAX_REASON_LENGTH:
            errors.append(FieldError.too_long(path.child("reason"), _MAX_REASON_LENGTH))
    if byte_length(str(condition.get("message") or "")) > _MAX_MESSAGE_LENGTH:
        errors.append(FieldError.too_long(path.child("message"), _MAX_MESSAGE_LENGTH))
    return errors


def validate_pdb_status(status: Mapping[str, Any]) -> FieldErrors:
    """ValidatePodDisruptionBudgetStatusUpdate (policy/v1): valid conditions and no negative counts."""
    path = FieldPath("status")
    errors = validate_conditions(status.get("conditions") or (), path.child("conditions"))
    for field in ("disruptionsAllowed", "currentHealthy", "desiredHealthy", "expectedPods"):
        value = status.get(field)
        errors.extend(non_negative(value if isinstance(value, int) else None, path.child(field)))
    return errors
