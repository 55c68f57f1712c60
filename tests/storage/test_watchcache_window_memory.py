"""WatchCache: changes that left the window are released, so a steady churn holds a bounded window in memory.

The soak (docs/benchmarks.md) showed each replica growing for twice the window's age: changes that had left the
window stayed in its list until more than half of the list was stale. Every decoded value here is tracked
through a weak reference, so the test counts what the cache still holds, whatever its internals.
"""
from __future__ import annotations

import gc
import json
import weakref
from typing import Any

from apiserver.storage.interface import KeyValue
from apiserver.storage.memory.backend import MemoryStorage
from apiserver.storage.watchcache import WINDOW_SLACK, WatchCache, WatchCacheOptions

PREFIX = "/registry/things/"
WRITES = 3000


class Decoded(dict[str, Any]):
    """A decoded value that can be weakly referenced."""


class Tracker:
    def __init__(self) -> None:
        self.references: list[weakref.ref[Decoded]] = []

    def decode(self, kv: KeyValue) -> Decoded:
        value = Decoded(json.loads(kv.value))
        self.references.append(weakref.ref(value))
        return value

    def count(self) -> int:
        gc.collect()
        return sum(1 for reference in self.references if reference() is not None)


async def churn(storage: MemoryStorage, cache: WatchCache[Decoded], tick: list[float]) -> None:
    """Create a key, then update it; one change per write, the clock moving 0.1 s per write."""
    revision = await storage.create(PREFIX + "a", b'{"n": 0}')
    for number in range(1, WRITES):
        await cache.wait_until(revision, 5)  # applied (and stamped by the clock) before the clock moves
        tick[0] += 0.1
        revision = await storage.update(PREFIX + "a", json.dumps({"n": number}).encode(), expected=revision)
    await cache.wait_until(revision, 5)


def bound(live: int) -> int:
    """Values a window of `live` changes may hold: each change's value, the stale slack, the current entry."""
    return live + min(WINDOW_SLACK - 1, live // 3) + 1


async def check(options: WatchCacheOptions, live: int) -> None:
    storage, tracker, tick = MemoryStorage(), Tracker(), [0.0]
    cache = WatchCache(storage, PREFIX, decode=tracker.decode, options=options, clock=lambda: tick[0])
    await cache.start()
    try:
        await cache.wait_ready(5)
        await churn(storage, cache, tick)
        held = tracker.count()
        assert live <= held <= bound(live), (held, live)
        assert len(cache.list().items) == 1
    finally:
        await cache.stop()
        await storage.close()


async def test_a_count_bounded_window_releases_the_changes_it_dropped() -> None:
    await check(WatchCacheOptions(window_events=50), live=50)


async def test_an_age_bounded_window_releases_the_changes_it_dropped() -> None:
    # 10 s at 0.1 s a write: about 100 changes stay in the window, the 2,900 before them are freed.
    await check(WatchCacheOptions(window_seconds=10), live=100)
