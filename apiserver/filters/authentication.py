"""Authentication: who sent the request, or 401 before anything else looks at it.

Upstream: WithAuthentication (k8s.io/apiserver/pkg/endpoints/filters/authentication.go). The configured
`RequestAuthenticator` tries the front proxy, the client certificate and the bearer token, then anonymous. On
success the user is kept in the scope (`http.request.user_of`) and the credentials leave the request: the
`Authorization` header and every front-proxy header (`X-Remote-*` and the configured ones) are stripped, so no
handler, proxy or log inside ever sees them. On failure the client gets upstream's 401 Status ("Unauthorized").

WebSocket upgrades are authenticated the same way, from their headers and TLS connection: a watch over a
WebSocket never bypasses authentication. A WebSocket that fails is closed before it is accepted (the server
answers the handshake with 403; ASGI cannot send a 401 there).
"""
from __future__ import annotations

from collections.abc import Callable

from apiserver.auth.authn.interface import AuthenticationFailed
from apiserver.auth.authn.requestheader import StrippedHeaders
from apiserver.auth.authn.union import RequestAuthenticator
from apiserver.http.asgi import ASGIApp, Receive, Scope, Send
from apiserver.http.request import Request, set_user
from apiserver.http.responses import send_status

AUTHORIZATION_HEADER = b"authorization"
_POLICY_VIOLATION = 1008


class WithAuthentication:
    """Authenticate every HTTP and WebSocket request with `authenticator`; strip the credentials it used.

    `strip` names the front-proxy headers to remove after authentication (`requestheader.headers_to_strip`).
    """

    def __init__(self, app: ASGIApp, *, authenticator: RequestAuthenticator, strip: StrippedHeaders) -> None:
        self.app = app
        self._authenticator = authenticator
        self._strip = strip

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        try:
            user = await self._authenticator.authenticate(Request(scope, receive))
        except AuthenticationFailed as error:
            if scope["type"] == "websocket":
                return await refuse_websocket(receive, send)
            return await send_status(send, error)
        scope.setdefault("state", {})  # shared with the filters outside, which read the user from it
        scope = {**scope, "headers": without_credentials(scope.get("headers", ()), self._strip.matches)}
        set_user(scope, user)
        await self.app(scope, receive, send)


def without_credentials(
    headers: list[tuple[bytes, bytes]] | tuple[tuple[bytes, bytes], ...], is_front_proxy_header: Callable[[str], bool]
) -> list[tuple[bytes, bytes]]:
    """The headers minus `Authorization` and the front-proxy headers (names compared case-insensitively)."""
    return [
        (name, value) for name, value in headers
        if name.lower() != AUTHORIZATION_HEADER and not is_front_proxy_header(name.decode("latin-1"))
    ]


async def refuse_websocket(receive: Receive, send: Send) -> None:
    """Close a WebSocket before accepting it (the handshake is answered with 403)."""
    if (await receive())["type"] == "websocket.connect":
        await send({"type": "websocket.close", "code": _POLICY_VIOLATION})
