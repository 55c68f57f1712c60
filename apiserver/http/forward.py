"""Forwarding one request to a backend over HTTP(S) and relaying its answer, as a reverse proxy.

This is the part of upstream's `UpgradeAwareHandler` (k8s.io/apimachinery/pkg/util/proxy) and Go's
`httputil.ReverseProxy` that the proxy subresources (pods, services, nodes) and the aggregation layer share:

- the request body streams up and the response (status, headers, body) streams down as it arrives, so watches
  and other long responses relay chunk by chunk and stop when the client goes away;
- hop-by-hop headers (RFC 7230 §6.1, and every header named in `Connection`) are dropped both ways, and the
  client's address is appended to `X-Forwarded-For`, as Go's ReverseProxy does;
- redirects are never followed: a 3xx and its `Location` go back to the client as the backend sent them;
- a WebSocket upgrade (an ASGI `websocket` scope) is relayed message by message when the caller allows it;
- a backend that cannot be reached is answered with upstream's 503 Status
  (`error trying to reach service: dial tcp …`), unless the caller supplies its own answer.

What to forward (the URL, which request headers, which TLS context) is the caller's decision.
"""
from __future__ import annotations

import asyncio
import errno
import os
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from urllib.parse import urlsplit

import httpx

from apiserver.http.asgi import Receive, Scope, Send
from apiserver.http.responses import send_status
from apiserver.http.streaming import stream_until_disconnect
from apiserver.meta.errors import ServiceUnavailable

Headers = Sequence[tuple[bytes, bytes]]
HeaderRewriter = Callable[[list[tuple[bytes, bytes]]], list[tuple[bytes, bytes]]]
BodyRewriter = Callable[[Sequence[tuple[bytes, bytes]]], Callable[[bytes], bytes] | None]
"""Given the response headers, a function that rewrites the whole (still encoded) body, or None to stream it."""
DialErrorResponder = Callable[[Send, str], Awaitable[None]]
"""Answers a request whose backend could not be reached; gets Go's wording of the failure
(`dial tcp 10.0.0.1:80: connect: connection refused`)."""

# Go's default dialer (k8s.io/apimachinery utilnet.SetTransportDefaults keeps it): a backend that never answers
# the connection attempt fails after this long even when the caller sets no timeout.
DIAL_TIMEOUT = 30.0

# RFC 7230 §6.1 and Go's httputil.ReverseProxy: meaningful for one connection only, never forwarded.
HOP_BY_HOP = frozenset({
    b"connection", b"proxy-connection", b"keep-alive", b"proxy-authenticate", b"proxy-authorization", b"te",
    b"trailer", b"transfer-encoding", b"upgrade",
})


class ClientGone(Exception):
    """The client disconnected while its request body was being relayed."""


async def forward(
    request_scope: Scope,
    receive: Receive,
    send: Send,
    *,
    url: str,
    headers: Headers,
    ssl_context: ssl.SSLContext | None,
    server_hostname: str | None = None,
    allow_upgrade: bool,
    extra_response_headers: Headers = (),
    timeout: float | None = None,
    on_dial_error: DialErrorResponder | None = None,
    rewrite_response_headers: HeaderRewriter | None = None,
    rewrite_response_body: BodyRewriter | None = None,
) -> None:
    """Relay the request in `request_scope` to `url` and its answer back through `send`.

    `url` is the backend's absolute URL with path and query; `headers` are the request headers to send (the
    caller has already removed credentials); hop-by-hop ones among them are dropped. `ssl_context` verifies an
    https backend (None: the system's trust store); `server_hostname` is the TLS name to send and check when it
    differs from the URL's host. `extra_response_headers` are added to the backend's response headers.
    `timeout` bounds connecting and waiting for the response headers; a body then streams for as long as it
    lasts. A `websocket` scope is relayed when `allow_upgrade`, and refused (closed before accepting) otherwise.
    `on_dial_error` answers when the backend cannot be reached (default: upstream's 503 Status);
    `rewrite_response_headers` may change the backend's headers (hop-by-hop ones already gone) before they are sent;
    `rewrite_response_body` may ask for the whole body to be read and rewritten (it is then sent with its new length).
    """
    if request_scope["type"] == "websocket":
        if not allow_upgrade:
            await _refuse_websocket(receive, send)
            return
        from apiserver.http.websocket_relay import relay_websocket

        await relay_websocket(
            request_scope, receive, send, url=url, headers=_forwarded_headers(request_scope, headers),
            ssl_context=ssl_context, server_hostname=server_hostname, timeout=timeout,
        )
        return
    responder = on_dial_error or answer_unreachable
    async with _client(ssl_context) as client:
        try:
            request = await _build_request(client, request_scope, receive, url, headers, server_hostname)
            response = await _send_request(client, request, timeout)
        except ClientGone:
            return
        except (httpx.TransportError, OSError, ssl.SSLError, TimeoutError) as error:
            await responder(send, describe_transport_error(error, url))
            return
        try:
            headers = without_hop_by_hop(response.headers.raw)
            if rewrite_response_headers is not None:
                headers = rewrite_response_headers(headers)
            transform = None
            if rewrite_response_body is not None and request.method != "HEAD":
                transform = rewrite_response_body(headers)
            if transform is None:
                await _relay_response(response, receive, send, [*headers, *extra_response_headers])
            else:
                await _send_rewritten(response, send, [*headers, *extra_response_headers], transform)
        finally:
            await response.aclose()


async def answer_unreachable(send: Send, description: str) -> None:
    """Upstream's answer when the proxy transport fails (util/proxy/transport.go): 503 ServiceUnavailable."""
    await send_status(send, ServiceUnavailable.from_message(f"error trying to reach service: {description}"))


def without_hop_by_hop(headers: Headers) -> list[tuple[bytes, bytes]]:
    """`headers` without hop-by-hop headers and without the headers their `Connection` header names."""
    named = {
        token.strip().lower()
        for name, value in headers if name.lower() == b"connection"
        for token in value.split(b",") if token.strip()
    }
    return [(name, value) for name, value in headers if name.lower() not in HOP_BY_HOP | named]


def _forwarded_headers(scope: Scope, headers: Headers) -> list[tuple[bytes, bytes]]:
    """The request headers to send: hop-by-hop ones removed, the client appended to X-Forwarded-For."""
    kept = without_hop_by_hop(headers)
    client = scope.get("client")
    if not client:
        return kept
    prior = [value for name, value in kept if name.lower() == b"x-forwarded-for"]
    kept = [(name, value) for name, value in kept if name.lower() != b"x-forwarded-for"]
    chain = b", ".join([*prior, str(client[0]).encode()])
    return [*kept, (b"x-forwarded-for", chain)]


def _client(ssl_context: ssl.SSLContext | None) -> httpx.AsyncClient:
    client = httpx.AsyncClient(
        verify=ssl_context if ssl_context is not None else True, follow_redirects=False, trust_env=False,
        timeout=httpx.Timeout(None, connect=DIAL_TIMEOUT),
    )
    client.headers.clear()  # no User-Agent, Accept or Accept-Encoding of our own: the client's are forwarded
    return client


async def _build_request(
    client: httpx.AsyncClient, scope: Scope, receive: Receive, url: str, headers: Headers,
    server_hostname: str | None,
) -> httpx.Request:
    """The backend request. A body that came in one piece is sent with its length; a longer one streams."""
    sent = _forwarded_headers(scope, headers)
    first = await receive()
    if first["type"] == "http.disconnect":
        raise ClientGone()
    body: bytes | AsyncIterator[bytes] = first.get("body", b"")
    if first.get("more_body", False):
        body = _body_parts(first.get("body", b""), receive)
    else:
        sent = [(name, value) for name, value in sent if name.lower() != b"content-length"]
    extensions = {"sni_hostname": server_hostname} if server_hostname else {}
    return client.build_request(
        scope["method"], url, headers=sent, content=body, extensions=extensions,
    )


async def _body_parts(first: bytes, receive: Receive) -> AsyncIterator[bytes]:
    if first:
        yield first
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone()
        if message.get("body"):
            yield message["body"]
        if not message.get("more_body", False):
            return


async def _send_request(client: httpx.AsyncClient, request: httpx.Request, timeout: float | None) -> httpx.Response:
    async with asyncio.timeout(timeout):
        return await client.send(request, stream=True, follow_redirects=False)


async def _relay_response(response: httpx.Response, receive: Receive, send: Send, headers: Headers) -> None:
    await send({"type": "http.response.start", "status": response.status_code, "headers": list(headers)})
    await stream_until_disconnect(send, receive, response.aiter_raw())


async def _send_rewritten(
    response: httpx.Response, send: Send, headers: Headers, transform: Callable[[bytes], bytes],
) -> None:
    body = transform(b"".join([chunk async for chunk in response.aiter_raw()]))
    kept = [(name, value) for name, value in headers if name.lower() != b"content-length"]
    await send({"type": "http.response.start", "status": response.status_code,
                "headers": [*kept, (b"content-length", b"%d" % len(body))]})
    await send({"type": "http.response.body", "body": body})


async def _refuse_websocket(receive: Receive, send: Send) -> None:
    if (await receive())["type"] == "websocket.connect":
        await send({"type": "websocket.close", "code": 1008})


def describe_transport_error(error: BaseException, url: str) -> str:
    """Go's wording of a failed round trip: `dial tcp HOST:PORT: connect: connection refused`, `EOF`, …"""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme in ("https", "wss") else 80)
    host = parts.hostname or ""
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    cause = _root_cause(error)
    if isinstance(error, TimeoutError | httpx.TimeoutException) and not isinstance(error, httpx.ConnectTimeout):
        return "net/http: timeout awaiting response headers"
    if isinstance(error, httpx.ConnectTimeout) or isinstance(cause, TimeoutError):
        return f"dial tcp {address}: i/o timeout"
    if isinstance(cause, ssl.SSLCertVerificationError):
        return f"tls: failed to verify certificate: {cause.verify_message or cause.reason}"
    if isinstance(cause, ssl.SSLError):
        if cause.reason == "WRONG_VERSION_NUMBER":  # a plain-HTTP backend answered the TLS handshake
            return "tls: first record does not look like a TLS handshake"
        if isinstance(cause, ssl.SSLEOFError) or cause.reason == "UNEXPECTED_EOF_WHILE_READING":
            return "EOF"
        return f"remote error: tls: {(cause.reason or str(cause)).lower().replace('_', ' ')}"
    if isinstance(cause, OSError) and cause.errno is not None:
        if cause.errno in (errno.ENOENT, -2, -3, -5):  # getaddrinfo: no such host
            return f"dial tcp: lookup {host}: no such host"
        return f"dial tcp {address}: connect: {os.strerror(cause.errno).lower()}"
    if isinstance(error, httpx.RemoteProtocolError):
        return "EOF"
    return str(cause) or type(cause).__name__


def _root_cause(error: BaseException) -> BaseException:
    seen: set[int] = set()
    while id(error) not in seen:
        seen.add(id(error))
        nested = error.__cause__ or error.__context__
        if nested is None:
            break
        error = nested
    return error
