"""WatchFanout: one storage watch over a whole key prefix, demultiplexed to one subscription per resource prefix.

A watch cache per resource prefix cannot tell, on a quiet prefix, that the storage has moved on: a prefix watch
reports nothing until something under the prefix changes. The fan-out follows ONE storage watch over the common
prefix (`/registry/`), so it sees every revision written under it, and hands each subscription the changes under
its own prefix in batches that carry `progress_revision` (the duck-typed attribute `WatchCache` understands): the
promise that the subscription has been sent every change under its prefix up to that revision.

Pure progress (a batch without events) is sent on demand (`want_progress`, for consistent reads) and otherwise
at most once per `progress_interval`, so a write does not wake every cache.

`FanoutView` is the storage-like object one `WatchCache` is built on: `list` and `check` go to the real storage,
`watch` returns a subscription. A list from revision 0 is pinned at the fan-out's delivered revision and opens the
subscription at the same moment, so a cache can join at any time (new CRDs) without a gap. A watch from a revision
the fan-out has already passed, without such a list, fails with Compacted so the cache re-lists.

Errors: the fan-out retries its storage watch itself (StorageUnavailable: back off, resume after the delivered
revision), so subscriptions do not see outages. When the storage compacted past the delivered revision, every
subscription ends with Compacted and the fan-out restarts at the current revision; the caches re-list.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Self

from apiserver.storage.errors import Compacted, StorageError, StorageUnavailable
from apiserver.storage.interface import Event, KeyValue, Page, Storage

logger = logging.getLogger(__name__)

Clock = Callable[[], float]


class FanoutBatch(list[Event]):
    """Events under one subscription's prefix, plus the revision up to which the subscription is complete."""

    __slots__ = ("progress_revision",)

    def __init__(self, events: Sequence[Event], progress_revision: int) -> None:
        super().__init__(events)
        self.progress_revision = progress_revision


class Subscription:
    """The changes under one prefix with a revision above `after`, as an async iterator of `FanoutBatch`es.

    Ends (StopAsyncIteration) once closed; raises the error it was failed with (Compacted) after delivering what
    was queued before. Queued pure-progress batches are coalesced, so an idle consumer holds at most one.
    """

    def __init__(self, fanout: WatchFanout, prefix: str, after: int) -> None:
        self._fanout = fanout
        self.prefix = prefix
        self.after = after
        self._queue: deque[FanoutBatch] = deque()
        self._wakeup = asyncio.Event()
        self._error: StorageError | None = None
        self._closed = False
        self.progress_sent = after
        self.wanted = 0

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> FanoutBatch:
        while True:
            if self._queue:
                return self._queue.popleft()
            if self._error is not None:
                error, self._error = self._error, None
                self.close()
                raise error
            if self._closed:
                raise StopAsyncIteration
            self._wakeup.clear()
            await self._wakeup.wait()

    async def aclose(self) -> None:
        self.close()

    def close(self) -> None:
        """Stop receiving; idempotent."""
        if not self._closed:
            self._closed = True
            self._fanout._forget(self)
            self._wakeup.set()

    @property
    def closed(self) -> bool:
        return self._closed

    def _push(self, events: Sequence[Event], progress: int) -> None:
        if self._closed or (progress <= self.progress_sent and not events):
            return
        self.progress_sent = max(self.progress_sent, progress)
        if not events and self._queue and not self._queue[-1]:
            self._queue[-1].progress_revision = progress
        else:
            self._queue.append(FanoutBatch(events, progress))
        self._wakeup.set()

    def _fail(self, error: StorageError) -> None:
        self._error = error
        self._fanout._forget(self)
        self._wakeup.set()


class WatchFanout:
    """One storage watch under `prefix`, shared by every subscription under it (see the module docstring).

    `delivered` is the revision up to which every change under `prefix` has been handed to the subscriptions.
    """

    def __init__(self, storage: Storage, prefix: str, *, progress_interval: float = 1.0,
                 backoff_initial: float = 0.2, backoff_max: float = 5.0, clock: Clock = time.monotonic) -> None:
        self.storage = storage
        self.prefix = prefix
        self._progress_interval = progress_interval
        self._backoff_initial = backoff_initial
        self._backoff_max = backoff_max
        self._clock = clock
        self._delivered = 0
        self._started = asyncio.Event()
        self._healthy = False
        self._subscriptions: dict[str, list[Subscription]] = {}
        self._wanting: set[Subscription] = set()
        self._last_broadcast = 0.0
        self._start_revision = 0
        self._task: asyncio.Task[None] | None = None

    @property
    def delivered(self) -> int:
        return self._delivered

    def is_healthy(self) -> bool:
        """True while the storage watch is established and delivering."""
        return self._healthy

    async def start(self, revision: int = 0) -> None:
        """Start the background task; returns at once. It watches after `revision` (the revision of a start-up
        snapshot, which the first lists are then pinned at), or else after the current revision, which it reads."""
        if self._task is not None:
            raise RuntimeError(f"watch fan-out for {self.prefix} already started")
        self._start_revision = revision
        self._task = asyncio.create_task(self._run(), name=f"watch fanout {self.prefix}")

    async def stop(self) -> None:
        """Cancel the task and end every subscription."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.wait([task])
        self._healthy = False
        for subscription in [sub for subs in self._subscriptions.values() for sub in subs]:
            subscription.close()

    async def wait_started(self) -> None:
        """Return once the fan-out knows its starting revision."""
        await self._started.wait()

    def view(self, prefix: str) -> FanoutView:
        """The storage-like object for one watch cache of `prefix` (which must lie under the fan-out's prefix)."""
        if not prefix.startswith(self.prefix):
            raise ValueError(f"{prefix!r} is not under the fan-out prefix {self.prefix!r}")
        return FanoutView(self, prefix)

    def subscribe(self, prefix: str, after: int) -> Subscription:
        """A subscription to changes under `prefix` above `after`; the caller must close it."""
        subscription = Subscription(self, prefix, after)
        self._subscriptions.setdefault(prefix, []).append(subscription)
        return subscription

    def want_progress(self, subscription: Subscription, revision: int) -> None:
        """Send `subscription` a progress batch as soon as the fan-out has delivered `revision`."""
        if subscription.closed:
            return
        if self._delivered >= revision:
            subscription._push((), self._delivered)
            return
        subscription.wanted = max(subscription.wanted, revision)
        self._wanting.add(subscription)

    def _forget(self, subscription: Subscription) -> None:
        subscriptions = self._subscriptions.get(subscription.prefix)
        if subscriptions is not None and subscription in subscriptions:
            subscriptions.remove(subscription)
            if not subscriptions:
                del self._subscriptions[subscription.prefix]
        self._wanting.discard(subscription)

    # --- the background task -----------------------------------------------------------------------------------

    async def _run(self) -> None:
        delay = self._backoff_initial
        delivered = 0
        while True:
            try:
                if not self._started.is_set():
                    self._delivered = self._start_revision or await self.storage.current_revision()
                    self._started.set()
                delivered = self._delivered
                await self._follow()
                error: StorageError = StorageUnavailable(f"the storage watch on {self.prefix} ended")
            except Compacted as compacted:
                failure = await self._restart_after(compacted)
                if failure is None:
                    delay = self._backoff_initial
                    continue
                error = failure
            except StorageError as failure:
                error = failure
            if self._delivered > delivered:
                delay = self._backoff_initial
            self._healthy = False
            logger.warning("watch_fanout_interrupted", extra={"prefix": self.prefix, "revision": self._delivered,
                                                               "error": str(error)})
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._backoff_max)

    async def _follow(self) -> None:
        stream = self.storage.watch(self.prefix, after=self._delivered)
        self._healthy = True
        try:
            async for batch in stream:
                if batch:
                    self._dispatch(batch)
        finally:
            close = getattr(stream, "aclose", None)
            if close is not None:
                await close()

    async def _restart_after(self, error: Compacted) -> StorageError | None:
        """History the fan-out still needed was compacted: start again at the current revision, caches re-list.

        Returns the storage error that prevented the restart (the caller backs off and tries again), else None.
        """
        self._healthy = False
        try:
            revision = await self.storage.current_revision()
        except StorageError as failure:
            return failure
        logger.warning("watch_fanout_relist", extra={"prefix": self.prefix, "from": self._delivered, "to": revision})
        self._delivered = revision
        for subscription in [sub for subs in self._subscriptions.values() for sub in subs]:
            subscription._fail(Compacted(error.requested, error.compacted))
        return None

    def _dispatch(self, batch: Sequence[Event]) -> None:
        """Hand every event to the subscriptions whose prefix holds its key, then the progress they are owed."""
        revision = batch[-1].revision
        routed: dict[Subscription, list[Event]] = {}
        for event in batch:
            for subscription in self._matching(event.key):
                if event.revision > subscription.after:
                    routed.setdefault(subscription, []).append(event)
        self._delivered = revision
        for subscription, events in routed.items():
            subscription._push(events, revision)
        self._send_progress(revision, routed)

    def _matching(self, key: str) -> list[Subscription]:
        found: list[Subscription] = []
        position = key.find("/", len(self.prefix) - 1)
        while position != -1:
            subscriptions = self._subscriptions.get(key[: position + 1])
            if subscriptions:
                found.extend(subscriptions)
            position = key.find("/", position + 1)
        return found

    def _send_progress(self, revision: int, routed: dict[Subscription, list[Event]]) -> None:
        now = self._clock()
        if now - self._last_broadcast >= self._progress_interval:
            self._last_broadcast = now
            for subscription in [sub for subs in self._subscriptions.values() for sub in subs]:
                if subscription not in routed:
                    subscription._push((), revision)
            self._wanting.clear()
            return
        due = [subscription for subscription in self._wanting if subscription.wanted <= revision]
        for subscription in due:
            self._wanting.discard(subscription)
            subscription.wanted = 0
            subscription._push((), revision)


class FanoutView:
    """A `Storage`-like object for one `WatchCache` of `prefix`: lists from storage, watches through the fan-out.

    `list`, `watch` and `check` are what `WatchCache` uses; the other Storage methods delegate to the storage.
    """

    def __init__(self, fanout: WatchFanout, prefix: str) -> None:
        self._fanout = fanout
        self._prefix = prefix
        self._pending: Subscription | None = None
        self._active: Subscription | None = None

    async def list(self, prefix: str, *, revision: int = 0, limit: int = 0, start: str = "") -> Page:
        """A list from revision 0 is pinned at the fan-out's delivered revision, and changes after it are kept."""
        if revision == 0:
            await self._fanout.wait_started()
            if self._pending is not None:
                self._pending.close()
            self._pending = self._fanout.subscribe(prefix, self._fanout.delivered)
            revision = self._pending.after
        return await self._fanout.storage.list(prefix, revision=revision, limit=limit, start=start)

    def watch(self, prefix: str, *, after: int) -> AsyncIterator[Sequence[Event]]:
        """The subscription opened by the last list when it started at `after`, else a fresh one if no change
        was missed, else an iterator that raises Compacted (the cache then re-lists)."""
        pending, self._pending = self._pending, None
        if pending is not None and pending.after == after and pending.prefix == prefix:
            self._active = pending
            return pending
        if pending is not None:
            pending.close()
        if after < self._fanout.delivered:
            self._active = None
            return _failing(Compacted(after + 1, self._fanout.delivered))
        self._active = self._fanout.subscribe(prefix, after)
        return self._active

    async def check(self) -> None:
        await self._fanout.storage.check()

    # The rest of the Storage protocol goes straight to the storage.

    async def get(self, key: str) -> KeyValue | None:
        return await self._fanout.storage.get(key)

    async def create(self, key: str, value: bytes) -> int:
        return await self._fanout.storage.create(key, value)

    async def update(self, key: str, value: bytes, *, expected: int) -> int:
        return await self._fanout.storage.update(key, value, expected=expected)

    async def delete(self, key: str, *, expected: int = 0) -> KeyValue:
        return await self._fanout.storage.delete(key, expected=expected)

    async def current_revision(self) -> int:
        return await self._fanout.storage.current_revision()

    async def compact(self, revision: int) -> None:
        await self._fanout.storage.compact(revision)

    async def close(self) -> None:
        """The view does not own the storage: closing it only drops its subscriptions."""
        for subscription in (self._pending, self._active):
            if subscription is not None:
                subscription.close()

    def want_progress(self, revision: int) -> None:
        """Ask for a progress batch once the fan-out has passed `revision` (before waiting on the cache)."""
        if self._active is not None:
            self._fanout.want_progress(self._active, revision)


async def _failing(error: StorageError) -> AsyncIterator[Sequence[Event]]:
    raise error
    yield ()  # pragma: no cover - makes this an async generator
