"""Batching: watch events gathered over a short window and sent as one message.

At 500 events a second a message per event would make the page re-render 500 times a second; one message per
~100 ms window keeps it responsive. Within a window only the latest event of each object (by uid) is kept: the page
shows the object's current row, so an ADDED followed by MODIFIED is sent once as the MODIFIED row, and an object
created and deleted within one window is sent as DELETED (the page ignores removing a row it never showed).
"""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

Emit = Callable[[dict[str, Any]], Awaitable[None]]
WINDOW = 0.1


class Batcher:
    """Collects events and BOOKMARK resourceVersions; `emit` gets one `events` message per window.

    The owner must `await close()` (which sends what is pending) or `cancel()`; `flush()` sends now, so a message
    that must come after the pending events (relist, error) keeps its order.
    """

    def __init__(self, emit: Emit, window: float = WINDOW) -> None:
        self._emit = emit
        self._window = window
        self._events: dict[str, dict[str, Any]] = {}
        self._resource_version = ""
        self._pending = False
        self._timer: asyncio.Task[None] | None = None
        self._sleeping = False
        self._lock = asyncio.Lock()

    def add(self, event_type: str, row: dict[str, Any]) -> None:
        key = row.get("uid") or f"{row.get('namespace')}/{row.get('name')}"
        self._events.pop(key, None)  # the latest event of an object goes last, replacing earlier ones
        self._events[key] = {"type": event_type, "object": row}
        self.advance(str(row.get("resourceVersion") or ""))

    def advance(self, resource_version: str) -> None:
        """A newer resourceVersion (of an event, or a BOOKMARK) to send with the next batch."""
        if resource_version:
            self._resource_version = resource_version
        self._pending = True
        if self._timer is None or self._timer.done():
            self._timer = asyncio.create_task(self._flush_later())

    async def _flush_later(self) -> None:
        self._sleeping = True
        try:
            await asyncio.sleep(self._window)
        finally:
            self._sleeping = False
        await self.flush()

    async def flush(self) -> None:
        async with self._lock:
            if not self._pending:
                return
            events, self._events, self._pending = list(self._events.values()), {}, False
            await self._emit({"type": "events", "events": events, "resourceVersion": self._resource_version})

    async def close(self) -> None:
        """Send what is pending now (a flush already under way is let finish, never cut mid-message)."""
        timer, self._timer = self._timer, None
        if timer is not None and not timer.done():
            if self._sleeping:
                timer.cancel()
            await asyncio.wait({timer})
        await self.flush()

    def cancel(self) -> None:
        """Drop what is pending (the socket is gone)."""
        timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
        self._events.clear()
        self._pending = False
