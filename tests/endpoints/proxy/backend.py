"""A small HTTP/1.1 + WebSocket backend for proxy tests, on its own thread and event loop.

Routes (any method):
- `/redirect` answers 302 with `Location: <query "to" or /target>`;
- `/stream` sends `first` chunk, waits until the test sets `release`, then sends `second` (chunked);
- `/hop` answers with hop-by-hop headers (`Connection: x-private`, `X-Private`, `Keep-Alive`) and CORS headers;
- `/html` answers `text/html` with a link to `/docs`;
- `/ws` (with `Upgrade: websocket`) echoes every message, binary or text, prefixed with `echo:`;
- everything else answers 200 with a JSON echo of method, target, headers (lower-cased) and body.
"""
from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import h11

from apiserver.http.websocket_relay import FrameReader, encode_frame

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class Backend:
    """Runs until `stop()`; `port` is where it listens; `requests` records (method, target) seen."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = 0
        self.requests: list[tuple[str, str]] = []
        self.release = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._server: asyncio.Server | None = None

    def start(self) -> Backend:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("backend did not start")
        return self

    def stop(self) -> None:
        self.release.set()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._handle, self.host, 0, family=family)
        )
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()
        self._server.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await self._serve(reader, writer)
        except (ConnectionError, h11.ProtocolError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection = h11.Connection(h11.SERVER)
        first = await reader.read(65536)
        if first.startswith(b"\x16"):  # a TLS handshake: this backend speaks plain HTTP only, hang up at once
            return
        connection.receive_data(first)
        while True:
            event = await _next_event(connection, reader)
            if not isinstance(event, h11.Request):
                return
            body = b""
            while not isinstance(part := await _next_event(connection, reader), h11.EndOfMessage):
                if isinstance(part, h11.Data):
                    body += part.data
            target = event.target.decode()
            self.requests.append((event.method.decode(), target))
            headers = [(name.decode().lower(), value.decode()) for name, value in event.headers]
            path = target.partition("?")[0]
            if path.endswith("/ws") and any(name == "upgrade" for name, _ in headers):
                await self._websocket(connection, reader, writer, dict(headers))
                return
            await self._answer(connection, writer, event.method.decode(), target, headers, body)
            if connection.our_state is h11.MUST_CLOSE:
                return
            connection.start_next_cycle()

    async def _answer(
        self, connection: h11.Connection, writer: asyncio.StreamWriter, method: str, target: str,
        headers: list[tuple[str, str]], body: bytes,
    ) -> None:
        path, _, query = target.partition("?")
        if path.endswith("/redirect"):
            to = query.partition("to=")[2] or "/target"
            return await _whole(connection, writer, 302, [("location", to)], b"moved")
        if path.endswith("/stream"):
            writer.write(connection.send(h11.Response(status_code=200, headers=[("content-type", "text/plain")])))
            writer.write(connection.send(h11.Data(data=b"first\n")))
            await writer.drain()
            await asyncio.to_thread(self.release.wait, 30)
            writer.write(connection.send(h11.Data(data=b"second\n")))
            writer.write(connection.send(h11.EndOfMessage()))
            return await writer.drain()
        if path.endswith("/hop"):
            extra = [("connection", "x-private"), ("x-private", "secret"), ("keep-alive", "timeout=5"),
                     ("x-public", "yes"), ("access-control-allow-origin", "*")]
            return await _whole(connection, writer, 200, extra, b"hop")
        if path.endswith("/html"):
            page = b'<a HREF="/docs">d</a><p>hi</p>'
            return await _whole(connection, writer, 200, [("content-type", "text/html")], page)
        echo = {"method": method, "target": target, "headers": headers, "body": body.decode(errors="replace")}
        await _whole(connection, writer, 200, [("content-type", "application/json")], json.dumps(echo).encode())

    async def _websocket(
        self, connection: h11.Connection, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
        headers: dict[str, str],
    ) -> None:
        accept = base64.b64encode(hashlib.sha1(headers["sec-websocket-key"].encode() + _GUID).digest())
        answer = [("upgrade", "websocket"), ("connection", "Upgrade"), ("sec-websocket-accept", accept.decode())]
        if "sec-websocket-protocol" in headers:
            answer.append(("sec-websocket-protocol", headers["sec-websocket-protocol"].split(",")[0].strip()))
        writer.write(connection.send(h11.InformationalResponse(status_code=101, headers=answer)))
        await writer.drain()
        frames = FrameReader(reader, connection.trailing_data[0])
        while True:
            _, opcode, payload = await frames.next()
            if opcode == 0x8:
                writer.write(encode_frame(0x8, payload[:2], mask=False))
                await writer.drain()
                return
            if opcode in (0x1, 0x2):
                writer.write(encode_frame(opcode, b"echo:" + payload, mask=False))
                await writer.drain()


async def _whole(
    connection: h11.Connection, writer: asyncio.StreamWriter, status: int, headers: list[tuple[str, str]],
    body: bytes,
) -> None:
    headers = [*headers, ("content-length", str(len(body)))]
    writer.write(connection.send(h11.Response(status_code=status, headers=headers)))
    writer.write(connection.send(h11.Data(data=body)))
    writer.write(connection.send(h11.EndOfMessage()))
    await writer.drain()


async def _next_event(connection: h11.Connection, reader: asyncio.StreamReader) -> Any:
    while (event := connection.next_event()) is h11.NEED_DATA:
        connection.receive_data(await reader.read(65536))
    return event


@contextmanager
def running_backend(host: str = "127.0.0.1") -> Iterator[Backend]:
    backend = Backend(host).start()
    try:
        yield backend
    finally:
        backend.stop()


def close_frame(code: int) -> bytes:
    return struct.pack("!H", code)
