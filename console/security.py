"""Browser security for everything Django serves (console pages and static files), and the WebSocket Origin check.

`SecurityHeaders` wraps Django's ASGI app at the composition root, so the headers are on every console response,
static files included (Django's static handler bypasses middleware). A response that sets one of these headers
itself keeps its own value (a later page may need a narrower CSP, e.g. `sandbox` for proxied content).

The Content-Security-Policy allows scripts and styles from this origin only: no inline script, no inline style, no
eval, no CDN, no framing by anyone. htmx is told not to inject its indicator style (templates set
`htmx-config`), so the pages run under the policy unchanged.

`origin_allowed` / `OriginCheck` are for the console's WebSocket consumers: a browser always sends `Origin` on a
WebSocket upgrade and cookies ride along, so without this check any site could open a live view as the logged-in
user (cross-site WebSocket hijacking). The upgrade is accepted only when `Origin` is this server's own origin.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=(), usb=()"),
)


class SecurityHeaders:
    """Adds SECURITY_HEADERS to every HTTP response of `app` that does not set them itself."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http":
            await self._app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message.get("type") == "http.response.start":
                headers = list(message.get("headers") or ())
                present = {bytes(name).lower() for name, _ in headers}
                headers += [(name, value) for name, value in SECURITY_HEADERS if name not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self._app(scope, receive, send_with_headers)


def expected_origin(scope: Scope) -> str | None:
    """This server's origin as the browser names it: scheme (https for wss) and the Host header."""
    headers = {bytes(name).lower(): bytes(value) for name, value in scope.get("headers") or ()}
    host = headers.get(b"host", b"").decode("latin-1").strip().lower()
    if not host:
        return None
    scheme = scope.get("scheme") or ("wss" if scope.get("type") == "websocket" else "https")
    scheme = {"wss": "https", "ws": "http"}.get(scheme, scheme)
    return f"{scheme}://{host}"


def origin_allowed(scope: Scope) -> bool:
    """True when the request's `Origin` header is exactly this server's origin (see the module docstring).

    A missing Origin is refused: every browser sends one on a WebSocket upgrade, and non-browser clients use
    the API's own watch endpoints, not the console's.
    """
    headers = [(bytes(name).lower(), bytes(value)) for name, value in scope.get("headers") or ()]
    origins = [value.decode("latin-1").strip() for name, value in headers if name == b"origin"]
    if len(origins) != 1:
        return False
    origin = urlsplit(origins[0].lower())
    expected = expected_origin(scope)
    if expected is None or not origin.scheme or not origin.netloc or origin.path not in ("", "/"):
        return False
    return f"{origin.scheme}://{_with_default_port(origin.scheme, origin.netloc)}" == _normalise(expected)


def _normalise(origin: str) -> str:
    parts = urlsplit(origin)
    return f"{parts.scheme}://{_with_default_port(parts.scheme, parts.netloc)}"


def _with_default_port(scheme: str, netloc: str) -> str:
    default = {"https": ":443", "http": ":80"}.get(scheme, "")
    return netloc[: -len(default)] if default and netloc.endswith(default) else netloc


class OriginCheck:
    """Wraps a WebSocket app: an upgrade whose Origin is not ours is closed before it is accepted (HTTP 403)."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") == "websocket" and not origin_allowed(scope):
            message = await receive()
            if message.get("type") == "websocket.connect":
                await send({"type": "websocket.close", "code": 1008})
            return
        await self._app(scope, receive, send)
