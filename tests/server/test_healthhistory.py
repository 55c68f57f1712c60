"""HealthHistory: transitions of every check of /livez, /readyz and /healthz, with a fixed clock."""
from __future__ import annotations

import asyncio

import pytest

from apiserver.endpoints.health import PING, FunctionCheck, HealthRegistry
from apiserver.server.healthhistory import CheckState, HealthHistory


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Switch:
    """A check whose outcome the test sets; counts its runs."""

    def __init__(self) -> None:
        self.reason: str | None = None
        self.runs = 0

    async def __call__(self) -> None:
        self.runs += 1
        if self.reason is not None:
            raise RuntimeError(self.reason)


def registry_with(switch: Switch) -> HealthRegistry:
    registry = HealthRegistry()
    registry.register(PING)
    registry.register(FunctionCheck("etcd", switch))
    registry.register(FunctionCheck("shutdown", switch), healthz=False, livez=False)
    return registry


async def test_a_check_that_fails_then_recovers_records_each_transition() -> None:
    clock, switch = FakeClock(), Switch()
    history = HealthHistory(registry_with(switch), clock=clock)
    await history.sample()
    clock.now, switch.reason = 1005.0, "etcd: UNAVAILABLE: connection refused"
    await history.sample()
    clock.now = 1010.0
    await history.sample()  # still failing, same reason: nothing new
    clock.now, switch.reason = 1020.0, None
    await history.sample()
    assert history.transitions("readyz", "etcd") == [
        CheckState("readyz", "etcd", True, 1000.0),
        CheckState("readyz", "etcd", False, 1005.0, "etcd: UNAVAILABLE: connection refused"),
        CheckState("readyz", "etcd", True, 1020.0),
    ]
    assert history.transitions("livez", "ping") == [CheckState("livez", "ping", True, 1000.0)]
    assert history.sampled_at == 1020.0


async def test_a_changed_failure_reason_is_a_transition() -> None:
    clock, switch = FakeClock(), Switch()
    history = HealthHistory(registry_with(switch), clock=clock)
    switch.reason = "first"
    await history.sample()
    clock.now, switch.reason = 1001.0, "second"
    await history.sample()
    assert [(state.since, state.reason) for state in history.transitions("healthz", "etcd")] == [
        (1000.0, "first"), (1001.0, "second")]


async def test_current_lists_each_endpoints_checks_in_verbose_order() -> None:
    history = HealthHistory(registry_with(Switch()), clock=FakeClock())
    await history.sample()
    assert [(state.endpoint, state.name) for state in history.current()] == [
        ("healthz", "ping"), ("healthz", "etcd"), ("livez", "ping"), ("livez", "etcd"),
        ("readyz", "ping"), ("readyz", "etcd"), ("readyz", "shutdown"),
    ]


async def test_a_check_shared_by_healthz_and_readyz_runs_once_per_sample() -> None:
    switch = Switch()
    registry = HealthRegistry()
    registry.register(FunctionCheck("etcd", switch))
    await HealthHistory(registry, clock=FakeClock()).sample()
    assert switch.runs == 2  # healthz and readyz share a run; livez runs apart (its grace period)


async def test_livez_grace_period_is_recorded_as_livez_sees_it() -> None:
    clock, switch = FakeClock(), Switch()
    registry = HealthRegistry(livez_grace_period=60.0, clock=clock)
    registry.register(FunctionCheck("poststarthook/x", switch), post_start_hook=True)
    registry.mark_started()
    switch.reason = "not finished"
    history = HealthHistory(registry, clock=clock)
    await history.sample()
    states = {state.endpoint: state.ok for state in history.current()}
    assert states == {"healthz": False, "livez": True, "readyz": False}


async def test_the_ring_is_bounded_and_counts_what_it_dropped() -> None:
    clock, switch = FakeClock(), Switch()
    registry = HealthRegistry()
    registry.register(FunctionCheck("etcd", switch), healthz=False, livez=False)
    history = HealthHistory(registry, capacity=3, clock=clock)
    for step in range(5):
        clock.now, switch.reason = 1000.0 + step, None if step % 2 == 0 else "down"
        await history.sample()
    assert [state.since for state in history.transitions()] == [1002.0, 1003.0, 1004.0]
    assert history.dropped == 4  # the default `ping` of /healthz and /livez, then etcd at 1000 and 1001


async def test_report_shape() -> None:
    clock, switch = FakeClock(), Switch()
    history = HealthHistory(registry_with(switch), clock=clock, interval=5.0)
    await history.sample()
    clock.now, switch.reason = 1003.0, "<b>down</b>"
    await history.sample()
    report = history.report()
    assert report["startedAt"] == 1000.0 and report["sampledAt"] == 1003.0 and report["interval"] == 5.0
    readyz = report["endpoints"]["readyz"]
    assert readyz["ok"] is False
    assert readyz["checks"][1] == {
        "name": "etcd", "ok": False, "since": 1003.0, "reason": "<b>down</b>",
        "history": [{"ok": True, "since": 1000.0, "reason": ""},
                    {"ok": False, "since": 1003.0, "reason": "<b>down</b>"}],
    }


async def test_refresh_samples_only_when_the_last_sample_is_too_old() -> None:
    clock, switch = FakeClock(), Switch()
    history = HealthHistory(registry_with(switch), clock=clock)
    await history.refresh(1.0)
    runs = switch.runs
    clock.now += 0.5
    await history.refresh(1.0)
    assert switch.runs == runs
    clock.now += 1.0
    await history.refresh(1.0)
    assert switch.runs > runs


async def test_the_service_samples_on_its_interval_until_stopped() -> None:
    sampled = asyncio.Event()
    naps: list[float] = []

    async def sleep(seconds: float) -> None:
        naps.append(seconds)
        if len(naps) >= 2:
            sampled.set()
        await asyncio.sleep(0)

    history = HealthHistory(registry_with(Switch()), clock=FakeClock(), interval=5.0, sleep=sleep)
    await history.start()
    async with asyncio.timeout(5):
        await sampled.wait()
    await history.stop()
    await history.stop()
    assert naps[:2] == [5.0, 5.0]
    assert history.sampled_at is not None


def test_interval_and_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError, match="must be positive"):
        HealthHistory(HealthRegistry(), interval=0)
