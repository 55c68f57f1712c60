"""ControllerManager with leader election: two replicas' managers on one API, with short real durations.
Exactly one runs kube-controller-manager's controllers while the API server's own run in both; a graceful stop
hands over at once, a killed leader is replaced after the lease duration, and a leader that cannot renew stops
its controllers within the renew deadline."""
from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from apiserver.auth.user import UserInfo
from apiserver.client.client import ApiClient, Resource
from apiserver.client.informer import Informer
from apiserver.client.transports import InProcessTransport
from apiserver.controllers.base import LOOPBACK_USER, ControllerManager, is_leader_elected
from apiserver.controllers.leaderelection import LEASES, LeaderElectionConfig
from tests.controllers.test_serviceaccounts import ADMIN
from tests.server.security_harness import InMemoryServer, in_memory_server

LEASE, RENEW, RETRY = 2.0, 1.0, 0.2


class Probe:
    """A controller that only records whether it runs in which replica."""

    workers = 0
    watches: Sequence[Resource] = ()

    def __init__(self, name: str, replica: str, active: set[tuple[str, str]], user: UserInfo | None = None) -> None:
        self.name = name
        self.replica = replica
        self.active = active
        if user is not None:
            self.user = user

    def keys_for(self, resource: Resource, event_type: str, obj: dict[str, Any]) -> list[str]:
        return []

    async def start(self, client: ApiClient, informers: dict[Resource, Informer]) -> None:
        return None

    async def reconcile(self, key: str) -> None:
        return None

    async def run(self) -> None:
        self.active.add((self.replica, self.name))
        try:
            await asyncio.Event().wait()
        finally:
            self.active.discard((self.replica, self.name))


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[InMemoryServer]:
    async with in_memory_server(tmp_path, leader_elect=False) as server:
        yield server


def manager(served: InMemoryServer, replica: str, active: set[tuple[str, str]], *,
            release_on_cancel: bool = True) -> ControllerManager:
    factories: list[Callable[[], Any]] = [
        lambda: Probe("namespace", replica, active),
        lambda: Probe("crd-naming", replica, active, user=LOOPBACK_USER),
    ]
    election = LeaderElectionConfig(identity=f"{replica}_id", lease_duration=LEASE, renew_deadline=RENEW,
                                    retry_period=RETRY, release_on_cancel=release_on_cancel)
    controllers = ControllerManager(factories, election=election)
    controllers.serve_through(served.server.app)
    return controllers


async def wait_for(condition: Callable[[], bool], within: float) -> float:
    """Seconds until `condition()` holds; fails after `within`."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    while not condition():
        assert loop.time() - start < within, "condition not reached"
        await asyncio.sleep(0.02)
    return loop.time() - start


def elected(active: set[tuple[str, str]]) -> set[str]:
    return {replica for replica, name in active if name == "namespace"}


def test_only_the_api_servers_own_controllers_escape_election() -> None:
    active: set[tuple[str, str]] = set()
    assert is_leader_elected(Probe("namespace", "a", active))
    assert not is_leader_elected(Probe("crd-naming", "a", active, user=LOOPBACK_USER))


async def test_one_replica_leads_and_the_servers_own_controllers_run_in_both(served: InMemoryServer) -> None:
    active: set[tuple[str, str]] = set()
    first, second = manager(served, "a", active), manager(served, "b", active)
    await first.start()
    await second.start()
    try:
        await wait_for(lambda: {("a", "namespace"), ("a", "crd-naming"), ("b", "crd-naming")} <= active, within=1)
        assert elected(active) == {"a"}
        assert first.elector is not None and first.elector.is_leader()
        admin = ApiClient(InProcessTransport(served.server.app, ADMIN))
        lease = await admin.get(LEASES, "kube-controller-manager", namespace="kube-system")
        assert lease["spec"]["holderIdentity"] == "a_id"
        await asyncio.sleep(RENEW + RETRY)  # several renewals later, still one leader
        assert elected(active) == {"a"}
    finally:
        await second.stop()
        await first.stop()
    assert active == set()


async def test_a_graceful_stop_releases_the_lease_so_the_other_replica_takes_over_at_once(
        served: InMemoryServer) -> None:
    active: set[tuple[str, str]] = set()
    first, second = manager(served, "a", active), manager(served, "b", active)
    await first.start()
    await second.start()
    try:
        await first.stop()
        assert elected(active) == set()  # the leader's controllers stopped before it released
        took = await wait_for(lambda: elected(active) == {"b"}, within=LEASE)
        assert took < RETRY * 2.2 + 0.5  # the next retry, not a lease duration later
    finally:
        await second.stop()


async def test_a_killed_leader_is_replaced_after_the_lease_duration(served: InMemoryServer) -> None:
    active: set[tuple[str, str]] = set()
    first = manager(served, "a", active, release_on_cancel=False)  # no release: as if killed
    second = manager(served, "b", active)
    await first.start()
    await second.start()
    try:
        await first.stop()
        took = await wait_for(lambda: elected(active) == {"b"}, within=LEASE + RENEW * 2)
        assert took > LEASE - RETRY * 2.2 - 0.1  # the lease had to run out first
        admin = ApiClient(InProcessTransport(served.server.app, ADMIN))
        lease = await admin.get(LEASES, "kube-controller-manager", namespace="kube-system")
        assert (lease["spec"]["holderIdentity"], lease["spec"]["leaseTransitions"]) == ("b_id", 1)
    finally:
        await second.stop()


async def test_a_leader_that_cannot_renew_stops_its_controllers_and_campaigns_again(
        served: InMemoryServer) -> None:
    active: set[tuple[str, str]] = set()
    first = manager(served, "a", active)
    await first.start()
    try:
        assert elected(active) == {"a"}
        admin = ApiClient(InProcessTransport(served.server.app, ADMIN))
        lease = await admin.get(LEASES, "kube-controller-manager", namespace="kube-system")
        lease["spec"] = {**lease["spec"], "holderIdentity": "intruder", "leaseDurationSeconds": 2}
        await admin.update(LEASES, lease, namespace="kube-system")  # another holder, renewing nothing
        stopped = await wait_for(lambda: elected(active) == set(), within=RENEW + RETRY * 3)
        assert stopped <= RENEW + RETRY * 3
        assert ("a", "crd-naming") in active  # the server's own controllers are not elected
        await wait_for(lambda: elected(active) == {"a"}, within=LEASE + RENEW * 2)  # the intruder's lease ran out
    finally:
        await first.stop()


async def test_without_election_every_controller_runs_at_start(served: InMemoryServer) -> None:
    active: set[tuple[str, str]] = set()
    controllers = ControllerManager([lambda: Probe("namespace", "a", active)])
    controllers.serve_through(served.server.app)
    await controllers.start()
    try:
        await wait_for(lambda: active == {("a", "namespace")}, within=1)
        assert controllers.elector is None
    finally:
        await controllers.stop()


async def test_a_stopping_server_still_releases_its_lease(tmp_path: Path) -> None:
    """The lifecycle's stop order: shutdown begins (readyz fails, watches end), then the controllers stop and the
    Lease is released through the API, which must still accept that write."""
    async with in_memory_server(tmp_path) as served:
        controllers = served.server.controllers
        assert controllers is not None and controllers.elector is not None and controllers.elector.is_leader()
        assert controllers.elector.config.identity.startswith(f"{socket.gethostname()}_")
        served.server.lifecycle.begin_shutdown()
        await controllers.stop()
        admin = ApiClient(InProcessTransport(served.server.app, ADMIN))
        lease = await admin.get(LEASES, "kube-controller-manager", namespace="kube-system")
        assert (lease["spec"]["holderIdentity"], lease["spec"]["leaseDurationSeconds"]) == ("", 1)
