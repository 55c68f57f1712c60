"""Calling an ASGI app in memory: a scope, a scripted receive channel, and a recorder for what is sent."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import h11

from apiserver.http.asgi import ASGIApp, Message, Scope


def http_scope(
    method: str = "GET", path: str = "/", query: bytes = b"", headers: Sequence[tuple[bytes, bytes]] = (),
    raw_path: bytes | None = None,
) -> Scope:
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
        "path": path, "raw_path": path.encode() if raw_path is None else raw_path, "query_string": query,
        "root_path": "", "headers": list(headers), "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", 6443),
    }


class Client:
    """The client's side of one connection: request body parts first, then `http.disconnect` on demand."""

    def __init__(self, body_parts: Sequence[bytes] = (b"",)) -> None:
        self._messages: asyncio.Queue[Message] = asyncio.Queue()
        for index, part in enumerate(body_parts):
            self._messages.put_nowait(
                {"type": "http.request", "body": part, "more_body": index < len(body_parts) - 1}
            )

    def disconnect(self) -> None:
        self._messages.put_nowait({"type": "http.disconnect"})

    async def receive(self) -> Message:
        return await self._messages.get()


@dataclass
class Response:
    """What the app sent. `complete` is True once a body message without `more_body` arrived."""

    messages: list[Message] = field(default_factory=list)
    body_event: asyncio.Event = field(default_factory=asyncio.Event)

    async def send(self, message: Message) -> None:
        self.messages.append(message)
        if message["type"] == "http.response.body":
            self.body_event.set()

    @property
    def status(self) -> int | None:
        starts = [m for m in self.messages if m["type"] == "http.response.start"]
        return starts[0]["status"] if starts else None

    @property
    def headers(self) -> list[tuple[bytes, bytes]]:
        starts = [m for m in self.messages if m["type"] == "http.response.start"]
        return [tuple(header) for header in starts[0]["headers"]] if starts else []

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.messages if m["type"] == "http.response.body")

    @property
    def complete(self) -> bool:
        return any(m["type"] == "http.response.body" and not m.get("more_body", False) for m in self.messages)


async def call(app: ASGIApp, scope: Scope | None = None, client: Client | None = None, **scope_args: Any) -> Response:
    response = Response()
    await app(scope if scope is not None else http_scope(**scope_args), (client or Client()).receive, response.send)
    return response


@asynccontextmanager
async def serve_over_http(app: ASGIApp) -> AsyncIterator[str]:
    """Serve `app` on a loopback port over plain HTTP/1.1 (keep-alive, whole bodies) for real clients.

    Yields the base URL. Just enough server for kubectl and the Python client to talk to an app in tests.
    """
    connections: set[asyncio.Task[None]] = set()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        connections.add(task)
        try:
            await _serve_connection(app, reader, writer)
        finally:
            connections.discard(task)
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()
        for task in list(connections):
            task.cancel()
        await asyncio.gather(*connections, return_exceptions=True)
        await server.wait_closed()


async def _serve_connection(app: ASGIApp, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    connection = h11.Connection(h11.SERVER)
    while True:
        event = await _next_event(connection, reader)
        if not isinstance(event, h11.Request):
            return
        body = b""
        while not isinstance(part := await _next_event(connection, reader), h11.EndOfMessage):
            if isinstance(part, h11.Data):
                body += part.data
        path, _, query = event.target.partition(b"?")
        scope = http_scope(event.method.decode(), unquote(path.decode()), query=query, headers=event.headers,
                           raw_path=path)
        response = await call(app, scope=scope, client=Client([body]))
        writer.write(connection.send(h11.Response(status_code=response.status or 500, headers=response.headers)))
        writer.write(connection.send(h11.Data(data=response.body)))
        writer.write(connection.send(h11.EndOfMessage()))
        await writer.drain()
        if connection.our_state is h11.MUST_CLOSE:
            return
        connection.start_next_cycle()


async def _next_event(connection: h11.Connection, reader: asyncio.StreamReader) -> Any:
    while (event := connection.next_event()) is h11.NEED_DATA:
        connection.receive_data(await reader.read(65536))
    return event
