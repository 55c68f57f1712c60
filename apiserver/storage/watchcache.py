"""WatchCache: an in-memory mirror of one key prefix, fed by one storage watch (kube-apiserver's cacher model).

One background task lists the prefix at one revision, then follows a storage watch from that revision. The
cache keeps the current state (each value's bytes beside its decoded form, decoded once), a window of recent
changes bounded by count and age, and fans every change out to per-watcher bounded queues. It knows nothing about
what the bytes mean: the caller's `decode` gives the decoded form, and predicates see `CacheEntry`s.

Errors (all `StorageError`s; `ResourceStore` translates them, as kube-apiserver does):
- `TooOld`: a watch or list below the window, kube-apiserver's 410 "too old resource version: N (M)".
- `CacheTimeout`: the cache did not reach a revision in time, kube-apiserver's 504 "Too large resource version".
- `CacheNotReady` (a `StorageUnavailable`): the cache is (re)initialising, kube-apiserver's 429
  "storage is (re)initializing".

Consistent reads (KEP-2340): read `await storage.current_revision()`, `await cache.wait_until(it, timeout)`, then
`cache.list()`. A storage watch only reports changes under the prefix, so the cache reaches a revision written
under another prefix only when a later change under its own prefix arrives, or when the backend reports progress:
a batch may carry an int attribute `progress_revision`, promising that every change under the prefix up to that
revision has been delivered (an empty batch with it is a pure progress notification). Without that, callers must
treat `CacheTimeout` as "serve from storage".
"""
from __future__ import annotations

import asyncio
import bisect
import enum
import heapq
import itertools
import logging
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Generic, Self, TypeVar, cast, overload

from apiserver.storage.errors import Compacted, FutureRevision, StorageError, StorageUnavailable
from apiserver.storage.interface import Event, EventType, KeyValue, Page, Storage

logger = logging.getLogger(__name__)

T = TypeVar("T")
Clock = Callable[[], float]

# Applying a large backlog yields to the event loop after this many events, so requests keep being served.
EVENTS_PER_TICK = 256
DECODES_PER_TICK = 1000
WINDOW_SLACK = 1024  # at most this many changes that left the window are still held (see `_record`)


class TooOld(StorageError):
    """`requested` is below the window; `oldest` is the lowest `after` (or list revision) the cache accepts.

    kube-apiserver prints the oldest event's revision minus one there; `oldest` is the revision of the newest
    change that left the window (or of the last list), which is the same when revisions are contiguous and lower
    (more permissive, still exact) when other prefixes wrote in between.
    """

    def __init__(self, requested: int, oldest: int) -> None:
        super().__init__(f"too old resource version: {requested} ({oldest})")
        self.requested = requested
        self.oldest = oldest


class CacheTimeout(StorageError):
    """The cache did not reach `requested` in time; it was at `current`."""

    def __init__(self, requested: int, current: int) -> None:
        super().__init__(f"Too large resource version: {requested}, current: {current}")
        self.requested = requested
        self.current = current


class CacheNotReady(StorageUnavailable):
    """The cache has no usable state or stream yet (starting, re-listing, or its storage is unreachable)."""

    def __init__(self) -> None:
        super().__init__("storage is (re)initializing")


class WatchEnd(enum.Enum):
    """Why a `CacheWatch` ended. Every reason but CLOSED means: the client should watch again (or re-list)."""

    CLOSED = "closed"  # the consumer closed it
    TOO_SLOW = "too slow"  # its queue overflowed
    STORAGE_UNAVAILABLE = "storage unavailable"  # the storage watch broke; the cache resumes on its own
    RELIST = "relist"  # the storage compacted history the cache still needed; the cache re-listed
    STOPPED = "stopped"  # the cache was stopped


@dataclass(frozen=True, slots=True)
class WatchCacheOptions:
    """Sizes and timings of one cache.

    The window holds at most `window_events` changes, none older than `window_seconds`. Each watcher queues at
    most `watcher_queue` live events before it is closed as too slow. The initial list reads `page_size` keys per
    storage call. A broken storage watch is retried after `backoff_initial` seconds, doubling to `backoff_max`.
    """

    window_events: int = 10_000
    window_seconds: float = 300.0
    watcher_queue: int = 1000
    # kube-apiserver's cacher lists in pages of 10,000 (storageWatchListPageSize): a cold start of 10k objects is
    # one storage round trip, not ten.
    page_size: int = 10_000
    backoff_initial: float = 0.2
    backoff_max: float = 5.0

    def __post_init__(self) -> None:
        if min(self.window_events, self.watcher_queue, self.page_size) < 1:
            raise ValueError("window_events, watcher_queue and page_size must be positive")
        if self.window_seconds <= 0 or not 0 < self.backoff_initial <= self.backoff_max:
            raise ValueError("window_seconds and backoffs must be positive, backoff_initial <= backoff_max")


DEFAULT_OPTIONS = WatchCacheOptions()


@dataclass(frozen=True, slots=True)
class CacheEntry(Generic[T]):
    """One key at one revision: the stored bytes and their decoded form. Shared by every reader: never mutate."""

    kv: KeyValue
    decoded: T

    @property
    def key(self) -> str:
        return self.kv.key

    @property
    def revision(self) -> int:
        return self.kv.mod_revision


Predicate = Callable[[CacheEntry[T]], bool]


@dataclass(frozen=True, slots=True)
class CacheEvent(Generic[T]):
    """One change as one watcher sees it.

    CREATE and UPDATE carry the new entry. DELETE carries the last entry before the change, re-stamped with the
    revision of the change (its `kv.mod_revision`), also when the key still exists but left the watcher's
    selection, as kube-apiserver sends DELETED. The same event object is shared by every watcher that sees it.
    """

    type: EventType
    entry: CacheEntry[T]

    @property
    def revision(self) -> int:
        return self.entry.kv.mod_revision


@dataclass(frozen=True, slots=True)
class Bookmark:
    """The watcher has been sent every event it selects up to `revision`."""

    revision: int


@dataclass(frozen=True, slots=True)
class CachePage(Generic[T]):
    """A list result at `revision`, in key order.

    `more`/`remaining`: keys after the last item exist at `revision` (and how many). With a predicate they were not
    examined, so they may not match: an upper bound, as kube-apiserver's paginated lists from etcd.
    """

    items: Sequence[CacheEntry[T]]
    revision: int
    more: bool
    remaining: int


class _Change(Generic[T]):
    """One applied storage event in the window, with the entries before and after it.

    The events watchers receive are built on first use and memoised, so N watchers cost one build (and at most
    one decode, of the departed entry).
    """

    __slots__ = ("_created", "_decode", "_deleted", "_updated", "current", "key", "previous", "recorded_at",
                 "revision", "type")

    def __init__(self, event: Event, current: CacheEntry[T] | None, previous: CacheEntry[T] | None,
                 decode: Callable[[KeyValue], T], recorded_at: float) -> None:
        self.type = event.type
        self.key = event.key
        self.revision = event.revision
        self.current = current
        self.previous = previous
        self.recorded_at = recorded_at
        self._decode = decode
        self._created: CacheEvent[T] | None = None
        self._updated: CacheEvent[T] | None = None
        self._deleted: CacheEvent[T] | None = None

    def event_for(self, predicate: Predicate[T] | None) -> CacheEvent[T] | None:
        """The event a watcher with `predicate` sees, or None when the change is outside its selection."""
        if predicate is None:
            return self._deleted_event() if self.current is None else self._natural_event()
        is_selected = self.current is not None and predicate(self.current)
        was_selected = self.previous is not None and predicate(self.previous)
        if is_selected:
            return self._updated_event() if was_selected else self._created_event()
        return self._deleted_event() if was_selected else None

    def _natural_event(self) -> CacheEvent[T]:
        return self._created_event() if self.type is EventType.CREATE else self._updated_event()

    def _created_event(self) -> CacheEvent[T]:
        if self._created is None:
            self._created = CacheEvent(EventType.CREATE, cast(CacheEntry[T], self.current))
        return self._created

    def _updated_event(self) -> CacheEvent[T]:
        if self._updated is None:
            self._updated = CacheEvent(EventType.UPDATE, cast(CacheEntry[T], self.current))
        return self._updated

    def _deleted_event(self) -> CacheEvent[T] | None:
        if self._deleted is None and self.previous is not None:
            old = self.previous.kv
            kv = KeyValue(old.key, old.value, old.create_revision, self.revision)
            self._deleted = CacheEvent(EventType.DELETE, CacheEntry(kv, self._decode(kv)))
        return self._deleted


class CacheWatch(Generic[T]):
    """A watcher's stream: `async for item in watch` yields `CacheEvent`s and requested `Bookmark`s in order.

    The stream ends (StopAsyncIteration) when the watch is closed; `end_reason` says why. Events already queued
    are still delivered after the cache ends it, except after `close()`. A consumer that stops iterating must
    call `close()` (or use `async with`), else it stays registered until its queue overflows.
    """

    def __init__(self, cache: WatchCache[T], after: int, predicate: Predicate[T] | None,
                 backlog: Iterator[CacheEvent[T]]) -> None:
        self._cache = cache
        self._after = after
        self._predicate = predicate
        self._backlog: Iterator[CacheEvent[T]] | None = backlog
        self._queue: deque[CacheEvent[T] | Bookmark] = deque()
        self._capacity = cache.options.watcher_queue
        self._wakeup = asyncio.Event()
        self._end_reason: WatchEnd | None = None

    @property
    def after(self) -> int:
        """Only events with a revision above this one are delivered (for `send_initial`: the snapshot's)."""
        return self._after

    @property
    def end_reason(self) -> WatchEnd | None:
        """None while the watch is open."""
        return self._end_reason

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> CacheEvent[T] | Bookmark:
        while True:
            if self._backlog is not None:
                event = next(self._backlog, None)
                if event is not None:
                    return event
                self._backlog = None
            if self._queue:
                return self._queue.popleft()
            if self._end_reason is not None:
                raise StopAsyncIteration
            self._wakeup.clear()
            await self._wakeup.wait()

    def poll(self) -> CacheEvent[T] | Bookmark | None:
        """The next item if one is already due, without waiting; None otherwise (also once the watch ended:
        `__anext__` then says so)."""
        if self._backlog is not None:
            event = next(self._backlog, None)
            if event is not None:
                return event
            self._backlog = None
        return self._queue.popleft() if self._queue else None

    def request_bookmark(self) -> None:
        """Queue a `Bookmark` at the cache's current revision, after every event already due to this watcher.

        Requested right after `watch(send_initial=True)`, it marks the end of the initial events (kube-apiserver's
        "k8s.io/initial-events-end" bookmark). Dropped when the queue is full or the watch has ended (a bookmark
        is advice, never required).
        """
        if self._end_reason is None and len(self._queue) < self._capacity:
            self._queue.append(Bookmark(max(self._after, self._cache.revision)))
            self._wakeup.set()

    def close(self) -> None:
        """Stop the stream now and release it from the cache; queued events are dropped. Idempotent."""
        self._cache._forget(self)
        self._end(WatchEnd.CLOSED)
        self._queue.clear()
        self._backlog = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        traceback: TracebackType | None) -> None:
        self.close()

    def _offer(self, change: _Change[T]) -> bool:
        """Queue the change if selected; False when the queue is full (the cache then ends this watch)."""
        if change.revision <= self._after:
            return True
        event = change.event_for(self._predicate)
        if event is None:
            return True
        if len(self._queue) >= self._capacity:
            return False
        self._queue.append(event)
        self._wakeup.set()
        return True

    def _end(self, reason: WatchEnd) -> None:
        if self._end_reason is None:
            self._end_reason = reason
        self._wakeup.set()


class WatchCache(Generic[T]):
    """An in-memory mirror of one key prefix; see the module docstring for the model and the errors.

    Reads (`get`, `list`) serve the last state the cache holds, also while it resumes a broken storage watch
    (`is_ready()` is False then); they raise CacheNotReady only before the first list. `watch` requires
    `is_ready()`. Everything runs on one event loop; none of the methods is thread-safe.
    `decode` is called once per stored value version and must not raise; its result is shared, never copied.
    """

    @overload
    def __init__(self: WatchCache[None], storage: Storage, prefix: str, *, decode: None = None,
                 options: WatchCacheOptions = DEFAULT_OPTIONS, clock: Clock = time.monotonic) -> None: ...

    @overload
    def __init__(self, storage: Storage, prefix: str, *, decode: Callable[[KeyValue], T],
                 options: WatchCacheOptions = DEFAULT_OPTIONS, clock: Clock = time.monotonic) -> None: ...

    def __init__(self, storage: Storage, prefix: str, *, decode: Callable[[KeyValue], Any] | None = None,
                 options: WatchCacheOptions = DEFAULT_OPTIONS, clock: Clock = time.monotonic) -> None:
        self._storage = storage
        self._prefix = prefix
        self._decode: Callable[[KeyValue], T] = decode if decode is not None else _decode_nothing
        self.options = options
        self._clock = clock
        self._objects: dict[str, CacheEntry[T]] = {}
        self._keys: list[str] = []  # sorted; str order is UTF-8 byte order, the storage's key order
        self._window: list[_Change[T]] = []
        self._window_head = 0  # changes before this index have left the window
        self._floor = 0  # the lowest `after` the window can serve
        self._revision = 0
        self._generation = 0  # bumped by every change of the cached state (progress alone does not)
        self._has_state = False
        self._needs_list = True
        self._progressed = False
        self._ready = asyncio.Event()
        self._watchers: dict[CacheWatch[T], None] = {}
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._waiter_ids = itertools.count()
        self._task: asyncio.Task[None] | None = None

    @property
    def prefix(self) -> str:
        return self._prefix

    @property
    def revision(self) -> int:
        """The newest revision the cache has applied: its state is exactly the storage's at this revision."""
        return self._revision

    @property
    def generation(self) -> int:
        """A counter that moves exactly when the cached objects change (a change applied, a relist); `revision`
        also moves with progress from writes elsewhere. For memoising what is derived from the cached objects."""
        return self._generation

    @property
    def ready(self) -> asyncio.Event:
        """Set while the cache follows its storage watch; wait on it, never set or clear it."""
        return self._ready

    @property
    def watcher_count(self) -> int:
        return len(self._watchers)

    def is_ready(self) -> bool:
        return self._ready.is_set()

    async def start(self) -> None:
        """Start the one background task that lists, watches and recovers; returns at once (see `wait_ready`).

        Stop the cache before closing its storage, else it keeps retrying the closed storage until stopped.
        """
        if self._task is not None:
            raise RuntimeError(f"watch cache for {self._prefix} already started")
        self._task = asyncio.create_task(self._run(), name=f"watchcache {self._prefix}")
        self._task.add_done_callback(self._log_task_end)

    async def stop(self) -> None:
        """Cancel and await the background task, end every watch (STOPPED) and fail every `wait_until`."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.wait([task])
        self._ready.clear()
        self._end_watchers(WatchEnd.STOPPED)
        waiters, self._waiters = self._waiters, []
        for _, _, future in waiters:
            if not future.done():
                future.set_exception(CacheNotReady())

    async def wait_ready(self, timeout: float) -> None:
        """Return once the cache is ready; raise CacheNotReady after `timeout` seconds."""
        try:
            async with asyncio.timeout(timeout):
                await self._ready.wait()
        except TimeoutError:
            raise CacheNotReady() from None

    async def wait_until(self, revision: int, timeout: float) -> None:
        """Return once `self.revision >= revision` ("not older than"); raise CacheTimeout after `timeout` seconds."""
        if self._revision >= revision:
            return
        entry = (revision, next(self._waiter_ids), asyncio.get_running_loop().create_future())
        heapq.heappush(self._waiters, entry)
        try:
            async with asyncio.timeout(timeout):
                await entry[2]
        except TimeoutError:
            raise CacheTimeout(revision, self._revision) from None
        finally:
            # A timeout or cancellation leaves the entry behind; drop it so unreachable revisions do not pile up.
            if entry in self._waiters:
                entry[2].cancel()
                self._waiters.remove(entry)
                heapq.heapify(self._waiters)

    def get(self, key: str) -> CacheEntry[T] | None:
        """The entry of `key` at `self.revision`, or None. Raises CacheNotReady before the first list."""
        self._require_state()
        return self._objects.get(key)

    def list(self, *, predicate: Predicate[T] | None = None, start: str = "", limit: int = 0,
             revision: int = 0, end: str = "") -> CachePage[T]:
        """Entries in key order from `start` (inclusive) to `end` (exclusive; "": no bound), at most `limit`
        (0: all), that match `predicate`. `remaining` counts keys up to `end` only.

        At `revision` (0: `self.revision`), which may be any revision in the window, so the pages of one list
        stay consistent while the cache moves on: pass the returned `revision` and the last key + "\\x00" back.
        Costs O(log n + examined keys + changes since `revision`). Raises TooOld below the window,
        FutureRevision above `self.revision` (call `wait_until` first) and CacheNotReady before the first list.
        """
        self._require_state()
        at = revision or self._revision
        if at > self._revision:
            raise FutureRevision(at, self._revision)
        if at < self._floor:
            raise TooOld(at, self._floor)
        overlay = self._state_before(at)
        items, last = self._collect(overlay, predicate, start, limit, end)
        remaining = 0 if last is None else self._count_after(overlay, last, end)
        return CachePage(items, at, remaining > 0, remaining)

    def watch(self, *, after: int = 0, predicate: Predicate[T] | None = None,
              send_initial: bool = False) -> CacheWatch[T]:
        """Watch changes with a revision above `after` that concern entries matching `predicate`.

        Changes still in the window are replayed first. With `send_initial`, `after` is ignored: the watch first
        yields a CREATE for every matching entry at `self.revision` (key order), then changes above it; this is
        the watch from resourceVersion "0" or unset. An `after` above `self.revision` is accepted; changes up to
        it are skipped. Raises TooOld when `after` is below the window and CacheNotReady unless `is_ready()`.
        `predicate` runs on the cache's task for every change and must not raise.
        """
        if not self._ready.is_set():
            raise CacheNotReady()
        if send_initial:
            after = self._revision
            backlog = _initial_events([self._objects[key] for key in self._keys], predicate)
        elif after < self._floor:
            raise TooOld(after, self._floor)
        else:
            backlog = _replayed_events(self._changes_after(after), predicate)
        watch = CacheWatch(self, after, predicate, backlog)
        self._watchers[watch] = None
        return watch

    def _forget(self, watch: CacheWatch[T]) -> None:
        self._watchers.pop(watch, None)

    def _require_state(self) -> None:
        if not self._has_state:
            raise CacheNotReady()

    # --- reads -------------------------------------------------------------------------------------------------

    def _changes_after(self, revision: int) -> Sequence[_Change[T]]:
        index = bisect.bisect_right(self._window, revision, lo=self._window_head, key=_revision_of)
        return self._window[index:]

    def _state_before(self, revision: int) -> dict[str, CacheEntry[T] | None]:
        """For every key changed after `revision`: its entry at `revision` (None: absent then)."""
        overlay: dict[str, CacheEntry[T] | None] = {}
        for change in reversed(self._changes_after(revision)):
            overlay[change.key] = change.previous
        return overlay

    def _collect(self, overlay: dict[str, CacheEntry[T] | None], predicate: Predicate[T] | None, start: str,
                 limit: int, end: str) -> tuple[Sequence[CacheEntry[T]], str | None]:
        """The page, and the key it stopped at when it stopped before the end (None otherwise)."""
        items: list[CacheEntry[T]] = []
        for key, entry in self._entries_from(overlay, start):
            if end and key >= end:
                break
            if entry is None or (predicate is not None and not predicate(entry)):
                continue
            items.append(entry)
            if len(items) == limit:
                return items, key
        return items, None

    def _entries_from(self, overlay: dict[str, CacheEntry[T] | None],
                      start: str) -> Iterator[tuple[str, CacheEntry[T] | None]]:
        keys, objects = self._keys, self._objects
        current = (keys[index] for index in range(bisect.bisect_left(keys, start), len(keys)))
        if not overlay:
            for key in current:
                yield key, objects[key]
            return
        vanished = sorted(key for key in overlay if key >= start and key not in objects)
        for key in heapq.merge(current, vanished):
            yield key, overlay[key] if key in overlay else objects[key]

    def _count_after(self, overlay: dict[str, CacheEntry[T] | None], last: str, end: str) -> int:
        stop = bisect.bisect_left(self._keys, end) if end else len(self._keys)
        count = stop - bisect.bisect_right(self._keys, last)
        for key, entry in overlay.items():
            if key > last and not (end and key >= end):
                count += (entry is not None) - (key in self._objects)
        return count

    # --- the background task -----------------------------------------------------------------------------------

    async def _run(self) -> None:
        """List, watch, and recover forever: Compacted → re-list; anything else → back off, resume the watch."""
        delay = self.options.backoff_initial
        while True:
            error = await self._follow_storage()
            if isinstance(error, Compacted):
                self._needs_list = True
            self._reset(WatchEnd.RELIST if self._needs_list else WatchEnd.STORAGE_UNAVAILABLE, error)
            if self._progressed:
                delay = self.options.backoff_initial
                continue
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.options.backoff_max)

    async def _follow_storage(self) -> StorageError:
        """Run until the storage watch fails; return why. Sets `_progressed` when anything was applied."""
        self._progressed = False
        try:
            if self._needs_list:
                await self._relist()
            else:
                await self._storage.check()
            self._ready.set()
            stream = self._storage.watch(self._prefix, after=self._revision)
            try:
                async for batch in stream:
                    await self._apply_batch(batch)
            finally:
                close = getattr(stream, "aclose", None)
                if close is not None:
                    await close()
        except StorageError as error:
            return error
        return StorageUnavailable(f"the storage watch on {self._prefix} ended")

    async def _relist(self) -> None:
        """Read every key at one revision, page by page. The next page is asked for before this one is decoded, so
        storage produces it while the loop decodes (the decode costs about what storage takes to send a page)."""
        page = await self._storage.list(self._prefix, limit=self.options.page_size)
        revision = page.revision
        entries: list[CacheEntry[T]] = []
        while True:
            following: asyncio.Future[Page] | None = None
            if page.more and page.items:
                following = asyncio.ensure_future(self._storage.list(
                    self._prefix, revision=revision, start=page.items[-1].key + "\x00", limit=self.options.page_size))
            try:
                await self._decode_into(entries, page.items)
            except BaseException:
                if following is not None:
                    following.cancel()
                    following.add_done_callback(_retrieve)  # its own failure, if any, is not the one to report
                raise
            if following is None:
                break
            page = await following
        self._replace(revision, entries)

    async def _decode_into(self, entries: list[CacheEntry[T]], items: Sequence[KeyValue]) -> None:
        for start in range(0, len(items), DECODES_PER_TICK):
            if start:
                await asyncio.sleep(0)  # lets the next page's request go out, and other requests run
            entries.extend(self._reuse_or_decode(kv) for kv in items[start:start + DECODES_PER_TICK])

    def _reuse_or_decode(self, kv: KeyValue) -> CacheEntry[T]:
        known = self._objects.get(kv.key)
        if known is not None and known.kv == kv:
            return known
        return CacheEntry(kv, self._decode(kv))

    def _replace(self, revision: int, entries: Sequence[CacheEntry[T]]) -> None:
        self._objects = {entry.kv.key: entry for entry in entries}
        self._keys = sorted(self._objects)
        self._window = []
        self._window_head = 0
        self._floor = revision
        self._revision = revision
        self._generation += 1
        self._has_state = True
        self._needs_list = False
        self._progressed = True
        self._release_waiters()
        logger.info("watchcache_listed", extra={"prefix": self._prefix, "revision": revision, "keys": len(entries)})

    async def _apply_batch(self, batch: Sequence[Event]) -> None:
        for index, event in enumerate(batch, 1):
            if event.revision < self._revision:
                continue
            self._apply(event)
            if index % EVENTS_PER_TICK == 0 and index < len(batch) and batch[index].revision != event.revision:
                await asyncio.sleep(0)
        progress = getattr(batch, "progress_revision", 0)
        if isinstance(progress, int) and progress > self._revision:
            self._revision = progress
            self._release_waiters()
        self._progressed = True

    def _apply(self, event: Event) -> None:
        previous = self._previous_of(event)
        current: CacheEntry[T] | None = None
        if event.type is EventType.DELETE:
            self._remove(event.key)
        else:
            kv = KeyValue(event.key, event.value, event.create_revision, event.revision)
            current = CacheEntry(kv, self._decode(kv))
            self._put(current)
        change = _Change(event, current, previous, self._decode, self._clock())
        self._record(change)
        self._revision = event.revision
        self._generation += 1
        self._release_waiters()
        self._dispatch(change)

    def _previous_of(self, event: Event) -> CacheEntry[T] | None:
        known = self._objects.get(event.key)
        if known is not None or event.prev_value is None or event.type is EventType.CREATE:
            return known
        # The cache missed the key; the event's own previous value is the best knowledge there is.
        logger.warning("watchcache_missing_key", extra={"prefix": self._prefix, "key": event.key})
        kv = KeyValue(event.key, event.prev_value, event.create_revision, event.create_revision)
        return CacheEntry(kv, self._decode(kv))

    def _put(self, entry: CacheEntry[T]) -> None:
        if entry.kv.key not in self._objects:
            bisect.insort(self._keys, entry.kv.key)
        self._objects[entry.kv.key] = entry

    def _remove(self, key: str) -> None:
        if self._objects.pop(key, None) is not None:
            del self._keys[bisect.bisect_left(self._keys, key)]

    def _record(self, change: _Change[T]) -> None:
        window = self._window
        window.append(change)
        horizon = change.recorded_at - self.options.window_seconds
        while self._window_head < len(window) and (
            len(window) - self._window_head > self.options.window_events
            or window[self._window_head].recorded_at < horizon
        ):
            self._floor = window[self._window_head].revision
            self._window_head += 1
        # Changes that left the window are dropped from the list (so freed) in chunks, amortised O(1) per change:
        # fewer than WINDOW_SLACK of them, and fewer than a third of the live window, stay referenced.
        if self._window_head >= WINDOW_SLACK or self._window_head * 4 >= len(window):
            del window[: self._window_head]
            self._window_head = 0

    def _dispatch(self, change: _Change[T]) -> None:
        too_slow = [watch for watch in self._watchers if not watch._offer(change)]
        for watch in too_slow:
            logger.info("watchcache_watcher_too_slow", extra={"prefix": self._prefix, "revision": change.revision})
            self._forget(watch)
            watch._end(WatchEnd.TOO_SLOW)

    def _release_waiters(self) -> None:
        while self._waiters and self._waiters[0][0] <= self._revision:
            future = heapq.heappop(self._waiters)[2]
            if not future.done():
                future.set_result(None)

    def _reset(self, reason: WatchEnd, error: StorageError) -> None:
        logger.warning("watchcache_interrupted", extra={"prefix": self._prefix, "reason": reason.value,
                                                         "revision": self._revision, "error": str(error)})
        self._ready.clear()
        self._end_watchers(reason)

    def _end_watchers(self, reason: WatchEnd) -> None:
        watchers = list(self._watchers)
        self._watchers.clear()
        for watch in watchers:
            watch._end(reason)

    def _log_task_end(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            logger.error("watchcache_failed", extra={"prefix": self._prefix}, exc_info=task.exception())
            self._ready.clear()
            self._end_watchers(WatchEnd.STOPPED)


def _decode_nothing(kv: KeyValue) -> Any:
    return None


def _revision_of(change: _Change[Any]) -> int:
    return change.revision


def _initial_events(entries: list[CacheEntry[T]], predicate: Predicate[T] | None) -> Iterator[CacheEvent[T]]:
    for entry in entries:
        if predicate is None or predicate(entry):
            yield CacheEvent(EventType.CREATE, entry)


def _replayed_events(changes: Sequence[_Change[T]], predicate: Predicate[T] | None) -> Iterator[CacheEvent[T]]:
    for change in changes:
        event = change.event_for(predicate)
        if event is not None:
            yield event


def _retrieve(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()
