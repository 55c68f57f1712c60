"""WatchCache: list + watch mirror of one prefix, window replay, fan-out, predicates and recovery.

Runs over MemoryStorage (and SQLiteStorage in the self-check), with a fault-injecting wrapper for outages.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import random
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from apiserver.storage import watchcache
from apiserver.storage.backends import StorageOptions
from apiserver.storage.errors import Compacted, FutureRevision, StorageError, StorageUnavailable
from apiserver.storage.interface import Event, EventType, KeyValue, Page, Storage
from apiserver.storage.memory.backend import MemoryStorage
from apiserver.storage.sqlite.backend import SQLiteStorage
from apiserver.storage.watchcache import (
    Bookmark,
    CacheEntry,
    CacheEvent,
    CacheNotReady,
    CacheTimeout,
    CacheWatch,
    TooOld,
    WatchCache,
    WatchCacheOptions,
    WatchEnd,
)

PREFIX = "/registry/things/"
OTHER = "/registry/others/"
CREATE, UPDATE, DELETE = EventType.CREATE, EventType.UPDATE, EventType.DELETE

Decoded = dict[str, Any]


def decode_json(kv: KeyValue) -> Decoded:
    return {**json.loads(kv.value), "rv": kv.mod_revision}


def is_web(entry: CacheEntry[Decoded]) -> bool:
    return bool(entry.decoded.get("app") == "web")


async def put(storage: Storage, name: str, value: Decoded, prefix: str = PREFIX) -> int:
    key = prefix + name
    data = json.dumps(value).encode()
    existing = await storage.get(key)
    if existing is None:
        return await storage.create(key, data)
    return await storage.update(key, data, expected=existing.mod_revision)


async def remove(storage: Storage, name: str) -> int:
    return (await storage.delete(PREFIX + name)).mod_revision


@contextlib.asynccontextmanager
async def running(storage: Storage, decode: Callable[[KeyValue], Decoded] = decode_json,
                  **options: Any) -> AsyncIterator[WatchCache[Decoded]]:
    cache = WatchCache(storage, PREFIX, decode=decode, options=WatchCacheOptions(backoff_initial=0.01, **options))
    await cache.start()
    try:
        await cache.wait_ready(5)
        yield cache
    finally:
        await cache.stop()


async def take(watch: CacheWatch[Any], count: int) -> list[CacheEvent[Any] | Bookmark]:
    items: list[CacheEvent[Any] | Bookmark] = []
    if count == 0:
        return items
    async with asyncio.timeout(5):
        async for item in watch:
            items.append(item)
            if len(items) == count:
                break
    return items


async def events(watch: CacheWatch[Any], count: int) -> list[tuple[EventType, str, int]]:
    return [(item.type, item.entry.key.removeprefix(PREFIX), item.revision)
            for item in await take(watch, count) if isinstance(item, CacheEvent)]


async def drain(watch: CacheWatch[Any]) -> list[CacheEvent[Any] | Bookmark]:
    async with asyncio.timeout(5):
        return [item async for item in watch]


async def eventually(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(5):
        while not condition():
            await asyncio.sleep(0.005)


async def same_state(cache: WatchCache[Decoded], storage: Storage, revision: int = 0, limit: int = 0) -> None:
    """The cache's list at `revision` (paged by `limit`) equals the storage's."""
    page = cache.list(revision=revision, limit=limit)
    items = list(page.items)
    while page.more:
        page = cache.list(revision=page.revision, limit=limit, start=items[-1].key + "\x00")
        items.extend(page.items)
    expected = await storage.list(PREFIX, revision=page.revision)
    assert [entry.kv for entry in items] == list(expected.items)
    assert all(entry.decoded == decode_json(entry.kv) for entry in items)


class FaultyStorage:
    """A Storage wrapper that can hold its watch streams, break them with an error, or be down entirely."""

    def __init__(self, inner: Storage) -> None:
        self.inner = inner
        self.lists = 0
        self.watches = 0
        self.is_down = False
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._fault: StorageError | None = None
        self.held = 0  # batches that reached the hold

    def hold_watch(self) -> None:
        self._flowing.clear()

    def release_watch(self, fault: StorageError | None = None) -> None:
        """Let held batches flow again; with `fault`, the next batch raises it instead of arriving."""
        self._fault = fault
        self._flowing.set()

    async def get(self, key: str) -> KeyValue | None:
        return await self.inner.get(key)

    async def list(self, prefix: str, *, revision: int = 0, limit: int = 0, start: str = "") -> Page:
        self.lists += 1
        self._raise_if_down()
        return await self.inner.list(prefix, revision=revision, limit=limit, start=start)

    async def create(self, key: str, value: bytes) -> int:
        return await self.inner.create(key, value)

    async def update(self, key: str, value: bytes, *, expected: int) -> int:
        return await self.inner.update(key, value, expected=expected)

    async def delete(self, key: str, *, expected: int = 0) -> KeyValue:
        return await self.inner.delete(key, expected=expected)

    async def watch(self, prefix: str, *, after: int) -> AsyncIterator[Sequence[Event]]:
        self.watches += 1
        self._raise_if_down()
        stream = self.inner.watch(prefix, after=after)
        try:
            async for batch in stream:
                self.held += not self._flowing.is_set()
                await self._flowing.wait()
                if self._fault is not None:
                    fault, self._fault = self._fault, None
                    raise fault
                yield batch
        finally:
            await stream.aclose()  # type: ignore[attr-defined]

    async def current_revision(self) -> int:
        return await self.inner.current_revision()

    async def compact(self, revision: int) -> None:
        await self.inner.compact(revision)

    async def check(self) -> None:
        self._raise_if_down()

    async def close(self) -> None:
        await self.inner.close()

    def _raise_if_down(self) -> None:
        if self.is_down:
            raise StorageUnavailable("injected outage")


class ProgressBatch(list[Event]):
    """A batch that also reports how far the storage has looked (the optional progress extension)."""

    def __init__(self, events: Sequence[Event], progress_revision: int) -> None:
        super().__init__(events)
        self.progress_revision = progress_revision


class ProgressStorage(FaultyStorage):
    """Watches the whole keyspace underneath, so it can report progress made under other prefixes."""

    async def watch(self, prefix: str, *, after: int) -> AsyncIterator[Sequence[Event]]:
        stream = self.inner.watch("", after=after)
        try:
            async for batch in stream:
                yield ProgressBatch([event for event in batch if event.key.startswith(prefix)], batch[-1].revision)
        finally:
            await stream.aclose()  # type: ignore[attr-defined]


async def test_initial_list_then_live_changes() -> None:
    storage = MemoryStorage()
    await put(storage, "a", {"n": 1})
    await put(storage, "b", {"n": 2})
    await put(storage, "z", {}, prefix=OTHER)
    async with running(storage) as cache:
        page = cache.list()
        assert [(entry.key, entry.decoded) for entry in page.items] == [
            (PREFIX + "a", {"n": 1, "rv": 1}), (PREFIX + "b", {"n": 2, "rv": 2})]
        assert (page.revision, page.more, page.remaining, cache.revision) == (3, False, 0, 3)
        watch = cache.watch(after=cache.revision)
        created = await put(storage, "c", {"n": 3})
        await put(storage, "y", {}, prefix=OTHER)
        updated = await put(storage, "a", {"n": 10})
        deleted = await remove(storage, "b")
        received = await take(watch, 3)
        assert [(event.type, event.entry.key, event.revision) for event in received] == [  # type: ignore[union-attr]
            (CREATE, PREFIX + "c", created), (UPDATE, PREFIX + "a", updated), (DELETE, PREFIX + "b", deleted)]
        assert received[2].entry.decoded == {"n": 2, "rv": deleted}  # type: ignore[union-attr]
        assert cache.get(PREFIX + "a").decoded == {"n": 10, "rv": updated}  # type: ignore[union-attr]
        assert cache.get(PREFIX + "b") is None
        assert cache.revision == deleted


async def test_list_pages_stay_consistent_at_one_revision_while_writes_continue() -> None:
    storage = MemoryStorage()
    for i in range(30):
        await put(storage, f"k{i:02}", {"n": i})
    async with running(storage) as cache:
        page = cache.list(limit=7)
        at = page.revision
        collected = list(page.items)
        assert (page.more, page.remaining) == (True, 23)
        step = 0
        while page.more:
            await put(storage, f"k{step:02}", {"n": -1})
            await remove(storage, f"k{29 - step:02}")
            await cache.wait_until(await put(storage, f"k{step:02}x", {"new": True}), 5)
            page = cache.list(limit=7, start=collected[-1].key + "\x00", revision=at)
            collected.extend(page.items)
            assert (page.revision, page.remaining) == (at, 30 - len(collected))
            step += 1
        assert [entry.kv for entry in collected] == list((await storage.list(PREFIX, revision=at)).items)
        await same_state(cache, storage, limit=4)


async def test_list_with_predicate_pages_by_matches_and_reports_unexamined_keys() -> None:
    storage = MemoryStorage()
    for i in range(10):
        await put(storage, f"k{i}", {"app": "web" if i in (1, 2, 5) else "db"})
    async with running(storage) as cache:
        first = cache.list(predicate=is_web, limit=2)
        assert [entry.key for entry in first.items] == [PREFIX + "k1", PREFIX + "k2"]
        assert (first.more, first.remaining) == (True, 7)
        rest = cache.list(predicate=is_web, limit=2, start=PREFIX + "k2\x00")
        assert [entry.key for entry in rest.items] == [PREFIX + "k5"]
        assert (rest.more, rest.remaining) == (False, 0)


async def test_list_outside_the_window_or_in_the_future_is_refused() -> None:
    storage = MemoryStorage()
    async with running(storage, window_events=2) as cache:
        revisions = [await put(storage, f"k{i}", {}) for i in range(5)]
        await cache.wait_until(revisions[-1], 5)
        with pytest.raises(TooOld, match=rf"^too old resource version: {revisions[1]} \({revisions[2]}\)$"):
            cache.list(revision=revisions[1])
        assert len(cache.list(revision=revisions[2]).items) == 3
        with pytest.raises(FutureRevision):
            cache.list(revision=revisions[-1] + 1)


async def test_wait_until_returns_once_the_cache_reaches_the_revision() -> None:
    storage = MemoryStorage()
    async with running(storage) as cache:
        waiter = asyncio.create_task(cache.wait_until(cache.revision + 2, 5))
        await put(storage, "a", {})
        await asyncio.sleep(0.01)
        assert not waiter.done()
        written = await put(storage, "b", {})
        async with asyncio.timeout(5):
            await waiter
        assert cache.revision == written


async def test_wait_until_times_out_with_too_large_resource_version() -> None:
    storage = MemoryStorage()
    await put(storage, "a", {})
    async with running(storage) as cache:
        # A write under another prefix moves the storage but never reaches this cache's watch.
        target = await put(storage, "x", {}, prefix=OTHER)
        with pytest.raises(CacheTimeout, match=rf"^Too large resource version: {target}, current: 1$"):
            await cache.wait_until(target, 0.05)
        assert cache.revision == 1


async def test_progress_batches_advance_the_cache_without_events() -> None:
    storage = ProgressStorage(MemoryStorage())
    async with running(storage) as cache:
        watch = cache.watch(after=cache.revision)
        target = await put(storage, "x", {}, prefix=OTHER)
        await cache.wait_until(target, 5)
        assert cache.revision == target
        watch.request_bookmark()
        assert await take(watch, 1) == [Bookmark(target)]


async def test_watch_inside_the_window_replays_exactly_the_missing_events_in_order() -> None:
    storage = MemoryStorage()
    async with running(storage) as cache:
        revisions = [await put(storage, f"k{i % 4}", {"n": i}) for i in range(10)]
        await cache.wait_until(revisions[-1], 5)
        watch = cache.watch(after=revisions[3])
        assert [revision for _, _, revision in await events(watch, 6)] == revisions[4:]
        live = await put(storage, "k9", {})
        assert await events(watch, 1) == [(CREATE, "k9", live)]


async def test_watch_below_the_window_is_too_old() -> None:
    storage = MemoryStorage()
    async with running(storage, window_events=3) as cache:
        start = cache.revision
        revisions = [await put(storage, f"k{i}", {}) for i in range(10)]
        await cache.wait_until(revisions[-1], 5)
        for too_old in (start, revisions[5]):
            with pytest.raises(TooOld, match=rf"^too old resource version: {too_old} \({revisions[6]}\)$"):
                cache.watch(after=too_old)
        watch = cache.watch(after=revisions[6])
        assert [revision for _, _, revision in await events(watch, 3)] == revisions[7:]


async def test_window_forgets_changes_older_than_its_age() -> None:
    now = [100.0]
    storage = MemoryStorage()
    cache = WatchCache(storage, PREFIX, options=WatchCacheOptions(window_seconds=10), clock=lambda: now[0])
    await cache.start()
    try:
        await cache.wait_ready(5)
        first = await put(storage, "a", {})
        second = await put(storage, "b", {})
        await cache.wait_until(second, 5)
        now[0] += 11
        third = await put(storage, "c", {})
        await cache.wait_until(third, 5)
        with pytest.raises(TooOld):
            cache.watch(after=first)
        replayed = cache.watch(after=second)
        assert [event.revision for event in await take(replayed, 1)] == [third]
    finally:
        await cache.stop()


async def test_watch_from_the_start_revision_is_served_after_the_window_moved() -> None:
    storage = MemoryStorage()
    await put(storage, "a", {})
    async with running(storage) as cache:
        start = cache.revision
        watch = cache.watch(after=start)
        written = await put(storage, "b", {})
        assert await events(watch, 1) == [(CREATE, "b", written)]


async def test_send_initial_yields_the_current_state_then_live_changes() -> None:
    storage = MemoryStorage()
    for name, app in (("c", "web"), ("a", "web"), ("b", "db")):
        await put(storage, name, {"app": app})
    async with running(storage) as cache:
        watch = cache.watch(send_initial=True, predicate=is_web)
        assert watch.after == cache.revision
        await put(storage, "d", {"app": "db"})
        created = await put(storage, "e", {"app": "web"})
        await cache.wait_until(created, 5)
        watch.request_bookmark()
        received = await take(watch, 4)
        assert [(item.type, item.entry.key, item.revision) for item in received[:3]] == [  # type: ignore[union-attr]
            (CREATE, PREFIX + "a", 2), (CREATE, PREFIX + "c", 1), (CREATE, PREFIX + "e", created)]
        assert received[3] == Bookmark(created)


async def test_predicate_sees_objects_move_into_and_out_of_the_selection() -> None:
    storage = MemoryStorage()
    await put(storage, "a", {"app": "web"})
    async with running(storage) as cache:
        selected = cache.watch(after=cache.revision, predicate=is_web)
        everything = cache.watch(after=cache.revision)
        left = await put(storage, "a", {"app": "db"})
        await put(storage, "b", {"app": "db"})
        entered = await put(storage, "a", {"app": "web", "n": 1})
        modified = await put(storage, "a", {"app": "web", "n": 2})
        deleted = await remove(storage, "a")
        received = await take(selected, 4)
        assert [(item.type, item.revision) for item in received] == [  # type: ignore[union-attr]
            (DELETE, left), (CREATE, entered), (UPDATE, modified), (DELETE, deleted)]
        # Leaving the selection shows the last selected value, stamped with the revision of the change.
        assert received[0].entry.decoded == {"app": "web", "rv": left}  # type: ignore[union-attr]
        assert received[3].entry.decoded == {"app": "web", "n": 2, "rv": deleted}  # type: ignore[union-attr]
        assert [item[0] for item in await events(everything, 5)] == [UPDATE, CREATE, UPDATE, UPDATE, DELETE]


async def test_slow_watcher_is_closed_while_a_fast_one_keeps_receiving() -> None:
    storage = MemoryStorage()
    async with running(storage, watcher_queue=5) as cache:
        slow = cache.watch(after=cache.revision)
        fast = cache.watch(after=cache.revision)
        revisions = []
        for i in range(20):
            revisions.append(await put(storage, f"k{i}", {}))
            assert [revision for _, _, revision in await events(fast, 1)] == revisions[-1:]
        assert slow.end_reason is WatchEnd.TOO_SLOW
        assert (fast.end_reason, cache.watcher_count) == (None, 1)
        assert [item.revision for item in await drain(slow)] == revisions[:5]


async def test_hundred_watchers_each_get_every_event_once_in_order() -> None:
    storage = MemoryStorage()
    async with running(storage) as cache:
        watches = [cache.watch(after=cache.revision) for _ in range(100)]
        readers = [asyncio.create_task(take(watch, 200)) for watch in watches]
        revisions = [await put(storage, f"k{i % 30}", {"n": i}) for i in range(200)]
        results = await asyncio.gather(*readers)
        assert all([item.revision for item in result] == revisions for result in results)
        # Fan-out shares one event object per change across every watcher.
        assert all(result[i] is results[0][i] for result in results for i in range(200))
        for watch in watches:
            watch.close()
        assert cache.watcher_count == 0


async def test_stop_leaves_no_task_behind() -> None:
    before = asyncio.all_tasks()
    storage = MemoryStorage()
    cache = WatchCache(storage, PREFIX)
    await cache.start()
    await cache.wait_ready(5)
    watch = cache.watch(after=cache.revision)
    waiter = asyncio.create_task(cache.wait_until(cache.revision + 5, 5))
    await asyncio.sleep(0)
    await cache.stop()
    with pytest.raises(CacheNotReady):
        await waiter
    assert asyncio.all_tasks() == before
    assert (watch.end_reason, cache.is_ready()) == (WatchEnd.STOPPED, False)
    assert await drain(watch) == []


async def test_decode_runs_once_per_value_version_however_many_watchers() -> None:
    calls: Counter[KeyValue] = Counter()

    def counting(kv: KeyValue) -> Decoded:
        calls[kv] += 1
        return decode_json(kv)

    storage = MemoryStorage()
    for i in range(5):
        await put(storage, f"k{i}", {"app": "web"})
    async with running(storage, decode=counting) as cache:
        watches = [cache.watch(after=cache.revision, predicate=None if i % 2 else is_web) for i in range(40)]
        readers = [asyncio.create_task(drain(watch)) for watch in watches]
        for i in range(5):
            await put(storage, f"k{i}", {"app": "db" if i % 2 else "web", "n": i})
            await put(storage, f"n{i}", {"app": "web"})
            await remove(storage, f"k{i}")
        await cache.wait_until(await storage.current_revision(), 5)
        cache.list()
        await cache.stop()
        await asyncio.gather(*readers)
    assert max(calls.values()) == 1
    # 5 listed + 5 updates + 5 creates, and the departed values stamped with the revision of their change:
    # 5 deletes + 2 updates that leave the `is_web` selection.
    assert len(calls) == 22


async def test_cache_relists_after_the_storage_compacted_history_it_missed() -> None:
    storage = FaultyStorage(MemoryStorage())
    await put(storage, "a", {})
    async with running(storage) as cache:
        watch = cache.watch(after=cache.revision)
        storage.hold_watch()
        for i in range(3):
            await put(storage, f"k{i}", {})
        # The stream took a batch before the compaction (else it would report the compaction itself: RELIST).
        await eventually(lambda: storage.held >= 1)
        await storage.compact(await storage.current_revision())
        # The stream breaks; resuming at the cache's revision meets the compaction, so the cache must re-list.
        storage.release_watch(StorageUnavailable("connection reset"))
        await eventually(lambda: storage.lists == 2 and cache.is_ready())
        assert watch.end_reason is WatchEnd.STORAGE_UNAVAILABLE
        assert cache.revision == await storage.current_revision()
        await same_state(cache, storage)
        after = cache.watch(after=cache.revision)
        written = await put(storage, "b", {})
        assert await events(after, 1) == [(CREATE, "b", written)]


async def test_compacted_watch_ends_watchers_with_relist() -> None:
    storage = FaultyStorage(MemoryStorage())
    async with running(storage) as cache:
        watch = cache.watch(after=cache.revision)
        storage.release_watch(Compacted(1, 2))
        await put(storage, "a", {})
        await eventually(lambda: storage.lists == 2 and cache.is_ready())
        assert watch.end_reason is WatchEnd.RELIST
        await same_state(cache, storage)


async def test_cache_resumes_its_watch_after_an_outage_without_relisting() -> None:
    storage = FaultyStorage(MemoryStorage())
    async with running(storage) as cache:
        watch = cache.watch(after=cache.revision)
        first = await put(storage, "a", {})
        assert await events(watch, 1) == [(CREATE, "a", first)]
        storage.is_down = True
        storage.release_watch(StorageUnavailable("connection reset"))
        await put(storage, "b", {})
        await eventually(lambda: not cache.is_ready())
        assert [item.revision for item in await drain(watch)] == []
        assert watch.end_reason is WatchEnd.STORAGE_UNAVAILABLE
        with pytest.raises(CacheNotReady):
            cache.watch(after=cache.revision)
        assert [entry.key for entry in cache.list().items] == [PREFIX + "a"]  # stale reads go on
        storage.is_down = False
        await cache.wait_ready(5)
        await cache.wait_until(await storage.current_revision(), 5)
        assert storage.lists == 1
        await same_state(cache, storage)


async def test_reads_before_the_first_list_are_not_ready() -> None:
    cache = WatchCache(MemoryStorage(), PREFIX)
    with pytest.raises(CacheNotReady, match=r"^storage is \(re\)initializing$"):
        cache.list()
    with pytest.raises(CacheNotReady):
        cache.watch(after=0)
    with pytest.raises(CacheNotReady):
        await cache.wait_ready(0.01)
    assert not cache.is_ready()


async def test_cache_matches_storage_after_random_writes() -> None:
    await check_random_writes(MemoryStorage(), steps=400)


async def test_cache_matches_sqlite_storage_after_random_writes(tmp_path: Path) -> None:
    options = StorageOptions(backend="sqlite", sqlite_path=str(tmp_path / "state.db"), sqlite_synchronous="NORMAL")
    storage = await SQLiteStorage.open(options)
    try:
        await check_random_writes(storage, steps=150)
    finally:
        await storage.close()


async def check_random_writes(storage: Storage, steps: int) -> None:
    """Random creates, updates and deletes: every list, now and at past revisions, equals the storage's."""
    generator = random.Random(2340)
    for i in range(20):
        await put(storage, f"k{i:02}", {"n": i})
    async with running(storage, window_events=steps // 2) as cache:
        watch = cache.watch(after=cache.revision)
        prefix_revisions: list[int] = []
        for step in range(steps):
            name = f"k{generator.randrange(40):02}"
            if generator.random() < 0.1:
                await put(storage, name, {"step": step}, prefix=OTHER)
            elif generator.random() < 0.3 and await storage.get(PREFIX + name) is not None:
                prefix_revisions.append(await remove(storage, name))
            else:
                prefix_revisions.append(await put(storage, name, {"step": step, "app": generator.choice("ab")}))
        await cache.wait_until(prefix_revisions[-1], 5)
        await same_state(cache, storage)
        for revision in generator.sample(range(cache.revision - steps // 3, cache.revision), 10):
            await same_state(cache, storage, revision=revision, limit=generator.randrange(1, 9))
        assert [revision for _, _, revision in await events(watch, len(prefix_revisions))] == prefix_revisions


async def test_generation_moves_with_the_cached_objects_not_with_progress_from_elsewhere() -> None:
    """Memos derived from a cache (RBAC's cluster role bindings, APF's configuration) key on `generation`: writes
    under other prefixes advance `revision` through the fan-out's progress, never `generation`."""
    from apiserver.storage.fanout import WatchFanout

    storage = MemoryStorage()
    fanout = WatchFanout(storage, "/registry/", progress_interval=0.01)
    await fanout.start()
    cache = WatchCache(fanout.view(PREFIX), PREFIX, decode=decode_json,
                       options=WatchCacheOptions(backoff_initial=0.01))
    await cache.start()
    try:
        await cache.wait_ready(5)
        listed = cache.generation
        written = await put(storage, "a", {})
        await eventually(lambda: cache.revision >= written)
        assert cache.generation == listed + 1
        elsewhere = written
        async with asyncio.timeout(5):
            while cache.revision <= written:  # progress is broadcast at most once per interval, with a write
                elsewhere = await put(storage, f"b{elsewhere}", {}, prefix=OTHER)
                await asyncio.sleep(0.02)
        assert cache.revision > written
        assert cache.generation == listed + 1
    finally:
        await cache.stop()
        await fanout.stop()


class PagedListStorage(FaultyStorage):
    """Records each list call and may hold one until released, to see pages asked for ahead of the decode."""

    def __init__(self, inner: Storage) -> None:
        super().__init__(inner)
        self.calls: list[tuple[int, str, int]] = []
        self.hold_from = 0  # list calls from this one on wait for `release_lists`
        self.release_lists = asyncio.Event()

    async def list(self, prefix: str, *, revision: int = 0, limit: int = 0, start: str = "") -> Page:
        self.calls.append((revision, start, limit))
        if self.hold_from and len(self.calls) >= self.hold_from:
            await self.release_lists.wait()
        return await super().list(prefix, revision=revision, limit=limit, start=start)


async def test_initial_list_reads_pages_at_one_revision_and_asks_for_the_next_while_decoding(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(watchcache, "DECODES_PER_TICK", 3)
    storage = MemoryStorage()
    for index in range(25):
        await put(storage, f"k{index:02d}", {"n": index})
    paged = PagedListStorage(storage)
    decoded_when: list[int] = []

    def decode(kv: KeyValue) -> Decoded:
        decoded_when.append(len(paged.calls))
        return decode_json(kv)

    async with running(paged, decode, page_size=10) as cache:
        await put(storage, "k99", {"n": 99})  # after the list: arrives as an event, not in a page
        await eventually(lambda: cache.revision == 26)
        assert [key.removeprefix(PREFIX) for key in cache._keys] == [f"k{index:02d}" for index in range(25)] + ["k99"]
        assert [entry.decoded["rv"] for entry in cache.list().items][:25] == list(range(1, 26))
    assert paged.calls == [(0, "", 10), (25, PREFIX + "k09\x00", 10), (25, PREFIX + "k19\x00", 10)]
    # The loop yields after each few decodes: the next page is asked for then, while this one is still decoding.
    assert decoded_when[:4] == [1, 1, 1, 2] and decoded_when[10:14] == [2, 2, 2, 3]


async def test_a_failing_decode_cancels_the_page_asked_for_ahead(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(watchcache, "DECODES_PER_TICK", 3)
    storage = MemoryStorage()
    for index in range(15):
        await put(storage, f"k{index:02d}", {"n": index})
    paged = PagedListStorage(storage)
    paged.hold_from = 2

    def decode(kv: KeyValue) -> Decoded:
        if kv.key.endswith("k07"):
            raise RuntimeError("undecodable")
        return decode_json(kv)

    cache = WatchCache(paged, PREFIX, decode=decode, options=WatchCacheOptions(page_size=10, backoff_initial=0.01))
    with pytest.raises(RuntimeError, match="undecodable"):
        await cache._relist()
    await asyncio.sleep(0)
    assert len(paged.calls) == 2 and not cache.is_ready()
    paged.release_lists.set()
    await asyncio.sleep(0.05)
    assert len(paged.calls) == 2  # the held list was cancelled, not left to finish or retried
