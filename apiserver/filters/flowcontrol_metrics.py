"""API Priority and Fairness metrics, named, labelled and bucketed as kube-apiserver v1.32 exports them
(k8s.io/apiserver/pkg/util/flowcontrol/metrics/metrics.go), recorded where upstream records them:

- every request, exempt ones too, counts in `apiserver_flowcontrol_dispatched_requests_total` when it starts to
  execute and in `apiserver_flowcontrol_request_execution_seconds{type="regular"|"watch"}` when it ends (a watch
  ends its execution when its response starts, as it gives its seat back then);
- every limited request observes `apiserver_flowcontrol_request_wait_duration_seconds`, `execute="true"` when it
  got a seat (at once or from a queue), `"false"` when it was rejected; exempt requests never wait;
- a rejection counts in `apiserver_flowcontrol_rejected_requests_total` with upstream's reasons: `queue-full`,
  `concurrency-limit` (a Reject level is full), `time-out` (the queue wait limit passed), `cancelled` (the client
  went away while queued);
- `apiserver_flowcontrol_current_{inqueue_requests,executing_requests,executing_seats}` are read at scrape time;
- `apiserver_flowcontrol_nominal_limit_seats` and its siblings follow each compiled configuration.

Every request passes here, so the per-(priority level, flow schema) series are plain integers and bucket lists
updated on the event loop, without prometheus-client's per-child locks, and a collector turns them into families
when `/metrics` is scraped (on a worker thread: it copies before iterating; a scrape may see a histogram's sum one
observation apart from its buckets, never a bucket count apart from `_count`). A limited request costs about a
microsecond here. `apiserver_flowcontrol_request_concurrency_limit` (deprecated in 1.30) and
`apiserver_flowcontrol_request_concurrency_in_use` (deprecated in 1.31) are hidden in v1.32 and not exported.
"""
from __future__ import annotations

import bisect
import functools
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Gauge
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from apiserver.filters.flowcontrol_config import FlowControlConfig
from apiserver.observability.metrics import default_metrics

CANCELLED = "cancelled"  # the other rejection reasons come from flowcontrol_queues
# Upstream's requestDurationSecondsBuckets, shared by the wait and execution histograms.
DURATION_BUCKETS = (0.0, 0.005, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 15.0, 30.0)
# The `le` values as prometheus-client writes them elsewhere (its floatToGoString is repr for these bounds).
_BUCKET_NAMES = (*(repr(bound) for bound in DURATION_BUCKETS), "+Inf")
_SERIES_LABELS = ("priority_level", "flow_schema")
_PREFIX = "apiserver_flowcontrol_"
_LIMIT_GAUGES = {
    "nominal_limit_seats": "[BETA] Nominal number of execution seats configured for each priority level",
    "current_limit_seats": "[ALPHA] current derived number of execution seats available to each priority level",
    "lower_limit_seats": "[ALPHA] Configured lower bound on number of execution seats available to each priority "
                         "level",
    "upper_limit_seats": "[ALPHA] Configured upper bound on number of execution seats available to each priority "
                         "level",
}


class _Durations:
    """One histogram child: counts per bucket (not cumulative; the last is +Inf) and the sum."""

    __slots__ = ("counts", "total")

    def __init__(self) -> None:
        self.counts = [0] * (len(DURATION_BUCKETS) + 1)
        self.total = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect.bisect_left(DURATION_BUCKETS, seconds)] += 1
        self.total += seconds

    def buckets(self) -> list[tuple[str, float]]:
        cumulative, result = 0, []
        for name, count in zip(_BUCKET_NAMES, list(self.counts), strict=True):
            cumulative += count
            result.append((name, float(cumulative)))
        return result


class FlowSeries:
    """The metrics of one (priority level, flow schema). Changed on the event loop only."""

    __slots__ = ("dispatched_count", "executing", "execution", "inqueue", "labels", "rejections", "waits")

    def __init__(self, level: str, schema: str) -> None:
        self.labels = (level, schema)
        self.inqueue = 0
        self.executing = 0  # requests and seats: each request takes one seat
        self.dispatched_count = 0
        self.rejections: dict[str, int] = {}
        self.waits: dict[str, _Durations] = {}  # by the `execute` label
        self.execution: dict[str, _Durations] = {}  # by the `type` label

    def waited(self, seconds: float, *, executes: bool) -> None:
        execute = "true" if executes else "false"
        durations = self.waits.get(execute)
        if durations is None:
            durations = self.waits[execute] = _Durations()
        durations.observe(seconds)

    def dispatched(self) -> None:
        """A request starts to execute."""
        self.dispatched_count += 1
        self.executing += 1

    def finished(self, seconds: float, *, is_watch: bool) -> None:
        """A dispatched request ended its execution after `seconds` (a watch: its initial stage)."""
        self.executing -= 1
        kind = "watch" if is_watch else "regular"
        durations = self.execution.get(kind)
        if durations is None:
            durations = self.execution[kind] = _Durations()
        durations.observe(seconds)

    def rejected(self, reason: str) -> None:
        self.rejections[reason] = self.rejections.get(reason, 0) + 1


class FlowControlMetrics:
    """The APF metric families in `registry`. Series are bounded by the configured levels and schemas."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._limits = [Gauge(_PREFIX + name, help_text, ("priority_level",), registry=registry)
                        for name, help_text in _LIMIT_GAUGES.items()]
        self._levels: set[str] = set()
        self._series: dict[tuple[str, str], FlowSeries] = {}
        registry.register(_FlowCollector(self._series))

    def series(self, level: str, schema: str) -> FlowSeries:
        key = (level, schema)
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = FlowSeries(level, schema)
        return series

    def all_series(self) -> list[FlowSeries]:
        return list(self._series.values())

    def set_limits(self, config: FlowControlConfig) -> None:
        """The seat limits of each level of a newly compiled configuration; levels gone lose their series."""
        for name, level in config.levels.items():
            # Levels neither lend nor borrow here, so the current, lower and upper limits are the nominal one.
            seats = 0 if level.exempt else level.concurrency_limit
            for gauge in self._limits:
                gauge.labels(name).set(seats)
        for name in self._levels - config.levels.keys():
            for gauge in self._limits:
                gauge.remove(name)
        self._levels = set(config.levels)


class _Families:
    """One scrape's families, empty until filled."""

    def __init__(self) -> None:
        labels = _SERIES_LABELS
        self.rejected = CounterMetricFamily(
            _PREFIX + "rejected_requests_total",
            "[BETA] Number of requests rejected by API Priority and Fairness subsystem", labels=(*labels, "reason"))
        self.dispatched = CounterMetricFamily(
            _PREFIX + "dispatched_requests_total",
            "[BETA] Number of requests executed by API Priority and Fairness subsystem", labels=labels)
        self.inqueue = GaugeMetricFamily(
            _PREFIX + "current_inqueue_requests",
            "[BETA] Number of requests currently pending in queues of the API Priority and Fairness subsystem",
            labels=labels)
        self.executing_requests = GaugeMetricFamily(
            _PREFIX + "current_executing_requests",
            "[BETA] Number of requests in initial (for a WATCH) or any (for a non-WATCH) execution stage in the API "
            "Priority and Fairness subsystem", labels=labels)
        self.executing_seats = GaugeMetricFamily(
            _PREFIX + "current_executing_seats",
            "[BETA] Concurrency (number of seats) occupied by the currently executing (initial stage for a WATCH, "
            "any stage otherwise) requests in the API Priority and Fairness subsystem", labels=labels)
        self.waits = HistogramMetricFamily(
            _PREFIX + "request_wait_duration_seconds",
            "[BETA] Length of time a request spent waiting in its queue", labels=(*labels, "execute"))
        self.execution = HistogramMetricFamily(
            _PREFIX + "request_execution_seconds",
            "[ALPHA] Duration of initial stage (for a WATCH) or any (for a non-WATCH) stage of request execution in "
            "the API Priority and Fairness subsystem", labels=(*labels, "type"))

    def add(self, series: FlowSeries) -> None:
        labels = series.labels
        for reason, count in list(series.rejections.items()):
            self.rejected.add_metric((*labels, reason), count)
        self.dispatched.add_metric(labels, series.dispatched_count)
        executing = series.executing
        self.inqueue.add_metric(labels, series.inqueue)
        self.executing_requests.add_metric(labels, executing)
        self.executing_seats.add_metric(labels, executing)
        for family, children in ((self.waits, series.waits), (self.execution, series.execution)):
            for value, durations in list(children.items()):
                family.add_metric((*labels, value), durations.buckets(), durations.total)

    def all(self) -> list[Metric]:
        return [self.rejected, self.dispatched, self.inqueue, self.executing_requests, self.executing_seats,
                self.waits, self.execution]


class _FlowCollector(Collector):
    """The per-series families, built from the series at scrape time."""

    def __init__(self, series: dict[tuple[str, str], FlowSeries]) -> None:
        self._series = series

    def describe(self) -> list[Metric]:
        return _Families().all()

    def collect(self) -> Iterator[Metric]:
        families = _Families()
        for series in list(self._series.values()):
            families.add(series)
        return iter(families.all())


@functools.cache
def _metrics_in(registry: CollectorRegistry) -> FlowControlMetrics:
    return FlowControlMetrics(registry)


def flowcontrol_metrics() -> FlowControlMetrics:
    """The APF metrics of the process's registry (what `/metrics` serves)."""
    return _metrics_in(default_metrics().registry)
