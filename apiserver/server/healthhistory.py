"""HealthHistory: every health check of /livez, /readyz and /healthz sampled on an interval, with its transitions.

Operators want more than "ok now": when did `etcd` start failing, how long did `informer-sync` take after start.
The recorder runs each distinct check once per sample (a check shared by /healthz and /readyz runs once; /livez
runs apart because of its grace period for post-start hooks), remembers the current state of each (endpoint,
check) and appends a `CheckState` to a bounded ring whenever one changes: passing ↔ failing, or a failure whose
reason text changed. The first sample records every check's initial state.

Cheap by construction: it runs on the event loop (no threads), writes nothing to storage, and a sample costs what
one `?verbose` probe of each endpoint costs. It is a lifecycle Service, so it runs from before storage opens
(the start-up failures are part of the history) until after it closes. Times are wall-clock seconds (the
browser draws them); the clock and the sleep are injectable for tests.
"""
from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from apiserver.endpoints.health import ENDPOINTS, LIVEZ, HealthCheck, HealthRegistry
from apiserver.meta.objects import JSONDict
from apiserver.meta.tasks import cancel_and_wait

DEFAULT_INTERVAL = 5.0
DEFAULT_CAPACITY = 2000  # transitions kept, over every check: days of history for a healthy server


@dataclass(frozen=True, slots=True)
class CheckState:
    """One check of one endpoint, from `since` on: passing (`ok`) or failing with `reason`."""

    endpoint: str
    name: str
    ok: bool
    since: float
    reason: str = ""

    def to_json(self) -> JSONDict:
        return {"ok": self.ok, "since": self.since, "reason": self.reason}


def _reason(error: Exception) -> str:
    return str(error) or type(error).__name__


class HealthHistory:
    """The sampler and its ring. `start()`/`stop()` make it a lifecycle Service; `sample()` is one step.

    `current()` is the newest state of every check registered at the last sample; `transitions()` the ring,
    oldest first. `dropped` counts transitions the ring forgot (its start is then no longer the server's).
    """

    def __init__(
        self, registry: HealthRegistry, *, interval: float = DEFAULT_INTERVAL, capacity: int = DEFAULT_CAPACITY,
        clock: Callable[[], float] = time.time, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if interval <= 0 or capacity < 1:
            raise ValueError("the health sampling interval and capacity must be positive")
        self._registry = registry
        self._interval = interval
        self._clock = clock
        self._sleep = sleep
        self._ring: deque[CheckState] = deque(maxlen=capacity)
        self._current: dict[tuple[str, str], CheckState] = {}
        self._order: list[tuple[str, str]] = []
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self.started_at = clock()
        self.sampled_at: float | None = None
        self.dropped = 0

    @property
    def interval(self) -> float:
        return self._interval

    async def start(self) -> None:
        """Take the first sample now, then keep sampling in a task this object owns."""
        if self._task is None:
            self.started_at = self._clock()
            self._task = asyncio.create_task(self._run(), name="health-history")

    async def stop(self) -> None:
        """Cancel the sampling task and wait for it. Idempotent; the history stays readable."""
        task, self._task = self._task, None
        await cancel_and_wait(task)

    async def _run(self) -> None:
        while True:
            await self.sample()
            await self._sleep(self._interval)

    async def refresh(self, max_age: float = 0.0) -> None:
        """Sample now unless the last sample is at most `max_age` seconds old; callers arriving while a sample runs
        share it."""
        if self._lock.locked():
            async with self._lock:
                return
        async with self._lock:
            if self.sampled_at is None or self._clock() - self.sampled_at > max_age:
                await self._sample()

    async def sample(self) -> None:
        """Run every check once and record what changed."""
        async with self._lock:
            await self._sample()

    async def _sample(self) -> None:
        plan = [(endpoint, check) for endpoint in ENDPOINTS for check in self._registry.checks(endpoint)]
        runs: dict[tuple[int, bool], Awaitable[Exception | None]] = {}
        for endpoint, check in plan:
            key = (id(check), endpoint == LIVEZ)
            if key not in runs:
                runs[key] = self._registry.run(endpoint, check)
        results = dict(zip(runs, await asyncio.gather(*runs.values()), strict=True))
        now = self._clock()
        self._order = [(endpoint, check.name) for endpoint, check in plan]
        for endpoint, check in plan:
            self._record(endpoint, check, results[(id(check), endpoint == LIVEZ)], now)
        self.sampled_at = now

    def _record(self, endpoint: str, check: HealthCheck, error: Exception | None, now: float) -> None:
        ok, reason = error is None, "" if error is None else _reason(error)
        previous = self._current.get((endpoint, check.name))
        if previous is not None and (previous.ok, previous.reason) == (ok, reason):
            return
        state = CheckState(endpoint, check.name, ok, now, reason)
        self._current[(endpoint, check.name)] = state
        if len(self._ring) == self._ring.maxlen:
            self.dropped += 1
        self._ring.append(state)

    def current(self, endpoint: str | None = None) -> list[CheckState]:
        """The newest state of each check (of `endpoint`, or of all), in the endpoints' `?verbose` order."""
        return [self._current[key] for key in self._order if endpoint is None or key[0] == endpoint]

    def transitions(self, endpoint: str | None = None, name: str | None = None) -> list[CheckState]:
        """The recorded changes, oldest first, optionally of one endpoint and one check name."""
        return [
            state for state in self._ring
            if (endpoint is None or state.endpoint == endpoint) and (name is None or state.name == name)
        ]

    def report(self) -> JSONDict:
        """The JSON of /debug/pilothouse/health's `health` field (shape in endpoints/debug_health.py)."""
        return {
            "startedAt": self.started_at,
            "sampledAt": self.sampled_at,
            "interval": self._interval,
            "dropped": self.dropped,
            "endpoints": {endpoint: self._endpoint_report(endpoint) for endpoint in ENDPOINTS},
        }

    def _endpoint_report(self, endpoint: str) -> JSONDict:
        checks = self.current(endpoint)
        return {
            "ok": bool(checks) and all(state.ok for state in checks),
            "checks": [self._check_report(state) for state in checks],
        }

    def _check_report(self, state: CheckState) -> JSONDict:
        history: Sequence[CheckState] = self.transitions(state.endpoint, state.name)
        return {"name": state.name, **state.to_json(), "history": [item.to_json() for item in history]}
