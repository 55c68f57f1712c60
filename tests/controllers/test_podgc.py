"""The pod garbage collector: which pods each pass takes (terminated above the threshold, terminating on
out-of-service nodes, orphaned after the quarantine, unscheduled terminating), how it marks and deletes them,
and, in a started server, a pod bound to a missing node that is deleted going away."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from apiserver.client.client import STRATEGIC_MERGE_PATCH, ApiClient, Resource
from apiserver.client.transports import InProcessTransport
from apiserver.controllers.base import ControllerManager, RequeueAfter
from apiserver.controllers.podgc import (
    GC_CHECK_PERIOD,
    NODES,
    ORPHANED_CONDITION,
    PODS,
    PodGCController,
    deletion_order,
    failed_status_patch,
)
from apiserver.meta.errors import NotFound
from tests.controllers.test_namespace_lifecycle import gone
from tests.controllers.test_serviceaccounts import ADMIN, eventually
from tests.server.security_harness import in_memory_server

JSONDict = dict[str, Any]
START = datetime(2026, 3, 1, 10, 0, 0, tzinfo=UTC)


def pod(name: str, *, phase: str = "Running", node: str = "", deleting: bool = False, created: str = "",
        reason: str = "") -> JSONDict:
    obj: JSONDict = {"metadata": {"name": name, "namespace": "ns", "uid": f"uid-{name}",
                                  "creationTimestamp": created or "2026-03-01T09:00:00Z"},
                     "spec": {}, "status": {"phase": phase}}
    if node:
        obj["spec"]["nodeName"] = node
    if deleting:
        obj["metadata"]["deletionTimestamp"] = "2026-03-01T09:30:00Z"
    if reason:
        obj["status"]["reason"] = reason
    return obj


def node(name: str, *, ready: bool = True, out_of_service: bool = False) -> JSONDict:
    obj: JSONDict = {"metadata": {"name": name}, "spec": {},
                     "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}
    if out_of_service:
        obj["spec"]["taints"] = [{"key": "node.kubernetes.io/out-of-service", "effect": "NoExecute"}]
    return obj


class Cache:
    def __init__(self, *objs: JSONDict) -> None:
        self.objs = {o["metadata"]["name"]: o for o in objs}

    def get(self, key: str) -> JSONDict | None:
        return self.objs.get(key.rpartition("/")[2])

    def items(self) -> list[JSONDict]:
        return list(self.objs.values())


class FakeClient:
    """Records patches and deletes; `nodes` are the Nodes a live GET finds."""

    def __init__(self, *nodes: str) -> None:
        self.nodes = set(nodes)
        self.calls: list[tuple[str, str, Any]] = []

    async def get(self, resource: Resource, name: str, **_: Any) -> JSONDict:
        self.calls.append(("get", name, None))
        if name not in self.nodes:
            raise NotFound("nodes", name)
        return {"metadata": {"name": name}}

    async def patch(self, resource: Resource, name: str, patch: Any, **options: Any) -> JSONDict:
        assert (options["subresource"], options["content_type"]) == ("status", STRATEGIC_MERGE_PATCH)
        self.calls.append(("patch", name, patch))
        return {}

    async def delete(self, resource: Resource, name: str, **options: Any) -> JSONDict:
        self.calls.append(("delete", name, options["options"]))
        return {}

    def deleted(self) -> list[str]:
        return [name for verb, name, _ in self.calls if verb == "delete"]


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


async def gc_pass(controller: PodGCController) -> float:
    with pytest.raises(RequeueAfter) as requeued:
        await controller.reconcile("gc")
    return requeued.value.delay


async def started(pods: list[JSONDict], nodes: list[JSONDict], client: FakeClient,
                  **options: Any) -> PodGCController:
    controller = PodGCController(**{"min_pass_interval": 0.0, **options})
    await controller.start(client, {PODS: Cache(*pods), NODES: Cache(*nodes)})  # type: ignore[arg-type, dict-item]
    return controller


def force_delete(name: str) -> tuple[str, str, JSONDict]:
    return ("delete", name, {"kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 0,
                             "preconditions": {"uid": f"uid-{name}"}})


async def test_terminated_pods_above_the_threshold_go_evicted_then_oldest_first() -> None:
    client = FakeClient()
    pods = [pod("new", phase="Succeeded", created="2026-03-01T09:03:00Z"),
            pod("old", phase="Failed", created="2026-03-01T09:01:00Z"),
            pod("evicted", phase="Failed", reason="Evicted", created="2026-03-01T09:05:00Z"),
            pod("middle", phase="Succeeded", created="2026-03-01T09:02:00Z"),
            pod("running", created="2026-03-01T08:00:00Z")]
    controller = await started(pods, [], client, terminated_pod_gc_threshold=2)
    assert await gc_pass(controller) == 20.0
    # Already terminal: deleted without a status patch.
    assert client.calls == [force_delete("evicted"), force_delete("old")]


def test_deletion_order_breaks_ties_by_name() -> None:
    pods = [pod("b"), pod("a"), pod("c", phase="Failed", reason="Evicted", created="2026-03-02T00:00:00Z")]
    assert [p["metadata"]["name"] for p in sorted(pods, key=deletion_order)] == ["c", "a", "b"]


async def test_threshold_zero_keeps_terminated_pods() -> None:
    client = FakeClient()
    controller = await started([pod("done", phase="Succeeded")], [], client, terminated_pod_gc_threshold=0)
    await gc_pass(controller)
    assert client.calls == []


async def test_unscheduled_terminating_pod_is_marked_failed_and_force_deleted() -> None:
    client = FakeClient()
    controller = await started([pod("p", phase="Pending", deleting=True), pod("kept", phase="Pending")], [], client)
    await gc_pass(controller)
    assert client.calls == [("patch", "p", {"metadata": {"uid": "uid-p"}, "status": {"phase": "Failed"}}),
                            force_delete("p")]


async def test_orphaned_pods_wait_out_the_quarantine_then_go_with_the_disruption_condition() -> None:
    clock, client = Clock(), FakeClient()
    pods = [pod("orphan", node="gone"), pod("bound", node="here"), pod("done", phase="Succeeded", node="gone")]
    controller = await started(pods, [node("here")], client, quarantine_time=40, clock=clock)
    assert await gc_pass(controller) == 20.0
    assert client.calls == []
    clock.now = START + timedelta(seconds=30)
    assert await gc_pass(controller) == 10.0
    clock.now = START + timedelta(seconds=40)
    await gc_pass(controller)
    condition = {"type": "DisruptionTarget", "status": "True", "reason": "DeletionByPodGC",
                 "message": "PodGC: node no longer exists", "lastTransitionTime": "2026-03-01T10:00:40Z"}
    assert client.calls == [
        ("get", "gone", None),
        ("patch", "orphan", {"metadata": {"uid": "uid-orphan"}, "status": {"phase": "Failed",
                                                                          "conditions": [condition]}}),
        force_delete("orphan"),
        force_delete("done"),
    ]


async def test_orphan_whose_node_exists_when_read_live_is_kept() -> None:
    clock, client = Clock(), FakeClient("late")
    controller = await started([pod("p", node="late")], [], client, quarantine_time=1, clock=clock)
    await gc_pass(controller)
    clock.now = START + timedelta(seconds=1)
    await gc_pass(controller)
    assert client.calls == [("get", "late", None)]


async def test_terminating_pods_on_out_of_service_nodes_are_force_deleted() -> None:
    client = FakeClient()
    pods = [pod("leaving", node="down", deleting=True), pod("staying", node="down"),
            pod("ready-node", node="up", deleting=True)]
    nodes = [node("down", ready=False, out_of_service=True), node("up", out_of_service=True)]
    controller = await started(pods, nodes, client)
    await gc_pass(controller)
    assert client.deleted() == ["leaving"]


async def test_events_that_may_matter_queue_a_pass() -> None:
    controller = await started([], [node("here")], FakeClient())
    assert controller.keys_for(PODS, "ADDED", pod("p", node="gone")) == ["gc"]
    assert controller.keys_for(PODS, "MODIFIED", pod("p", deleting=True)) == ["gc"]
    assert controller.keys_for(PODS, "MODIFIED", pod("p", phase="Succeeded")) == ["gc"]
    assert controller.keys_for(PODS, "MODIFIED", pod("p", node="here")) == []
    assert controller.keys_for(PODS, "DELETED", pod("p", node="gone")) == []
    assert controller.keys_for(NODES, "DELETED", node("here")) == ["gc"]
    assert controller.keys_for(NODES, "MODIFIED", node("here")) == []


POD = {"metadata": {"name": "stuck"}, "spec": {"nodeName": "made-up", "containers": [{"name": "c", "image": "nginx"}]}}
NAMESPACES = Resource("", "v1", "namespaces", namespaced=False)


async def test_deleted_pod_bound_to_a_missing_node_goes_away(tmp_path: Path) -> None:
    async with in_memory_server(tmp_path) as served:
        manager = ControllerManager([lambda: PodGCController(quarantine_time=0.2, gc_check_period=0.1,
                                                                    min_pass_interval=0.05)])
        manager.serve_through(served.server.app)
        client = ApiClient(InProcessTransport(served.server.app, ADMIN))
        await client.create(PODS, POD, namespace="default")
        await client.delete(PODS, "stuck", namespace="default")
        terminating = await client.get(PODS, "stuck", namespace="default")
        assert terminating["metadata"]["deletionTimestamp"]
        await manager.start()
        try:
            await eventually(lambda: gone(client, PODS, "stuck", "default"), within=10)
        finally:
            await manager.stop()


async def test_failed_status_patch_is_accepted_by_pods_status(tmp_path: Path) -> None:
    async with in_memory_server(tmp_path) as served:
        client = ApiClient(InProcessTransport(served.server.app, ADMIN))
        created = await client.create(PODS, POD, namespace="default")
        patch = failed_status_patch(created, ORPHANED_CONDITION, "2026-03-01T10:00:40Z")
        patched = await client.patch(PODS, "stuck", patch, namespace="default", subresource="status",
                                     content_type=STRATEGIC_MERGE_PATCH)
        assert patched["status"]["phase"] == "Failed"
        assert patched["status"]["conditions"][-1] == {
            "type": "DisruptionTarget", "status": "True", "lastTransitionTime": "2026-03-01T10:00:40Z",
            "reason": "DeletionByPodGC",
            "message": "PodGC: node no longer exists"}


async def test_a_stream_of_pod_events_runs_at_most_one_pass_per_interval() -> None:
    """Every pass reads all cached pods: passes asked for in a burst are spaced by the minimum interval."""
    controller = await started([], [], FakeClient(), min_pass_interval=30.0)
    assert await gc_pass(controller) == GC_CHECK_PERIOD  # the first pass runs, then waits for the next period
    delay = await gc_pass(controller)  # asked again at once (a pod event): refused until the interval has passed
    assert 29.0 < delay <= 30.0
