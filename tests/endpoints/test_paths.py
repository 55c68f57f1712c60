"""`GET /`: upstream's RootPaths index of every served path."""
from __future__ import annotations

import json

import pytest

from apiserver.endpoints.health import FunctionCheck, HealthRegistry, PostStartHookCheck
from apiserver.endpoints.paths import health_paths, paths_app
from apiserver.endpoints.router import Route, Router
from apiserver.http.asgi import Receive, Scope, Send
from apiserver.http.responses import send_bytes
from apiserver.registry.catalog import CatalogHolder, ResourceCatalog, builtin_specs
from apiserver.registry.runtimeconfig import apply_runtime_config
from tests.http.asgi_harness import call

# The discovery part of `kubectl get --raw /` against a v1.32 kube-apiserver with the built-in groups.
UPSTREAM_DISCOVERY_PATHS = [
    "/api", "/api/v1", "/apis", "/apis/",
    "/apis/admissionregistration.k8s.io", "/apis/admissionregistration.k8s.io/v1",
    "/apis/apiextensions.k8s.io", "/apis/apiextensions.k8s.io/v1",
    "/apis/apiregistration.k8s.io", "/apis/apiregistration.k8s.io/v1",
    "/apis/apps", "/apis/apps/v1",
    "/apis/authentication.k8s.io", "/apis/authentication.k8s.io/v1",
    "/apis/authorization.k8s.io", "/apis/authorization.k8s.io/v1",
    "/apis/autoscaling", "/apis/autoscaling/v1", "/apis/autoscaling/v2",
    "/apis/batch", "/apis/batch/v1",
    "/apis/certificates.k8s.io", "/apis/certificates.k8s.io/v1",
    "/apis/coordination.k8s.io", "/apis/coordination.k8s.io/v1",
    "/apis/discovery.k8s.io", "/apis/discovery.k8s.io/v1",
    "/apis/events.k8s.io", "/apis/events.k8s.io/v1",
    "/apis/flowcontrol.apiserver.k8s.io", "/apis/flowcontrol.apiserver.k8s.io/v1",
    "/apis/networking.k8s.io", "/apis/networking.k8s.io/v1",
    "/apis/node.k8s.io", "/apis/node.k8s.io/v1",
    "/apis/policy", "/apis/policy/v1",
    "/apis/rbac.authorization.k8s.io", "/apis/rbac.authorization.k8s.io/v1",
    "/apis/scheduling.k8s.io", "/apis/scheduling.k8s.io/v1",
    "/apis/storage.k8s.io", "/apis/storage.k8s.io/v1",
]
EXTRA = ["/version", "/metrics", "/openapi/v2", "/openapi/v3", "/openapi/v3/", "/healthz", "/healthz/ping"]


def _holder() -> CatalogHolder:
    return CatalogHolder(ResourceCatalog(builtin_specs()))


async def _next(scope: Scope, receive: Receive, send: Send) -> None:
    await send_bytes(send, 200, b"next", content_type=b"text/plain")


@pytest.mark.parametrize(("method", "path"), [("GET", "/"), ("GET", "/index.html"), ("POST", "/")])
async def test_index_lists_every_path_sorted_and_indented(method: str, path: str) -> None:
    response = await call(paths_app(_holder(), EXTRA), method=method, path=path)
    assert response.status == 200
    assert response.headers[0] == (b"content-type", b"application/json")
    assert response.body == json.dumps({"paths": sorted(UPSTREAM_DISCOVERY_PATHS + EXTRA)}, indent=2).encode()


async def test_other_paths_go_to_the_next_app() -> None:
    response = await call(paths_app(_holder(), EXTRA, next_app=_next), method="GET", path="/foo")
    assert response.body == b"next"


async def test_default_next_app_is_the_last_resort_404() -> None:
    response = await call(paths_app(_holder()), method="GET", path="/foo")
    assert response.status == 404
    assert b'"details"' not in response.body


async def test_index_follows_the_current_catalog_and_extra_paths_function() -> None:
    holder = _holder()
    extra = ["/version"]
    app = paths_app(holder, lambda: extra)
    holder.replace(apply_runtime_config(holder.current, "/v1=false,batch/v1=false"))
    extra.append("/metrics")
    paths = json.loads((await call(app, method="GET", path="/")).body)["paths"]
    assert "/api" not in paths and "/api/v1" not in paths
    assert "/apis/batch" not in paths and "/apis/batch/v1" not in paths
    assert {"/apis/apps/v1", "/version", "/metrics"} <= set(paths)


def test_health_paths_list_each_endpoint_and_check() -> None:
    registry = HealthRegistry()
    registry.register(FunctionCheck("etcd", lambda: _ok()))
    registry.register(PostStartHookCheck("start-informers"), healthz=False)
    assert health_paths(registry) == [
        "/healthz", "/healthz/etcd",
        "/livez", "/livez/etcd", "/livez/poststarthook/start-informers",
        "/readyz", "/readyz/etcd", "/readyz/poststarthook/start-informers",
    ]
    assert health_paths(HealthRegistry())[:2] == ["/healthz", "/healthz/ping"]


async def _ok() -> None:
    return None


async def test_index_serves_as_the_routers_fallback() -> None:
    router = Router([Route("/version", _next)], fallback=paths_app(_holder(), EXTRA))
    assert (await call(router, method="GET", path="/")).status == 200
    assert (await call(router, method="GET", path="/version")).body == b"next"
    assert (await call(router, method="GET", path="/nothing")).status == 404
