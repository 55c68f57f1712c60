"""Leader election's state machine (client-go's tryAcquireOrRenew and release) with a fixed clock, against a real
in-memory server as kube-controller-manager's own user (so the bootstrap RBAC is proved too), and the flag
checks."""
from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from apiserver.client.client import ApiClient
from apiserver.client.transports import InProcessTransport
from apiserver.controllers.base import CONTROLLER_MANAGER
from apiserver.controllers.leaderelection import (
    LEASES,
    LeaderElectionConfig,
    LeaderElector,
    candidate_identity,
    election_problems,
)
from apiserver.meta.errors import Forbidden
from apiserver.server.assembly import leader_election
from apiserver.server.config import SERVE_FLAGS, ServerConfig
from apiserver.server.flags import FlagError, parse_flags
from tests.controllers.test_serviceaccounts import ADMIN
from tests.server.security_harness import InMemoryServer, in_memory_server

# ServerConfig.from_flags reads settings (as in tests/server/conftest.py).
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "apiserver.settings")
os.environ.setdefault("PILOTHOUSE_SECRET_KEY", "tests-only-not-a-secret")
START = datetime(2026, 3, 1, 10, 0, 0, 123456, tzinfo=UTC)
JSONDict = dict[str, Any]


class FakeClock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[InMemoryServer]:
    async with in_memory_server(tmp_path, leader_elect=False) as server:
        yield server


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def candidate(served: InMemoryServer, clock: FakeClock, identity: str, **config: Any) -> LeaderElector:
    client = ApiClient(InProcessTransport(served.server.app, CONTROLLER_MANAGER))
    return LeaderElector(client, LeaderElectionConfig(identity=identity, **config), clock=clock)


async def lease(served: InMemoryServer) -> JSONDict:
    admin = ApiClient(InProcessTransport(served.server.app, ADMIN))
    return await admin.get(LEASES, "kube-controller-manager", namespace="kube-system")


def micro(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


async def test_first_candidate_creates_the_lease_with_upstreams_record(served: InMemoryServer,
                                                                       clock: FakeClock) -> None:
    a = candidate(served, clock, "host-a_1")
    assert await a.try_acquire_or_renew()
    assert a.is_leader()
    assert (await lease(served))["spec"] == {
        "holderIdentity": "host-a_1", "leaseDurationSeconds": 15, "acquireTime": micro(START),
        "renewTime": micro(START), "leaseTransitions": 0,
    }


async def test_a_held_lease_is_not_taken(served: InMemoryServer, clock: FakeClock) -> None:
    a, b = candidate(served, clock, "a"), candidate(served, clock, "b")
    assert await a.try_acquire_or_renew()
    clock.advance(5)
    assert not await b.try_acquire_or_renew()
    assert (b.is_leader(), b.leader) == (False, "a")


async def test_renewal_moves_renew_time_and_keeps_acquire_time_and_transitions(served: InMemoryServer,
                                                                             clock: FakeClock) -> None:
    a = candidate(served, clock, "a")
    assert await a.try_acquire_or_renew()
    clock.advance(2)
    assert await a.try_acquire_or_renew()
    spec = (await lease(served))["spec"]
    assert (spec["acquireTime"], spec["renewTime"], spec["leaseTransitions"]) == (
        micro(START), micro(START + timedelta(seconds=2)), 0)


async def test_an_unrenewed_lease_is_taken_over_after_the_lease_duration(served: InMemoryServer,
                                                                         clock: FakeClock) -> None:
    a, b = candidate(served, clock, "a"), candidate(served, clock, "b")
    assert await a.try_acquire_or_renew()
    assert not await b.try_acquire_or_renew()  # b sees the record now
    clock.advance(14.9)
    assert not await b.try_acquire_or_renew()
    clock.advance(0.2)
    assert await b.try_acquire_or_renew()
    spec = (await lease(served))["spec"]
    taken = micro(START + timedelta(seconds=15.1))
    assert spec == {"holderIdentity": "b", "leaseDurationSeconds": 15, "acquireTime": taken, "renewTime": taken,
                    "leaseTransitions": 1}


async def test_expiry_counts_from_when_the_candidate_saw_the_record_change(served: InMemoryServer,
                                                                           clock: FakeClock) -> None:
    """client-go judges expiry by its own observation time, not by the holder's renewTime (clock skew)."""
    a = candidate(served, clock, "a")
    assert await a.try_acquire_or_renew()
    clock.advance(60)  # the record is a minute old, but b has never seen it
    b = candidate(served, clock, "b")
    assert not await b.try_acquire_or_renew()
    clock.advance(10)
    assert not await b.try_acquire_or_renew()
    clock.advance(5.1)
    assert await b.try_acquire_or_renew()


async def test_a_renewal_seen_by_a_candidate_restarts_its_wait(served: InMemoryServer, clock: FakeClock) -> None:
    a, b = candidate(served, clock, "a"), candidate(served, clock, "b")
    assert await a.try_acquire_or_renew()
    assert not await b.try_acquire_or_renew()
    clock.advance(10)
    assert await a.try_acquire_or_renew()
    assert not await b.try_acquire_or_renew()  # sees the renewal at t=10
    clock.advance(10)
    assert not await b.try_acquire_or_renew()  # 20 s after the start, but only 10 s after the renewal
    assert b.leader == "a"


async def test_release_empties_the_holder_so_a_successor_takes_over_at_once(served: InMemoryServer,
                                                                            clock: FakeClock) -> None:
    a, b = candidate(served, clock, "a"), candidate(served, clock, "b")
    assert await a.try_acquire_or_renew()
    assert not await b.try_acquire_or_renew()
    clock.advance(3)
    assert await a.release()
    assert not a.is_leader()
    released = micro(START + timedelta(seconds=3))
    assert (await lease(served))["spec"] == {"holderIdentity": "", "leaseDurationSeconds": 1,
                                             "acquireTime": released, "renewTime": released,
                                             "leaseTransitions": 0}
    assert await b.try_acquire_or_renew()
    assert (await lease(served))["spec"]["leaseTransitions"] == 1


async def test_release_by_a_candidate_that_does_not_lead_changes_nothing(served: InMemoryServer,
                                                                         clock: FakeClock) -> None:
    a, b = candidate(served, clock, "a"), candidate(served, clock, "b")
    assert await a.try_acquire_or_renew()
    before = await lease(served)
    assert not await b.try_acquire_or_renew()
    assert await b.release()
    assert await lease(served) == before


async def test_two_candidates_racing_for_an_expired_lease_elect_exactly_one(served: InMemoryServer,
                                                                            clock: FakeClock) -> None:
    a = candidate(served, clock, "a")
    rivals = [candidate(served, clock, name) for name in ("b", "c", "d")]
    assert await a.try_acquire_or_renew()
    for rival in rivals:
        assert not await rival.try_acquire_or_renew()
    clock.advance(16)
    won = await asyncio.gather(*(rival.try_acquire_or_renew() for rival in rivals))
    assert sorted(won) == [False, False, True]  # the others' updates conflict on the resourceVersion
    winner = rivals[won.index(True)]
    assert (await lease(served))["spec"]["holderIdentity"] == winner.config.identity
    assert (await lease(served))["spec"]["leaseTransitions"] == 1


async def test_a_deposed_leader_learns_it_lost_instead_of_overwriting(served: InMemoryServer,
                                                                      clock: FakeClock) -> None:
    a, b = candidate(served, clock, "a"), candidate(served, clock, "b")
    assert await a.try_acquire_or_renew()
    assert not await b.try_acquire_or_renew()
    clock.advance(16)  # a stalled (say, SIGSTOP) past its lease
    assert await b.try_acquire_or_renew()
    assert not await a.try_acquire_or_renew()  # its renewal conflicts; the fresh read shows b holding
    assert (a.is_leader(), a.leader) == (False, "b")
    assert (await lease(served))["spec"]["holderIdentity"] == "b"


async def test_the_controller_manager_user_may_only_take_its_own_lease(served: InMemoryServer,
                                                                       clock: FakeClock) -> None:
    """The bootstrap policy lets system:kube-controller-manager create Leases and get/update only the one named
    kube-controller-manager, as upstream's does; another name is refused and the attempt fails quietly."""
    other = candidate(served, clock, "a", name="my-lock")
    assert not await other.try_acquire_or_renew()
    client = ApiClient(InProcessTransport(served.server.app, CONTROLLER_MANAGER))
    with pytest.raises(Forbidden):
        await client.get(LEASES, "my-lock", namespace="kube-system")


def test_candidate_identity_is_the_hostname_and_a_uuid() -> None:
    first, second = candidate_identity("node-1"), candidate_identity("node-1")
    assert first.startswith("node-1_") and len(first) == len("node-1_") + 36
    assert first != second


@pytest.mark.parametrize(
    ("lease_duration", "renew_deadline", "retry_period", "problems"),
    [
        (15, 10, 2, []),
        (10, 10, 2, ["leaseDuration must be greater than renewDeadline"]),
        (15, 2.4, 2, ["renewDeadline must be greater than retryPeriod*JitterFactor"]),
        (15, 10, 0, ["retryPeriod must be greater than zero"]),
        (10, 10, 0, ["leaseDuration must be greater than renewDeadline"]),  # upstream reports the first only
        (0, -1, -1, ["leaseDuration must be greater than zero"]),
    ],
    ids=["defaults", "lease-not-above-deadline", "deadline-within-jittered-retry", "zero-retry", "first-only",
         "zero-lease"],
)
def test_election_problems_have_client_go_wording(lease_duration: float, renew_deadline: float, retry_period: float,
                                                  problems: list[str]) -> None:
    assert election_problems(lease_duration, renew_deadline, retry_period) == problems


def test_an_empty_identity_is_refused() -> None:
    with pytest.raises(ValueError, match="Lock identity is empty"):
        LeaderElector(ApiClient(InProcessTransport(lambda *_: None, ADMIN)),  # type: ignore[arg-type]
                      LeaderElectionConfig(identity=""))


def config_from(*args: str) -> ServerConfig:
    return ServerConfig.from_flags(parse_flags(SERVE_FLAGS, list(args), command="serve"))


def test_leader_election_flags_default_to_kube_controller_managers() -> None:
    config = config_from()
    assert (config.leader_elect, config.leader_elect_lease_duration, config.leader_elect_renew_deadline,
            config.leader_elect_retry_period, config.leader_elect_resource_name,
            config.leader_elect_resource_namespace, config.hostname) == (
        True, 15.0, 10.0, 2.0, "kube-controller-manager", "kube-system", socket.gethostname())
    election = leader_election(config)
    assert election is not None and election.identity.startswith(f"{socket.gethostname()}_")


def test_leader_election_flags_are_read_and_checked_only_when_enabled() -> None:
    config = config_from("--leader-elect-lease-duration", "4s", "--leader-elect-renew-deadline", "3s",
                         "--leader-elect-retry-period", "500ms", "--leader-elect-resource-name", "lock",
                         "--leader-elect-resource-namespace", "ops", "--hostname-override", "replica-a")
    election = leader_election(config)
    assert election is not None
    assert (election.lease_duration, election.renew_deadline, election.retry_period, election.name,
            election.namespace) == (4.0, 3.0, 0.5, "lock", "ops")
    assert election.identity.startswith("replica-a_")
    with pytest.raises(FlagError, match=r"^leaseDuration must be greater than renewDeadline$"):
        config_from("--leader-elect-renew-deadline", "20s")
    assert leader_election(config_from("--leader-elect=false", "--leader-elect-renew-deadline", "20s")) is None
