"""PriorityClass rules the bootstrap classes rely on: the reserved `system-` prefix, the user maximum, immutable
value and preemptionPolicy, and system classes that cannot be deleted (upstream v1.32 messages)."""
from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from apiserver.server.bootstrap_objects import PriorityClassesHook
from tests.support.resource_app import ResourceApp, resource_app

BASE = "/apis/scheduling.k8s.io/v1/priorityclasses"


@pytest_asyncio.fixture
async def app() -> AsyncIterator[ResourceApp]:
    async with resource_app() as started:
        await PriorityClassesHook(lambda: started.registry).start(started.storage)
        yield started


def priority_class(name: str, value: int, **fields: Any) -> dict[str, Any]:
    return {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": name},
            "value": value, **fields}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (priority_class("system-mine", 10),
         'PriorityClass.scheduling.k8s.io "system-mine" is invalid: metadata.name: Forbidden: priority class names '
         "with 'system-' prefix are reserved for system use only. error: system-mine is not a known system priority "
         "class"),
        (priority_class("high", 1_000_000_001),
         'PriorityClass.scheduling.k8s.io "high" is invalid: value: Forbidden: maximum allowed value of a user '
         "defined priority is 1000000000"),
        (priority_class("odd", 5, preemptionPolicy="Sometimes"),
         'PriorityClass.scheduling.k8s.io "odd" is invalid: preemptionPolicy: Unsupported value: "Sometimes": '
         'supported values: "PreemptLowerPriority", "Never"'),
    ],
    ids=["reserved-prefix", "too-high", "bad-policy"],
)
async def test_invalid_priority_classes(app: ResourceApp, body: dict[str, Any], message: str) -> None:
    answer = await app.request("POST", BASE, body)
    assert (answer.status, answer.json()["reason"], answer.json()["message"]) == (422, "Invalid", message)
    assert await app.stored_keys(f"/registry/priorityclasses/{body['metadata']['name']}") == []


async def test_a_user_class_defaults_its_preemption_policy(app: ResourceApp) -> None:
    answer = await app.request("POST", BASE, priority_class("batch", 1000))
    assert (answer.status, answer.json()["preemptionPolicy"]) == (201, "PreemptLowerPriority")


async def test_value_and_preemption_policy_are_immutable(app: ResourceApp) -> None:
    created = (await app.request("POST", BASE, priority_class("web", 1000))).json()
    changed = {**created, "value": 2000, "preemptionPolicy": "Never"}
    answer = await app.request("PUT", f"{BASE}/web", changed)
    assert (answer.status, answer.json()["message"]) == (
        422, 'PriorityClass.scheduling.k8s.io "web" is invalid: [value: Forbidden: may not be changed in an update., '
             'preemptionPolicy: Invalid value: "Never": field is immutable]')


async def test_system_classes_exist_and_cannot_be_deleted(app: ResourceApp) -> None:
    listed = (await app.request("GET", BASE)).json()
    assert {item["metadata"]["name"]: item["value"] for item in listed["items"]} == {
        "system-cluster-critical": 2000000000, "system-node-critical": 2000001000}
    answer = await app.request("DELETE", f"{BASE}/system-node-critical")
    assert (answer.status, answer.json()["message"]) == (
        403, 'priorityclasses.scheduling.k8s.io "system-node-critical" is forbidden: this is a system priority class '
             "and cannot be deleted")


async def test_a_system_class_must_keep_its_value(app: ResourceApp) -> None:
    answer = await app.request("POST", BASE, priority_class("system-node-critical", 5))
    assert answer.json()["message"] == (
        'PriorityClass.scheduling.k8s.io "system-node-critical" is invalid: metadata.name: Forbidden: priority class '
        "names with 'system-' prefix are reserved for system use only. error: value of system-node-critical "
        "PriorityClass must be 2000001000")
