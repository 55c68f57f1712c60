"""WithRequestMetrics: kube-apiserver's request metrics, with upstream's labels, for every request the chain serves."""
from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from apiserver.filters.chain import FILTERS, build_chain
from apiserver.filters.metrics import WithRequestMetrics
from apiserver.http.asgi import ASGIApp, Receive, Scope, Send
from apiserver.http.request import ClientDisconnected
from apiserver.http.responses import send_bytes
from apiserver.meta.errors import NotFound
from apiserver.meta.requestinfo import RequestInfo
from apiserver.observability.metrics import ApiServerMetrics
from tests.http.asgi_harness import Client, Response, call, http_scope

APPLY = (b"content-type", b"application/apply-patch+yaml")
MERGE = (b"content-type", b"application/merge-patch+json")
AGGREGATED = (b"accept", b"application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json")
WAIT = 5.0
LABELS = ("verb", "dry_run", "group", "version", "resource", "subresource", "scope", "component")


@pytest.fixture
def metrics() -> ApiServerMetrics:
    return ApiServerMetrics()


async def ok(scope: Scope, receive: Receive, send: Send) -> None:
    await send_bytes(send, 200, b"{}\n", content_type=b"application/json")


def requests_recorded(metrics: ApiServerMetrics) -> list[tuple[dict[str, str], float]]:
    [family] = metrics.requests.collect()
    return [(sample.labels, sample.value) for sample in family.samples if sample.name == "apiserver_request_total"]


def labels_of(values: Sequence[str], code: str = "200") -> dict[str, str]:
    return {**dict(zip(LABELS, values, strict=True)), "code": code}


def value(metrics: ApiServerMetrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


async def request(app: ASGIApp, method: str, path: str, query: bytes = b"",
                  headers: Sequence[tuple[bytes, bytes]] = ()) -> Response:
    return await call(app, method=method, path=path, query=query, headers=headers)


def test_the_metrics_filter_sits_right_inside_requestinfo() -> None:
    names = [entry.name for entry in FILTERS]
    assert names[names.index("panics"):][:3] == ["panics", "requestinfo", "metrics"]


@pytest.mark.parametrize(
    ("method", "path", "query", "headers", "expected"),
    [
        ("GET", "/api/v1/namespaces/ns/pods/p", b"", (), ("GET", "", "", "v1", "pods", "", "resource")),
        ("GET", "/api/v1/namespaces/ns/pods", b"limit=5", (), ("LIST", "", "", "v1", "pods", "", "namespace")),
        ("GET", "/api/v1/pods", b"", (), ("LIST", "", "", "v1", "pods", "", "cluster")),
        ("GET", "/api/v1/namespaces", b"", (), ("LIST", "", "", "v1", "namespaces", "", "cluster")),
        ("GET", "/api/v1/namespaces/ns", b"", (), ("GET", "", "", "v1", "namespaces", "", "resource")),
        ("GET", "/api/v1/namespaces/ns/pods", b"fieldSelector=metadata.name%3Dp", (),
         ("LIST", "", "", "v1", "pods", "", "namespace")),
        ("GET", "/api/v1/namespaces/ns/pods", b"watch=true", (), ("WATCH", "", "", "v1", "pods", "", "namespace")),
        ("GET", "/api/v1/namespaces/ns/pods", b"watch=False", (), ("LIST", "", "", "v1", "pods", "", "namespace")),
        ("GET", "/api/v1/watch/namespaces/ns/pods", b"", (), ("WATCH", "", "", "v1", "pods", "", "namespace")),
        ("HEAD", "/api/v1/namespaces/ns/pods/p", b"", (), ("GET", "", "", "v1", "pods", "", "resource")),
        ("POST", "/apis/apps/v1/namespaces/ns/deployments", b"dryRun=All", (),
         ("POST", "All", "apps", "v1", "deployments", "", "resource")),
        ("POST", "/apis/apps/v1/namespaces/ns/deployments", b"dryRun=All&dryRun=Bogus", (),
         ("POST", "invalid", "apps", "v1", "deployments", "", "resource")),
        ("POST", "/apis/rbac.authorization.k8s.io/v1/clusterroles", b"", (),
         ("POST", "", "rbac.authorization.k8s.io", "v1", "clusterroles", "", "resource")),
        ("PUT", "/apis/apps/v1/namespaces/ns/deployments/d/status", b"", (),
         ("PUT", "", "apps", "v1", "deployments", "status", "resource")),
        ("PATCH", "/api/v1/namespaces/ns/configmaps/c", b"fieldManager=x", (APPLY,),
         ("APPLY", "", "", "v1", "configmaps", "", "resource")),
        ("PATCH", "/api/v1/namespaces/ns/configmaps/c", b"", (MERGE,),
         ("PATCH", "", "", "v1", "configmaps", "", "resource")),
        ("DELETE", "/api/v1/namespaces/ns/configmaps", b"", (),
         ("DELETE", "", "", "v1", "configmaps", "", "namespace")),
        ("DELETE", "/api/v1/namespaces/ns/configmaps/c", b"", (),
         ("DELETE", "", "", "v1", "configmaps", "", "resource")),
        ("POST", "/api/v1/namespaces/ns/pods/p/exec", b"command=ls", (),
         ("CONNECT", "", "", "v1", "pods", "exec", "resource")),
        ("GET", "/api/v1/namespaces/ns/pods/p/log", b"", (), ("CONNECT", "", "", "v1", "pods", "log", "resource")),
        ("OPTIONS", "/api/v1/namespaces/ns/pods", b"", (), ("other", "", "", "v1", "pods", "", "namespace")),
    ],
    ids=[
        "get", "list", "list-all-namespaces", "list-cluster-scoped", "get-namespace", "list-by-name-selector",
        "watch-param", "watch-false", "legacy-watch-path", "head", "create-dry-run", "invalid-dry-run",
        "create-cluster-scoped", "update-subresource", "apply", "merge-patch", "deletecollection", "delete",
        "connect-exec", "log-is-connect", "unknown-method",
    ],
)
async def test_resource_requests_get_upstreams_labels(
    metrics: ApiServerMetrics, method: str, path: str, query: bytes, headers: Sequence[tuple[bytes, bytes]],
    expected: tuple[str, ...],
) -> None:
    await request(build_chain(ok, metrics=metrics), method, path, query, headers)
    assert requests_recorded(metrics) == [(labels_of((*expected, "apiserver")), 1.0)]


@pytest.mark.parametrize(
    ("path", "query", "headers", "subresource", "component"),
    [
        ("/healthz", b"", (), "/healthz", ""),
        ("/readyz", b"verbose", (), "/readyz", ""),
        ("/livez", b"", (), "/livez", ""),
        ("/openapi/v3", b"", (), "openapi/v3", ""),
        ("/openapi/v3/apis/apps/v1", b"hash=ABC", (), "openapi/v3/", ""),
        ("/apis", b"", (AGGREGATED,), "/apis", "apiserver"),
        ("/api", b"", (AGGREGATED,), "/api", "apiserver"),
    ],
    ids=["healthz", "readyz", "livez", "openapi-v3", "openapi-v3-group", "aggregated-apis", "aggregated-api"],
)
async def test_instrumented_non_resource_paths_are_recorded_as_upstream_records_them(
    metrics: ApiServerMetrics, path: str, query: bytes, headers: Sequence[tuple[bytes, bytes]], subresource: str,
    component: str,
) -> None:
    await request(build_chain(ok, metrics=metrics), "GET", path, query, headers)
    assert requests_recorded(metrics) == [(labels_of(("GET", "", "", "", "", subresource, "", component)), 1.0)]
    assert value(metrics, "apiserver_response_sizes_count", verb="GET", group="", version="", resource="",
                 subresource=subresource, scope="", component=component) == 1.0


@pytest.mark.parametrize(
    "path",
    ["/version", "/metrics", "/healthz/etcd", "/apis", "/apis/apps", "/favicon.ico"],
    ids=["version", "metrics", "single-health-check", "legacy-discovery", "group-discovery", "unknown-path"],
)
async def test_other_non_resource_paths_are_not_recorded(metrics: ApiServerMetrics, path: str) -> None:
    await request(build_chain(ok, metrics=metrics), "GET", path)
    assert requests_recorded(metrics) == []


async def test_resources_the_server_does_not_serve_are_not_recorded(metrics: ApiServerMetrics) -> None:
    def served(info: RequestInfo) -> bool:
        return info.resource == "pods"

    app = build_chain(ok, metrics=metrics, served_resource=served)
    await request(app, "GET", "/api/v1/namespaces/ns/widgets")
    await request(app, "GET", "/api/v1/namespaces/ns/pods")
    assert [labels["resource"] for labels, _ in requests_recorded(metrics)] == ["pods"]


async def test_code_is_the_status_the_handler_sent(metrics: ApiServerMetrics) -> None:
    async def created(scope: Scope, receive: Receive, send: Send) -> None:
        await send_bytes(send, 201, b"{}", content_type=b"application/json")

    await request(build_chain(created, metrics=metrics), "POST", "/api/v1/namespaces/ns/configmaps")
    assert requests_recorded(metrics) == [(labels_of(("POST", "", "", "v1", "configmaps", "", "resource",
                                                      "apiserver"), "201"), 1.0)]


async def test_an_api_error_is_recorded_with_its_code(metrics: ApiServerMetrics) -> None:
    async def missing(scope: Scope, receive: Receive, send: Send) -> None:
        raise NotFound("configmaps", "c")

    response = await request(build_chain(missing, metrics=metrics), "GET", "/api/v1/namespaces/ns/configmaps/c")
    assert response.status == 404
    [(labels, count)] = requests_recorded(metrics)
    assert (labels["code"], count) == ("404", 1.0)
    assert value(metrics, "apiserver_response_sizes_sum", verb="GET", group="", version="v1", resource="configmaps",
                 subresource="", scope="resource", component="apiserver") == len(response.body)


async def test_a_panic_is_recorded_as_a_500(metrics: ApiServerMetrics) -> None:
    async def broken(scope: Scope, receive: Receive, send: Send) -> None:
        raise RuntimeError("nil pointer")

    response = await request(build_chain(broken, metrics=metrics), "GET", "/api/v1/namespaces/ns/configmaps")
    assert response.status == 500
    [(labels, count)] = requests_recorded(metrics)
    assert (labels["code"], labels["verb"], count) == ("500", "LIST", 1.0)


async def test_a_timed_out_request_is_recorded_with_the_504_it_got(metrics: ApiServerMetrics) -> None:
    async def stuck(scope: Scope, receive: Receive, send: Send) -> None:
        await asyncio.Event().wait()

    app = build_chain(stuck, metrics=metrics, request_timeout=0.05)
    response = await request(app, "GET", "/api/v1/namespaces/ns/configmaps")
    assert response.status == 504
    assert [labels["code"] for labels, _ in requests_recorded(metrics)] == ["504"]


async def test_a_request_that_sent_nothing_is_recorded_with_code_0(metrics: ApiServerMetrics) -> None:
    async def client_left(scope: Scope, receive: Receive, send: Send) -> None:
        raise ClientDisconnected()

    response = await request(build_chain(client_left, metrics=metrics), "POST", "/api/v1/namespaces/ns/configmaps")
    assert response.messages == []
    assert [labels["code"] for labels, _ in requests_recorded(metrics)] == ["0"]


async def test_duration_is_observed_once_per_request(metrics: ApiServerMetrics) -> None:
    app = build_chain(ok, metrics=metrics)
    for _ in range(3):
        await request(app, "GET", "/api/v1/namespaces/ns/pods/p")
    labels = {"verb": "GET", "dry_run": "", "group": "", "version": "v1", "resource": "pods", "subresource": "",
              "scope": "resource", "component": "apiserver"}
    assert value(metrics, "apiserver_request_duration_seconds_count", **labels) == 3.0
    total = value(metrics, "apiserver_request_duration_seconds_sum", **labels)
    assert total is not None and 0.0 < total < WAIT
    assert value(metrics, "apiserver_request_duration_seconds_bucket", le="60.0", **labels) == 3.0


async def test_response_sizes_are_recorded_for_reads_only(metrics: ApiServerMetrics) -> None:
    async def sized(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"x" * 1000, "more_body": True})
        await send({"type": "http.response.body", "body": b"y" * 500})

    app = build_chain(sized, metrics=metrics)
    await request(app, "GET", "/api/v1/namespaces/ns/pods")
    await request(app, "POST", "/api/v1/namespaces/ns/pods")
    [family] = metrics.response_sizes.collect()
    sums = [(sample.labels["verb"], sample.value) for sample in family.samples if sample.name.endswith("_sum")]
    assert sums == [("LIST", 1500.0)]


async def test_inflight_gauge_counts_requests_while_they_run(metrics: ApiServerMetrics) -> None:
    release = asyncio.Event()
    entered = asyncio.Event()

    async def held(scope: Scope, receive: Receive, send: Send) -> None:
        entered.set()
        await release.wait()
        await ok(scope, receive, send)

    app = build_chain(held, metrics=metrics)
    reading = asyncio.create_task(request(app, "GET", "/api/v1/namespaces/ns/pods"))
    async with asyncio.timeout(WAIT):
        await entered.wait()
    assert value(metrics, "apiserver_current_inflight_requests", request_kind="readOnly") == 1.0
    assert value(metrics, "apiserver_current_inflight_requests", request_kind="mutating") == 0.0
    entered.clear()
    writing = asyncio.create_task(request(app, "POST", "/api/v1/namespaces/ns/pods"))
    async with asyncio.timeout(WAIT):
        await entered.wait()
    assert value(metrics, "apiserver_current_inflight_requests", request_kind="mutating") == 1.0
    release.set()
    await asyncio.gather(reading, writing)
    assert value(metrics, "apiserver_current_inflight_requests", request_kind="readOnly") == 0.0
    assert value(metrics, "apiserver_current_inflight_requests", request_kind="mutating") == 0.0


async def test_inflight_gauge_comes_down_when_the_handler_fails(metrics: ApiServerMetrics) -> None:
    async def broken(scope: Scope, receive: Receive, send: Send) -> None:
        raise RuntimeError("boom")

    await request(build_chain(broken, metrics=metrics), "DELETE", "/api/v1/namespaces/ns/pods/p")
    assert value(metrics, "apiserver_current_inflight_requests", request_kind="mutating") == 0.0


@pytest.mark.parametrize(
    ("method", "path", "query", "longrunning", "request_labels"),
    [
        ("GET", "/api/v1/namespaces/ns/pods", b"watch=1",
         ("WATCH", "", "v1", "pods", "", "namespace"), ("WATCH", "", "", "v1", "pods", "", "namespace")),
        ("GET", "/api/v1/namespaces/ns/pods", b"watch=1&fieldSelector=metadata.name%3Dp",
         ("WATCH", "", "v1", "pods", "", "resource"), ("WATCH", "", "", "v1", "pods", "", "namespace")),
        ("GET", "/api/v1/watch/pods", b"",
         ("LIST", "", "v1", "pods", "", "cluster"), ("WATCH", "", "", "v1", "pods", "", "cluster")),
        ("POST", "/api/v1/namespaces/ns/pods/p/exec", b"command=sh",
         ("CONNECT", "", "v1", "pods", "exec", "resource"), ("CONNECT", "", "", "v1", "pods", "exec", "resource")),
    ],
    ids=["watch", "watch-one-object", "legacy-watch-path", "exec"],
)
async def test_long_running_requests_are_gauged_while_open_and_counted_when_they_end(
    metrics: ApiServerMetrics, method: str, path: str, query: bytes, longrunning: tuple[str, ...],
    request_labels: tuple[str, ...],
) -> None:
    client = Client()
    streaming = asyncio.Event()

    async def stream(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}\n", "more_body": True})
        streaming.set()
        await receive()  # the request body
        await receive()  # the disconnect
        await send({"type": "http.response.body", "body": b""})

    gauge = dict(zip(("verb", "group", "version", "resource", "subresource", "scope"), longrunning, strict=True))
    task = asyncio.create_task(call(build_chain(stream, metrics=metrics), client=client,
                                    scope=http_scope(method, path, query=query)))
    async with asyncio.timeout(WAIT):
        await streaming.wait()
    assert value(metrics, "apiserver_longrunning_requests", component="apiserver", **gauge) == 1.0
    assert requests_recorded(metrics) == []
    assert value(metrics, "apiserver_current_inflight_requests", request_kind="readOnly") == 0.0
    assert value(metrics, "apiserver_current_inflight_requests", request_kind="mutating") == 0.0
    client.disconnect()
    await task
    assert value(metrics, "apiserver_longrunning_requests", component="apiserver", **gauge) == 0.0
    assert requests_recorded(metrics) == [(labels_of((*request_labels, "apiserver")), 1.0)]


async def test_watch_response_sizes_follow_upstreams_routes(metrics: ApiServerMetrics) -> None:
    app = build_chain(ok, metrics=metrics)
    await request(app, "GET", "/api/v1/pods", b"watch=true")
    await request(app, "GET", "/api/v1/watch/configmaps")
    [family] = metrics.response_sizes.collect()
    counted = [(s.labels["verb"], s.labels["resource"]) for s in family.samples if s.name.endswith("_count")]
    assert counted == [("WATCH", "pods")]


async def test_non_http_scopes_pass_through_unrecorded(metrics: ApiServerMetrics) -> None:
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])

    await call(WithRequestMetrics(app, metrics=metrics), scope={**http_scope(), "type": "websocket"})
    assert seen == ["websocket"]
    assert requests_recorded(metrics) == []
