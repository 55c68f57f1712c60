"""Watch over a WebSocket upgrade, as browsers use it, through the live server (TLS, client certificate)."""
from __future__ import annotations

import base64
import json
import os
import socket
import struct

import pytest

from tests.support.server import ServerProcess

pytestmark = pytest.mark.slow


def _open_websocket(server: ServerProcess, path: str, *, origin: str | None) -> tuple[socket.socket, bytes]:
    """The raw handshake (RFC 6455); returns the socket and the HTTP answer head."""
    raw = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    connection = server.ssl_context(client_cert=True).wrap_socket(raw, server_hostname="127.0.0.1")
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{server.port}", "Upgrade: websocket",
             "Connection: Upgrade", f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]
    if origin is not None:
        lines.append(f"Origin: {origin}")
    connection.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = connection.recv(1)
        if not chunk:
            break
        head += chunk
    return connection, head


def _read_exact(connection: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = connection.recv(size - len(data))
        assert chunk, "connection closed"
        data += chunk
    return data


def _read_frame(connection: socket.socket) -> tuple[int, bytes]:
    first, second = _read_exact(connection, 2)
    length = second & 0x7F
    if length == 126:
        length = struct.unpack(">H", _read_exact(connection, 2))[0]
    elif length == 127:
        length = struct.unpack(">Q", _read_exact(connection, 8))[0]
    return first & 0x0F, _read_exact(connection, length)


def test_a_watch_over_a_websocket_sends_one_text_message_per_event(server: ServerProcess) -> None:
    path = "/api/v1/namespaces/default/configmaps?watch=true&fieldSelector=metadata.name%3Dws-watched"
    connection, head = _open_websocket(server, path, origin="https://console.example")
    try:
        assert head.startswith(b"HTTP/1.1 101"), head
        body = json.dumps({"metadata": {"name": "ws-watched"}, "data": {"a": "1"}}).encode()
        status, _, _ = server.request("POST", "/api/v1/namespaces/default/configmaps", client_cert=True, body=body,
                                      headers={"Content-Type": "application/json"})
        assert status == 201
        opcode, payload = _read_frame(connection)
        assert opcode == 0x1  # text
        event = json.loads(payload)
        assert (event["type"], event["object"]["metadata"]["name"]) == ("ADDED", "ws-watched")
    finally:
        connection.close()
        server.request("DELETE", "/api/v1/namespaces/default/configmaps/ws-watched", client_cert=True)


def test_a_websocket_watch_without_origin_is_refused(server: ServerProcess) -> None:
    connection, head = _open_websocket(server, "/api/v1/namespaces/default/configmaps?watch=true", origin=None)
    connection.close()
    assert head.startswith(b"HTTP/1.1 403"), head
