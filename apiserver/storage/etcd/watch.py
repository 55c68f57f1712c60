"""A storage watch over one etcd gRPC watch stream, resumed from the last delivered revision when it breaks.

Each storage watch owns its own stream (read on its own thread), so one slow or broken watcher never stalls
another. Events are delivered in batches of whole etcd watch responses: etcd never splits a revision across
responses (fragments are joined here), so resuming at the last delivered revision + 1 neither repeats nor skips
an event.
"""
from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import deque
from collections.abc import AsyncGenerator, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
import grpc.aio
from aetcd import rpc

from apiserver.storage.errors import Compacted, StorageUnavailable
from apiserver.storage.etcd.endpoints import Endpoint, EndpointSet
from apiserver.storage.interface import Event, EventType

FIRST_RETRY_DELAY = 0.1
MAX_RETRY_DELAY = 1.0
# With other members to go to, a member that does not confirm a watch this fast is passed over (etcd confirms at
# once; a dead or hung member never does).
OPEN_TIMEOUT_WITH_OTHERS = 1.0


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


@dataclass(frozen=True, slots=True)
class _Response:
    """One etcd watch response, its events already converted (on the reader thread)."""

    events: list[Event]
    fragment: bool = False
    created: bool = False
    canceled: bool = False
    cancel_reason: str = ""
    compact_revision: int = 0


@dataclass(frozen=True, slots=True)
class _Ended:
    """The call ended: etcd closed it (EOF) or it failed; `reason` says how."""

    reason: str


class WatchStream:
    """One gRPC watch call, read on a thread of its own: create it, then take whole (defragmented) responses.

    A blocking reader thread hands responses over in batches: the event loop takes everything that arrived
    while it was busy in one turn, instead of one response per turn (which let the cache fall seconds behind
    etcd under write load). Events are converted on the thread too.
    """

    def __init__(self, endpoint: Endpoint, prefix: str, start_revision: int, *, wait_for_ready: bool = True) -> None:
        self.endpoint = endpoint
        self._wait_for_ready = wait_for_ready
        self.start_revision = start_revision
        key = prefix.encode() or b"\0"
        self._request = rpc.WatchRequest(
            create_request=rpc.WatchCreateRequest(
                key=key, range_end=prefix_range_end(prefix.encode()), start_revision=start_revision,
                prev_kv=True, fragment=True,
            )
        )
        self._lock = threading.Lock()
        self._responses: deque[_Response | _Ended] = deque()
        self._arrived = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop = threading.Event()
        self._call: Any = None

    async def open(self, timeout: float) -> None:
        """Send the create request and wait for etcd to confirm it; StreamBroken if it cannot within `timeout`."""
        if self.endpoint.blocking is None:
            raise StreamBroken("the endpoint has no channel for watches")
        self._loop = asyncio.get_running_loop()
        threading.Thread(target=self._read, name=f"etcd-watch-{self.endpoint.url}", daemon=True).start()
        try:
            async with asyncio.timeout(timeout):
                response = await self._next()
        except TimeoutError as error:
            raise StreamBroken(f"etcd did not confirm the watch within {timeout}s") from error
        if isinstance(response, _Ended):
            raise StreamBroken(response.reason)
        if not response.created:
            raise StreamBroken("etcd did not confirm the watch")
        self._raise_if_compacted(response)

    async def next_events(self) -> list[Event]:
        """The events of the responses that arrived so far (at least one whole response; possibly no events).

        Raises Compacted or StreamBroken; events already complete are returned first."""
        events: list[Event] = []
        pending: list[Event] = []
        while True:
            response = await self._next() if not events or pending else self._take()
            if response is None:
                return events
            if isinstance(response, _Ended) or response.canceled or response.compact_revision:
                if events:
                    self._push_back(response)
                    return events
                if isinstance(response, _Ended):
                    raise StreamBroken(response.reason)
                self._raise_if_compacted(response)
                raise StreamBroken(f"etcd canceled the watch: {response.cancel_reason}")
            pending.extend(response.events)
            if not response.fragment:
                events.extend(pending)
                pending = []
                if not events:
                    return events

    def cancel(self) -> None:
        self._stop.set()
        with self._lock:
            call = self._call
        if call is not None:
            call.cancel()

    def _raise_if_compacted(self, response: _Response) -> None:
        if response.compact_revision:
            raise Compacted(self.start_revision, response.compact_revision)

    # The reader thread.

    def _requests(self) -> Iterator[Any]:
        yield self._request
        self._stop.wait()  # the request side stays open as long as the watch

    def _read(self) -> None:
        assert self.endpoint.blocking is not None
        try:
            call = self.endpoint.blocking.watch_stub().Watch(self._requests(), wait_for_ready=self._wait_for_ready)
            with self._lock:
                self._call = call
            if self._stop.is_set():
                call.cancel()
            for raw in call:
                self._deliver(_Response(
                    [convert_event(event) for event in raw.events], fragment=raw.fragment, created=raw.created,
                    canceled=raw.canceled, cancel_reason=raw.cancel_reason, compact_revision=raw.compact_revision,
                ))
            self._deliver(_Ended("etcd ended the watch stream"))
        except grpc.RpcError as error:
            self._deliver(_Ended(str(error)))
        except ValueError as error:  # the channel was closed under the call
            self._deliver(_Ended(str(error)))

    def _deliver(self, item: _Response | _Ended) -> None:
        with self._lock:
            wake = not self._responses
            self._responses.append(item)
        if wake and self._loop is not None:
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody is reading any more
                self._loop.call_soon_threadsafe(self._arrived.set)

    # The event loop side.

    def _take(self) -> _Response | _Ended | None:
        with self._lock:
            return self._responses.popleft() if self._responses else None

    def _push_back(self, item: _Response | _Ended) -> None:
        with self._lock:
            self._responses.appendleft(item)

    async def _next(self) -> _Response | _Ended:
        while (item := self._take()) is None:
            self._arrived.clear()
            with self._lock:
                if self._responses:
                    continue
            await self._arrived.wait()
        return item


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
    # A demoted member may be hung with this stream open but silent: resume elsewhere instead of waiting.
    stop_listening = endpoints.on_demote(stream.endpoint, stream.cancel)
    first = True
    last = after
    try:
        while not is_closed():
            try:
                events = await stream.next_events()
            except StreamBroken:
                stop_listening()
                stream.cancel()
                if is_closed():
                    return
                endpoints.demote(stream.endpoint)
                stream = await _resume(endpoints, prefix, last + 1, timeout, resume_window)
                stop_listening = endpoints.on_demote(stream.endpoint, stream.cancel)
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
        stop_listening()
        stream.cancel()


def _open_timeout(endpoints: EndpointSet, timeout: float) -> float:
    return timeout if len(endpoints.all) == 1 else min(timeout, OPEN_TIMEOUT_WITH_OTHERS)


def _stream(endpoints: EndpointSet, endpoint: Endpoint, prefix: str, start_revision: int) -> WatchStream:
    # Fail fast on a member that is down while another can take the watch.
    return WatchStream(endpoint, prefix, start_revision, wait_for_ready=len(endpoints.all) == 1)


async def first_change(endpoint: Endpoint, key: bytes, start_revision: int, *, timeout: float) -> Any | None:
    """The first event on `key` at or after `start_revision` (an mvccpb.Event with prev_kv), None when that history
    is compacted. A unary-like watch on the event loop; raises grpc.aio.AioRpcError or TimeoutError."""
    request = rpc.WatchRequest(
        create_request=rpc.WatchCreateRequest(key=key, start_revision=start_revision, prev_kv=True)
    )
    call = endpoint.watch.Watch(timeout=timeout)
    try:
        async with asyncio.timeout(timeout):
            await call.write(request)
            while True:
                response = await call.read()
                if response is grpc.aio.EOF or response.canceled or response.compact_revision:
                    return None
                if response.events:
                    return response.events[0]
    finally:
        call.cancel()


async def _first_stream(endpoints: EndpointSet, prefix: str, start_revision: int, timeout: float) -> WatchStream:
    """A confirmed stream from the first member (in call order) that confirms one within `timeout` altogether."""
    deadline = time.monotonic() + timeout
    failures: list[str] = []
    for endpoint in endpoints.in_order():
        left = deadline - time.monotonic()
        if left <= 0:
            break
        stream = _stream(endpoints, endpoint, prefix, start_revision)
        try:
            await stream.open(min(_open_timeout(endpoints, timeout), left))
        except StreamBroken as error:
            stream.cancel()
            endpoints.demote(endpoint)
            failures.append(f"etcd {endpoint.url}: cannot start a watch: {error}")
            continue
        except Compacted:
            stream.cancel()
            raise
        return stream
    raise StorageUnavailable("; ".join(failures) or f"no etcd member confirmed a watch within {timeout}s")


async def _resume(
    endpoints: EndpointSet, prefix: str, start_revision: int, timeout: float, window: float
) -> WatchStream:
    deadline = time.monotonic() + window
    delay = FIRST_RETRY_DELAY
    while True:
        endpoint = endpoints.pick()
        stream = _stream(endpoints, endpoint, prefix, start_revision)
        left = deadline - time.monotonic()
        try:
            await stream.open(max(0.01, min(_open_timeout(endpoints, timeout), left)))
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
