"""The disruption controller in a started server, observed through the API (and its pure parts on their own)."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio

from apiserver.auth.user import UserInfo
from apiserver.client.client import ApiClient, Resource
from apiserver.client.transports import InProcessTransport
from apiserver.controllers.base import RequeueAfter
from apiserver.controllers.disruption import DisruptionController, scaled_value
from apiserver.meta.errors import NotFound
from apiserver.meta.objects import format_time
from tests.server.security_harness import InMemoryServer, in_memory_server

ADMIN = UserInfo("admin", groups=("system:masters",))
PODS = Resource("", "v1", "pods")
BUDGETS = Resource("policy", "v1", "poddisruptionbudgets")
REPLICA_SETS = Resource("apps", "v1", "replicasets")
SERVICE_ACCOUNTS = Resource("", "v1", "serviceaccounts")
NAMESPACE = "default"
pytestmark = pytest.mark.asyncio(loop_scope="module")


async def eventually(check: Callable[[], Awaitable[Any]], within: float = 10.0) -> Any:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        try:
            if result := await check():
                return result
        except NotFound:
            pass
        assert asyncio.get_running_loop().time() < deadline, "condition not reached"
        await asyncio.sleep(0.05)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def served(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[InMemoryServer]:
    async with in_memory_server(tmp_path_factory.mktemp("disruption")) as server:
        yield server


@pytest_asyncio.fixture(loop_scope="module")
async def client(served: InMemoryServer) -> ApiClient:
    api = ApiClient(InProcessTransport(served.server.app, ADMIN))
    await eventually(lambda: api.get(SERVICE_ACCOUNTS, "default", namespace=NAMESPACE))
    return api


async def make_pod(client: ApiClient, name: str, *, ready: bool = True, labels: dict[str, str] | None = None,
                   owner: dict[str, Any] | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "labels": labels or {"app": "web"}}
    if owner is not None:
        metadata["ownerReferences"] = [owner]
    await client.create(PODS, {"metadata": metadata, "spec": {"containers": [{"name": "c", "image": "nginx"}]}},
                        namespace=NAMESPACE)
    pod = await client.get(PODS, name, namespace=NAMESPACE)
    # Acting as the kubelet: the pod runs, and is Ready or not.
    pod["status"] = {"phase": "Running", "conditions": [
        {"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": format_time(
            datetime.now(UTC))}]}
    updated: dict[str, Any] = await client.update(PODS, pod, namespace=NAMESPACE, subresource="status")
    return updated


async def make_budget(client: ApiClient, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    budget: dict[str, Any] = await client.create(BUDGETS, {"metadata": {"name": name}, "spec": spec},
                                                 namespace=NAMESPACE)
    return budget


async def settled_status(client: ApiClient, name: str, **wanted: Any) -> dict[str, Any]:
    """The budget's status once the controller observed its generation and it has the wanted values."""
    async def check() -> dict[str, Any] | None:
        budget = await client.get(BUDGETS, name, namespace=NAMESPACE)
        status: dict[str, Any] = budget.get("status") or {}
        observed = status.get("observedGeneration") == budget["metadata"]["generation"]
        return status if observed and all(status.get(key) == value for key, value in wanted.items()) else None

    result: dict[str, Any] = await eventually(check)
    return result


async def test_min_available_counts_ready_pods(client: ApiClient) -> None:
    await make_pod(client, "a1", labels={"app": "a"})
    await make_pod(client, "a2", labels={"app": "a"})
    await make_pod(client, "a3", labels={"app": "a"}, ready=False)
    await make_budget(client, "a", {"minAvailable": 1, "selector": {"matchLabels": {"app": "a"}}})
    status = await settled_status(client, "a", currentHealthy=2)
    assert {key: status[key] for key in ("disruptionsAllowed", "currentHealthy", "desiredHealthy", "expectedPods")} \
        == {"disruptionsAllowed": 1, "currentHealthy": 2, "desiredHealthy": 1, "expectedPods": 3}
    [condition] = status["conditions"]
    assert {key: condition[key] for key in ("type", "status", "reason", "message", "observedGeneration")} == {
        "type": "DisruptionAllowed", "status": "True", "reason": "SufficientPods", "message": "",
        "observedGeneration": 1}


async def test_relaxing_the_budget_updates_its_status(client: ApiClient) -> None:
    await make_pod(client, "b1", labels={"app": "b"})
    budget = await make_budget(client, "b", {"minAvailable": 1, "selector": {"matchLabels": {"app": "b"}}})
    status = await settled_status(client, "b", currentHealthy=1)
    assert (status["disruptionsAllowed"], status["conditions"][0]["reason"]) == (0, "InsufficientPods")
    budget = await client.get(BUDGETS, "b", namespace=NAMESPACE)
    budget["spec"]["minAvailable"] = 0
    await client.update(BUDGETS, budget, namespace=NAMESPACE)
    status = await settled_status(client, "b", disruptionsAllowed=1)
    assert status["observedGeneration"] == 2
    assert status["conditions"][0]["status"] == "True"


async def test_a_pod_changing_labels_leaves_the_budget(client: ApiClient) -> None:
    await make_pod(client, "c1", labels={"app": "c"})
    await make_budget(client, "c", {"maxUnavailable": 0, "selector": {"matchLabels": {"app": "c"}}})
    await settled_status(client, "c", currentHealthy=1)
    pod = await client.get(PODS, "c1", namespace=NAMESPACE)
    pod["metadata"]["labels"] = {"app": "elsewhere"}
    await client.update(PODS, pod, namespace=NAMESPACE)
    await settled_status(client, "c", currentHealthy=0)


async def test_percentages_use_the_owners_scale(client: ApiClient) -> None:
    replica_set = await client.create(REPLICA_SETS, {
        "metadata": {"name": "d"},
        "spec": {"replicas": 4, "selector": {"matchLabels": {"app": "d"}},
                 "template": {"metadata": {"labels": {"app": "d"}},
                              "spec": {"containers": [{"name": "c", "image": "nginx"}]}}},
    }, namespace=NAMESPACE)
    owner = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "d", "uid": replica_set["metadata"]["uid"],
             "controller": True}
    await make_pod(client, "d1", labels={"app": "d", "pod": "d1"}, owner=owner)
    await make_pod(client, "d2", labels={"app": "d", "pod": "d2"}, owner=owner)
    await make_budget(client, "d", {"minAvailable": "50%", "selector": {"matchLabels": {"app": "d"}}})
    status = await settled_status(client, "d", currentHealthy=2)
    assert (status["expectedPods"], status["desiredHealthy"], status["disruptionsAllowed"]) == (4, 2, 0)


async def test_recorded_disruptions_keep_pods_from_counting(client: ApiClient) -> None:
    await make_pod(client, "e1", labels={"app": "e"})
    await make_pod(client, "e2", labels={"app": "e"})
    await make_budget(client, "e", {"minAvailable": 1, "selector": {"matchLabels": {"app": "e"}}})
    await settled_status(client, "e", currentHealthy=2)
    budget = await client.get(BUDGETS, "e", namespace=NAMESPACE)
    now = datetime.now(UTC)
    budget["status"]["disruptedPods"] = {"e1": format_time(now), "gone": format_time(now),
                                         "e2": format_time(now - timedelta(minutes=3))}
    await client.update(BUDGETS, budget, namespace=NAMESPACE, subresource="status")
    status = await settled_status(client, "e", currentHealthy=1)
    assert status["disruptedPods"] == {"e1": format_time(now)}
    assert status["disruptionsAllowed"] == 0


async def test_a_budget_matching_no_pods_allows_no_disruptions(client: ApiClient) -> None:
    await make_budget(client, "f", {"maxUnavailable": 1, "selector": {"matchExpressions": [
        {"key": "app", "operator": "In", "values": ["nothing-here"]}]}})
    status = await settled_status(client, "f")
    assert {key: status[key] for key in ("disruptionsAllowed", "currentHealthy", "desiredHealthy", "expectedPods")} \
        == {"disruptionsAllowed": 0, "currentHealthy": 0, "desiredHealthy": 0, "expectedPods": 0}
    assert status["conditions"][0]["reason"] == "InsufficientPods"


@pytest.mark.parametrize(("value", "total", "expected"), [(3, 10, 3), ("50%", 5, 3), ("0%", 7, 0), ("100%", 3, 3)])
async def test_scaled_values_round_up(value: int | str, total: int, expected: int) -> None:
    assert scaled_value(value, total) == expected


class FakeInformer:
    def __init__(self, *objects: dict[str, Any]) -> None:
        self.objects = {f"{obj['metadata']['namespace']}/{obj['metadata']['name']}": obj for obj in objects}

    def get(self, key: str) -> dict[str, Any] | None:
        return self.objects.get(key)

    def items(self) -> list[dict[str, Any]]:
        return list(self.objects.values())


class RecordingClient:
    def __init__(self) -> None:
        self.updates: list[dict[str, Any]] = []

    async def update(self, resource: Resource, obj: dict[str, Any], **options: Any) -> dict[str, Any]:
        self.updates.append(obj)
        return obj


async def test_an_awaited_eviction_is_looked_at_again_when_it_expires() -> None:
    now = datetime(2024, 1, 1, 12, 0, 0, tzinfo=UTC)
    pod = {"metadata": {"name": "p", "namespace": "n", "labels": {"app": "x"}},
           "status": {"conditions": [{"type": "Ready", "status": "True"}]}}
    budget = {"metadata": {"name": "b", "namespace": "n", "generation": 1},
              "spec": {"minAvailable": 0, "selector": {"matchLabels": {"app": "x"}}},
              "status": {"disruptedPods": {"p": format_time(now - timedelta(seconds=30))}}}
    controller = DisruptionController(clock=lambda: now)
    recorder = RecordingClient()
    informers: dict[Resource, Any] = {resource: FakeInformer() for resource in controller.watches}
    informers[BUDGETS], informers[PODS] = FakeInformer(budget), FakeInformer(pod)
    await controller.start(recorder, informers)  # type: ignore[arg-type]
    with pytest.raises(RequeueAfter) as requeue:
        await controller.reconcile("n/b")
    assert requeue.value.delay == 90.0
    [written] = recorder.updates
    assert written["status"] == {
        "observedGeneration": 1, "disruptedPods": {"p": "2024-01-01T11:59:30Z"}, "disruptionsAllowed": 0,
        "currentHealthy": 0, "desiredHealthy": 0, "expectedPods": 1,
        "conditions": [{"type": "DisruptionAllowed", "status": "False", "observedGeneration": 1,
                        "lastTransitionTime": "2024-01-01T12:00:00Z", "reason": "InsufficientPods", "message": ""}],
    }


async def test_pods_events_enqueue_the_budgets_that_covered_them() -> None:
    controller = DisruptionController()
    pod = {"metadata": {"name": "p", "namespace": "n", "labels": {"app": "x"}}}
    budget = {"metadata": {"name": "b", "namespace": "n"}, "spec": {"selector": {"matchLabels": {"app": "x"}}}}
    informers: dict[Resource, Any] = {resource: FakeInformer() for resource in controller.watches}
    await controller.start(RecordingClient(), informers)  # type: ignore[arg-type]
    assert controller.keys_for(PODS, "ADDED", pod) == []
    informers[BUDGETS] = FakeInformer(budget)
    await controller.start(RecordingClient(), informers)  # type: ignore[arg-type]
    assert controller.keys_for(BUDGETS, "ADDED", budget) == ["n/b"]
    assert controller.keys_for(PODS, "MODIFIED", pod) == ["n/b"]
    moved = {"metadata": {**pod["metadata"], "labels": {"app": "y"}}}
    assert controller.keys_for(PODS, "MODIFIED", moved) == ["n/b"]
    assert controller.keys_for(PODS, "MODIFIED", moved) == []
