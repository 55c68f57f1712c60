"""The router: longest-prefix table of non-resource handlers, and upstream's two kinds of 404."""
from __future__ import annotations

import pytest

from apiserver.endpoints.health import HealthRegistry
from apiserver.endpoints.router import Route, Router, build_router
from apiserver.endpoints.version import build_version_info
from apiserver.http.asgi import ASGIApp, Receive, Scope, Send
from apiserver.http.responses import send_bytes
from tests.http.asgi_harness import call

PATH_NOT_FOUND = (b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",'
                  b'"message":"the server could not find the requested resource","reason":"NotFound","code":404}\n')
ROUTE_NOT_FOUND = (b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",'
                   b'"message":"the server could not find the requested resource","reason":"NotFound",'
                   b'"details":{},"code":404}\n')


def _named(name: str) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send_bytes(send, 200, name.encode(), content_type=b"text/plain")

    return app


def _router(*routes: Route) -> ASGIApp:
    return build_router(health=HealthRegistry(), version=build_version_info(), routes=routes)


@pytest.mark.parametrize(
    ("path", "status", "body"),
    [
        ("/", 404, PATH_NOT_FOUND),
        ("/foo", 404, PATH_NOT_FOUND),
        ("/apis", 404, PATH_NOT_FOUND),
        ("/apisx", 404, PATH_NOT_FOUND),
        ("/apiextensions", 404, PATH_NOT_FOUND),
        ("/versionx", 404, PATH_NOT_FOUND),
        ("/api", 404, ROUTE_NOT_FOUND),
        ("/api/v1/namespaces/default/pods", 404, ROUTE_NOT_FOUND),
        ("/version/x", 404, ROUTE_NOT_FOUND),
        ("/healthz", 200, b"ok"),
        ("/livez/ping", 200, b"ok"),
    ],
)
async def test_default_routes(path: str, status: int, body: bytes) -> None:
    response = await call(_router(), method="GET", path=path)
    assert (response.status, response.body) == (status, body)


async def test_version_is_routed() -> None:
    response = await call(_router(), method="GET", path="/version")
    assert response.status == 200
    assert response.body.startswith(b'{\n  "major": "1",\n  "minor": "32",')


async def test_extra_routes_plug_in_and_override_by_prefix() -> None:
    router = _router(
        Route("/apis", _named("discovery")),
        Route("/apis/apps", _named("apps")),
        Route("/api", _named("core")),
    )
    bodies = {}
    for path in ("/apis", "/apis/", "/apis/apps/v1", "/apis/appsx", "/api/v1", "/apisx"):
        bodies[path] = (await call(router, method="GET", path=path)).body
    assert bodies == {
        "/apis": b"discovery", "/apis/": b"discovery", "/apis/apps/v1": b"apps", "/apis/appsx": b"discovery",
        "/api/v1": b"core", "/apisx": PATH_NOT_FOUND,
    }


async def test_router_fallback_is_configurable() -> None:
    router = Router([Route("/a", _named("a"))], fallback=_named("fallback"))
    assert (await call(router, method="GET", path="/b")).body == b"fallback"


@pytest.mark.parametrize("prefix", ["api", "/api/", "/"])
def test_route_prefix_must_be_a_clean_absolute_path(prefix: str) -> None:
    with pytest.raises(ValueError):
        Route(prefix, _named("x"))
