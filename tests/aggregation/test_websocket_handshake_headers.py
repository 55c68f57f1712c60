"""WebSocket handshakes keep one scope header per header line, so a front proxy's repeated X-Remote-Group headers
stay separate groups (Daphne joins them with "," for autobahn)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from twisted.web.http_headers import Headers

from apiserver.server.websocket_headers import handshake_headers, remember_handshake_headers


class _Transport:
    """Stands for the connection's transport (weakly referenceable, as Twisted's are)."""


@dataclass
class _Request:
    requestHeaders: Headers  # Twisted's attribute name
    transport: Any = field(default_factory=_Transport)


@dataclass
class _Protocol:
    transport: Any


def _headers(*lines: tuple[bytes, bytes]) -> Headers:
    headers = Headers()
    for name, value in lines:
        headers.addRawHeader(name, value)
    return headers


def test_repeated_headers_of_an_upgrade_stay_separate_for_its_websocket() -> None:
    request = _Request(_headers((b"Upgrade", b"websocket"), (b"X-Remote-User", b"kubernetes-admin"),
                                (b"X-Remote-Group", b"system:masters"), (b"X-Remote-Group", b"a, b"),
                                (b"X_Smuggled", b"x"), (b"Daphne-Root-Path", b"/x")))
    remember_handshake_headers(request)
    assert handshake_headers(_Protocol(request.transport)) == [
        (b"upgrade", b"websocket"), (b"x-remote-user", b"kubernetes-admin"),
        (b"x-remote-group", b"system:masters"), (b"x-remote-group", b"a, b")]
    assert handshake_headers(_Protocol(request.transport)) is None  # handed over once


def test_plain_requests_and_other_connections_are_left_alone() -> None:
    plain = _Request(_headers((b"X-Remote-Group", b"a"), (b"X-Remote-Group", b"b")))
    remember_handshake_headers(plain)
    assert handshake_headers(_Protocol(plain.transport)) is None
    upgrade = _Request(_headers((b"Upgrade", b"WebSocket")))
    remember_handshake_headers(upgrade)
    assert handshake_headers(_Protocol(_Transport())) is None
    assert handshake_headers(_Protocol(None)) is None
