"""The HTTP forwarder against a real backend on a loopback port: streaming, headers, redirects, upgrades."""
from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import socket
import ssl
import struct
from collections.abc import Iterator
from typing import Any

import pytest

from apiserver.http.asgi import Message, Send
from apiserver.http.forward import forward, without_hop_by_hop
from apiserver.http.websocket_relay import FrameReader, encode_frame
from tests.endpoints.proxy.backend import Backend, running_backend
from tests.http.asgi_harness import Client, Response, http_scope
from tests.support.webhook_server import WebhookServer


@pytest.fixture(scope="module")
def backend() -> Iterator[Backend]:
    with running_backend() as server:
        yield server


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _forward(
    url: str, *, method: str = "GET", headers: list[tuple[bytes, bytes]] | None = None,
    body_parts: tuple[bytes, ...] = (b"",), ssl_context: ssl.SSLContext | None = None, **options: Any,
) -> Response:
    response = Response()
    scope = http_scope(method, "/proxied", headers=headers or [])
    await forward(scope, Client(body_parts).receive, response.send, url=url, headers=headers or [],
                  ssl_context=ssl_context, allow_upgrade=False, **options)
    return response


async def test_get_passes_method_path_query_and_headers(backend: Backend) -> None:
    headers = [(b"host", b"api.example"), (b"x-custom", b"1"), (b"accept", b"text/plain")]
    response = await _forward(f"http://127.0.0.1:{backend.port}/a/b?x=1&y=%2F", headers=headers)
    echo = json.loads(response.body)
    assert response.status == 200
    assert (echo["method"], echo["target"]) == ("GET", "/a/b?x=1&y=%2F")
    assert ["host", "api.example"] in echo["headers"]
    assert ["x-custom", "1"] in echo["headers"]
    assert ["x-forwarded-for", "127.0.0.1"] in echo["headers"]
    assert not any(name in ("user-agent", "accept-encoding") for name, _ in echo["headers"])


async def test_x_forwarded_for_is_appended_to(backend: Backend) -> None:
    headers = [(b"x-forwarded-for", b"10.0.0.9")]
    echo = json.loads((await _forward(f"http://127.0.0.1:{backend.port}/", headers=headers)).body)
    assert ["x-forwarded-for", "10.0.0.9, 127.0.0.1"] in echo["headers"]


async def test_hop_by_hop_request_headers_are_not_forwarded(backend: Backend) -> None:
    headers = [(b"connection", b"keep-alive, x-hop"), (b"x-hop", b"1"), (b"keep-alive", b"300"), (b"te", b"gzip"),
               (b"proxy-authorization", b"Basic eA=="), (b"x-kept", b"2")]
    echo = json.loads((await _forward(f"http://127.0.0.1:{backend.port}/", headers=headers)).body)
    names = {name for name, _ in echo["headers"]}
    assert "x-kept" in names
    assert not names & {"x-hop", "keep-alive", "te", "proxy-authorization"}


async def test_request_body_streams_up_in_parts(backend: Backend) -> None:
    response = await _forward(f"http://127.0.0.1:{backend.port}/post", method="POST",
                              body_parts=(b"one ", b"two ", b"three"))
    echo = json.loads(response.body)
    assert (echo["method"], echo["body"]) == ("POST", "one two three")


async def test_single_part_body_is_sent_with_its_length(backend: Backend) -> None:
    headers = [(b"content-length", b"999"), (b"content-type", b"application/json")]
    response = await _forward(f"http://127.0.0.1:{backend.port}/put", method="PUT", headers=headers,
                              body_parts=(b'{"a":1}',))
    echo = json.loads(response.body)
    assert echo["body"] == '{"a":1}'
    assert ["content-length", "7"] in echo["headers"]


async def test_redirects_are_passed_back_not_followed(backend: Backend) -> None:
    before = len(backend.requests)
    response = await _forward(f"http://127.0.0.1:{backend.port}/redirect?to=/elsewhere")
    assert response.status == 302
    assert (b"location", b"/elsewhere") in response.headers
    assert response.body == b"moved"
    assert len(backend.requests) == before + 1


async def test_hop_by_hop_response_headers_are_dropped_and_extra_ones_added(backend: Backend) -> None:
    response = await _forward(f"http://127.0.0.1:{backend.port}/hop",
                              extra_response_headers=[(b"content-security-policy", b"sandbox")])
    names = {name.lower() for name, _ in response.headers}
    assert {b"x-public", b"content-security-policy"} <= names
    assert not names & {b"x-private", b"keep-alive", b"connection"}


async def test_response_streams_before_the_backend_finishes(backend: Backend) -> None:
    backend.release.clear()
    response = Response()
    client = Client()
    task = asyncio.ensure_future(forward(
        http_scope("GET", "/"), client.receive, response.send, url=f"http://127.0.0.1:{backend.port}/stream",
        headers=[], ssl_context=None, allow_upgrade=False,
    ))
    async with asyncio.timeout(10):
        while response.body != b"first\n":
            response.body_event.clear()
            await response.body_event.wait()
    assert not response.complete
    backend.release.set()
    async with asyncio.timeout(10):
        await task
    assert (response.body, response.complete) == (b"first\nsecond\n", True)


async def test_stream_stops_when_the_client_goes_away(backend: Backend) -> None:
    backend.release.clear()
    response = Response()
    client = Client()
    task = asyncio.ensure_future(forward(
        http_scope("GET", "/"), client.receive, response.send, url=f"http://127.0.0.1:{backend.port}/stream",
        headers=[], ssl_context=None, allow_upgrade=False,
    ))
    async with asyncio.timeout(10):
        await response.body_event.wait()
    client.disconnect()
    async with asyncio.timeout(10):
        await task
    backend.release.set()
    assert not response.complete


async def test_unreachable_backend_is_upstreams_503() -> None:
    port = _closed_port()
    response = await _forward(f"http://127.0.0.1:{port}/x")
    assert response.status == 503
    assert json.loads(response.body) == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": f"error trying to reach service: dial tcp 127.0.0.1:{port}: connect: connection refused",
        "reason": "ServiceUnavailable", "code": 503,
    }


async def test_caller_may_answer_dial_errors_itself() -> None:
    seen: list[str] = []

    async def answer(send: Send, description: str) -> None:
        seen.append(description)
        await send({"type": "http.response.start", "status": 502, "headers": []})
        await send({"type": "http.response.body", "body": b"bad gateway"})

    port = _closed_port()
    response = await _forward(f"http://127.0.0.1:{port}/", on_dial_error=answer)
    assert (response.status, response.body) == (502, b"bad gateway")
    assert seen == [f"dial tcp 127.0.0.1:{port}: connect: connection refused"]


def test_without_hop_by_hop_drops_headers_named_by_connection() -> None:
    headers = [(b"Connection", b"Upgrade, X-A"), (b"Upgrade", b"websocket"), (b"X-A", b"1"), (b"X-B", b"2")]
    assert without_hop_by_hop(headers) == [(b"X-B", b"2")]


class WebSocketClient:
    """The ASGI side of a WebSocket: scripted client messages in, what the app sent out."""

    def __init__(self) -> None:
        self.incoming: asyncio.Queue[Message] = asyncio.Queue()
        self.sent: list[Message] = []
        self.changed = asyncio.Event()
        self.incoming.put_nowait({"type": "websocket.connect"})

    async def receive(self) -> Message:
        return await self.incoming.get()

    async def send(self, message: Message) -> None:
        self.sent.append(message)
        self.changed.set()

    async def wait_for(self, count: int) -> None:
        async with asyncio.timeout(10):
            while len(self.sent) < count:
                self.changed.clear()
                await self.changed.wait()


def _websocket_scope(path: str, subprotocols: list[str]) -> dict[str, Any]:
    return {"type": "websocket", "path": path, "query_string": b"", "headers": [], "subprotocols": subprotocols,
            "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", 6443)}


async def test_websocket_is_relayed_both_ways(backend: Backend) -> None:
    client = WebSocketClient()
    task = asyncio.ensure_future(forward(
        _websocket_scope("/ws", ["v4.channel.k8s.io", "chat"]), client.receive, client.send,
        url=f"http://127.0.0.1:{backend.port}/ws", headers=[(b"sec-websocket-key", b"client's")],
        ssl_context=None, allow_upgrade=True,
    ))
    await client.wait_for(1)
    assert client.sent[0] == {"type": "websocket.accept", "subprotocol": "v4.channel.k8s.io"}
    client.incoming.put_nowait({"type": "websocket.receive", "text": "hello"})
    await client.wait_for(2)
    client.incoming.put_nowait({"type": "websocket.receive", "bytes": b"\x00\x01" * 40000})
    await client.wait_for(3)
    client.incoming.put_nowait({"type": "websocket.disconnect", "code": 1000})
    async with asyncio.timeout(10):
        await task
    assert client.sent[1] == {"type": "websocket.send", "text": "echo:hello"}
    assert client.sent[2] == {"type": "websocket.send", "bytes": b"echo:" + b"\x00\x01" * 40000}


async def test_websocket_backend_close_closes_the_client(backend: Backend) -> None:
    client = WebSocketClient()
    task = asyncio.ensure_future(forward(
        _websocket_scope("/ws", []), client.receive, client.send, url=f"http://127.0.0.1:{backend.port}/ws",
        headers=[], ssl_context=None, allow_upgrade=True,
    ))
    await client.wait_for(1)
    assert client.sent[0] == {"type": "websocket.accept", "subprotocol": None}
    client.incoming.put_nowait({"type": "websocket.disconnect", "code": 4001})
    async with asyncio.timeout(10):
        await task


@pytest.mark.parametrize("allow_upgrade", [False, True], ids=["upgrade-not-allowed", "backend-unreachable"])
async def test_websocket_refused_before_accept(allow_upgrade: bool) -> None:
    client = WebSocketClient()
    await forward(_websocket_scope("/ws", []), client.receive, client.send,
                  url=f"http://127.0.0.1:{_closed_port()}/ws", headers=[], ssl_context=None,
                  allow_upgrade=allow_upgrade)
    assert client.sent == [{"type": "websocket.close", "code": 1008}]


async def test_websocket_to_a_backend_that_does_not_upgrade_is_refused(backend: Backend) -> None:
    client = WebSocketClient()
    await forward(_websocket_scope("/plain", []), client.receive, client.send,
                  url=f"http://127.0.0.1:{backend.port}/plain", headers=[], ssl_context=None, allow_upgrade=True)
    assert client.sent == [{"type": "websocket.close", "code": 1008}]


async def test_websocket_fragments_pings_and_close_codes_are_handled() -> None:
    pongs: list[bytes] = []

    async def scripted_backend(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await reader.readuntil(b"\r\n\r\n")
        key = next(line.split(b":", 1)[1].strip() for line in request.split(b"\r\n")
                   if line.lower().startswith(b"sec-websocket-key:"))
        accept = base64.b64encode(hashlib.sha1(key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())
        writer.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n")
        writer.write(encode_frame(0x9, b"are you there", mask=False))
        writer.write(b"\x01\x03hel" + b"\x80\x02lo")  # "hello" as a text frame and a final continuation
        await writer.drain()
        frames = FrameReader(reader)
        _, opcode, payload = await frames.next()
        if opcode == 0xA:
            pongs.append(payload)
        writer.write(encode_frame(0x8, struct.pack("!H", 4000), mask=False))
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(scripted_backend, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = WebSocketClient()
    try:
        async with asyncio.timeout(10):
            await forward(_websocket_scope("/", []), client.receive, client.send, url=f"http://127.0.0.1:{port}/",
                          headers=[], ssl_context=None, allow_upgrade=True)
    finally:
        server.close()
    assert client.sent == [
        {"type": "websocket.accept", "subprotocol": None},
        {"type": "websocket.send", "text": "hello"},
        {"type": "websocket.close", "code": 4000},
    ]
    assert pongs == [b"are you there"]


async def test_https_backend_is_verified_against_the_given_server_name() -> None:
    with WebhookServer(["svc.ns.svc"]) as server:
        server.routes["/apis/x"] = lambda recorded: {"seen": recorded.body}
        context = ssl.create_default_context(cadata=server.ca_pem.decode())
        headers = [(b"content-type", b"application/json")]
        verified = await _forward(server.url("/apis/x"), method="POST", headers=headers, body_parts=(b'{"a":1}',),
                                  ssl_context=context, server_hostname="svc.ns.svc")
        assert (verified.status, json.loads(verified.body)) == (200, {"seen": {"a": 1}})
        refused = await _forward(server.url("/apis/x"), method="POST", headers=headers, body_parts=(b"{}",),
                                 ssl_context=context, server_hostname="other.ns.svc")
        assert refused.status == 503
        assert json.loads(refused.body)["message"].startswith(
            "error trying to reach service: tls: failed to verify certificate: ")
        assert len(server.recorded("/apis/x")) == 1
