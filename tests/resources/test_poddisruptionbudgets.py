"""PodDisruptionBudgets through the resource endpoints (in memory): status and generation on create, the
status subresource, and validation with upstream's messages."""
from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.support.resource_app import ResourceApp, resource_app

BUDGETS = "/apis/policy/v1/namespaces/default/poddisruptionbudgets"
SELECTOR = {"matchLabels": {"app": "web"}}
PERCENT = ("a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', "
           "regex used for validation is '[0-9]+%')")


@pytest.fixture
async def app() -> AsyncIterator[ResourceApp]:
    async with resource_app() as running:
        yield running


def budget(name: str = "budget", **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": name},
            "spec": {"selector": SELECTOR, **spec}}


async def test_create_starts_with_an_empty_status_at_generation_one(app: ResourceApp) -> None:
    sent = budget(minAvailable=1)
    sent["status"] = {"disruptionsAllowed": 5, "currentHealthy": 5}
    answer = await app.request("POST", BUDGETS, sent)
    assert answer.status == 201
    created = answer.json()
    assert created["metadata"]["generation"] == 1
    assert created["status"] == {"disruptionsAllowed": 0, "currentHealthy": 0, "desiredHealthy": 0,
                                 "expectedPods": 0}


async def test_spec_changes_bump_the_generation_and_keep_the_status(app: ResourceApp) -> None:
    created = (await app.request("POST", BUDGETS, budget(minAvailable=1))).json()
    created["spec"]["minAvailable"] = 2
    created["status"]["disruptionsAllowed"] = 3
    updated = (await app.request("PUT", f"{BUDGETS}/budget", created)).json()
    assert (updated["metadata"]["generation"], updated["status"]["disruptionsAllowed"]) == (2, 0)


async def test_status_changes_only_through_the_status_subresource(app: ResourceApp) -> None:
    created = (await app.request("POST", BUDGETS, budget(minAvailable=1))).json()
    created["spec"]["minAvailable"] = 5
    created["status"] = {"observedGeneration": 1, "disruptionsAllowed": 2, "currentHealthy": 3,
                         "desiredHealthy": 1, "expectedPods": 3}
    answer = await app.request("PUT", f"{BUDGETS}/budget/status", created)
    assert answer.status == 200
    updated = answer.json()
    assert (updated["spec"]["minAvailable"], updated["metadata"]["generation"]) == (1, 1)
    assert updated["status"]["disruptionsAllowed"] == 2


@pytest.mark.parametrize(
    ("spec", "message", "causes"),
    [
        ({"minAvailable": 1, "maxUnavailable": 1},
         'spec: Invalid value: {"minAvailable":1,"selector":{"matchLabels":{"app":"web"}},"maxUnavailable":1}: '
         "minAvailable and maxUnavailable cannot be both set",
         [("FieldValueInvalid", "spec")]),
        ({"minAvailable": "abc"},
         f'spec.minAvailable: Invalid value: intstr.IntOrString{{Type:1, IntVal:0, StrVal:"abc"}}: {PERCENT}',
         [("FieldValueInvalid", "spec.minAvailable")]),
        ({"maxUnavailable": "120%"},
         'spec.maxUnavailable: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:"120%"}: must not be '
         "greater than 100%",
         [("FieldValueInvalid", "spec.maxUnavailable")]),
        # ValidatePositiveIntOrPercent checks an integer with ValidateNonnegativeField: the number is printed.
        ({"minAvailable": -1},
         "spec.minAvailable: Invalid value: -1: must be greater than or equal to 0",
         [("FieldValueInvalid", "spec.minAvailable")]),
        ({"minAvailable": 1, "unhealthyPodEvictionPolicy": "Sometimes"},
         'spec.unhealthyPodEvictionPolicy: Unsupported value: "Sometimes": supported values: "AlwaysAllow", '
         '"IfHealthyBudget"',
         [("FieldValueNotSupported", "spec.unhealthyPodEvictionPolicy")]),
        ({"minAvailable": 1, "selector": {"matchExpressions": [{"key": "app", "operator": "In"}]}},
         "spec.selector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or "
         "'NotIn'",
         [("FieldValueRequired", "spec.selector.matchExpressions[0].values")]),
        ({"minAvailable": 1, "selector": {"matchExpressions": [{"key": "app", "operator": "Near"}]}},
         'spec.selector.matchExpressions[0].operator: Invalid value: "Near": not a valid selector operator',
         [("FieldValueInvalid", "spec.selector.matchExpressions[0].operator")]),
    ],
    ids=["both-set", "bad-percent", "over-100", "negative", "eviction-policy", "in-without-values", "operator"],
)
async def test_invalid_budgets_are_refused_and_not_stored(app: ResourceApp, spec: dict[str, Any], message: str,
                                                          causes: list[tuple[str, str]]) -> None:
    answer = await app.request("POST", BUDGETS, budget(**spec))
    status = answer.json()
    assert (answer.status, status["reason"]) == (422, "Invalid")
    assert status["message"] == f'PodDisruptionBudget.policy "budget" is invalid: {message}'
    assert [(cause["reason"], cause["field"]) for cause in status["details"]["causes"]] == causes
    assert (await app.request("GET", f"{BUDGETS}/budget")).status == 404


async def test_valid_int_or_percent_values_are_accepted(app: ResourceApp) -> None:
    for index, spec in enumerate(({"minAvailable": 0}, {"minAvailable": "100%"}, {"maxUnavailable": "0%"},
                                  {"maxUnavailable": 3}, {})):
        answer = await app.request("POST", BUDGETS, budget(f"ok-{index}", **spec))
        assert answer.status == 201, answer.body


@pytest.mark.parametrize(
    ("status", "message"),
    [
        ({"disruptionsAllowed": -1, "currentHealthy": 0, "desiredHealthy": 0, "expectedPods": 0},
         "status.disruptionsAllowed: Invalid value: -1: must be greater than or equal to 0"),
        ({"disruptionsAllowed": 0, "currentHealthy": 0, "desiredHealthy": 0, "expectedPods": 0,
          "conditions": [{"type": "DisruptionAllowed", "status": "Maybe", "reason": "SufficientPods",
                          "message": "", "lastTransitionTime": "2024-01-01T00:00:00Z"}]},
         'status.conditions[0].status: Unsupported value: "Maybe": supported values: "False", "True", "Unknown"'),
        ({"disruptionsAllowed": 0, "currentHealthy": 0, "desiredHealthy": 0, "expectedPods": 0,
          "conditions": [{"type": "DisruptionAllowed", "status": "True", "message": ""}]},
         "[status.conditions[0].lastTransitionTime: Required value: must be set, "
         "status.conditions[0].reason: Required value: must be set]"),
    ],
    ids=["negative", "condition-status", "condition-required"],
)
async def test_invalid_status_updates_are_refused(app: ResourceApp, status: dict[str, Any], message: str) -> None:
    created = (await app.request("POST", BUDGETS, budget(minAvailable=1))).json()
    answer = await app.request("PUT", f"{BUDGETS}/budget/status", {**created, "status": status})
    assert (answer.status, answer.json()["message"]) == (
        422, f'PodDisruptionBudget.policy "budget" is invalid: {message}')
    stored = (await app.request("GET", f"{BUDGETS}/budget")).json()
    assert stored["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]
