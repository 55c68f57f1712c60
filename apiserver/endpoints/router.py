"""The innermost app of the chain: picks the handler for a request.

Non-resource paths are a table of `Route`s keyed by path prefix (health, /version; discovery, OpenAPI and
/metrics plug in the same way). A prefix owns itself and everything below it, `prefix/...`, never a longer
word: `/apis` does not own `/apisx`. The longest matching prefix wins.

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
from apiserver.http.responses import send_status
from apiserver.meta.errors import path_not_found, route_error


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


def build_router(
    *, health: HealthRegistry, version: Mapping[str, str], routes: Sequence[Route] = ()
) -> ASGIApp:
    """The API's router: health, /version, `/api` (until resources are served), then `routes`, which win ties."""
    health_endpoints = HealthEndpoints(health)
    return Router([
        *(Route(path, health_endpoints) for path in HEALTH_PATHS),
        Route("/version", VersionEndpoint(version)),
        Route("/api", route_not_found),
        *routes,
    ])
