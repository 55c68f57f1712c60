"""Validation of intstr.IntOrString fields that hold a count or a percentage (`3` or `"30%"`).

Upstream keeps these in pkg/apis/apps/validation (ValidatePositiveIntOrPercent, IsNotMoreThan100Percent,
getIntOrPercentValue) on apimachinery's IsValidPercent; Deployments, DaemonSets, StatefulSets and
PodDisruptionBudgets use them. A bad percentage prints as `intstr.IntOrString{...}`, a negative count as the number.
"""
from __future__ import annotations

import re
from typing import Final

from apiserver.meta.govalues import go_int_or_string, go_invalid
from apiserver.meta.validation import FieldErrors, FieldPath, non_negative, regex_message

PERCENT_MESSAGE: Final = regex_message(
    "a valid percent string must be a numeric string followed by an ending '%'", "[0-9]+%", "1%", "93%")
_PERCENT: Final = re.compile(r"[0-9]+%")


def percent_value(value: object) -> int | None:
    """The number of a valid percent string (`"30%"` → 30); None for integers and anything else."""
    if isinstance(value, str) and _PERCENT.fullmatch(value):
        return int(value[:-1])
    return None


def int_or_percent_value(value: object) -> int:
    """getIntOrPercentValue: the percentage's number, the integer, or 0."""
    percent = percent_value(value)
    if percent is not None:
        return percent
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def validate_positive_int_or_percent(value: object, path: FieldPath) -> FieldErrors:
    """ValidatePositiveIntOrPercent: a valid percent string, or an integer that is not negative."""
    if isinstance(value, str):
        return [] if percent_value(value) is not None else [go_invalid(path, go_int_or_string(value), PERCENT_MESSAGE)]
    if isinstance(value, bool) or not isinstance(value, int):
        return []
    return non_negative(value, path)


def validate_not_more_than_100_percent(value: object, path: FieldPath) -> FieldErrors:
    """IsNotMoreThan100Percent: a percentage of at most 100% (integers are not limited)."""
    percent = percent_value(value)
    if percent is None or percent <= 100:
        return []
    return [go_invalid(path, go_int_or_string(value), "must not be greater than 100%")]
