"""/metrics: upstream's metric families, names, labels and buckets, in the text format scrapers parse."""
from __future__ import annotations

import gzip
from collections.abc import Sequence

import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from apiserver.endpoints.metrics import metrics_app
from apiserver.filters.chain import build_chain
from apiserver.http.asgi import Receive, Scope, Send
from apiserver.http.responses import send_bytes
from apiserver.observability.metrics import (
    REQUEST_DURATION_BUCKETS,
    RESPONSE_SIZE_BUCKETS,
    WATCH_EVENT_SIZE_BUCKETS,
    ApiServerMetrics,
    RequestLabels,
    default_metrics,
    group_resource,
)
from apiserver.storage.errors import RevisionConflict
from apiserver.storage.memory.backend import MemoryStorage
from apiserver.storage.metered import MeteredStorage
from tests.http.asgi_harness import Response, call

TEXT_0_0_4 = b"text/plain; version=0.0.4; charset=utf-8"
REQUEST = ("verb", "dry_run", "group", "version", "resource", "subresource", "scope", "component")
SERIES = ("verb", "group", "version", "resource", "subresource", "scope", "component")

# Family name as the parser reports it (counters without `_total`) → (type, label names of its samples).
EXPECTED_FAMILIES = {
    "apiserver_request": ("counter", {*REQUEST, "code"}),
    "apiserver_request_duration_seconds": ("histogram", {*REQUEST, "le"}),
    "apiserver_response_sizes": ("histogram", {*SERIES, "le"}),
    "apiserver_current_inflight_requests": ("gauge", {"request_kind"}),
    "apiserver_longrunning_requests": ("gauge", set(SERIES)),
    "apiserver_watch_events": ("counter", {"group", "version", "kind"}),
    "apiserver_watch_events_sizes": ("histogram", {"group", "version", "kind", "le"}),
    "apiserver_registered_watchers": ("gauge", {"group", "version", "kind"}),
    "apiserver_storage_objects": ("gauge", {"resource"}),
    "apiserver_storage_events_received": ("counter", {"resource"}),
    "etcd_request_duration_seconds": ("histogram", {"operation", "type", "le"}),
    "etcd_requests": ("counter", {"operation", "type"}),
    "etcd_request_errors": ("counter", {"operation", "type"}),
    "apiserver_watch_cache_events_received": ("counter", {"resource"}),
    "apiserver_watch_cache_events_dispatched": ("counter", {"resource"}),
    "apiserver_watch_cache_resource_version": ("gauge", {"resource"}),
    "apiserver_watch_cache_initializations": ("counter", {"resource"}),
    "apiserver_init_events": ("counter", {"resource"}),
    "apiserver_terminated_watchers": ("counter", {"resource"}),
}


async def ok(scope: Scope, receive: Receive, send: Send) -> None:
    await send_bytes(send, 200, b"{}\n", content_type=b"application/json")


async def record_one_of_everything(metrics: ApiServerMetrics) -> None:
    app = build_chain(ok, metrics=metrics)
    await call(app, method="GET", path="/api/v1/namespaces/ns/pods/p")
    longrunning = metrics.longrunning_gauge(RequestLabels("WATCH", "", "", "v1", "pods", "", "namespace", "apiserver"))
    longrunning.inc()
    metrics.watcher_registered("apps", "v1", "Deployment")
    metrics.watch_event_sent("apps", "v1", "Deployment", 1500)
    metrics.set_storage_objects(group_resource("apps", "deployments"), 3)
    storage = MeteredStorage(MemoryStorage(), backend_name="memory", metrics=metrics)
    await storage.create("/registry/pods/ns/p", b"{}")
    with pytest.raises(RevisionConflict):  # an answer, not a failed request
        await storage.update("/registry/pods/ns/p", b"{}", expected=999)
    metrics.storage_series("list", "pods").observe(0.2, failed=True)
    metrics.storage_events_received("pods", 2)
    metrics.watch_cache_events_received("pods", 2)
    metrics.watch_cache_events_dispatched("pods")
    metrics.set_watch_cache_resource_version("pods", 42)
    metrics.watch_cache_initialized("pods", objects=5)
    metrics.watcher_terminated("pods")


async def scrape(metrics: ApiServerMetrics, *, method: str = "GET", path: str = "/metrics",
                 headers: Sequence[tuple[bytes, bytes]] = ()) -> Response:
    return await call(metrics_app(metrics.registry), method=method, path=path, headers=headers)


def families_of(body: bytes) -> dict[str, tuple[str, list[Sample]]]:
    return {family.name: (family.type, family.samples) for family in text_string_to_metric_families(body.decode())}


async def test_metrics_are_served_as_prometheus_text_0_0_4() -> None:
    metrics = ApiServerMetrics()
    await record_one_of_everything(metrics)
    response = await scrape(metrics)
    assert response.status == 200
    assert (b"content-type", TEXT_0_0_4) in response.headers
    families = families_of(response.body)
    assert {name: (kind, set().union(*(s.labels for s in samples))) for name, (kind, samples) in families.items()} \
        == EXPECTED_FAMILIES


async def test_samples_carry_upstreams_label_values() -> None:
    metrics = ApiServerMetrics()
    await record_one_of_everything(metrics)
    families = families_of((await scrape(metrics)).body)
    [total] = families["apiserver_request"][1]
    assert (total.name, total.labels, total.value) == ("apiserver_request_total", {
        "verb": "GET", "dry_run": "", "group": "", "version": "v1", "resource": "pods", "subresource": "",
        "scope": "resource", "component": "apiserver", "code": "200",
    }, 1.0)
    storage = {(s.name, s.labels["operation"], s.labels["type"], s.value) for s in families["etcd_requests"][1]}
    assert storage == {("etcd_requests_total", "create", "pods", 1.0), ("etcd_requests_total", "update", "pods", 1.0),
                       ("etcd_requests_total", "list", "pods", 1.0)}
    errors = {(s.labels["operation"], s.value) for s in families["etcd_request_errors"][1]}
    assert errors == {("list", 1.0)}
    assert [(s.labels, s.value) for s in families["apiserver_storage_objects"][1]] == \
        [({"resource": "deployments.apps"}, 3.0)]
    assert [(s.labels, s.value) for s in families["apiserver_current_inflight_requests"][1]] == \
        [({"request_kind": "readOnly"}, 0.0), ({"request_kind": "mutating"}, 0.0)]


@pytest.mark.parametrize(
    ("family", "buckets"),
    [
        ("apiserver_request_duration_seconds", REQUEST_DURATION_BUCKETS),
        ("etcd_request_duration_seconds", REQUEST_DURATION_BUCKETS),
        ("apiserver_response_sizes", RESPONSE_SIZE_BUCKETS),
        ("apiserver_watch_events_sizes", WATCH_EVENT_SIZE_BUCKETS),
    ],
    ids=["request-duration", "etcd-duration", "response-sizes", "watch-event-sizes"],
)
async def test_histograms_use_upstreams_buckets(family: str, buckets: tuple[float, ...]) -> None:
    metrics = ApiServerMetrics()
    await record_one_of_everything(metrics)
    families = families_of((await scrape(metrics)).body)
    bounds = sorted({float(s.labels["le"]) for s in families[family][1] if s.name.endswith("_bucket")})
    assert bounds == [*buckets, float("inf")]


def test_upstream_bucket_values() -> None:
    assert REQUEST_DURATION_BUCKETS == (
        0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60,
    )
    assert RESPONSE_SIZE_BUCKETS == (1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9)
    assert WATCH_EVENT_SIZE_BUCKETS == (1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072)


async def test_no_created_series_and_no_empty_families() -> None:
    response = await scrape(ApiServerMetrics())
    names = [line.split()[2] for line in response.body.decode().splitlines() if line.startswith("# TYPE")]
    assert names == ["apiserver_current_inflight_requests"]
    metrics = ApiServerMetrics()
    await record_one_of_everything(metrics)
    assert b"_created" not in (await scrape(metrics)).body


async def test_families_are_sorted_by_name() -> None:
    metrics = ApiServerMetrics()
    await record_one_of_everything(metrics)
    body = (await scrape(metrics)).body.decode()
    names = [line.split()[2] for line in body.splitlines() if line.startswith("# TYPE")]
    assert names == sorted(names)


async def test_the_default_metrics_include_process_metrics_and_nothing_go_specific() -> None:
    families = families_of((await scrape(default_metrics())).body)
    assert {"process_cpu_seconds", "process_resident_memory_bytes", "process_start_time_seconds"} <= set(families)
    assert not [name for name in families if name.startswith(("go_", "python_"))]


async def test_gzip_when_the_client_accepts_it() -> None:
    metrics = ApiServerMetrics()
    response = await scrape(metrics, headers=[(b"accept-encoding", b"gzip")])
    assert (b"content-encoding", b"gzip") in response.headers
    assert gzip.decompress(response.body) == (await scrape(metrics)).body


async def test_openmetrics_requests_still_get_the_text_format() -> None:
    accept = b"application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"
    response = await scrape(ApiServerMetrics(), headers=[(b"accept", accept)])
    assert (b"content-type", TEXT_0_0_4) in response.headers


async def test_head_is_served_like_get() -> None:
    metrics = ApiServerMetrics()
    response = await scrape(metrics, method="HEAD")
    assert (response.status, response.body) == (200, (await scrape(metrics)).body)


async def test_other_methods_are_not_allowed() -> None:
    response = await scrape(ApiServerMetrics(), method="POST")
    assert response.status == 405
    assert b'"reason":"MethodNotAllowed"' in response.body


async def test_paths_below_metrics_are_not_found() -> None:
    response = await scrape(ApiServerMetrics(), path="/metrics/slis")
    assert response.status == 404
    assert response.body == (b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",'
                             b'"message":"the server could not find the requested resource","reason":"NotFound",'
                             b'"code":404}\n')
