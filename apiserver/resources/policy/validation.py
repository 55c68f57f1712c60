"""Validation of PodDisruptionBudgets (pkg/apis/policy/validation) and metav1 conditions.

The condition rules are apimachinery's (apis/meta/v1/validation ValidateConditions); label selectors
(`meta.selector_validation`) and int-or-percent fields (`meta.intorstring`, the apps validation helpers PDBs share
with Deployments) are shared. Messages and field paths are upstream's.
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

from apiserver.meta.intorstring import validate_not_more_than_100_percent, validate_positive_int_or_percent
from apiserver.meta.selector_validation import validate_label_selector
from apiserver.meta.validation import (
    FieldError,
    FieldErrors,
    FieldPath,
    byte_length,
    non_negative,
    regex_message,
    validate_label_name,
)

BOTH_SET_MESSAGE: Final = "minAvailable and maxUnavailable cannot be both set"
UNHEALTHY_POD_EVICTION_POLICIES: Final = ("AlwaysAllow", "IfHealthyBudget")
CONDITION_STATUSES: Final = ("False", "True", "Unknown")
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


def validate_pdb_spec(spec: Mapping[str, Any], *, allow_invalid_label_values: bool = False) -> FieldErrors:
    """ValidatePodDisruptionBudgetSpec."""
    path = FieldPath("spec")
    errors: FieldErrors = []
    min_available, max_unavailable = spec.get("minAvailable"), spec.get("maxUnavailable")
    if min_available is not None and max_unavailable is not None:
        shown = {field: spec[field] for field in _SPEC_FIELDS if spec.get(field) is not None}
        errors.append(FieldError.invalid(path, shown, BOTH_SET_MESSAGE))
    for field, value in (("minAvailable", min_available), ("maxUnavailable", max_unavailable)):
        if value is not None:
            errors.extend(validate_positive_int_or_percent(value, path.child(field)))
            errors.extend(validate_not_more_than_100_percent(value, path.child(field)))
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
