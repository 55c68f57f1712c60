"""The innermost app of the chain: picks the handler for a request.

Non-resource paths are a table of `Route`s keyed by path prefix (health, /version; discovery, OpenAPI and
/metrics plug in the same way). A prefix owns itself and everything below it, `prefix/...`, never a longer
word: `/apis` does not own `/apisx`. The longest matching prefix wins.

Resource requests (`/api/v1/...`, `/apis/<group>/<version>/...` naming a resource, as RequestInfo reads them)
go to the resource endpoints before any prefix is consulted; discovery documents (`/api`, `/api/v1`, `/apis/g/v`)
are not resource requests and stay with the prefix routes.

Two kinds of 404, as kube-apiserver has: a path no handler owns gets its last-resort Status without
`details`; a path under a prefix served by its go-restful container (the core group under `/api`, /version)
gets the route table's Status with empty `details`.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from apiserver.endpoints.health import HEALTH_PATHS, HealthEndpoints, HealthRegistry
from apiserver.endpoints.version import VersionEndpoint
from apiserver.http.asgi import ASGIApp, Receive, Scope, Send
from apiserver.http.request import Request, request_info_of, set_request_info
from apiserver.http.responses import send_status
from apiserver.meta.errors import path_not_found, route_error
from apiserver.meta.requestinfo import RequestInfo, RequestInfoError, parse_request_info


@dataclass(frozen=True, slots=True)
class Route:
    """`app` serves `prefix` and every path below it."""

    prefix: str
    app: ASGIApp

    def __post_init__(self) -> None:
        if not self.prefix.startswith("/") or self.prefix.endswith("/"):
            raise ValueError(f"route prefix must start and not end with '/': {self.prefix!r}")

    def matches(self, path: str) -> bool:
        return path == self.prefix or path.startswith(self.prefix + "/")


async def not_found(scope: Scope, receive: Receive, send: Send) -> None:
    """kube-apiserver's answer for a path nothing serves."""
    await send_status(send, path_not_found())


async def route_not_found(scope: Scope, receive: Receive, send: Send) -> None:
    """kube-apiserver's answer for an unknown path under a go-restful prefix such as `/api`."""
    await send_status(send, route_error(404))


class Router:
    """Dispatch to the route with the longest matching prefix, else to `fallback`.

    A later route with the same prefix replaces an earlier one, so callers can override a default route.
    """

    def __init__(self, routes: Sequence[Route], *, fallback: ASGIApp = not_found) -> None:
        by_prefix = {route.prefix: route for route in routes}
        self._routes = sorted(by_prefix.values(), key=lambda route: len(route.prefix), reverse=True)
        self._fallback = fallback

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        for route in self._routes:
            if route.matches(path):
                return await route.app(scope, receive, send)
        await self._fallback(scope, receive, send)


class ResourceRouting:
    """Resource requests to `resources`, every other request to `others`."""

    def __init__(self, resources: ASGIApp, others: ASGIApp) -> None:
        self._resources = resources
        self._others = others

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        info = _request_info(scope, receive)
        if info is not None and info.is_resource_request:
            return await self._resources(scope, receive, send)
        if scope["type"] == "websocket":
            return await refuse_websocket(receive, send)
        await self._others(scope, receive, send)


async def refuse_websocket(receive: Receive, send: Send) -> None:
    """Only watches are served over WebSockets: close before accepting (Daphne answers 403)."""
    if (await receive())["type"] == "websocket.connect":
        await send({"type": "websocket.close", "code": 1008})


def _request_info(scope: Scope, receive: Receive) -> RequestInfo | None:
    """The filter's RequestInfo, or one parsed here when the router runs without the filter chain."""
    try:
        return request_info_of(scope)
    except LookupError:
        pass
    request = Request(scope, receive)
    try:
        info = parse_request_info(scope.get("method", "GET"), request.path, request.query)
    except RequestInfoError:
        return None
    set_request_info(scope, info)
    return info


def build_router(
    *,
    health: HealthRegistry,
    version: Mapping[str, str],
    routes: Sequence[Route] = (),
    resources: ASGIApp | None = None,
    fallback: ASGIApp = not_found,
) -> ASGIApp:
    """The API's router: resource requests to `resources`; else health, /version, `/api`, then `routes`, which
    win ties."""
    health_endpoints = HealthEndpoints(health)
    router = Router([
        *(Route(path, health_endpoints) for path in HEALTH_PATHS),
        Route("/version", VersionEndpoint(version)),
        Route("/api", route_not_found),
        *routes,
    ], fallback=fallback)
    return router if resources is None else ResourceRouting(resources, router)
