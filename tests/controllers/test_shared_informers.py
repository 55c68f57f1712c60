"""The controller manager's shared informers (controllers/informers.py): one list and watch per resource and view
for every controller, events fanned out to each controller's handler, an informer stopping with its last holder,
metadata-only informers, and a leader that loses and regains the Lease missing nothing."""
from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from apiserver.auth.user import UserInfo
from apiserver.client.client import ApiClient, Resource
from apiserver.client.informer import Informer
from apiserver.client.transports import InProcessTransport
from apiserver.controllers.base import LOOPBACK_USER, ControllerManager
from apiserver.controllers.informers import ControllerInformers, InformerFactory
from apiserver.controllers.leaderelection import LEASES, LeaderElectionConfig
from apiserver.http.asgi import ASGIApp, Receive, Scope, Send
from tests.controllers.test_serviceaccounts import ADMIN
from tests.server.security_harness import InMemoryServer, in_memory_server
from tests.support.server import ServerProcess

JSONDict = dict[str, Any]
CONFIG_MAPS = Resource("", "v1", "configmaps")
SECRETS = Resource("", "v1", "secrets")
LEASE, RENEW, RETRY = 2.0, 1.0, 0.2


class CountingApp:
    """The real API app, counting the LIST and WATCH requests it is sent by collection path."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app
        self.calls: Counter[tuple[str, str]] = Counter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            verb = "WATCH" if b"watch=true" in scope["query_string"] else "LIST"
            self.calls[(verb, scope["path"])] += 1
        await self._app(scope, receive, send)


class Recorder:
    """A controller that records each event its handler gets as (plural, type, name)."""

    workers = 1

    def __init__(self, name: str, watches: Sequence[Resource], user: UserInfo | None = None) -> None:
        self.name = name
        self.watches = tuple(watches)
        self.events: list[tuple[str, str, str]] = []
        self.informers: dict[Resource, Informer] = {}
        if user is not None:
            self.user = user

    def keys_for(self, resource: Resource, event_type: str, obj: JSONDict) -> list[str]:
        self.events.append((resource.plural, event_type, str(obj["metadata"]["name"])))
        return []

    async def start(self, client: ApiClient, informers: dict[Resource, Informer]) -> None:
        self.informers = informers

    async def reconcile(self, key: str) -> None:
        return None

    def saw(self, plural: str, event_type: str, name: str) -> bool:
        return (plural, event_type, name) in self.events


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[InMemoryServer]:
    async with in_memory_server(tmp_path, leader_elect=False) as server:
        yield server


def admin_of(served: InMemoryServer) -> ApiClient:
    return ApiClient(InProcessTransport(served.server.app, ADMIN))


def config_map(name: str) -> JSONDict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"key": name}}


async def wait_for(condition: Callable[[], bool], within: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached"
        await asyncio.sleep(0.02)


async def test_controllers_reading_one_resource_share_one_list_and_one_watch(served: InMemoryServer) -> None:
    admin = admin_of(served)
    await admin.create(CONFIG_MAPS, config_map("before"), namespace="default")
    counting = CountingApp(served.server.app)
    recorders = [Recorder(f"recorder-{index}", (CONFIG_MAPS, SECRETS)) for index in range(3)]
    manager = ControllerManager([lambda recorder=recorder: recorder for recorder in recorders])  # type: ignore[misc]
    manager.serve_through(counting)
    await manager.start()
    try:
        await wait_for(lambda: all(recorder.saw("configmaps", "ADDED", "before") for recorder in recorders))
        await admin.create(CONFIG_MAPS, config_map("after"), namespace="default")
        await wait_for(lambda: all(recorder.saw("configmaps", "ADDED", "after") for recorder in recorders))
        assert counting.calls[("LIST", "/api/v1/configmaps")] == 1
        assert counting.calls[("WATCH", "/api/v1/configmaps")] == 1
        assert counting.calls[("LIST", "/api/v1/secrets")] == 1
        shared = recorders[0].informers[CONFIG_MAPS]
        assert all(recorder.informers[CONFIG_MAPS] is shared for recorder in recorders)
        assert all(isinstance(recorder.informers, ControllerInformers) for recorder in recorders)
        assert {(resource.plural, view) for resource, view in manager.informers.running()} == {  # type: ignore[union-attr]
            ("configmaps", False), ("secrets", False)}
    finally:
        await manager.stop()
    assert manager.informers is None


async def test_each_handler_gets_each_event_once_in_order(served: InMemoryServer) -> None:
    admin = admin_of(served)
    factory = InformerFactory(InProcessTransport(served.server.app, ADMIN))
    seen: dict[str, list[tuple[str, str]]] = {"first": [], "second": []}
    informer = factory.acquire(CONFIG_MAPS)
    assert factory.acquire(CONFIG_MAPS) is informer
    for events in seen.values():
        informer.add_handler(lambda kind, obj, events=events: events.append((kind, obj["metadata"]["name"])))
    try:
        await asyncio.wait_for(informer.wait_synced(), 10)
        created = await admin.create(CONFIG_MAPS, config_map("fan"), namespace="default")
        await admin.update(CONFIG_MAPS, {**created, "data": {"key": "changed"}}, namespace="default")
        await admin.delete(CONFIG_MAPS, "fan", namespace="default")
        await wait_for(lambda: all(("DELETED", "fan") in events for events in seen.values()))
    finally:
        await factory.stop()
    expected = [("ADDED", "fan"), ("MODIFIED", "fan"), ("DELETED", "fan")]
    assert [event for event in seen["first"] if event[1] == "fan"] == expected
    assert [event for event in seen["second"] if event[1] == "fan"] == expected


async def test_a_late_handler_sees_what_a_fresh_informer_would(served: InMemoryServer) -> None:
    admin = admin_of(served)
    for name in ("one", "two"):
        await admin.create(CONFIG_MAPS, config_map(name), namespace="default")
    factory = InformerFactory(InProcessTransport(served.server.app, ADMIN))
    fresh_events: list[tuple[str, str]] = []
    fresh = Informer(admin, CONFIG_MAPS, lambda kind, obj: fresh_events.append((kind, obj["metadata"]["name"])))
    fresh_task = asyncio.create_task(fresh.run())
    try:
        shared = factory.acquire(CONFIG_MAPS)
        await asyncio.wait_for(asyncio.gather(shared.wait_synced(), fresh.wait_synced()), 10)
        late: list[tuple[str, str]] = []
        shared.add_handler(lambda kind, obj: late.append((kind, obj["metadata"]["name"])))
        assert sorted(late) == sorted(fresh_events)
        assert ("ADDED", "one") in late and ("ADDED", "two") in late
    finally:
        fresh_task.cancel()
        await asyncio.gather(fresh_task, return_exceptions=True)
        await factory.stop()


async def test_releasing_one_holder_keeps_the_informer_for_the_others(served: InMemoryServer) -> None:
    admin = admin_of(served)
    factory = InformerFactory(InProcessTransport(served.server.app, ADMIN))
    informer = factory.acquire(CONFIG_MAPS)
    other = factory.acquire(CONFIG_MAPS)
    names: list[str] = []

    def handler(kind: str, obj: JSONDict) -> None:
        names.append(obj["metadata"]["name"])

    other.add_handler(handler)
    try:
        await asyncio.wait_for(informer.wait_synced(), 10)
        await factory.release(informer)
        assert [resource.plural for resource, _ in factory.running()] == ["configmaps"]
        await admin.create(CONFIG_MAPS, config_map("kept"), namespace="default")
        await wait_for(lambda: "kept" in names)
        other.remove_handler(handler)
        await factory.release(other)
        assert factory.running() == []
        await admin.create(CONFIG_MAPS, config_map("unseen"), namespace="default")
        assert factory.acquire(CONFIG_MAPS) is not informer  # a stopped informer is never handed out again
    finally:
        await factory.stop()
    assert "unseen" not in names


async def test_metadata_only_informers_cache_partial_object_metadata(served: InMemoryServer) -> None:
    admin = admin_of(served)
    await admin.create(CONFIG_MAPS, config_map("listed"), namespace="default")
    factory = InformerFactory(InProcessTransport(served.server.app, ADMIN))
    metadata = factory.acquire(CONFIG_MAPS, metadata_only=True)
    objects = factory.acquire(CONFIG_MAPS)
    assert metadata is not objects
    watched: list[JSONDict] = []
    metadata.add_handler(lambda kind, obj: watched.append(obj) if kind == "MODIFIED" else None)
    try:
        await asyncio.wait_for(asyncio.gather(metadata.wait_synced(), objects.wait_synced()), 10)
        listed = metadata.get("default/listed")
        assert listed is not None and listed["kind"] == "PartialObjectMetadata" and "data" not in listed
        assert listed["metadata"]["uid"] == objects.get("default/listed")["metadata"]["uid"]  # type: ignore[index]
        current = await admin.get(CONFIG_MAPS, "listed", namespace="default")
        await admin.update(CONFIG_MAPS, {**current, "metadata": {**current["metadata"], "finalizers": ["x.io/f"]}},
                           namespace="default")
        await wait_for(lambda: bool(watched))
        assert watched[0]["kind"] == "PartialObjectMetadata" and watched[0]["metadata"]["finalizers"] == ["x.io/f"]
        assert "data" not in watched[0]
    finally:
        await factory.stop()
        current = await admin.get(CONFIG_MAPS, "listed", namespace="default")
        await admin.update(CONFIG_MAPS, {**current, "metadata": {**current["metadata"], "finalizers": []}},
                           namespace="default")


async def test_the_garbage_collector_reads_metadata_views_and_controllers_share_the_objects(
        tmp_path: Path) -> None:
    async with in_memory_server(tmp_path) as served:
        manager = served.server.controllers
        assert manager is not None and manager.informers is not None
        factory = manager.informers
        await wait_for(lambda: (Resource("", "v1", "pods"), True) in factory.running())
        views = Counter((resource.group, resource.plural, view) for resource, view in factory.running())
        assert views[("", "pods", False)] == 1 and views[("", "pods", True)] == 1
        assert max(views.values()) == 1


def pods_requests(server: ServerProcess) -> tuple[float, float]:
    """(LIST requests served, WATCH requests open) for pods, from the server's /metrics."""
    status, _, body = server.request("GET", "/metrics", client_cert=True)
    assert status == 200
    lists = watches = 0.0
    for line in body.decode().splitlines():
        if 'resource="pods"' not in line or 'subresource=""' not in line:
            continue
        if line.startswith("apiserver_request_total{") and 'verb="LIST"' in line:
            lists += float(line.rsplit(" ", 1)[1])
        elif line.startswith("apiserver_longrunning_requests{") and 'verb="WATCH"' in line:
            watches += float(line.rsplit(" ", 1)[1])
    return lists, watches


async def test_a_server_lists_and_watches_pods_once_per_view_for_all_its_controllers(tmp_path: Path) -> None:
    """Disruption, pod GC and resource quota read pods; the garbage collector reads their metadata."""
    with ServerProcess(tmp_path / "server") as server:
        deadline = asyncio.get_running_loop().time() + 30
        while (counts := pods_requests(server))[1] < 2:
            assert asyncio.get_running_loop().time() < deadline, f"pod watches never opened: {counts}"
            await asyncio.sleep(0.1)
        assert pods_requests(server) == (2, 2)


async def test_a_leader_that_loses_the_lease_stops_only_what_its_elected_controllers_alone_read(
        served: InMemoryServer) -> None:
    admin = admin_of(served)
    own = Recorder("own", (CONFIG_MAPS,), user=LOOPBACK_USER)
    made: list[Recorder] = []  # one elected controller per term of leadership

    def make_elected() -> Recorder:
        made.append(Recorder("elected", (CONFIG_MAPS, SECRETS)))
        return made[-1]

    election = LeaderElectionConfig(identity="a_id", lease_duration=LEASE, renew_deadline=RENEW, retry_period=RETRY)
    manager = ControllerManager([make_elected, lambda: own], election=election)
    manager.serve_through(served.server.app)
    await manager.start()
    factory = manager.informers
    assert factory is not None
    try:
        await wait_for(lambda: {resource.plural for resource, _ in factory.running()} == {"configmaps", "secrets"})
        lease = await admin.get(LEASES, "kube-controller-manager", namespace="kube-system")
        lease["spec"] = {**lease["spec"], "holderIdentity": "intruder", "leaseDurationSeconds": 2}
        await admin.update(LEASES, lease, namespace="kube-system")
        await wait_for(lambda: {resource.plural for resource, _ in factory.running()} == {"configmaps"},
                       within=RENEW + RETRY * 3 + 1)
        await admin.create(CONFIG_MAPS, config_map("while-away"), namespace="default")
        await wait_for(lambda: own.saw("configmaps", "ADDED", "while-away"))
        await wait_for(lambda: len(made) == 3, within=LEASE + RENEW * 2 + 1)  # the intruder's lease ran out
        await wait_for(lambda: made[2].saw("configmaps", "ADDED", "while-away"))
        assert {resource.plural for resource, _ in factory.running()} == {"configmaps", "secrets"}
        assert not made[1].saw("configmaps", "ADDED", "while-away")
    finally:
        await manager.stop()
    assert factory.running() == []
