"""WatchFanout: one storage watch demultiplexed to per-prefix subscriptions and the watch caches built on them.

Runs on MemoryStorage and SQLiteStorage; outages and compaction are injected with the watch-cache tests'
FaultyStorage wrapper around MemoryStorage.
"""
from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from apiserver.storage.backends import StorageOptions, open_storage
from apiserver.storage.errors import Compacted, StorageUnavailable
from apiserver.storage.fanout import FanoutBatch, Subscription, WatchFanout
from apiserver.storage.interface import KeyValue, Storage
from apiserver.storage.memory.backend import MemoryStorage
from apiserver.storage.watchcache import WatchCache, WatchCacheOptions
from tests.storage.test_watchcache import FaultyStorage

ROOT = "/registry/"
PODS = "/registry/pods/"
NODES = "/registry/minions/"


@pytest.fixture(params=["memory", "sqlite"])
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    options = StorageOptions(backend=request.param, sqlite_path=str(tmp_path / "state.db"),
                             sqlite_synchronous="NORMAL")
    opened = await open_storage(options)
    try:
        yield opened
    finally:
        await opened.close()


@contextlib.asynccontextmanager
async def running(storage: Storage, **options: Any) -> AsyncIterator[WatchFanout]:
    fanout = WatchFanout(storage, ROOT, backoff_initial=0.01, **options)
    await fanout.start()
    try:
        await fanout.wait_started()
        yield fanout
    finally:
        await fanout.stop()


async def next_batch(subscription: Subscription) -> FanoutBatch:
    async with asyncio.timeout(5):
        return await subscription.__anext__()


async def next_events(subscription: Subscription) -> FanoutBatch:
    """The next batch that carries events: progress-only batches (other prefixes' writes) are skipped."""
    async with asyncio.timeout(5):
        while not (batch := await subscription.__anext__()):
            pass
        return batch


async def eventually(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(5):
        while not condition():
            await asyncio.sleep(0.005)


def decode_value(kv: KeyValue) -> bytes:
    return kv.value


async def test_changes_reach_only_the_subscription_of_their_prefix(storage: Storage) -> None:
    async with running(storage, progress_interval=3600) as fanout:
        pods = fanout.subscribe(PODS, fanout.delivered)
        nodes = fanout.subscribe(NODES, fanout.delivered)
        revision = await storage.create(PODS + "ns/a", b"a")
        batch = await next_batch(pods)
        assert [event.key for event in batch] == [PODS + "ns/a"] and batch.progress_revision == revision
        await storage.create("/elsewhere/x", b"x")  # outside the fan-out's prefix: nobody hears of it
        node_revision = await storage.create(NODES + "n1", b"n")
        batch = await next_events(nodes)
        assert [event.key for event in batch] == [NODES + "n1"] and batch.progress_revision == node_revision
        pods.close()
        nodes.close()


async def test_a_quiet_subscription_gets_progress_when_asked(storage: Storage) -> None:
    async with running(storage, progress_interval=3600) as fanout:
        pods = fanout.subscribe(PODS, fanout.delivered)
        revision = await storage.create(NODES + "n1", b"n")
        fanout.want_progress(pods, revision)
        batch = await next_batch(pods)
        assert list(batch) == [] and batch.progress_revision >= revision
        pods.close()


async def test_progress_is_broadcast_at_most_once_per_interval(storage: Storage) -> None:
    async with running(storage, progress_interval=0) as fanout:
        pods = fanout.subscribe(PODS, fanout.delivered)
        first = await storage.create(NODES + "n1", b"n")
        second = await storage.create(NODES + "n2", b"n")
        await eventually(lambda: fanout.delivered >= second)
        batch = await next_batch(pods)
        assert list(batch) == [] and batch.progress_revision in (first, second)
        if batch.progress_revision == first:
            assert (await next_batch(pods)).progress_revision == second
        pods.close()


async def test_a_watch_cache_on_a_quiet_prefix_reaches_revisions_written_elsewhere(storage: Storage) -> None:
    async with running(storage) as fanout:
        view = fanout.view(PODS)
        cache = WatchCache(view, PODS, decode=decode_value)
        await cache.start()
        try:
            await cache.wait_ready(5)
            revision = await storage.create(NODES + "n1", b"n")
            view.want_progress(revision)
            await cache.wait_until(revision, 5)
            assert cache.revision >= revision and cache.list().items == []
        finally:
            await cache.stop()


async def test_a_cache_joining_later_lists_then_follows_without_a_gap(storage: Storage) -> None:
    await storage.create(PODS + "ns/before", b"1")
    async with running(storage) as fanout:
        await storage.create(PODS + "ns/meanwhile", b"2")
        await eventually(lambda: fanout.delivered == 2)
        view = fanout.view(PODS)
        cache = WatchCache(view, PODS, decode=decode_value)
        await cache.start()
        try:
            await cache.wait_ready(5)
            after = await storage.create(PODS + "ns/after", b"3")
            await cache.wait_until(after, 5)
            assert [entry.key for entry in cache.list().items] == [
                PODS + "ns/after", PODS + "ns/before", PODS + "ns/meanwhile"]
        finally:
            await cache.stop()


async def test_a_watch_from_a_passed_revision_without_a_list_fails_with_compacted(storage: Storage) -> None:
    async with running(storage) as fanout:
        revision = await storage.create(PODS + "a", b"a")
        await eventually(lambda: fanout.delivered == revision)
        stream = fanout.view(PODS).watch(PODS, after=0)
        with pytest.raises(Compacted):
            await stream.__anext__()


async def test_a_broken_storage_watch_is_resumed_without_losing_changes() -> None:
    faulty = FaultyStorage(MemoryStorage())
    async with running(faulty, progress_interval=3600) as fanout:
        pods = fanout.subscribe(PODS, fanout.delivered)
        faulty.hold_watch()
        await faulty.create(PODS + "a", b"a")
        faulty.release_watch(StorageUnavailable("injected"))
        await eventually(lambda: faulty.watches >= 2)
        await faulty.create(PODS + "b", b"b")
        keys: list[str] = []
        while len(keys) < 2:
            keys.extend(event.key for event in await next_batch(pods))
        assert keys == [PODS + "a", PODS + "b"]
        assert not pods.closed
        pods.close()


async def test_compaction_past_the_fanout_ends_subscriptions_and_caches_relist() -> None:
    inner = MemoryStorage()
    faulty = FaultyStorage(inner)
    async with running(faulty) as fanout:
        view = fanout.view(PODS)
        cache = WatchCache(view, PODS, decode=decode_value, options=WatchCacheOptions(backoff_initial=0.01))
        await cache.start()
        try:
            await cache.wait_ready(5)
            faulty.hold_watch()
            await faulty.create(PODS + "a", b"a")
            last = await faulty.create(PODS + "b", b"b")
            await inner.compact(last)
            faulty.release_watch(Compacted(1, last))
            await eventually(lambda: cache.is_ready() and cache.revision >= last and len(cache.list().items) == 2)
            assert fanout.delivered >= last
        finally:
            await cache.stop()
