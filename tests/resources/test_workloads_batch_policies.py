"""Jobs' podFailurePolicy, successPolicy, managedBy and per-index backoff rules, as upstream v1.32's
validateJobSpec and ValidateJobSpecUpdate: table tests with the exact Status, through the resource endpoints."""
from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from apiserver.resources.batch.job_policies import count_indexes
from tests.resources.test_workloads import invalid, refused
from tests.resources.test_workloads_batch import JOBS, create, job
from tests.support.resource_app import ResourceApp, resource_app

MERGE = {"content-type": "application/merge-patch+json"}
FAILURE = "spec.podFailurePolicy.rules[0]"


@pytest.fixture
async def api() -> AsyncIterator[ResourceApp]:
    async with resource_app() as app:
        yield app


def failing(*policy_rules: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return job(podFailurePolicy={"rules": list(policy_rules)}, **spec)


def exit_codes(operator: str = "In", values: Any = (1,), **more: Any) -> dict[str, Any]:
    requirement = {"operator": operator, **more}
    if values is not None:
        requirement["values"] = list(values)
    return {"action": "FailJob", "onExitCodes": requirement}


def indexed(completions: int = 5, **spec: Any) -> dict[str, Any]:
    return job(completionMode="Indexed", completions=completions, **spec)


def succeeding(*policy_rules: dict[str, Any], completions: int = 5) -> dict[str, Any]:
    return indexed(completions, successPolicy={"rules": list(policy_rules)})


INVALID_JOBS = [
    ("too-many-rules", failing(*[exit_codes()] * 21),
     [("FieldValueTooMany", "spec.podFailurePolicy.rules", "Too many: 21: must have at most 20 items")]),
    ("no-action", failing({"onPodConditions": [{"type": "DisruptionTarget"}]}),
     [("FieldValueRequired", f"{FAILURE}.action", 'Required value: valid values: ["Count" "FailIndex" "FailJob" '
                                                  '"Ignore"]')]),
    ("unknown-action", failing({**exit_codes(), "action": "Retry"}),
     [("FieldValueNotSupported", f"{FAILURE}.action",
       'Unsupported value: "Retry": supported values: "Count", "FailIndex", "FailJob", "Ignore"')]),
    ("fail-index-needs-backoff-per-index", failing({**exit_codes(), "action": "FailIndex"}),
     [("FieldValueInvalid", f"{FAILURE}.action",
       'Invalid value: "FailIndex": requires the backoffLimitPerIndex to be set')]),
    ("both-requirements", failing({**exit_codes(), "onPodConditions": [{"type": "DisruptionTarget"}]}),
     [("FieldValueInvalid", FAILURE, "Invalid value: specifying both OnExitCodes and OnPodConditions is not "
                                     "supported")]),
    ("no-requirement", failing({"action": "Ignore", "onPodConditions": []}),
     [("FieldValueInvalid", FAILURE, "Invalid value: specifying one of OnExitCodes and OnPodConditions is required")]),
    ("operator-and-container", failing(exit_codes(operator="", containerName="other")),
     [("FieldValueRequired", f"{FAILURE}.onExitCodes.operator", 'Required value: valid values: ["In" "NotIn"]'),
      ("FieldValueInvalid", f"{FAILURE}.onExitCodes.containerName",
       'Invalid value: "other": must be one of the container or initContainer names in the pod template')]),
    ("unknown-operator", failing(exit_codes(operator="Between")),
     [("FieldValueNotSupported", f"{FAILURE}.onExitCodes.operator",
       'Unsupported value: "Between": supported values: "In", "NotIn"')]),
    ("no-values", failing(exit_codes(values=None)),
     [("FieldValueInvalid", f"{FAILURE}.onExitCodes.values",
       "Invalid value: []int32(nil): at least one value is required")]),
    ("empty-values", failing(exit_codes(values=[])),
     [("FieldValueInvalid", f"{FAILURE}.onExitCodes.values", "Invalid value: []int32{}: at least one value is "
                                                             "required")]),
    ("too-many-values", failing(exit_codes(values=range(1, 257))),
     [("FieldValueTooMany", f"{FAILURE}.onExitCodes.values", "Too many: 256: must have at most 255 items")]),
    ("zero-duplicate-unordered", failing(exit_codes(values=[0, 3, 3, 2])),
     [("FieldValueInvalid", f"{FAILURE}.onExitCodes.values[0]", "Invalid value: 0: must not be 0 for the In operator"),
      ("FieldValueDuplicate", f"{FAILURE}.onExitCodes.values[2]", "Duplicate value: 3"),
      ("FieldValueInvalid", f"{FAILURE}.onExitCodes.values", "Invalid value: []int32{0, 3, 3, 2}: must be ordered")]),
    ("condition-type-and-status", failing({"action": "Ignore", "onPodConditions": [
        {"type": "Bad Type", "status": "Maybe"}]}),
     [("FieldValueInvalid", f"{FAILURE}.onPodConditions[0].type",
       "Invalid value: \"Bad Type\": name part must consist of alphanumeric characters, '-', '_' or '.', and must "
       "start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
       "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"),
      ("FieldValueNotSupported", f"{FAILURE}.onPodConditions[0].status",
       'Unsupported value: "Maybe": supported values: "False", "True", "Unknown"')]),
    ("too-many-conditions", failing({"action": "Ignore", "onPodConditions": [{"type": "Ready"}] * 21}),
     [("FieldValueTooMany", f"{FAILURE}.onPodConditions", "Too many: 21: must have at most 20 items")]),
    ("success-policy-needs-indexed", job(successPolicy={"rules": [{"succeededCount": 1}]}),
     [("FieldValueInvalid", "spec.successPolicy",
       'Invalid value: {"rules":[{"succeededCount":1}]}: requires indexed completion mode')]),
    ("success-policy-without-rules", succeeding(),
     [("FieldValueRequired", "spec.successPolicy.rules",
       "Required value: at least one rules must be specified when the successPolicy is specified")]),
    ("success-rule-empty", succeeding({}),
     [("FieldValueRequired", "spec.successPolicy.rules[0]",
       "Required value: at least one of succeededCount or succeededIndexes must be specified")]),
    ("success-rule-counts", succeeding({"succeededIndexes": "0-1", "succeededCount": 6}),
     [("FieldValueInvalid", "spec.successPolicy.rules[0].succeededCount",
       "Invalid value: 6: must be less than or equal to 5 (the number of specified completions)"),
      ("FieldValueInvalid", "spec.successPolicy.rules[0].succeededCount",
       "Invalid value: 6: must be less than or equal to 2 (the number of indexes in the specified succeededIndexes "
       "field)")]),
    ("success-rule-negative", succeeding({"succeededCount": -1}),
     [("FieldValueInvalid", "spec.successPolicy.rules[0].succeededCount",
       "Invalid value: -1: must be greater than or equal to 0")]),
    ("success-rule-indexes", succeeding({"succeededIndexes": "1,7"}),
     [("FieldValueInvalid", "spec.successPolicy.rules[0].succeededIndexes",
       'Invalid value: "1,7": error parsing succeededIndexes: too large index: "7"')]),
    ("too-many-success-rules", succeeding(*[{"succeededCount": 1}] * 21),
     [("FieldValueTooMany", "spec.successPolicy.rules", "Too many: 21: must have at most 20 items")]),
    ("managed-by-not-a-path", job(managedBy="kueue"),
     [("FieldValueInvalid", "spec.managedBy",
       'Invalid value: "kueue": must be a domain-prefixed path (such as "acme.io/foo")')]),
    ("managed-by-bad-host-and-long", job(managedBy="Kueue.x-k8s.io/" + "m" * 60),
     [("FieldValueInvalid", "spec.managedBy",
       "Invalid value: \"Kueue.x-k8s.io\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
       "characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex "
       "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"),
      ("FieldValueTooLong", "spec.managedBy", "Too long: may not be more than 63 bytes")]),
    ("managed-by-bad-path", job(managedBy="example.com/a b"),
     [("FieldValueInvalid", "spec.managedBy",
       "Invalid value: \"a b\": Invalid path (regex used for validation is '[A-Za-z0-9/\\-._~%!$&'()*+,;=:]+')")]),
    ("max-failed-indexes", indexed(3, backoffLimitPerIndex=1, maxFailedIndexes=4),
     [("FieldValueInvalid", "spec.maxFailedIndexes", "Invalid value: 4: must be less than or equal to completions")]),
    ("high-completions", indexed(100_001, backoffLimitPerIndex=1, parallelism=10_001),
     [("FieldValueRequired", "spec.maxFailedIndexes", "Required value: must be specified when completions is above "
                                                      "100000"),
      ("FieldValueInvalid", "spec.parallelism", "Invalid value: 10001: must be less than or equal to 10000 when "
                                                "completions are above 100000 and used with backoff limit per index")]),
    ("high-completions-max-failed", indexed(100_001, backoffLimitPerIndex=1, maxFailedIndexes=100_001),
     [("FieldValueInvalid", "spec.maxFailedIndexes", "Invalid value: 100001: must be less than or equal to 100000"),
      ("FieldValueInvalid", "spec.maxFailedIndexes", "Invalid value: 100001: must be less than or equal to 10000 "
                                                     "when completions are above 100000 and used with backoff limit "
                                                     "per index")]),
]


@pytest.mark.parametrize(("body", "causes"), [case[1:] for case in INVALID_JOBS],
                         ids=[case[0] for case in INVALID_JOBS])
async def test_invalid_job_policies_are_refused(api: ResourceApp, body: dict[str, Any],
                                                causes: list[tuple[str, str, str]]) -> None:
    await refused(api, "POST", JOBS, body, invalid("Job", body["metadata"]["name"], causes, group="batch"))


async def test_valid_policies_are_stored(api: ResourceApp) -> None:
    body = indexed(
        4, backoffLimitPerIndex=1, maxFailedIndexes=2, managedBy="kueue.x-k8s.io/multikueue",
        podFailurePolicy={"rules": [
            {"action": "FailIndex", "onExitCodes": {"containerName": "c", "operator": "NotIn", "values": [0, 1, 42]}},
            {"action": "Ignore",
             "onPodConditions": [{"type": "DisruptionTarget"}, {"type": "x.io/Y", "status": "False"}]},
        ]},
        successPolicy={"rules": [{"succeededIndexes": "0,2-3", "succeededCount": 3}]},
    )
    spec = (await create(api, JOBS, body))["spec"]
    assert spec["successPolicy"] == {"rules": [{"succeededIndexes": "0,2-3", "succeededCount": 3}]}
    assert spec["managedBy"] == "kueue.x-k8s.io/multikueue"
    assert spec["podFailurePolicy"]["rules"][1]["onPodConditions"][0] == {"type": "DisruptionTarget", "status": "True"}


@pytest.mark.parametrize(
    ("patch", "cause"),
    [
        ({"spec": {"managedBy": "other.io/x"}},
         ("FieldValueInvalid", "spec.managedBy", 'Invalid value: "other.io/x": field is immutable')),
        ({"spec": {"backoffLimitPerIndex": 2}},
         ("FieldValueInvalid", "spec.backoffLimitPerIndex", "Invalid value: 2: field is immutable")),
        ({"spec": {"successPolicy": {"rules": [{"succeededCount": 2}]}}},
         ("FieldValueInvalid", "spec.successPolicy",
          'Invalid value: {"rules":[{"succeededCount":2}]}: field is immutable')),
        ({"spec": {"podFailurePolicy": None}},
         ("FieldValueInvalid", "spec.podFailurePolicy", "Invalid value: null: field is immutable")),
    ],
    ids=["managed-by", "backoff-limit-per-index", "success-policy", "pod-failure-policy"],
)
async def test_policies_are_immutable(api: ResourceApp, patch: dict[str, Any], cause: tuple[str, str, str]) -> None:
    await create(api, JOBS, indexed(
        4, backoffLimitPerIndex=1, managedBy="kueue.x-k8s.io/multikueue",
        podFailurePolicy={"rules": [{"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]}]},
        successPolicy={"rules": [{"succeededCount": 1}]}))
    await refused(api, "PATCH", f"{JOBS}/pi", patch, invalid("Job", "pi", [cause], group="batch"))


async def test_an_update_repeats_the_spec_causes_as_upstream(api: ResourceApp) -> None:
    """ValidateJob and ValidateJobUpdate both validate the spec: the cause comes twice, the message once."""
    await create(api, JOBS, indexed(4, backoffLimitPerIndex=1))
    answer = await api.request("PATCH", f"{JOBS}/pi", {"spec": {"maxFailedIndexes": 5}}, headers=MERGE)
    expected = "spec.maxFailedIndexes: Invalid value: 5: must be less than or equal to completions"
    assert answer.status == 422
    assert answer.json()["message"] == f'Job.batch "pi" is invalid: {expected}'
    assert [f"{cause['field']}: {cause['message']}" for cause in answer.json()["details"]["causes"]] == [expected] * 2


async def test_max_failed_indexes_may_change(api: ResourceApp) -> None:
    await create(api, JOBS, indexed(4, backoffLimitPerIndex=1, maxFailedIndexes=1))
    answer = await api.request("PATCH", f"{JOBS}/pi", {"spec": {"maxFailedIndexes": 3}}, headers=MERGE)
    assert answer.status == 200, answer.json()
    assert answer.json()["spec"]["maxFailedIndexes"] == 3


@pytest.mark.parametrize(
    ("text", "completions", "outcome"),
    [
        ("", 3, 0), ("0", 3, 1), ("0,2-4", 5, 4), ("+1", 3, 1),
        ("1-2-3", 5, "the fragment \"1-2-3\" violates the requirement that an index interval can have at most two "
                     "parts separated by '-'"),
        ("a", 5, 'cannot convert string to integer for index: "a"'),
        ("1,", 5, 'cannot convert string to integer for index: ""'),
        ("3-1", 5, "non-increasing order, previous: 3, current: 1"),
        ("1-2,2", 5, "non-increasing order, previous: 2, current: 2"),
        ("5", 5, 'too large index: "5"'),
    ],
)
def test_index_intervals_parse_as_upstream(text: str, completions: int, outcome: int | str) -> None:
    if isinstance(outcome, int):
        assert count_indexes(text, completions) == outcome
    else:
        with pytest.raises(ValueError) as raised:
            count_indexes(text, completions)
        assert str(raised.value) == outcome
