"""API Priority and Fairness: classify each request by the cluster's FlowSchemas, then run it at once (exempt),
in a seat of its priority level, after a wait in the level's queues, or answer 429.

Upstream: WithPriorityAndFairness (k8s.io/apiserver/pkg/server/filters/priority-and-fairness.go), which
kube-apiserver runs instead of WithMaxInFlightLimit unless `--enable-priority-and-fairness=false`. As there:
- every classified response carries `X-Kubernetes-PF-FlowSchema-UID` and `X-Kubernetes-PF-PriorityLevel-UID`;
- a rejection is Go's plain-text 429 "Too many requests, please try again later." with `Retry-After`;
- long-running requests other than watches (exec, attach, port-forward, proxy, log streams) are not limited;
  a watch is classified and waits for a seat, which it holds until its response starts (upstream holds it while
  the watch initialises);
- the configuration comes from the stored FlowSchemas and PriorityLevelConfigurations through the watch caches
  (`FlowControlObjects`), recompiled only when one of them changes;
- upstream's `apiserver_flowcontrol_*` metrics are recorded (flowcontrol_metrics.py), and the filter leaves itself
  in the scope of each classified request for `/debug/api_priority_and_fairness/*` (endpoints/flowcontrol_debug.py).

The seats: each limited level gets ceil(server limit x its shares / all shares), upstream's nominal limit. The
server limit is `--max-requests-inflight` + `--max-mutating-requests-inflight` (600 by default) divided by
`loop_seat_divisor` (50, so 12 seats at the defaults: see `LOOP_SEAT_DIVISOR` for why). Each request takes one
seat (no work estimation); levels neither lend nor borrow; `Retry-After` is always 1 (upstream grows it while a
level keeps rejecting).
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Protocol

from apiserver.auth.user import ANONYMOUS, UserInfo
from apiserver.filters.flowcontrol_config import Classification, FlowControlConfig, compile_config
from apiserver.filters.flowcontrol_loop import LoopLoad
from apiserver.filters.flowcontrol_metrics import CANCELLED, FlowControlMetrics, FlowSeries, flowcontrol_metrics
from apiserver.filters.flowcontrol_queues import QueueSet, flow_hash
from apiserver.filters.inflight import RETRY_AFTER, TOO_MANY_REQUESTS
from apiserver.http.asgi import ASGIApp, Message, Receive, Scope, Send
from apiserver.http.request import request_info_of, user_of
from apiserver.http.responses import send_plain_error
from apiserver.meta.objects import JSONDict

FLOW_SCHEMA_HEADER = b"x-kubernetes-pf-flowschema-uid"
PRIORITY_LEVEL_HEADER = b"x-kubernetes-pf-prioritylevel-uid"
FLOW_CONTROL_SCOPE_KEY = "pilothouse.flowcontrol"
DEFAULT_WAIT_LIMIT = 15.0  # upstream: a quarter of the 60 s request timeout
# A deliberate deviation from upstream's numbers. One event loop runs every request of a replica on one core,
# where upstream's 600 seats run on goroutines over all cores. Requests waiting in a queue cost the loop nothing;
# executing ones each hold it between awaits, and every callback of every executing request runs before a probe's
# next step. Measured with bench/cluster_overload.py (creates at 2x the sustainable rate, 2-vCPU box): with 600
# seats (`workload-low` 245) and 300 connections nothing was refused, creates waited 13 s and /readyz took 1.3 s
# at p50; with 600/25 = 24 seats probes took 106 ms at p50, with 600/50 = 12 seats 47 ms, with 600/100 = 6 seats
# 40 ms. The sustainable create rate was the same with 12 seats (535/s) as without APF (519/s): 5 creates in
# flight already cover the storage round trip. 12 seats at the default flags keep every suggested level at 1+.
LOOP_SEAT_DIVISOR = 50
UNAUTHENTICATED_USER = UserInfo(ANONYMOUS, groups=("system:unauthenticated",))


class FlowControlObjects(Protocol):
    """The stored APF configuration, as the server's watch caches hold it."""

    def revision(self) -> object | None:
        """A cheap key that changes whenever any FlowSchema or PriorityLevelConfiguration may have; None while
        the caches do not serve."""
        ...

    def snapshot(self) -> tuple[object, Sequence[JSONDict], Sequence[JSONDict]] | None:
        """(version, flow schemas, priority levels), the version changing only with the objects; None while
        the caches do not serve."""
        ...


class WithPriorityAndFairness:
    """See the module docstring. `objects` None (or not serving yet) means the mandatory configuration."""

    def __init__(self, app: ASGIApp, *, objects: FlowControlObjects | None = None, server_limit: int = 600,
                 wait_limit: float = DEFAULT_WAIT_LIMIT, loop_seat_divisor: int = LOOP_SEAT_DIVISOR,
                 metrics: FlowControlMetrics | None = None, loop_load: LoopLoad | None = None) -> None:
        if server_limit < 1 or loop_seat_divisor < 1:
            raise ValueError("the server concurrency limit and the seat divisor must be positive")
        self.app = app
        self._objects = objects
        self._server_limit = max(1, server_limit // loop_seat_divisor)
        self._wait_limit = wait_limit
        self._revision: object | None = ()
        self._version: object | None = ()
        self.config = compile_config((), (), self._server_limit)
        self.queue_sets: dict[str, QueueSet] = {}
        self.metrics = metrics or flowcontrol_metrics()
        self.metrics.set_limits(self.config)
        self._loop_load = loop_load
        if loop_load is not None:
            loop_load.when_caught_up(self._dispatch_queued)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        info = request_info_of(scope)
        if info.is_long_running and info.verb != "watch":
            return await self.app(scope, receive, send)
        classification = self._current().classify(user_of(scope) or UNAUTHENTICATED_USER, info)
        scope[FLOW_CONTROL_SCOPE_KEY] = self  # the debug dumps read this filter's state
        headers = ((FLOW_SCHEMA_HEADER, classification.schema.uid.encode()),
                   (PRIORITY_LEVEL_HEADER, classification.level.uid.encode()))
        series = self.metrics.series(classification.level.name, classification.schema.name)
        if classification.level.exempt:
            return await self._execute(scope, receive, _with_headers(send, headers), series, info.verb, None)
        seats = self._queue_set(classification)
        if not await self._wait_for_seat(seats, classification, series):
            return await send_plain_error(send, 429, TOO_MANY_REQUESTS, headers=[*headers, RETRY_AFTER])
        await self._execute(scope, receive, _with_headers(send, headers), series, info.verb, seats)

    async def _wait_for_seat(self, seats: QueueSet, classification: Classification, series: FlowSeries) -> bool:
        started = time.monotonic()  # upstream times every limited request, also one that never queues
        if seats.try_take():
            series.waited(time.monotonic() - started, executes=True)
            return True
        # Counted as queued also while an at once rejection is decided: no await runs in between, so no scrape
        # sees it.
        series.inqueue += 1
        try:
            reason = await seats.admit(flow_hash(classification.schema.name, classification.flow), self._wait_limit)
        except asyncio.CancelledError:
            series.waited(time.monotonic() - started, executes=False)
            series.rejected(CANCELLED)
            raise
        finally:
            series.inqueue -= 1
        series.waited(time.monotonic() - started, executes=reason is None)
        if reason is None:
            return True
        series.rejected(reason)
        return False

    async def _execute(self, scope: Scope, receive: Receive, send: Send, series: FlowSeries, verb: str,
                       seats: QueueSet | None) -> None:
        """Run the request in its seat (None: exempt)."""
        series.dispatched()
        started = time.monotonic()
        if verb == "watch":
            return await self._watch(scope, receive, send, series, seats, started)
        try:
            await self.app(scope, receive, send)
        finally:
            series.finished(time.monotonic() - started, is_watch=False)
            if seats is not None:
                seats.give_back()

    async def _watch(self, scope: Scope, receive: Receive, send: Send, series: FlowSeries, seats: QueueSet | None,
                     started: float) -> None:
        """A watch executes, holding its seat, until its response starts."""
        holding = True

        def release() -> None:
            nonlocal holding
            holding = False
            series.finished(time.monotonic() - started, is_watch=True)
            if seats is not None:
                seats.give_back()

        async def release_on_start(message: Message) -> None:
            if holding and message["type"] == "http.response.start":
                release()
            await send(message)

        try:
            await self.app(scope, receive, release_on_start)
        finally:
            if holding:
                release()

    def _current(self) -> FlowControlConfig:
        if self._objects is None:
            return self.config
        revision = self._objects.revision()
        if revision == self._revision:
            return self.config
        self._revision = revision
        snapshot = self._objects.snapshot()
        version = None if snapshot is None else snapshot[0]
        if version != self._version:
            self._version = version
            schemas, levels = (snapshot[1], snapshot[2]) if snapshot is not None else ((), ())
            self.config = compile_config(schemas, levels, self._server_limit)
            self.metrics.set_limits(self.config)
            for name, queue_set in self.queue_sets.items():
                if (level := self.config.levels.get(name)) is not None and not level.exempt:
                    queue_set.configure(level)
        return self.config

    def _queue_set(self, classification: Classification) -> QueueSet:
        level = classification.level
        queue_set = self.queue_sets.get(level.name)
        if queue_set is None:
            load = self._loop_load
            queue_set = self.queue_sets[level.name] = QueueSet(level, None if load is None else lambda: load.keeps_up)
        return queue_set

    def _dispatch_queued(self) -> None:
        for queue_set in self.queue_sets.values():
            queue_set.dispatch()

    def seats_in_use(self) -> dict[str, int]:
        """Executing requests per limited level (for tests and debugging)."""
        return {name: queue_set.executing for name, queue_set in self.queue_sets.items()}


def _with_headers(send: Send, headers: tuple[tuple[bytes, bytes], ...]) -> Send:
    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", ()), *headers]}
        await send(message)

    return send_with_headers

