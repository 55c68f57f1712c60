"""The aggregator's proxy: requests for a remote APIService's group-version go to its backend.

As kube-aggregator's proxyHandler (pkg/apiserver/handler_proxy.go) in v1.32, behind this server's own
authentication and authorization (the filter chain has run):

- `/apis/<group>/<version>` and everything under it, for a group-version a remote APIService claims, is
  forwarded; every other request goes to the local handlers (a local APIService's group-versions included);
- an APIService whose `Available` condition is not True answers 503 `service unavailable` (plain text, as Go's
  http.Error), as does a Service that cannot be resolved to an address;
- the request goes to the resolved address over TLS (the front-proxy client certificate, the APIService's trust),
  with `X-Remote-User`, one `X-Remote-Group` per group and `X-Remote-Extra-<escaped key>` per extra value, after
  any such incoming headers, the `Authorization` header and impersonation headers are removed;
- redirects from the backend are refused with 502 (`--aggregator-reject-forwarding-redirect`, default true), or
  passed back untouched when that is off; they are never followed;
- upgrades (WebSocket watches) are relayed, and watches stream, through the shared forwarder (http/forward.py);
- `/openapi/v3/<key>` of a key a remote server's OpenAPI index gave (aggregation/openapi.py) is forwarded to that
  server the same way, as upstream's OpenAPI v3 handler hands it to the APIService's proxy handler.
"""
from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote

from apiserver.aggregation.apiservices import APIServiceIndex, RemoteAPIService
from apiserver.aggregation.openapi import V3_PATH, RemoteOpenAPI
from apiserver.aggregation.transport import ProxyTLS
from apiserver.auth.user import UserInfo
from apiserver.http.asgi import ASGIApp, Message, Receive, Scope, Send
from apiserver.http.forward import forward
from apiserver.http.request import user_of
from apiserver.http.responses import send_plain_error
from apiserver.webhookclient import ServiceResolver, ServiceUnavailableError

REDIRECT_REJECTED = "the backend attempted to redirect this request, which is not permitted"
_STRIPPED = (b"authorization", b"x-remote-user", b"x-remote-group", b"x-remote-uid")
_STRIPPED_PREFIXES = (b"x-remote-extra-", b"impersonate-")
# RFC 7230 tchar, minus '%' (the escape character itself): what headerKeyEscape leaves as it is.
_HEADER_KEY_SAFE = frozenset(b"!#$&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_WEBSOCKET_POLICY_VIOLATION = 1008


def remote_target(path: str, index: APIServiceIndex, openapi: RemoteOpenAPI | None = None) -> RemoteAPIService | None:
    """The remote APIService a path belongs to (`/apis/<group>/<version>[/...]`, or the OpenAPI v3 document of a
    remote group-version), or None."""
    if openapi is not None and path.startswith(V3_PATH + "/"):
        owner = openapi.owner(path.removeprefix(V3_PATH + "/"))
        return index.remote(*owner) if owner is not None else None
    if not path.startswith("/apis/"):
        return None
    parts = path.split("/", 4)
    if len(parts) < 4 or not parts[2] or not parts[3]:
        return None
    return index.remote(parts[2], parts[3])


def header_key_escape(key: str) -> str:
    """client-go's headerKeyEscape: %-encode every byte that is not a legal header token byte, and '%'."""
    return "".join(chr(byte) if byte in _HEADER_KEY_SAFE else f"%{byte:02X}" for byte in key.encode())


def auth_proxy_headers(user: UserInfo) -> list[tuple[bytes, bytes]]:
    """SetAuthProxyHeaders (v1.32: no UID header): the user, each group, each extra value."""
    headers = [(b"x-remote-user", user.name.encode())]
    headers += [(b"x-remote-group", group.encode()) for group in user.groups]
    for key, values in user.extra.items():
        name = b"x-remote-extra-" + header_key_escape(key).encode()
        headers += [(name, value.encode()) for value in values]
    return headers


def proxied_headers(headers: Sequence[tuple[bytes, bytes]], user: UserInfo) -> list[tuple[bytes, bytes]]:
    """The request's headers without credentials and identity headers, plus the user's front-proxy headers."""
    kept = [(name, value) for name, value in headers
            if name.lower() not in _STRIPPED and not name.lower().startswith(_STRIPPED_PREFIXES)]
    return [*kept, *auth_proxy_headers(user)]


class AggregationProxy:
    """Forwards requests of remote APIServices; passes everything else to `app` unchanged."""

    def __init__(self, app: ASGIApp, *, index: APIServiceIndex, resolver: ServiceResolver, tls: ProxyTLS,
                 reject_forwarding_redirects: bool = True, openapi: RemoteOpenAPI | None = None) -> None:
        self.app = app
        self._index = index
        self._openapi = openapi
        self._resolver = resolver
        self._tls = tls
        self._reject_redirects = reject_forwarding_redirects

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or not self._index:
            return await self.app(scope, receive, send)
        remote = remote_target(scope["path"], self._index, self._openapi)
        if remote is None:
            return await self.app(scope, receive, send)
        await self._proxy(remote, scope, receive, send)

    async def _proxy(self, remote: RemoteAPIService, scope: Scope, receive: Receive, send: Send) -> None:
        user = user_of(scope)
        if not remote.available:
            return await _refuse(scope, receive, send, 503, "service unavailable")
        if user is None:
            return await _refuse(scope, receive, send, 500, "missing user")
        try:
            host, port = await self._resolver.resolve(remote.service_namespace, remote.service_name,
                                                      remote.service_port)
        except ServiceUnavailableError:
            return await _refuse(scope, receive, send, 503, "service unavailable")
        scheme = "wss" if scope["type"] == "websocket" else "https"
        url = f"{scheme}://{_join_host_port(host, port)}{_raw_path(scope)}"
        if query := scope.get("query_string", b""):
            url += "?" + query.decode("latin-1")
        reply = _RedirectRefusal(send) if self._reject_redirects and scope["type"] == "http" else send
        await forward(
            scope, receive, reply, url=url, headers=proxied_headers(scope.get("headers", ()), user),
            ssl_context=self._tls.for_backend(remote), server_hostname=self._tls.server_hostname(remote),
            allow_upgrade=True, on_dial_error=_dial_error,
        )


async def _dial_error(send: Send, description: str) -> None:
    # The aggregator's responder writes the transport error with http.Error and 503.
    await send_plain_error(send, 503, description)


async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, text: str) -> None:
    if scope["type"] == "websocket":
        if (await receive())["type"] == "websocket.connect":
            await send({"type": "websocket.close", "code": _WEBSOCKET_POLICY_VIOLATION})
        return
    await send_plain_error(send, status, text)


class _RedirectRefusal:
    """Replaces a backend's 3xx with a Location by 502 and upstream's message, and drops the backend's body."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self._refused = False

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start" and _is_redirect(message):
            self._refused = True
            body = REDIRECT_REJECTED.encode()
            await self._send({"type": "http.response.start", "status": 502, "headers": [
                (b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]})
            await self._send({"type": "http.response.body", "body": body, "more_body": False})
            return
        if self._refused:
            return
        await self._send(message)


def _is_redirect(message: Message) -> bool:
    status = int(message.get("status", 200))
    has_location = any(name.lower() == b"location" and value for name, value in message.get("headers", ()))
    return 300 <= status <= 399 and has_location


def _raw_path(scope: Scope) -> str:
    raw = scope.get("raw_path")
    if raw:
        return bytes(raw).decode("latin-1")
    return quote(scope["path"], safe="/:@!$&'()*+,;=-._~")


def _join_host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
