"""The composition root: which ASGI app answers which path.

- HTTP under /api, /apis, /healthz, /livez, /readyz, /version, /openapi, /metrics → the API app;
- HTTP under /console and /static → Django (the console and its static files);
- any other HTTP path → the API app too, so unknown paths get kube-apiserver's 404 Status; except that a browser
  asking `/` for HTML (Accept names text/html, no Authorization header) is redirected to /console/, while API
  clients still get the root paths JSON;
- WebSockets under /api and /apis → the API app (watch over a WebSocket upgrade, as browsers use it);
  under /console/ws → the console's live views (console.live.routing: Origin check, session from the cookie);
  any other WebSocket → refused.
Prefixes match whole path segments: /apis is not under /api. Django is never on the API's path.

`manage.py serve` builds the API app from its flags and calls `build_application`, which also installs the API
app in `apiserver.client.loopback` for the console (it calls the API in-process with the user's own credential).
The module-level `application` (settings.ASGI_APPLICATION, for other ASGI servers) is built on first use from the
default flags and starts the lifecycle through the ASGI lifespan protocol where the server speaks it (Daphne does not).
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

API_PREFIXES = ("/api", "/apis", "/healthz", "/livez", "/readyz", "/version", "/openapi", "/metrics")
CONSOLE_PREFIXES = ("/console", "/static")


class PrefixDispatch:
    """Send each scope to the app of the first prefix its path falls under, else to `default`."""

    def __init__(self, routes: Sequence[tuple[Sequence[str], ASGIApp]], default: ASGIApp) -> None:
        self._routes = [(tuple(prefixes), app) for prefixes, app in routes]
        self._default = default

    def app_for(self, path: str) -> ASGIApp:
        for prefixes, app in self._routes:
            for prefix in prefixes:
                if path == prefix or path.startswith(prefix + "/"):
                    return app
        return self._default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app_for(scope.get("path", ""))(scope, receive, send)


async def refuse_websocket(scope: Scope, receive: Receive, send: Send) -> None:
    """Close before accepting: Daphne answers the handshake with 403."""
    message = await receive()
    if message["type"] == "websocket.connect":
        await send({"type": "websocket.close", "code": 1008})


class BrowserRootRedirect:
    """`GET /` from a browser (Accept names text/html, no Authorization header) → 302 to /console/; else `app`.

    kubectl and curl send `Accept: application/json` or `*/*` and keep getting the root paths JSON. A request
    carrying a credential header is an API client whatever it accepts, so it is never redirected.
    """

    def __init__(self, app: ASGIApp, location: str = "/console/") -> None:
        self._app = app
        self._location = location

    @staticmethod
    def wants_console(scope: Scope) -> bool:
        if scope.get("path") != "/" or scope.get("method") not in ("GET", "HEAD"):
            return False
        headers = {name.lower(): value for name, value in scope.get("headers") or ()}
        if b"authorization" in headers:
            return False
        accept = headers.get(b"accept", b"").decode("latin-1").lower()
        return any(part.split(";")[0].strip() == "text/html" for part in accept.split(","))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.wants_console(scope):
            await self._app(scope, receive, send)
            return
        await send({"type": "http.response.start", "status": 302,
                    "headers": [(b"location", self._location.encode()), (b"content-length", b"0"),
                                (b"cache-control", b"no-store"), (b"vary", b"Accept, Authorization")]})
        await send({"type": "http.response.body", "body": b""})


class Lifespan:
    """The ASGI lifespan protocol around a lifecycle, for servers that speak it (uvicorn, hypercorn)."""

    def __init__(self, lifecycle: Any) -> None:
        self._lifecycle = lifecycle

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self._lifecycle.start()
                except BaseException as error:
                    await send({"type": "lifespan.startup.failed", "message": str(error)})
                    raise
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self._lifecycle.begin_shutdown()
                await self._lifecycle.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return


def build_application(api_app: ASGIApp, *, lifecycle: Any = None, client_ca_file: Any = None) -> ASGIApp:
    """The root ASGI app around `api_app`; with `lifecycle`, lifespan events start and stop it.

    `api_app` is installed as the process's loopback API for the console; `client_ca_file` (`--client-ca-file`)
    lets console users log in with a client certificate (none without it).
    """
    from channels.routing import ProtocolTypeRouter
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
    from django.core.asgi import get_asgi_application

    from apiserver.client import loopback

    django_app = ASGIStaticFilesHandler(get_asgi_application())  # sets Django up before anything else loads
    from console.live.routing import console_websockets  # after Django is set up
    from console.security import SecurityHeaders

    console_app = SecurityHeaders(django_app)  # static files bypass Django's middleware; the headers must not
    loopback.install(api_app, client_ca_file=client_ca_file)
    routes: dict[str, Any] = {
        "http": PrefixDispatch([(API_PREFIXES, api_app), (CONSOLE_PREFIXES, console_app)],
                               default=BrowserRootRedirect(api_app)),
        "websocket": PrefixDispatch([(("/api", "/apis"), api_app), (("/console/ws",), console_websockets())],
                                    default=refuse_websocket),
    }
    if lifecycle is not None:
        routes["lifespan"] = Lifespan(lifecycle)
    router: ASGIApp = ProtocolTypeRouter(routes)
    return router


def _default_application() -> ASGIApp:
    from apiserver.server.assembly import build_server
    from apiserver.server.config import SERVE_FLAGS, ServerConfig

    config = ServerConfig.from_flags({flag.dest: flag.default for flag in SERVE_FLAGS})
    server = build_server(config)
    return build_application(server.app, lifecycle=server.lifecycle, client_ca_file=config.client_ca_path)


_application: ASGIApp | None = None


def __getattr__(name: str) -> Any:
    global _application
    if name != "application":
        raise AttributeError(name)
    if _application is None:
        _application = _default_application()
    return _application
