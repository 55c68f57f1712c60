"""One watch relayed to a page: opened through the user's transport, re-opened from the last resourceVersion.

The watch asks for Table rows (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`): each event's object is a
one-row Table (column definitions only in the first), so the page gets exactly the cells `kubectl get` prints.

Resuming: the relay remembers the resourceVersion of the last event or BOOKMARK it handed to the batcher; when
the API ends the watch (its timeout, a server restart), the next watch starts after that resourceVersion, so the
page gets no duplicate and misses nothing. A 410 (an ERROR event with code 410, or a watch that cannot start
because the resourceVersion is too old) ends the relay with `relist`; any other refusal (403, 404, 400) ends it
with the API's own Status as an `error`. Failures of the transport itself are retried with backoff.
"""
from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

import orjson

from apiserver.client.transports import Transport
from console.live.batching import Batcher, Emit
from console.live.protocol import WatchRequest, error_message, row_events

TABLE_ACCEPT = "application/json;as=Table;v=v1;g=meta.k8s.io"
GONE = 410
RETRY_DELAYS = (0.5, 1.0, 2.0, 5.0, 10.0)

StreamOpener = Callable[[str, str], contextlib.AbstractAsyncContextManager[tuple[int, AsyncIterator[bytes]]]]


class WatchEnded(Exception):
    """The relay is over: the page was told why (relist or error)."""


def table_stream(transport: Transport) -> StreamOpener:
    """Opens `GET path?query` on `transport` as a streaming request asking for Table rows."""
    headers = [("accept", TABLE_ACCEPT)]
    return lambda path, query: transport.stream("GET", path, query=query, headers=headers)


class WatchRelay:
    """Relays `request` to `emit` until a relist or an error ends it (or it is cancelled)."""

    def __init__(self, open_stream: StreamOpener, request: WatchRequest, emit: Emit, *,
                 window: float = 0.1, timeout_seconds: int | None = None,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self._open = open_stream
        self._request = request
        self._emit = emit
        self._batcher = Batcher(emit, window)
        self._resource_version = request.resource_version
        self._timeout_seconds = timeout_seconds
        self._sleep = sleep
        self._columns_sent = False

    @property
    def resource_version(self) -> str:
        return self._resource_version

    async def run(self) -> None:
        failures = 0
        try:
            while True:
                try:
                    await self._watch_once()
                    failures = 0
                except WatchEnded:
                    return
                except (OSError, RuntimeError, ValueError):  # the transport broke or sent garbage: retry
                    await self._sleep(RETRY_DELAYS[min(failures, len(RETRY_DELAYS) - 1)])
                    failures += 1
        finally:
            self._batcher.cancel()

    async def _watch_once(self) -> None:
        query = self._request.query(self._resource_version)
        if self._timeout_seconds is not None:
            query["timeoutSeconds"] = str(self._timeout_seconds)
        async with self._open(self._request.path, urlencode(query)) as (status, chunks):
            if status >= 400:
                body = b"".join([chunk async for chunk in chunks])
                await self._end_with_status(_status_of(body), status)
            await self._emit({"type": "status", "state": "live"})
            async for event in _lines(chunks):
                await self._handle(event)
        await self._batcher.close()

    async def _handle(self, event: dict[str, Any]) -> None:
        event_type = str(event.get("type") or "")
        obj = event.get("object") or {}
        if event_type == "ERROR":
            await self._end_with_status(obj, 500)
        rows, columns = row_events(event_type, obj)
        if columns is not None and not self._columns_sent:  # the first event of a watch, a BOOKMARK included
            self._columns_sent = True
            await self._batcher.close()
            await self._emit({"type": "columns", "columns": columns})
        if event_type == "BOOKMARK":
            resource_version = str((obj.get("metadata") or {}).get("resourceVersion") or "")
            if resource_version:
                self._resource_version = resource_version
                self._batcher.advance(resource_version)
            return
        for row in rows:
            self._batcher.add(event_type, row)
            if row["resourceVersion"]:
                self._resource_version = row["resourceVersion"]

    async def _end_with_status(self, status: dict[str, Any], fallback_code: int) -> None:
        await self._batcher.close()
        message = error_message(status, fallback_code)
        await self._emit({"type": "relist"} if message["code"] == GONE else message)
        raise WatchEnded


def _status_of(body: bytes) -> dict[str, Any]:
    try:
        status = orjson.loads(body) if body else {}
    except orjson.JSONDecodeError:
        status = {}
    return status if isinstance(status, dict) else {}


async def _lines(chunks: AsyncIterator[bytes]) -> AsyncIterator[dict[str, Any]]:
    """Newline-delimited JSON watch events, whatever the chunk boundaries."""
    buffer = b""
    async for chunk in chunks:
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            if line.strip():
                yield orjson.loads(line)
    if buffer.strip():
        yield orjson.loads(buffer)
