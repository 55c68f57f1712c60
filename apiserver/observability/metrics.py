"""The API server's Prometheus metrics, named, labelled and bucketed as kube-apiserver v1.32 exports them.

Upstream definitions (k8s.io/apiserver): pkg/endpoints/metrics/metrics.go (requests, in-flight and long-running
requests, response and watch-event sizes), pkg/storage/etcd3/metrics/metrics.go (`etcd_*` requests,
`apiserver_storage_objects`, `apiserver_storage_events_received_total`) and pkg/storage/cacher/metrics/metrics.go
(the watch cache). Dashboards and alerts query those names, so they are kept whatever the backend: on SQLite the
`etcd_*` series describe the SQLite store, as the `etcd` health check does.

`ApiServerMetrics` owns one `CollectorRegistry` and every metric object. The server records into
`default_metrics()`; tests build their own instance and read exact values. Recording goes through methods that
keep the labelled child per label tuple, because prometheus-client's `labels()` validates and locks on every call.

Label values follow upstream:
- `resource` (watch cache, `apiserver_storage_objects`, storage events) and `type` (`etcd_*`) name a
  group-resource as schema.GroupResource.String() does: `pods` in the core group, `deployments.apps` elsewhere
  (see `group_resource`).
- The watch-event metrics take the watched objects' API group, version and kind.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple, TypeVar, cast

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector

COMPONENT = "apiserver"
READ_ONLY, MUTATING = "readOnly", "mutating"

# Upstream's request-latency buckets (5 ms to 60 s), shared by etcd_request_duration_seconds on purpose.
REQUEST_DURATION_BUCKETS = (
    0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 15.0, 20.0,
    30.0, 45.0, 60.0,
)
# ExponentialBuckets(1000, 10, 7): 1 KB to 1 GB.
RESPONSE_SIZE_BUCKETS = tuple(1000.0 * 10**power for power in range(7))
# ExponentialBuckets(1024, 2, 8): 1 KiB to 128 KiB.
WATCH_EVENT_SIZE_BUCKETS = tuple(1024.0 * 2**power for power in range(8))

_REQUEST_LABELS = ("verb", "dry_run", "group", "version", "resource", "subresource", "scope", "component")
_SERIES_LABELS = ("verb", "group", "version", "resource", "subresource", "scope", "component")
_WATCH_LABELS = ("group", "version", "kind")
_STORAGE_LABELS = ("operation", "type")

Metric = TypeVar("Metric", Counter, Gauge, Histogram)


class RequestLabels(NamedTuple):
    """One request's labels as upstream reports them (a tuple, so it is its own cache key).

    `verb` is upstream's reported verb (GET, LIST, WATCH, POST, PUT, PATCH, APPLY, DELETE, CONNECT, other),
    `scope` is `resource`, `namespace`, `cluster` or "" for non-resource requests.
    """

    verb: str
    dry_run: str
    group: str
    version: str
    resource: str
    subresource: str
    scope: str
    component: str

    def without_dry_run(self) -> tuple[str, ...]:
        """The labels of the metrics that have no `dry_run` (response sizes, long-running requests)."""
        return (self.verb, self.group, self.version, self.resource, self.subresource, self.scope, self.component)


def group_resource(group: str, resource: str) -> str:
    """`resource` or `resource.group`: the `resource` and `type` label values upstream writes."""
    return f"{resource}.{group}" if group else resource


class StorageSeries:
    """The three `etcd_*` children of one (operation, type)."""

    __slots__ = ("_duration", "_errors", "_errors_metric", "_labels", "_total")

    def __init__(self, metrics: ApiServerMetrics, operation: str, type_: str) -> None:
        self._duration = metrics.etcd_request_duration.labels(operation, type_)
        self._total = metrics.etcd_requests.labels(operation, type_)
        self._errors_metric = metrics.etcd_request_errors
        self._labels = (operation, type_)
        self._errors: Counter | None = None

    def observe(self, seconds: float, *, failed: bool) -> None:
        """Record one request; the error series appears with the first failure, as upstream's does."""
        self._duration.observe(seconds)
        self._total.inc()
        if failed:
            if self._errors is None:
                self._errors = self._errors_metric.labels(*self._labels)
            self._errors.inc()


class _RequestSeries:
    """The children of one request label set. Each child is made on first use, so no empty series appear."""

    __slots__ = ("_codes", "_duration", "_labels", "_metrics", "_size")

    def __init__(self, metrics: ApiServerMetrics, labels: RequestLabels) -> None:
        self._metrics = metrics
        self._labels = labels
        self._codes: dict[int, Counter] = {}
        self._duration: Histogram | None = None
        self._size: Histogram | None = None

    def observe(self, code: int, seconds: float, size: int | None) -> None:
        counter = self._codes.get(code)
        if counter is None:
            counter = self._codes[code] = self._metrics.requests.labels(*self._labels, str(code))
        counter.inc()
        if self._duration is None:
            self._duration = self._metrics.request_duration.labels(*self._labels)
        self._duration.observe(seconds)
        if size is not None:
            if self._size is None:
                self._size = self._metrics.response_sizes.labels(*self._labels.without_dry_run())
            self._size.observe(size)


class ApiServerMetrics:
    """Every metric the API server exports, in one registry.

    Methods record; none of them raise for any label value. The children they keep are bounded by the label
    values callers pass, so callers must pass bounded values (served resources, known paths), as upstream does.
    """

    def __init__(self, *, process_collector: bool = False) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        if process_collector:
            # process_* only: the go_* families describe Go's runtime and have no honest Python equivalent.
            ProcessCollector(registry=self.registry)
        self._define_request_metrics()
        self._define_watch_metrics()
        self._define_storage_metrics()
        self._define_watch_cache_metrics()
        self._requests: dict[RequestLabels, _RequestSeries] = {}
        self._longrunning: dict[tuple[str, ...], Gauge] = {}
        self._storage: dict[tuple[str, str], StorageSeries] = {}
        self._children: dict[tuple[object, ...], Counter | Gauge | Histogram] = {}
        self._inflight = {
            False: self.inflight_requests.labels(READ_ONLY), True: self.inflight_requests.labels(MUTATING),
        }

    def _define_request_metrics(self) -> None:
        self.requests = Counter(
            "apiserver_request_total",
            "[STABLE] Requests served, by verb, dry-run value, group, version, resource, subresource, scope, "
            "component and HTTP status code.",
            (*_REQUEST_LABELS, "code"), registry=self.registry,
        )
        self.request_duration = Histogram(
            "apiserver_request_duration_seconds",
            "[STABLE] Time from receiving a request to finishing its response, in seconds, by verb, dry-run value, "
            "group, version, resource, subresource, scope and component.",
            _REQUEST_LABELS, buckets=REQUEST_DURATION_BUCKETS, registry=self.registry,
        )
        self.response_sizes = Histogram(
            "apiserver_response_sizes",
            "[STABLE] Response body sizes in bytes of read requests, by verb, group, version, resource, "
            "subresource, scope and component.",
            _SERIES_LABELS, buckets=RESPONSE_SIZE_BUCKETS, registry=self.registry,
        )
        self.inflight_requests = Gauge(
            "apiserver_current_inflight_requests",
            "[STABLE] Requests being served that count against the in-flight limits, by request kind.",
            ("request_kind",), registry=self.registry,
        )
        self.longrunning_requests = Gauge(
            "apiserver_longrunning_requests",
            "[STABLE] Long-running requests (watches, connections) open now, by verb, group, version, resource, "
            "subresource, scope and component.",
            _SERIES_LABELS, registry=self.registry,
        )

    def _define_watch_metrics(self) -> None:
        self.watch_events = Counter(
            "apiserver_watch_events_total", "[ALPHA] Events sent to watch clients, by group, version and kind.",
            _WATCH_LABELS, registry=self.registry,
        )
        self.watch_event_sizes = Histogram(
            "apiserver_watch_events_sizes", "[ALPHA] Sizes in bytes of the events sent to watch clients.",
            _WATCH_LABELS, buckets=WATCH_EVENT_SIZE_BUCKETS, registry=self.registry,
        )
        # Removed from kube-apiserver in v1.25 (apiserver_longrunning_requests replaced it); kept with its last
        # upstream labels because older dashboards still read it.
        self.registered_watchers = Gauge(
            "apiserver_registered_watchers", "[ALPHA] Watches open now, by group, version and kind.",
            _WATCH_LABELS, registry=self.registry,
        )

    def _define_storage_metrics(self) -> None:
        self.etcd_request_duration = Histogram(
            "etcd_request_duration_seconds",
            "[ALPHA] Storage request latency in seconds, by operation and object type.",
            _STORAGE_LABELS, buckets=REQUEST_DURATION_BUCKETS, registry=self.registry,
        )
        self.etcd_requests = Counter(
            "etcd_requests_total", "[ALPHA] Storage requests, by operation and object type.",
            _STORAGE_LABELS, registry=self.registry,
        )
        self.etcd_request_errors = Counter(
            "etcd_request_errors_total", "[ALPHA] Storage requests that failed, by operation and object type.",
            _STORAGE_LABELS, registry=self.registry,
        )
        self.storage_objects = Gauge(
            "apiserver_storage_objects", "[STABLE] Objects in storage at the last count, by resource.",
            ("resource",), registry=self.registry,
        )
        self.storage_events_received_total = Counter(
            "apiserver_storage_events_received_total", "[ALPHA] Events received from storage watches, by resource.",
            ("resource",), registry=self.registry,
        )

    def _define_watch_cache_metrics(self) -> None:
        def counter(name: str, documentation: str) -> Counter:
            return Counter(name, documentation, ("resource",), registry=self.registry)

        self.watch_cache_events_received_total = counter(
            "apiserver_watch_cache_events_received_total", "[ALPHA] Events the watch cache received, by resource."
        )
        self.watch_cache_events_dispatched_total = counter(
            "apiserver_watch_cache_events_dispatched_total",
            "[ALPHA] Events the watch cache handed to its watchers, by resource.",
        )
        self.watch_cache_initializations = counter(
            "apiserver_watch_cache_initializations_total",
            "[ALPHA] Times the watch cache (re)built its state from a list, by resource.",
        )
        self.watch_cache_init_events = counter(
            "apiserver_init_events_total", "[ALPHA] Objects loaded by watch cache initializations, by resource."
        )
        self.terminated_watchers = counter(
            "apiserver_terminated_watchers_total",
            "[ALPHA] Watchers the watch cache closed because they fell behind, by resource.",
        )
        self.watch_cache_resource_version = Gauge(
            "apiserver_watch_cache_resource_version",
            "[ALPHA] The resource version the watch cache has reached, by resource.",
            ("resource",), registry=self.registry,
        )

    # Requests (the metrics filter).

    def observe_request(self, labels: RequestLabels, code: int, seconds: float, size: int | None) -> None:
        """Count one finished request and its duration; `size` (None: not a read) goes to the size histogram."""
        series = self._requests.get(labels)
        if series is None:
            series = self._requests[labels] = _RequestSeries(self, labels)
        series.observe(code, seconds, size)

    def longrunning_gauge(self, labels: RequestLabels) -> Gauge:
        """The apiserver_longrunning_requests child for `labels` (its `dry_run` is not a label there)."""
        key = labels.without_dry_run()
        gauge = self._longrunning.get(key)
        if gauge is None:
            gauge = self._longrunning[key] = self.longrunning_requests.labels(*key)
        return gauge

    def inflight_gauge(self, *, mutating: bool) -> Gauge:
        """The apiserver_current_inflight_requests child of the request kind (readOnly or mutating)."""
        return self._inflight[mutating]

    # Watch endpoint.

    def watch_event_sent(self, group: str, version: str, kind: str, size: int) -> None:
        """One event of `size` bytes written to a watch client."""
        key = (group, version, kind)
        self._child(self.watch_events, key).inc()
        self._child(self.watch_event_sizes, key).observe(size)

    def watch_event_recorder(self, group: str, version: str, kind: str) -> Callable[[int], None]:
        """`watch_event_sent` for one watch's resource, with the label lookups done once."""
        key = (group, version, kind)
        count, sizes = self._child(self.watch_events, key), self._child(self.watch_event_sizes, key)

        def sent(size: int) -> None:
            count.inc()
            sizes.observe(size)

        return sent

    def watcher_registered(self, group: str, version: str, kind: str) -> None:
        self._child(self.registered_watchers, (group, version, kind)).inc()

    def watcher_unregistered(self, group: str, version: str, kind: str) -> None:
        self._child(self.registered_watchers, (group, version, kind)).dec()

    # Storage.

    def storage_series(self, operation: str, type_: str) -> StorageSeries:
        """The etcd_request_duration_seconds / etcd_requests_total / etcd_request_errors_total children."""
        key = (operation, type_)
        series = self._storage.get(key)
        if series is None:
            series = self._storage[key] = StorageSeries(self, operation, type_)
        return series

    def storage_events_received(self, resource: str, count: int) -> None:
        self._child(self.storage_events_received_total, (resource,)).inc(count)

    def set_storage_objects(self, resource: str, count: int) -> None:
        """Upstream writes -1 when the count failed; pass that through unchanged."""
        self._child(self.storage_objects, (resource,)).set(count)

    # Watch cache.

    def watch_cache_events_received(self, resource: str, count: int = 1) -> None:
        self._child(self.watch_cache_events_received_total, (resource,)).inc(count)

    def watch_cache_events_dispatched(self, resource: str, count: int = 1) -> None:
        self._child(self.watch_cache_events_dispatched_total, (resource,)).inc(count)

    def watch_cache_initialized(self, resource: str, objects: int) -> None:
        """One (re)initialisation of a watch cache from a list of `objects` objects."""
        self._child(self.watch_cache_initializations, (resource,)).inc()
        self._child(self.watch_cache_init_events, (resource,)).inc(objects)

    def watcher_terminated(self, resource: str) -> None:
        """A watcher closed because it could not keep up."""
        self._child(self.terminated_watchers, (resource,)).inc()

    def set_watch_cache_resource_version(self, resource: str, revision: int) -> None:
        self._child(self.watch_cache_resource_version, (resource,)).set(revision)

    def _child(self, metric: Metric, labels: tuple[str, ...]) -> Metric:
        key = (id(metric), *labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return cast(Metric, child)


@functools.cache
def default_metrics() -> ApiServerMetrics:
    """The process's metrics, with the process collector: what the server records into and `/metrics` serves."""
    return ApiServerMetrics(process_collector=True)
