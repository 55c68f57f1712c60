"""Evicting pods at the store: EvictionStore with and without PodDisruptionBudgets."""
from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from apiserver.meta.errors import ApiError, NotFound
from apiserver.registry.eviction import EvictionStore
from apiserver.registry.store import ResourceStore
from apiserver.registry.stores import Registry
from apiserver.storage.memory.backend import MemoryStorage
from tests.registry.harness import NOW_TEXT, ctx, resource_store, running_registry

NAMESPACE = "default"
SUCCESS = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}
READY = [{"type": "Ready", "status": "True"}]


@pytest.fixture
async def registry() -> AsyncIterator[Registry]:
    storage = MemoryStorage()
    async with running_registry(storage) as running:
        yield running
    await storage.close()


def pods(registry: Registry) -> ResourceStore:
    return resource_store(registry, "", "v1", "pods")


def budgets(registry: Registry) -> ResourceStore:
    return resource_store(registry, "policy", "v1", "poddisruptionbudgets")


async def make_pod(registry: Registry, name: str = "web", *, phase: str = "Running",
                   conditions: list[dict[str, Any]] | None = None, finalizers: list[str] | None = None
                   ) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "labels": {"app": "web"}}
    if finalizers:
        metadata["finalizers"] = finalizers
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": metadata,
           "spec": {"containers": [{"name": "c", "image": "nginx"}]}}
    await pods(registry).create(NAMESPACE, pod, ctx(NAMESPACE))
    status = {"phase": phase, "conditions": READY if conditions is None else conditions}
    stored = await pods(registry).guaranteed_update(NAMESPACE, name, lambda current: {**current, "status": status},
                                                    ctx(NAMESPACE), subresource="status")
    return stored.copy()


async def make_budget(registry: Registry, name: str = "budget", *, selector: dict[str, Any] | None = None,
                      observed: int = 1, **status: Any) -> dict[str, Any]:
    spec = {"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}} if selector is None else selector}
    budget = {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": name}, "spec": spec}
    await budgets(registry).create(NAMESPACE, budget, ctx(NAMESPACE))
    counts = {"disruptionsAllowed": 0, "currentHealthy": 1, "desiredHealthy": 1, "expectedPods": 1, **status}
    stored = await budgets(registry).guaranteed_update(
        NAMESPACE, name, lambda current: {**current, "status": {"observedGeneration": observed, **counts}},
        ctx(NAMESPACE), subresource="status")
    return stored.copy()


def eviction(name: str = "web", **delete_options: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name}}
    if delete_options:
        body["deleteOptions"] = delete_options
    return body


async def evict(registry: Registry, body: dict[str, Any] | None = None, **changes: Any) -> dict[str, Any]:
    answer = await EvictionStore(registry, "web").create(NAMESPACE, body or eviction(), ctx(NAMESPACE, **changes))
    return answer.obj


async def stored(store: ResourceStore, name: str) -> dict[str, Any]:
    return (await store.get(NAMESPACE, name)).copy()


async def assert_gone(registry: Registry, name: str = "web") -> None:
    with pytest.raises(NotFound):
        await pods(registry).get(NAMESPACE, name)


@pytest.mark.parametrize("phase", ["Pending", "Succeeded", "Failed"])
async def test_pods_budgets_do_not_guard_are_deleted(registry: Registry, phase: str) -> None:
    await make_pod(registry, phase=phase)
    budget = await make_budget(registry)
    assert await evict(registry) == SUCCESS
    await assert_gone(registry)
    assert await stored(budgets(registry), "budget") == budget


async def test_a_pod_without_a_budget_is_deleted(registry: Registry) -> None:
    await make_pod(registry)
    assert await evict(registry) == SUCCESS
    await assert_gone(registry)


async def test_an_eviction_marks_the_pod_as_a_disruption_target(registry: Registry) -> None:
    await make_pod(registry, finalizers=["example.com/hold"])
    assert await evict(registry) == SUCCESS
    pod = await stored(pods(registry), "web")
    assert pod["metadata"]["deletionTimestamp"] == NOW_TEXT
    assert pod["status"]["conditions"][-1] == {
        "type": "DisruptionTarget", "status": "True", "lastProbeTime": None, "lastTransitionTime": NOW_TEXT,
        "reason": "EvictionByEvictionAPI", "message": "Eviction API: evicting",
    }


async def test_a_budget_without_disruptions_refuses_with_429(registry: Registry) -> None:
    pod = await make_pod(registry)
    budget = await make_budget(registry, disruptionsAllowed=0, currentHealthy=1, desiredHealthy=1)
    with pytest.raises(ApiError) as raised:
        await evict(registry)
    assert raised.value.to_status() == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": "Cannot evict pod as it would violate the pod's disruption budget.", "reason": "TooManyRequests",
        "details": {"causes": [{"reason": "DisruptionBudget",
                                "message": "The disruption budget budget needs 1 healthy pods and has 1 currently"}]},
        "code": 429,
    }
    assert await stored(pods(registry), "web") == pod
    assert await stored(budgets(registry), "budget") == budget


async def test_a_budget_not_yet_observed_refuses_with_retry_after(registry: Registry) -> None:
    await make_pod(registry)
    await make_budget(registry, observed=0, disruptionsAllowed=1)
    with pytest.raises(ApiError) as raised:
        await evict(registry)
    assert raised.value.code == 429
    assert raised.value.to_status()["details"] == {
        "causes": [{"reason": "DisruptionBudget",
                    "message": "The disruption budget budget is still being processed by the server."}],
        "retryAfterSeconds": 10,
    }


async def test_an_allowed_eviction_takes_a_disruption_and_records_the_pod(registry: Registry) -> None:
    await make_pod(registry)
    await make_budget(registry, disruptionsAllowed=1, currentHealthy=2)
    assert await evict(registry) == SUCCESS
    await assert_gone(registry)
    status = (await stored(budgets(registry), "budget"))["status"]
    assert status["disruptionsAllowed"] == 0
    assert status["disruptedPods"] == {"web": NOW_TEXT}
    assert status["conditions"] == [{"type": "DisruptionAllowed", "status": "False", "observedGeneration": 1,
                                     "lastTransitionTime": NOW_TEXT, "reason": "InsufficientPods", "message": ""}]


async def test_a_pod_with_two_budgets_cannot_be_evicted(registry: Registry) -> None:
    pod = await make_pod(registry)
    await make_budget(registry, "first", disruptionsAllowed=1)
    await make_budget(registry, "second", disruptionsAllowed=1)
    with pytest.raises(ApiError) as raised:
        await evict(registry)
    assert raised.value.to_status() == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": "This pod has more than one PodDisruptionBudget, which the eviction subresource does not "
                   "support.",
        "code": 500,
    }
    assert await stored(pods(registry), "web") == pod


async def test_budgets_with_empty_or_other_selectors_do_not_cover_the_pod(registry: Registry) -> None:
    await make_pod(registry)
    await make_budget(registry, "everything", selector={})
    await make_budget(registry, "others", selector={"matchLabels": {"app": "other"}})
    assert await evict(registry) == SUCCESS
    await assert_gone(registry)


@pytest.mark.parametrize(
    ("policy", "status"),
    [
        ("AlwaysAllow", {"currentHealthy": 0, "desiredHealthy": 1}),
        ("IfHealthyBudget", {"currentHealthy": 1, "desiredHealthy": 1}),
        (None, {"currentHealthy": 2, "desiredHealthy": 1}),
    ],
    ids=["always-allow", "if-healthy-budget", "default-policy"],
)
async def test_an_unready_pod_is_deleted_without_taking_a_disruption(registry: Registry, policy: str | None,
                                                                     status: dict[str, int]) -> None:
    await make_pod(registry, conditions=[{"type": "Ready", "status": "False"}])
    budget = await make_budget(registry, disruptionsAllowed=0, **status)
    if policy is not None:
        budget = (await budgets(registry).guaranteed_update(NAMESPACE, "budget", lambda current: {
            **current, "spec": {**current["spec"], "unhealthyPodEvictionPolicy": policy}}, ctx(NAMESPACE))).copy()
    assert await evict(registry) == SUCCESS
    await assert_gone(registry)
    assert await stored(budgets(registry), "budget") == budget


async def test_an_unready_pod_of_an_unhealthy_budget_is_refused(registry: Registry) -> None:
    await make_pod(registry, conditions=[])
    await make_budget(registry, disruptionsAllowed=0, currentHealthy=0, desiredHealthy=1)
    with pytest.raises(ApiError) as raised:
        await evict(registry)
    assert raised.value.code == 429


async def test_a_dry_run_eviction_changes_nothing(registry: Registry) -> None:
    pod = await make_pod(registry)
    budget = await make_budget(registry, disruptionsAllowed=1)
    assert await evict(registry, dry_run=True) == SUCCESS
    assert await stored(pods(registry), "web") == pod
    assert await stored(budgets(registry), "budget") == budget


async def test_a_dry_run_in_the_body_changes_nothing(registry: Registry) -> None:
    pod = await make_pod(registry, phase="Pending")
    assert await evict(registry, eviction(dryRun=["All"])) == SUCCESS
    assert await stored(pods(registry), "web") == pod


@pytest.mark.parametrize(
    ("body", "changes", "code", "message"),
    [
        (eviction("other"), {}, 400, "name in URL does not match name in Eviction object"),
        (eviction(dryRun=["All", "All"]), {"dry_run": True}, 500,
         "Non-matching dry-run options in request and content: [All] and [All All]"),
        (eviction(preconditions={"uid": "other"}), {}, 409,
         'Operation cannot be fulfilled on Pod "web": the UID in the precondition (other) does not match the UID '
         "in record ({uid}). The object might have been deleted and then recreated"),
    ],
    ids=["name-mismatch", "dry-run-mismatch", "uid-precondition"],
)
async def test_refused_evictions_change_nothing(registry: Registry, body: dict[str, Any], changes: dict[str, Any],
                                                code: int, message: str) -> None:
    pod = await make_pod(registry, phase="Pending")
    with pytest.raises(ApiError) as raised:
        await evict(registry, body, **changes)
    assert (raised.value.code, raised.value.message) == (code, message.format(uid=pod["metadata"]["uid"]))
    assert await stored(pods(registry), "web") == pod


async def test_a_stale_resource_version_precondition_conflicts(registry: Registry) -> None:
    pod = await make_pod(registry, phase="Pending")
    with pytest.raises(ApiError) as raised:
        await evict(registry, eviction(preconditions={"resourceVersion": "1"}))
    assert raised.value.message == (
        'Operation cannot be fulfilled on Pod "web": the ResourceVersion in the precondition (1) does not match the '
        f"ResourceVersion in record ({pod['metadata']['resourceVersion']}). The object might have been modified")


async def test_evicting_a_missing_pod_is_not_found(registry: Registry) -> None:
    with pytest.raises(ApiError) as raised:
        await evict(registry)
    assert (raised.value.code, raised.value.message) == (404, 'pods "web" not found')


async def test_validating_admission_sees_the_eviction(registry: Registry) -> None:
    pod = await make_pod(registry, phase="Pending")
    seen: list[Any] = []

    async def refuse(obj: Any, old: Any) -> None:
        seen.append(obj)
        raise ApiError("refused")

    with pytest.raises(ApiError, match="refused"):
        await EvictionStore(registry, "web").create(NAMESPACE, eviction(), ctx(NAMESPACE), validate=refuse)
    assert seen == [eviction()]
    assert await stored(pods(registry), "web") == pod
