"""How late the event loop runs: API Priority and Fairness starts more work only while the loop keeps up.

kube-apiserver's seats bound how many requests of a priority level run at once, on a Go runtime that spreads
them over every core and preempts them. Here every request runs on one event loop: a few seats of creates keep
it busy all the time, and then every request waits its turn behind them in the loop's ready queue, the exempt
ones (health probes, system:masters) and leader election included. So limited levels also wait for the loop
itself: `LoopLoad` wakes every TICK_SECONDS and measures how late it woke; while that lateness is above
LATE_LIMIT_SECONDS a limited level starts no request beyond its first (flowcontrol_queues.py): the others queue,
or are refused when their queues are full, with upstream's 429. Once the loop is on time again, the queued
requests are dispatched. Each level keeps one request running, so leader election still renews while creates
flood the loop, and exempt requests never wait. In the overload benchmark (bench/cluster_overload.py) this let
more creates through (310-400/s against 272/s) with shorter probe latencies. A deliberate deviation, documented in
docs/compatibility.md, like the seat count itself (`LOOP_SEAT_DIVISOR`).
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from apiserver.meta.tasks import cancel_and_wait

logger = logging.getLogger(__name__)

TICK_SECONDS = 0.005
# 3 ms (session 5) left overloaded Lease renewals at 53-73 ms p99; 1.5 ms, with the smaller young GC generation of
# management/commands/serve.py, at 40-56 ms (docs/benchmarks.md, session 6). 1 ms was no better.
LATE_LIMIT_SECONDS = 0.0015


class LoopLoad:
    """A lifecycle service: the lateness of the event loop, sampled every `tick` seconds.

    `keeps_up` is True while the last sample was no later than `late_limit` (and before the service started);
    callbacks given to `when_caught_up` run each time a sample finds the loop on time after a late one.
    """

    def __init__(self, *, tick: float = TICK_SECONDS, late_limit: float = LATE_LIMIT_SECONDS) -> None:
        self._tick = tick
        self._late_limit = late_limit
        self.keeps_up = True
        self.lateness = 0.0
        self._callbacks: list[Callable[[], None]] = []
        self._task: asyncio.Task[None] | None = None

    def when_caught_up(self, callback: Callable[[], None]) -> None:
        self._callbacks.append(callback)

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._sample(), name="flowcontrol-loop-load")

    async def stop(self) -> None:
        task, self._task = self._task, None
        self.keeps_up = True
        if task is not None:
            await cancel_and_wait(task, quiet=True)

    async def _sample(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(self._tick)
            self.observe(loop.time() - before - self._tick)

    def observe(self, lateness: float) -> None:
        """Record one sample (the sampling task calls this; tests call it directly)."""
        was_late = not self.keeps_up
        self.lateness = lateness
        self.keeps_up = lateness <= self._late_limit
        if self.keeps_up and was_late:
            for callback in self._callbacks:
                try:
                    callback()
                except Exception:  # One bad callback must not stop the sampling the others rely on.
                    logger.exception("loop_load_callback_failed")
