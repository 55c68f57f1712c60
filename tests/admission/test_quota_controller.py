"""The ResourceQuota controller: which events sync which quotas, and the status it writes."""
from __future__ import annotations

from typing import Any

from apiserver.client.client import Resource
from apiserver.controllers.resourcequota import COUNTED, QUOTAS, ResourceQuotaController
from tests.admission.fakes import container, pod

JSONDict = dict[str, Any]


class FakeInformer:
    def __init__(self, *objects: JSONDict) -> None:
        self.objects = {f"{obj['metadata']['namespace']}/{obj['metadata']['name']}": obj for obj in objects}

    def get(self, key: str) -> JSONDict | None:
        return self.objects.get(key)

    def items(self) -> list[JSONDict]:
        return list(self.objects.values())


class FakeClient:
    def __init__(self, stored: dict[str, JSONDict] | None = None) -> None:
        self.updates: list[tuple[JSONDict, str, str]] = []
        self.stored = stored or {}  # what a live GET answers, by name

    async def get(self, resource: Resource, name: str, *, namespace: str = "", **_: Any) -> JSONDict:
        return self.stored[name]

    async def update(self, resource: Resource, obj: JSONDict, *, namespace: str = "",
                     subresource: str = "") -> JSONDict:
        self.updates.append((obj, namespace, subresource))
        return obj


def quota(hard: dict[str, str], status: JSONDict | None = None) -> JSONDict:
    obj: JSONDict = {"metadata": {"name": "q", "namespace": "ns", "resourceVersion": "5"}, "spec": {"hard": hard}}
    if status is not None:
        obj["status"] = status
    return obj


async def started(quotas: list[JSONDict], pods: list[JSONDict]) -> tuple[ResourceQuotaController, FakeClient]:
    controller = ResourceQuotaController(clock=lambda: 0.0)
    client = FakeClient({quota_obj["metadata"]["name"]: quota_obj for quota_obj in quotas})
    informers: dict[Resource, Any] = {resource: FakeInformer() for resource in COUNTED.values()}
    informers[QUOTAS] = FakeInformer(*quotas)
    informers[COUNTED["pods"]] = FakeInformer(*pods)
    await controller.start(client, informers)  # type: ignore[arg-type]
    return controller, client


async def test_new_quota_gets_hard_and_used_from_the_objects() -> None:
    sized = container("c", resources={"requests": {"cpu": "250m"}})
    controller, client = await started([quota({"pods": "10", "requests.cpu": "2"})],
                                       [pod("a", sized), pod("b", sized), pod("c", sized, namespace="other")])
    assert controller.keys_for(QUOTAS, "ADDED", quota({"pods": "10", "requests.cpu": "2"})) == ["ns/q"]
    await controller.reconcile("ns/q")
    written, namespace, subresource = client.updates[0]
    assert (namespace, subresource) == ("ns", "status")
    assert written["status"] == {"hard": {"pods": "10", "requests.cpu": "2"},
                                 "used": {"pods": "2", "requests.cpu": "500m"}}
    assert written["metadata"]["resourceVersion"] == "5"


async def test_admissions_status_writes_do_not_trigger_a_recalculation() -> None:
    synced = quota({"pods": "10"}, {"hard": {"pods": "10"}, "used": {"pods": "0"}})
    controller, _ = await started([synced], [])
    assert controller.keys_for(QUOTAS, "ADDED", synced) == ["ns/q"]
    charged = quota({"pods": "10"}, {"hard": {"pods": "10"}, "used": {"pods": "1"}})
    assert controller.keys_for(QUOTAS, "MODIFIED", charged) == []
    raised = quota({"pods": "20"}, {"hard": {"pods": "10"}, "used": {"pods": "1"}})
    assert controller.keys_for(QUOTAS, "MODIFIED", raised) == ["ns/q"]


async def test_deletes_and_ended_pods_sync_the_namespace() -> None:
    controller, _ = await started([], [])
    ended = pod("a")
    ended["status"] = {"phase": "Succeeded"}
    assert controller.keys_for(COUNTED["pods"], "DELETED", pod("a")) == ["namespace:ns"]
    assert controller.keys_for(COUNTED["pods"], "MODIFIED", ended) == ["namespace:ns"]
    assert controller.keys_for(COUNTED["pods"], "MODIFIED", pod("a")) == []
    assert controller.keys_for(COUNTED["configmaps"], "MODIFIED", pod("a")) == []


async def test_creates_sync_the_namespace_so_a_recount_racing_admission_converges() -> None:
    # A recount that read the quota admission had just charged, but not yet the new object, wrote a usage without
    # it; the object's ADDED event recounts again (upstream waits for its next full resync).
    controller, _ = await started([], [])
    assert controller.keys_for(COUNTED["pods"], "ADDED", pod("a")) == ["namespace:ns"]


async def test_unchanged_status_is_not_written() -> None:
    current = quota({"pods": "10"}, {"hard": {"pods": "10"}, "used": {"pods": "1"}})
    controller, client = await started([current], [pod("a")])
    await controller.reconcile("namespace:ns")
    assert client.updates == []


async def test_a_stale_informer_copy_is_settled_against_the_stored_quota() -> None:
    # The informer still shows admission's charge (pods: 1) while a recount that raced it stored pods: 0; the
    # pod is now in the cache, so the recount computes 1 — equal to the stale copy, not to what is stored.
    charged = quota({"pods": "10"}, {"hard": {"pods": "10"}, "used": {"pods": "1"}})
    raced = quota({"pods": "10"}, {"hard": {"pods": "10"}, "used": {"pods": "0"}})
    controller, client = await started([charged], [pod("a")])
    client.stored["q"] = raced
    await controller.reconcile("namespace:ns")
    assert [(update["status"]["used"], subresource) for update, _, subresource in client.updates] == [
        ({"pods": "1"}, "status")]


async def test_full_resync_after_the_period() -> None:
    now = [0.0]
    controller = ResourceQuotaController(resync_period=300, clock=lambda: now[0])
    informers: dict[Resource, Any] = {resource: FakeInformer() for resource in COUNTED.values()}
    informers[QUOTAS] = FakeInformer(quota({"pods": "1"}))
    await controller.start(FakeClient(), informers)  # type: ignore[arg-type]
    assert controller.keys_for(COUNTED["configmaps"], "MODIFIED", pod("x")) == []
    now[0] = 301
    assert controller.keys_for(COUNTED["configmaps"], "MODIFIED", pod("x")) == ["ns/q"]
