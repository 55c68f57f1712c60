"""MetricsSeries: the last half hour of request rate, latency and in-flight requests, from our own Prometheus metrics.

Every `interval` (10 s) the sampler reads the cumulative counters and histograms of `ApiServerMetrics` and keeps
one `Reading` in a ring sized to `window` (30 min). The chart series are the deltas between neighbouring
readings, computed when asked: requests per second, p50/p99 request latency (histogram_quantile's linear
interpolation within a bucket), in-flight requests (the gauges at the reading), and the same for storage
requests (etcd_request_duration_seconds). Long-running requests (WATCH, CONNECT) are left out of the latency,
as upstream's latency SLOs leave them out: a watch's "duration" is how long it stayed open.

Cheap: a reading walks the metric families once on the event loop; nothing else runs between readings.
"""
from __future__ import annotations

import asyncio
import itertools
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from prometheus_client import Counter, Gauge, Histogram

from apiserver.meta.objects import JSONDict
from apiserver.meta.tasks import cancel_and_wait
from apiserver.observability.metrics import MUTATING, READ_ONLY, ApiServerMetrics

DEFAULT_INTERVAL = 10.0
DEFAULT_WINDOW = 1800.0
STORAGE_LATENCY_WINDOW = 300.0  # the storage panel's "recent" latency: the last five minutes
LONG_RUNNING_VERBS = frozenset({"WATCH", "CONNECT"})

Buckets = tuple[tuple[float, float], ...]  # (upper bound, cumulative count), ascending, ending with +Inf


@dataclass(frozen=True, slots=True)
class Reading:
    """Cumulative values at one moment (counters and histograms only grow while the process lives)."""

    at: float
    requests: float
    request_buckets: Buckets
    inflight_read_only: float
    inflight_mutating: float
    long_running: float
    storage_requests: float
    storage_errors: float
    storage_buckets: Buckets


def histogram_quantile(quantile: float, buckets: Buckets) -> float | None:
    """Prometheus' histogram_quantile over cumulative `buckets`; None without observations.

    A rank in the +Inf bucket answers the highest finite bound, as Prometheus does.
    """
    if not buckets or buckets[-1][1] <= 0:
        return None
    rank = quantile * buckets[-1][1]
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if math.isinf(bound):
                return lower_bound
            if count == lower_count:
                return bound
            return lower_bound + (bound - lower_bound) * (rank - lower_count) / (count - lower_count)
        lower_bound, lower_count = bound, count
    return lower_bound


def bucket_delta(newer: Buckets, older: Buckets) -> Buckets:
    """`newer` minus `older` per bound (an empty `older` counts as zero)."""
    before = dict(older)
    return tuple((bound, count - before.get(bound, 0.0)) for bound, count in newer)


def _summed_buckets(histogram: Histogram, skip: Callable[[dict[str, str]], bool]) -> Buckets:
    totals: dict[float, float] = {}
    for family in histogram.collect():
        for sample in family.samples:
            if sample.name.endswith("_bucket") and not skip(sample.labels):
                bound = float(sample.labels["le"])
                totals[bound] = totals.get(bound, 0.0) + sample.value
    return tuple(sorted(totals.items()))


def _summed(metric: Counter | Gauge, suffix: str = "") -> float:
    return sum(
        sample.value for family in metric.collect() for sample in family.samples
        if not suffix or sample.name.endswith(suffix)
    )


def _by_label(metric: Gauge, label: str) -> dict[str, float]:
    totals: dict[str, float] = {}
    for family in metric.collect():
        for sample in family.samples:
            value = sample.labels.get(label, "")
            totals[value] = totals.get(value, 0.0) + sample.value
    return totals


def read_metrics(metrics: ApiServerMetrics, at: float) -> Reading:
    """One reading of `metrics`, stamped `at`."""
    inflight = _by_label(metrics.inflight_requests, "request_kind")
    return Reading(
        at=at,
        requests=_summed(metrics.requests, "_total"),
        request_buckets=_summed_buckets(
            metrics.request_duration, lambda labels: labels.get("verb") in LONG_RUNNING_VERBS),
        inflight_read_only=inflight.get(READ_ONLY, 0.0),
        inflight_mutating=inflight.get(MUTATING, 0.0),
        long_running=_summed(metrics.longrunning_requests),
        storage_requests=_summed(metrics.etcd_requests, "_total"),
        storage_errors=_summed(metrics.etcd_request_errors, "_total"),
        storage_buckets=_summed_buckets(metrics.etcd_request_duration, lambda labels: False),
    )


def _point(older: Reading, newer: Reading) -> JSONDict:
    seconds = max(newer.at - older.at, 1e-9)
    requests = bucket_delta(newer.request_buckets, older.request_buckets)
    storage = bucket_delta(newer.storage_buckets, older.storage_buckets)
    return {
        "at": newer.at,
        "requestRate": (newer.requests - older.requests) / seconds,
        "latencyP50": histogram_quantile(0.5, requests),
        "latencyP99": histogram_quantile(0.99, requests),
        "inflight": newer.inflight_read_only + newer.inflight_mutating,
        "inflightReadOnly": newer.inflight_read_only,
        "inflightMutating": newer.inflight_mutating,
        "longRunning": newer.long_running,
        "storageRate": (newer.storage_requests - older.storage_requests) / seconds,
        "storageP50": histogram_quantile(0.5, storage),
        "storageP99": histogram_quantile(0.99, storage),
    }


def _latency(buckets: Buckets, requests: float) -> JSONDict:
    return {"requests": requests, "p50": histogram_quantile(0.5, buckets), "p99": histogram_quantile(0.99, buckets)}


class MetricsSeries:
    """The sampler and its ring of readings. `start()`/`stop()` make it a lifecycle Service."""

    def __init__(
        self, metrics: ApiServerMetrics, *, interval: float = DEFAULT_INTERVAL, window: float = DEFAULT_WINDOW,
        clock: Callable[[], float] = time.time, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if interval <= 0 or window < interval:
            raise ValueError("the sampling interval must be positive and no longer than the window")
        self._metrics = metrics
        self._interval = interval
        self._window = window
        self._clock = clock
        self._sleep = sleep
        self._readings: deque[Reading] = deque(maxlen=int(window // interval) + 1)
        self._task: asyncio.Task[None] | None = None

    def sample(self) -> Reading:
        """Take one reading now and keep it."""
        reading = read_metrics(self._metrics, self._clock())
        self._readings.append(reading)
        return reading

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="metrics-series")

    async def stop(self) -> None:
        """Cancel the sampling task and wait for it. Idempotent; the readings stay readable."""
        task, self._task = self._task, None
        await cancel_and_wait(task)

    async def _run(self) -> None:
        while True:
            self.sample()
            await self._sleep(self._interval)

    def points(self) -> list[JSONDict]:
        """One chart point per pair of neighbouring readings, oldest first."""
        return [_point(older, newer) for older, newer in itertools.pairwise(self._readings)]

    def report(self) -> JSONDict:
        """The JSON of /debug/pilothouse/health's `metrics` field (shape in endpoints/debug_health.py)."""
        now = read_metrics(self._metrics, self._clock())
        recent = _since(self._readings, now.at - STORAGE_LATENCY_WINDOW)
        recent_buckets = bucket_delta(now.storage_buckets, recent.storage_buckets if recent else ())
        recent_requests = now.storage_requests - (recent.storage_requests if recent else 0.0)
        return {
            "interval": self._interval,
            "window": self._window,
            "points": self.points(),
            "storageLatency": {
                "recent": {"seconds": now.at - recent.at if recent else None,
                           **_latency(recent_buckets, recent_requests)},
                "sinceStart": {**_latency(now.storage_buckets, now.storage_requests),
                               "errors": now.storage_errors},
            },
        }


def _since(readings: Iterable[Reading], at: float) -> Reading | None:
    """The oldest reading taken at or after `at` (None when there is none)."""
    return next((reading for reading in readings if reading.at >= at), None)
