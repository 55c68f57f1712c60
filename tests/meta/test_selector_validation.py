"""metav1 LabelSelector validation (apiserver.meta.selector_validation), shared by workloads, PodDisruptionBudgets,
pod affinity terms, admission webhooks and policies: upstream's ValidateLabelSelector messages and paths."""
from __future__ import annotations

from typing import Any

import pytest

from apiserver.meta.selector_validation import has_invalid_label_value_in_selector, validate_label_selector
from apiserver.meta.validation import FieldPath

LABEL_VALUE = ("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and "
               "must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', "
               "regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')")


def _messages(selector: Any, **options: bool) -> list[str]:
    return [error.error_message() for error in validate_label_selector(selector, FieldPath("spec", "selector"),
                                                                        **options)]


@pytest.mark.parametrize(
    ("selector", "messages"),
    [
        ({"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "tier", "operator": "In", "values": ["a"]}]},
         []),
        (None, []),
        ({"matchExpressions": [{"key": "app", "operator": "In"}]},
         ["spec.selector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or "
          "'NotIn'"]),
        ({"matchExpressions": [{"key": "app", "operator": "Exists", "values": ["x"]}]},
         ["spec.selector.matchExpressions[0].values: Forbidden: may not be specified when `operator` is 'Exists' or "
          "'DoesNotExist'"]),
        ({"matchExpressions": [{"key": "app", "operator": "Near", "values": ["x"]}]},
         ['spec.selector.matchExpressions[0].operator: Invalid value: "Near": not a valid selector operator']),
        ({"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["ok", "-bad"]}]},
         [f'spec.selector.matchExpressions[0].values[1]: Invalid value: "-bad": {LABEL_VALUE}']),
        ({"matchLabels": {"app": "-bad"}},
         [f'spec.selector.matchLabels: Invalid value: "-bad": {LABEL_VALUE}']),
        ({"matchExpressions": [{"key": "a b", "operator": "DoesNotExist"}]},
         ['spec.selector.matchExpressions[0].key: Invalid value: "a b": name part must consist of alphanumeric '
          "characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or "
          "'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"]),
    ],
    ids=["valid", "absent", "in-without-values", "exists-with-values", "unknown-operator", "bad-value",
         "bad-match-label", "bad-key"],
)
def test_validate_label_selector(selector: Any, messages: list[str]) -> None:
    assert _messages(selector) == messages


def test_invalid_values_may_be_allowed_for_updates_that_keep_them() -> None:
    selector = {"matchExpressions": [{"key": "app", "operator": "In", "values": ["-bad"]}]}
    assert has_invalid_label_value_in_selector(selector)
    assert _messages(selector, allow_invalid_label_values=True) == []
    assert not has_invalid_label_value_in_selector({"matchExpressions": [{"key": "app", "operator": "In",
                                                                          "values": ["good"]}]})
    assert not has_invalid_label_value_in_selector(None)
