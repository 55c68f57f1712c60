"""Relaying a WebSocket between an ASGI client connection and a backend, for the HTTP forwarder.

Upstream's UpgradeAwareHandler copies raw bytes both ways once the backend has answered 101. Behind ASGI the
server has already done the client's handshake and hands the app messages, not bytes, so the relay does its own
handshake with the backend (the client's subprotocols offered, the backend's choice accepted to the client) and
then carries every message across: text and binary messages both ways, pings answered, the close code passed on.
Compression extensions are not offered to the backend, so frames are never compressed on that side.
"""
from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import ssl
import struct
from collections.abc import Sequence
from urllib.parse import urlsplit

import h11

from apiserver.http.asgi import Receive, Scope, Send

DIAL_TIMEOUT = 30.0  # as the HTTP forwarder's (Go's default dialer)
_ACCEPT_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_CONTINUATION, _TEXT, _BINARY, _CLOSE, _PING, _PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
_NORMAL_CLOSURE = 1000
_NO_STATUS = 1005


class HandshakeRefused(Exception):
    """The backend did not switch protocols."""


async def relay_websocket(
    scope: Scope, receive: Receive, send: Send, *, url: str, headers: Sequence[tuple[bytes, bytes]],
    ssl_context: ssl.SSLContext | None, server_hostname: str | None, timeout: float | None,
) -> None:
    """Accept the client once the backend has accepted, then relay until either side closes.

    A backend that cannot be reached or refuses the upgrade makes the client's handshake fail (closed before
    accept: the ASGI server answers 403).
    """
    if (await receive())["type"] != "websocket.connect":
        return
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await _open(url, ssl_context, server_hostname)
            try:
                subprotocol, leftover = await _handshake(reader, writer, url, headers, scope.get("subprotocols"))
            except BaseException:
                writer.close()
                raise
    except (OSError, TimeoutError, HandshakeRefused, h11.ProtocolError):
        await send({"type": "websocket.close", "code": 1008})
        return
    await send({"type": "websocket.accept", "subprotocol": subprotocol})
    frames = FrameReader(reader, leftover)
    upward = asyncio.ensure_future(_client_to_backend(receive, writer))
    downward = asyncio.ensure_future(_backend_to_client(frames, writer, send))
    try:
        await asyncio.wait((upward, downward), return_when=asyncio.FIRST_COMPLETED)
    finally:
        upward.cancel()
        downward.cancel()
        await asyncio.gather(upward, downward, return_exceptions=True)
        writer.close()


async def _open(
    url: str, ssl_context: ssl.SSLContext | None, server_hostname: str | None,
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    parts = urlsplit(url)
    secure = parts.scheme in ("https", "wss")
    port = parts.port or (443 if secure else 80)
    async with asyncio.timeout(DIAL_TIMEOUT):
        if not secure:
            return await asyncio.open_connection(parts.hostname, port)
        context = ssl_context if ssl_context is not None else ssl.create_default_context()
        return await asyncio.open_connection(
            parts.hostname, port, ssl=context, server_hostname=server_hostname or parts.hostname,
        )


async def _handshake(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, url: str,
    headers: Sequence[tuple[bytes, bytes]], subprotocols: Sequence[str] | None,
) -> tuple[str | None, bytes]:
    """The backend's chosen subprotocol and the bytes it sent after its 101."""
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    key = base64.b64encode(os.urandom(16))
    sent = [(name, value) for name, value in headers if not name.lower().startswith(b"sec-websocket-")]
    if not any(name.lower() == b"host" for name, _ in sent):
        sent.insert(0, (b"host", parts.netloc.encode()))
    sent += [(b"upgrade", b"websocket"), (b"connection", b"Upgrade"), (b"sec-websocket-key", key),
             (b"sec-websocket-version", b"13")]
    if subprotocols:
        sent.append((b"sec-websocket-protocol", ", ".join(subprotocols).encode()))
    connection = h11.Connection(h11.CLIENT)
    writer.write(connection.send(h11.Request(method="GET", target=target, headers=sent)))
    await writer.drain()
    while True:
        event = connection.next_event()
        if event is h11.NEED_DATA:
            data = await reader.read(65536)
            connection.receive_data(data)
            if not data:
                raise HandshakeRefused("backend closed the connection")
            continue
        if isinstance(event, h11.InformationalResponse) and event.status_code == 101:
            return _accepted(event.headers, key), connection.trailing_data[0]
        if isinstance(event, h11.Response | h11.InformationalResponse | h11.ConnectionClosed):
            raise HandshakeRefused(f"backend answered {getattr(event, 'status_code', 'nothing')}")


def _accepted(headers: Sequence[tuple[bytes, bytes]], key: bytes) -> str | None:
    values = {name.lower(): value for name, value in headers}
    expected = base64.b64encode(hashlib.sha1(key + _ACCEPT_GUID).digest())
    if values.get(b"sec-websocket-accept") != expected:
        raise HandshakeRefused("bad Sec-WebSocket-Accept")
    protocol = values.get(b"sec-websocket-protocol")
    return protocol.decode() if protocol else None


async def _client_to_backend(receive: Receive, writer: asyncio.StreamWriter) -> None:
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            code = message.get("code", _NORMAL_CLOSURE)
            payload = struct.pack("!H", code) if code not in (_NO_STATUS, 1006) else b""
            writer.write(encode_frame(_CLOSE, payload, mask=True))
            await writer.drain()
            return
        if message["type"] != "websocket.receive":
            continue
        if message.get("text") is not None:
            writer.write(encode_frame(_TEXT, message["text"].encode(), mask=True))
        else:
            writer.write(encode_frame(_BINARY, message.get("bytes") or b"", mask=True))
        await writer.drain()


async def _backend_to_client(frames: FrameReader, writer: asyncio.StreamWriter, send: Send) -> None:
    pending: list[bytes] = []
    kind = _BINARY
    while True:
        try:
            fin, opcode, payload = await frames.next()
        except (asyncio.IncompleteReadError, ConnectionError):
            await send({"type": "websocket.close", "code": _NORMAL_CLOSURE})
            return
        if opcode == _PING:
            writer.write(encode_frame(_PONG, payload, mask=True))
            await writer.drain()
        elif opcode == _CLOSE:
            code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else _NORMAL_CLOSURE
            writer.write(encode_frame(_CLOSE, payload[:2], mask=True))
            await send({"type": "websocket.close", "code": code})
            return
        elif opcode in (_TEXT, _BINARY, _CONTINUATION):
            if opcode != _CONTINUATION:
                kind, pending = opcode, []
            pending.append(payload)
            if fin:
                data = b"".join(pending)
                content = {"text": data.decode()} if kind == _TEXT else {"bytes": data}
                await send({"type": "websocket.send", **content})


def encode_frame(opcode: int, payload: bytes, *, mask: bool) -> bytes:
    """One final frame (RFC 6455 §5.2); clients must mask what they send."""
    length = len(payload)
    if length < 126:
        header = struct.pack("!BB", 0x80 | opcode, (0x80 if mask else 0) | length)
    elif length < 1 << 16:
        header = struct.pack("!BBH", 0x80 | opcode, (0x80 if mask else 0) | 126, length)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, (0x80 if mask else 0) | 127, length)
    if not mask:
        return header + payload
    key = os.urandom(4)
    return header + key + _apply_mask(payload, key)


def _apply_mask(payload: bytes, key: bytes) -> bytes:
    repeated = (key * (len(payload) // 4 + 1))[:len(payload)]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(len(payload), "big")


class FrameReader:
    """Reads frames from a stream, starting with bytes already read past the handshake."""

    def __init__(self, reader: asyncio.StreamReader, leftover: bytes = b"") -> None:
        self._reader = reader
        self._buffer = bytearray(leftover)

    async def _read(self, size: int) -> bytes:
        while len(self._buffer) < size:
            chunk = await self._reader.read(65536)
            if not chunk:
                raise asyncio.IncompleteReadError(bytes(self._buffer), size)
            self._buffer += chunk
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    async def next(self) -> tuple[bool, int, bytes]:
        """(final, opcode, unmasked payload) of the next frame."""
        first, second = await self._read(2)
        length = second & 0x7F
        if length == 126:
            length = struct.unpack("!H", await self._read(2))[0]
        elif length == 127:
            length = struct.unpack("!Q", await self._read(8))[0]
        key = await self._read(4) if second & 0x80 else b""
        payload = await self._read(length)
        return bool(first & 0x80), first & 0x0F, _apply_mask(payload, key) if key else payload
