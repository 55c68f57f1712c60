"""IntOrString count-or-percentage fields (apiserver.meta.intorstring), shared by Deployments, DaemonSets,
StatefulSets and PodDisruptionBudgets: upstream's ValidatePositiveIntOrPercent and IsNotMoreThan100Percent."""
from __future__ import annotations

import pytest

from apiserver.meta.govalues import go_int_or_string
from apiserver.meta.intorstring import (
    int_or_percent_value,
    percent_value,
    validate_not_more_than_100_percent,
    validate_positive_int_or_percent,
)
from apiserver.meta.validation import FieldPath

PERCENT = ("a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', "
           "regex used for validation is '[0-9]+%')")
PATH = FieldPath("spec", "maxUnavailable")


@pytest.mark.parametrize(
    ("value", "messages"),
    [
        (3, []),
        (0, []),
        ("25%", []),
        ("250%", []),
        (-1, ["spec.maxUnavailable: Invalid value: -1: must be greater than or equal to 0"]),
        ("x", [f'spec.maxUnavailable: Invalid value: intstr.IntOrString{{Type:1, IntVal:0, StrVal:"x"}}: {PERCENT}']),
        ("5%\n", [f'spec.maxUnavailable: Invalid value: intstr.IntOrString{{Type:1, IntVal:0, StrVal:"5%\\n"}}: '
                  f"{PERCENT}"]),
    ],
    ids=["count", "zero", "percent", "large-percent", "negative", "not-a-percent", "trailing-newline"],
)
def test_validate_positive_int_or_percent(value: int | str, messages: list[str]) -> None:
    assert [error.error_message() for error in validate_positive_int_or_percent(value, PATH)] == messages


@pytest.mark.parametrize(
    ("value", "messages"),
    [
        ("100%", []),
        (101, []),
        ("x", []),
        ("101%", ['spec.maxUnavailable: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:"101%"}: must not '
                  "be greater than 100%"]),
    ],
    ids=["hundred-percent", "count-above-100", "not-a-percent", "above-100-percent"],
)
def test_validate_not_more_than_100_percent(value: int | str, messages: list[str]) -> None:
    assert [error.error_message() for error in validate_not_more_than_100_percent(value, PATH)] == messages


def test_values_of_counts_and_percentages() -> None:
    assert (percent_value("30%"), percent_value(30), percent_value("30")) == (30, None, None)
    assert (int_or_percent_value("30%"), int_or_percent_value(4), int_or_percent_value(None)) == (30, 4, 0)
    assert go_int_or_string(4) == 'intstr.IntOrString{Type:0, IntVal:4, StrVal:""}'
