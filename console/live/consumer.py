"""The Channels consumer behind /console/ws/watch: the logged-in user's watch, relayed to the page.

Identity: the socket carries the console's session cookie (scoped to /console/, so it rides on the upgrade); the
consumer loads that same server-side session and rebuilds the credential and transport exactly as console pages
do (`console.session.current_session`), so the watch is authenticated, authorized and audited as the user. The
Origin check (console.security.OriginCheck) runs before this consumer, at the composition root.

Timeouts: an open socket is not user activity, so it never refreshes the session's idle clock; the consumer
re-reads the session when it would expire (and every RECHECK seconds, to notice a logout) and closes the socket
with 1008 (policy violation) once the session is gone. A socket without a live session is closed the same way
right after the handshake, so the page can tell "log in again" from a network drop.
"""
from __future__ import annotations

import asyncio
import time
from importlib import import_module
from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.http.cookie import parse_cookie

from console.live.protocol import ProtocolError, parse_watch
from console.live.relay import WatchRelay, table_stream
from console.session import SESSION_KEY, ConsoleSession, current_session

POLICY_VIOLATION = 1008
RECHECK = 10.0


class _SocketSession:
    """A session store as `current_session` uses it, except that it never refreshes `seen_at`."""

    def __init__(self, store: Any) -> None:
        self._store = store
        self.data: dict[str, Any] = {}

    async def aget(self, key: str, default: Any = None) -> Any:
        value = await self._store.aget(key, default)
        if key == SESSION_KEY and isinstance(value, dict):
            self.data = value
        return value

    async def aset(self, key: str, value: Any) -> None:
        """Ignored: a socket is not a request by the user (see the module docstring)."""

    async def aflush(self) -> None:
        await self._store.aflush()


class _SocketRequest:
    """What `current_session` reads of a request: the session and the client address."""

    def __init__(self, session: _SocketSession, address: str) -> None:
        self.session = session
        self.META = {"REMOTE_ADDR": address}


async def load_session(scope: dict[str, Any]) -> tuple[ConsoleSession | None, float]:
    """The socket's live session (or None) and when it would next expire (epoch seconds)."""
    headers = {bytes(name).lower(): bytes(value) for name, value in scope.get("headers") or ()}
    cookies = parse_cookie(headers.get(b"cookie", b"").decode("latin-1"))
    key = cookies.get(settings.SESSION_COOKIE_NAME)
    if not key:
        return None, 0.0
    store = import_module(settings.SESSION_ENGINE).SessionStore(key)
    socket_session = _SocketSession(store)
    client = scope.get("client") or ("127.0.0.1", 0)
    session = await current_session(_SocketRequest(socket_session, str(client[0])))  # type: ignore[arg-type]
    data = socket_session.data
    expires = min(float(data.get("seen_at") or 0) + settings.CONSOLE_SESSION_IDLE_TIMEOUT,
                  float(data.get("logged_in_at") or 0) + settings.CONSOLE_SESSION_ABSOLUTE_TIMEOUT)
    return session, expires


class WatchConsumer(AsyncJsonWebsocketConsumer):  # type: ignore[misc]
    """One socket: at most one watch at a time (a new `watch` message replaces it)."""

    window = 0.1  # seconds of events per batch
    timeout_seconds: int | None = None  # asks the API to end each watch after this long (tests)
    recheck = RECHECK

    async def connect(self) -> None:
        self.relay_task: asyncio.Task[None] | None = None
        self.session, expires = await load_session(self.scope)
        await self.accept()
        if self.session is None:
            await self.close(code=POLICY_VIOLATION, reason="no console session: log in again")
            return
        self.guard_task: asyncio.Task[None] | None = asyncio.create_task(self._guard_session(expires))

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if self.session is None:
            return
        action = content.get("action") if isinstance(content, dict) else None
        if action == "stop":
            await self._stop_relay()
            return
        if action != "watch":
            await self.send_json({"type": "error", "code": 400, "reason": "BadRequest",
                                  "message": "action must be watch or stop"})
            return
        try:
            request = parse_watch(content)
        except ProtocolError as error:
            await self.send_json({"type": "error", "code": 400, "reason": "BadRequest", "message": str(error)})
            return
        await self._stop_relay()
        relay = WatchRelay(table_stream(self.session.transport), request, self.send_json, window=self.window,
                           timeout_seconds=self.timeout_seconds)
        self.relay_task = asyncio.create_task(relay.run())

    async def decode_json(self, text_data: str) -> Any:
        try:
            return await super().decode_json(text_data)
        except ValueError:
            return None

    async def disconnect(self, code: int) -> None:
        await self._stop_relay()
        guard = getattr(self, "guard_task", None)
        if guard is not None and guard is not asyncio.current_task():
            guard.cancel()
            await asyncio.gather(guard, return_exceptions=True)

    async def _stop_relay(self) -> None:
        task, self.relay_task = getattr(self, "relay_task", None), None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _guard_session(self, expires: float) -> None:
        """Close the socket when the session ends (timeout or logout)."""
        while True:
            await asyncio.sleep(max(0.05, min(self.recheck, expires - time.time() + 0.05)))
            session, expires = await load_session(self.scope)
            if session is None:
                await self._stop_relay()
                await self.close(code=POLICY_VIOLATION, reason="the console session has ended")
                return
