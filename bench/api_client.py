"""A lean HTTP/1.1 client for the API benchmarks: asyncio streams over TLS, keep-alive, the admin client cert.

httpx costs several hundred µs of client CPU per request; on a 2-vCPU box the load generator would then take
the CPU the server needs and the benchmark would measure the client. This client does only what the
benchmarks need: one request at a time per connection, a body by Content-Length or chunked, and the lines of
a chunked watch stream. No redirects, no retries; a status other than the expected one is an error.
"""
from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass

STREAM_LIMIT = 1 << 20
HEADER_END = b"\r\n\r\n"


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where the server listens and the files a client needs (CA, admin client certificate and key)."""

    host: str
    port: int
    ca_file: str
    cert_file: str
    key_file: str

    def ssl_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self.ca_file)
        context.load_cert_chain(self.cert_file, self.key_file)
        context.set_alpn_protocols(["http/1.1"])
        return context


class HttpError(Exception):
    """An unexpected status; carries the start of the body for the report."""

    def __init__(self, status: int, body: bytes) -> None:
        super().__init__(f"HTTP {status}: {body[:200]!r}")
        self.status = status


class Connection:
    """One keep-alive HTTPS connection; one request at a time."""

    def __init__(self, endpoint: Endpoint, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._host = f"{endpoint.host}:{endpoint.port}".encode()
        self._reader = reader
        self._writer = writer

    @classmethod
    async def open(cls, endpoint: Endpoint, context: ssl.SSLContext | None = None) -> Connection:
        reader, writer = await asyncio.open_connection(
            endpoint.host, endpoint.port, ssl=context or endpoint.ssl_context(), server_hostname=endpoint.host,
            limit=STREAM_LIMIT,
        )
        return cls(endpoint, reader, writer)

    def _send(self, method: str, path: str, body: bytes) -> None:
        head = b"%s %s HTTP/1.1\r\nHost: %s\r\nAccept: application/json\r\n" % (
            method.encode(), path.encode(), self._host)
        if body or method in ("POST", "PUT", "PATCH"):
            head += b"Content-Type: application/json\r\nContent-Length: %d\r\n" % len(body)
        self._writer.write(head + b"\r\n" + body)

    async def _head(self) -> tuple[int, bytes]:
        head = await self._reader.readuntil(HEADER_END)
        return int(head[9:12]), head.lower()

    async def request(self, method: str, path: str, body: bytes = b"", expect: int = 200) -> bytes:
        """Send one request and read the whole response body; raises HttpError on another status."""
        self._send(method, path, body)
        status, head = await self._head()
        if b"transfer-encoding: chunked" in head:
            payload = b"".join([chunk async for chunk in self._chunks()])
        else:
            start = head.find(b"content-length:")
            length = int(head[start + 15 : head.index(b"\r\n", start)]) if start >= 0 else 0
            payload = await self._reader.readexactly(length)
        if status != expect:
            raise HttpError(status, payload)
        return payload

    async def _chunks(self) -> AsyncIterator[bytes]:
        while True:
            size_line = await self._reader.readuntil(b"\r\n")
            size = int(size_line.split(b";", 1)[0], 16)
            chunk = await self._reader.readexactly(size + 2)
            if size == 0:
                return
            yield chunk[:-2]

    async def start_stream(self, path: str) -> None:
        """GET a chunked stream (a watch) and read its headers: the server sends them once the watch is open."""
        self._send("GET", path, b"")
        status, head = await self._head()
        if status != 200 or b"transfer-encoding: chunked" not in head:
            raise HttpError(status, head)

    async def stream_lines(self) -> AsyncIterator[bytes]:
        """The lines of the stream `start_stream` opened, as they arrive, without the newline."""
        pending = b""
        async for chunk in self._chunks():
            pending += chunk
            if b"\n" not in chunk:
                continue
            *complete, pending = pending.split(b"\n")
            for line in complete:
                yield line

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(OSError, ssl.SSLError):  # the server may have gone first; nothing left to release
            await self._writer.wait_closed()


async def open_connections(endpoint: Endpoint, count: int) -> list[Connection]:
    """`count` connections sharing one SSL context (loading the key once), opened a few at a time."""
    context = endpoint.ssl_context()
    slots = asyncio.Semaphore(16)

    async def one() -> Connection:
        async with slots:
            return await Connection.open(endpoint, context)

    return list(await asyncio.gather(*(one() for _ in range(count))))
