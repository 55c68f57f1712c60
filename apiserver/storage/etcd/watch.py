"""A storage watch over one etcd gRPC watch stream, resumed from the last delivered revision when it breaks.

Each storage watch owns its own stream on the shared channel, so one slow or broken watcher never stalls
another. Events are delivered one etcd watch response at a time: etcd never splits a revision across responses
(fragments are joined here), so resuming at the last delivered revision + 1 neither repeats nor skips an event.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Callable, Sequence
from typing import Any

import grpc
import grpc.aio
from aetcd import rpc

from apiserver.storage.errors import Compacted, StorageUnavailable
from apiserver.storage.etcd.endpoints import Endpoint, EndpointSet, is_cancelled_locally
from apiserver.storage.interface import Event, EventType

FIRST_RETRY_DELAY = 0.1
MAX_RETRY_DELAY = 1.0


class StreamBroken(Exception):
    """The watch stream ended or failed; it may be resumed on a new stream."""


def prefix_range_end(prefix: bytes) -> bytes:
    """The exclusive end of the key range holding every key that starts with `prefix` (b"\\0": no end)."""
    for index in reversed(range(len(prefix))):
        if prefix[index] < 0xFF:
            return prefix[:index] + bytes([prefix[index] + 1])
    return b"\0"


def convert_event(raw: Any) -> Event:
    """A storage Event from an etcd mvccpb.Event watched with prev_kv."""
    kv = raw.kv
    has_previous = raw.HasField("prev_kv")
    if raw.type == rpc.Event.DELETE:
        previous = raw.prev_kv
        return Event(EventType.DELETE, kv.key.decode(), b"", previous.value, kv.mod_revision, previous.create_revision)
    kind = EventType.CREATE if kv.create_revision == kv.mod_revision else EventType.UPDATE
    prev_value = raw.prev_kv.value if has_previous and kind is EventType.UPDATE else None
    return Event(kind, kv.key.decode(), kv.value, prev_value, kv.mod_revision, kv.create_revision)


class WatchStream:
    """One gRPC watch call: create it, then read whole (defragmented) responses."""

    def __init__(self, endpoint: Endpoint, prefix: str, start_revision: int) -> None:
        self.endpoint = endpoint
        self.start_revision = start_revision
        key = prefix.encode() or b"\0"
        self._request = rpc.WatchRequest(
            create_request=rpc.WatchCreateRequest(
                key=key, range_end=prefix_range_end(prefix.encode()), start_revision=start_revision,
                prev_kv=True, fragment=True,
            )
        )
        self._call: Any = None

    async def open(self, timeout: float) -> None:
        """Send the create request and wait for etcd to confirm it; StreamBroken if it cannot within `timeout`."""
        self._call = self.endpoint.watch.Watch(wait_for_ready=True)
        try:
            async with asyncio.timeout(timeout):
                await self._call.write(self._request)
                response = await self._call.read()
        except (grpc.aio.AioRpcError, TimeoutError) as error:
            raise StreamBroken(str(error)) from error
        except asyncio.CancelledError:
            if not is_cancelled_locally():
                raise
            raise StreamBroken("the watch call was cancelled") from None
        if response is grpc.aio.EOF or not response.created:
            raise StreamBroken("etcd did not confirm the watch")
        self._raise_if_compacted(response)

    async def next_events(self) -> list[Event]:
        """The events of the next response (possibly none). Raises Compacted or StreamBroken."""
        events: list[Event] = []
        while True:
            try:
                response = await self._call.read()
            except grpc.aio.AioRpcError as error:
                raise StreamBroken(str(error)) from error
            except asyncio.CancelledError:
                if not is_cancelled_locally():
                    raise
                raise StreamBroken("the watch call was cancelled") from None
            if response is grpc.aio.EOF:
                raise StreamBroken("etcd ended the watch stream")
            self._raise_if_compacted(response)
            if response.canceled:
                raise StreamBroken(f"etcd canceled the watch: {response.cancel_reason}")
            events.extend(convert_event(raw) for raw in response.events)
            if not response.fragment:
                return events

    def cancel(self) -> None:
        if self._call is not None:
            self._call.cancel()

    def _raise_if_compacted(self, response: Any) -> None:
        if response.compact_revision:
            raise Compacted(self.start_revision, response.compact_revision)


async def watch_events(
    endpoints: EndpointSet,
    prefix: str,
    after: int,
    *,
    timeout: float,
    resume_window: float,
    is_closed: Callable[[], bool],
) -> AsyncGenerator[Sequence[Event], None]:
    """Yield event batches under `prefix` after revision `after`; the Storage.watch contract.

    The first stream must be established within `timeout` (else StorageUnavailable) and raises Compacted when
    `after` + 1 is compacted. A broken stream is re-established at the last delivered revision + 1 for up to
    `resume_window` seconds; when that fails, or the history to resume from was compacted meanwhile, raises
    StorageUnavailable. Returns quietly once the storage is closed.
    """
    stream = await _first_stream(endpoints, prefix, after + 1, timeout)
    first = True
    last = after
    try:
        while not is_closed():
            try:
                events = await stream.next_events()
            except StreamBroken:
                stream.cancel()
                if is_closed():
                    return
                endpoints.demote(stream.endpoint)
                stream = await _resume(endpoints, prefix, last + 1, timeout, resume_window)
                first = False
                continue
            except Compacted as error:
                if first and last == after:
                    raise
                raise StorageUnavailable(f"watch cannot resume after revision {last}: {error}") from error
            if events:
                last = events[-1].revision
                yield events
    finally:
        stream.cancel()


async def _first_stream(endpoints: EndpointSet, prefix: str, start_revision: int, timeout: float) -> WatchStream:
    endpoint = endpoints.pick()
    stream = WatchStream(endpoint, prefix, start_revision)
    try:
        await stream.open(timeout)
    except StreamBroken as error:
        stream.cancel()
        endpoints.demote(endpoint)
        raise StorageUnavailable(f"etcd {endpoint.url}: cannot start a watch: {error}") from None
    except Compacted:
        stream.cancel()
        raise
    return stream


async def _resume(
    endpoints: EndpointSet, prefix: str, start_revision: int, timeout: float, window: float
) -> WatchStream:
    deadline = time.monotonic() + window
    delay = FIRST_RETRY_DELAY
    while True:
        endpoint = endpoints.pick()
        stream = WatchStream(endpoint, prefix, start_revision)
        left = deadline - time.monotonic()
        try:
            await stream.open(max(0.01, min(timeout, left)))
            return stream
        except StreamBroken:
            stream.cancel()
            endpoints.demote(endpoint)
        except Compacted as error:
            stream.cancel()
            raise StorageUnavailable(f"watch cannot resume at revision {start_revision}: {error}") from error
        left = deadline - time.monotonic()
        if left <= 0:
            raise StorageUnavailable(f"watch could not be resumed at revision {start_revision} within {window}s")
        await asyncio.sleep(min(delay, left))
        delay = min(delay * 2, MAX_RETRY_DELAY)
