"""WebSocket handshake headers one value per header line, as HTTP requests get them (and as Go's net/http reads them).

Daphne hands a WebSocket handshake to autobahn by writing the request out again with each header's values
joined by ",", and autobahn joins repeated lines with ", " once more, so the scope of a WebSocket gets one
`X-Remote-Group: a,b` where the client sent two headers. For a front proxy that is a different identity (one
group "a,b"), and no splitting afterwards could be right, since a group name may contain a comma.

The Twisted request still has every line: `remember_handshake_headers` keeps them, keyed by the connection's
transport, when the request asks for a WebSocket upgrade, and `handshake_headers` hands them to the WebSocket
scope built on that same transport (the upgrade runs synchronously within the request's processing). Header
names are filtered as Daphne filters them (names with "_" and `Daphne-Root-Path` never reach the app).
"""
from __future__ import annotations

import weakref
from typing import Any

_ROOT_PATH_HEADER = b"daphne-root-path"
_pending: weakref.WeakKeyDictionary[Any, list[tuple[bytes, bytes]]] = weakref.WeakKeyDictionary()


def scope_headers(raw_headers: Any) -> list[tuple[bytes, bytes]]:
    """Twisted's `getAllRawHeaders()` as ASGI scope headers: lower-case names, one entry per value."""
    return [(name.lower(), value) for name, values in raw_headers
            if b"_" not in name and name.lower() != _ROOT_PATH_HEADER for value in values]


def remember_handshake_headers(request: Any) -> None:
    """Keep the header lines of a request that asks for a WebSocket upgrade, for the scope of that WebSocket."""
    upgrade = request.requestHeaders.getRawHeaders(b"upgrade") or [b""]
    transport = getattr(request, "transport", None)
    if upgrade[0].lower() != b"websocket" or transport is None:
        return
    try:
        _pending[transport] = scope_headers(request.requestHeaders.getAllRawHeaders())
    except TypeError:  # a transport that cannot be weakly referenced: leave Daphne's headers
        return


def handshake_headers(protocol: Any) -> list[tuple[bytes, bytes]] | None:
    """The header lines remembered for the WebSocket `protocol`'s connection (once), or None."""
    transport = getattr(protocol, "transport", None)
    if transport is None:
        return None
    try:
        return _pending.pop(transport, None)
    except TypeError:
        return None
