"""Updates start from the watch cache's copy (upstream's cacher passes it to GuaranteedUpdate): one storage write,
no storage read first; a stale copy costs a failed write and a storage read, never a wrong answer.

Runs on MemoryStorage and SQLiteStorage; `PausableStorage` (the watch cache tests' FaultyStorage) holds the
registry's storage watch so the cache's copy can be made stale on purpose.
"""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from apiserver.meta.errors import ApiError
from apiserver.registry.stores import Registry
from apiserver.storage.interface import KeyValue, Storage
from tests.registry.harness import UNIT_BACKENDS, ctx, opened_storage, resource_store, running_registry
from tests.storage.test_watchcache import FaultyStorage

KEY = "/registry/configmaps/ns/cm"


class PausableStorage(FaultyStorage):
    """FaultyStorage counting reads and writes (its `hold_watch()` makes the cache stale)."""

    def __init__(self, inner: Storage) -> None:
        super().__init__(inner)
        self.gets = 0
        self.updates = 0

    async def get(self, key: str) -> KeyValue | None:
        self.gets += 1
        return await super().get(key)

    async def update(self, key: str, value: bytes, *, expected: int) -> int:
        self.updates += 1
        return await super().update(key, value, expected=expected)


@pytest.fixture(params=UNIT_BACKENDS)
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[PausableStorage]:
    async with opened_storage(request.param, tmp_path, request) as opened:
        yield PausableStorage(opened)


@pytest.fixture
async def registry(storage: PausableStorage) -> AsyncIterator[Registry]:
    async with running_registry(storage) as running:  # type: ignore[arg-type]
        yield running


def configmap(rv: str = "", **data: str) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": "cm", **({"resourceVersion": rv} if rv else {})}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": data}


async def cached(registry: Registry, revision: int) -> None:
    store = resource_store(registry, "", "v1", "configmaps")
    async with asyncio.timeout(5):
        while (entry := store._cache.get(KEY)) is None or entry.kv.mod_revision < revision:
            await asyncio.sleep(0.01)


async def stale_copy(registry: Registry, storage: PausableStorage, **data: str) -> int:
    """Create cm, let the cache hold it, then change it behind the cache's back; the change's revision."""
    store = resource_store(registry, "", "v1", "configmaps")
    created = await store.create("ns", configmap(v="1"), ctx("ns"))
    await cached(registry, int(created.obj["metadata"]["resourceVersion"]))
    storage.hold_watch()
    current = await storage.inner.get(KEY)
    assert current is not None
    value = orjson.loads(current.value)
    value["data"] = data
    return await storage.inner.update(KEY, orjson.dumps(value), expected=current.mod_revision)


async def test_an_update_with_a_fresh_cache_writes_once_and_reads_nothing(registry: Registry,
                                                                          storage: PausableStorage) -> None:
    store = resource_store(registry, "", "v1", "configmaps")
    created = await store.create("ns", configmap(v="1"), ctx("ns"))
    rv = created.obj["metadata"]["resourceVersion"]
    await cached(registry, int(rv))
    gets, updates = storage.gets, storage.updates
    updated, was_created = await store.update("ns", "cm", configmap(rv, v="2"), ctx("ns"))
    assert not was_created and updated.obj["data"] == {"v": "2"}
    assert int(updated.obj["metadata"]["resourceVersion"]) > int(rv)
    assert (storage.gets - gets, storage.updates - updates) == (0, 1)


async def test_a_stale_cache_copy_costs_a_read_and_the_update_applies_to_the_current_object(
        registry: Registry, storage: PausableStorage) -> None:
    changed = await stale_copy(registry, storage, v="someone else")
    store = resource_store(registry, "", "v1", "configmaps")
    gets, updates = storage.gets, storage.updates
    # The client saw the current version (say, from another replica): the cache's older copy must not refuse it.
    updated, _ = await store.update("ns", "cm", configmap(str(changed), v="3"), ctx("ns"))
    assert updated.obj["data"] == {"v": "3"} and int(updated.obj["metadata"]["resourceVersion"]) > changed
    assert (storage.gets - gets, storage.updates - updates) == (1, 1)  # the version check failed before any write
    storage.release_watch()


async def test_an_unconditional_update_over_a_stale_copy_retries_after_the_failed_write(
        registry: Registry, storage: PausableStorage) -> None:
    changed = await stale_copy(registry, storage, v="someone else")
    store = resource_store(registry, "", "v1", "configmaps")
    gets, updates = storage.gets, storage.updates
    updated, _ = await store.update("ns", "cm", configmap(v="3"), ctx("ns"))
    assert updated.obj["data"] == {"v": "3"} and int(updated.obj["metadata"]["resourceVersion"]) > changed
    assert (storage.gets - gets, storage.updates - updates) == (1, 2)
    storage.release_watch()


async def test_a_no_op_against_a_stale_copy_is_checked_with_storage(registry: Registry,
                                                                   storage: PausableStorage) -> None:
    changed = await stale_copy(registry, storage, v="someone else")
    store = resource_store(registry, "", "v1", "configmaps")
    updated, _ = await store.update("ns", "cm", configmap(v="1"), ctx("ns"))  # equal to the cache's copy only
    assert updated.obj["data"] == {"v": "1"} and int(updated.obj["metadata"]["resourceVersion"]) > changed
    storage.release_watch()


async def test_a_version_the_stale_copy_has_but_storage_moved_past_is_a_conflict(
        registry: Registry, storage: PausableStorage) -> None:
    await stale_copy(registry, storage, v="someone else")
    store = resource_store(registry, "", "v1", "configmaps")
    entry = store._cache.get(KEY)
    assert entry is not None
    with pytest.raises(ApiError) as raised:  # the cache's version: the write compares it and storage refuses
        await store.update("ns", "cm", configmap(str(entry.kv.mod_revision), v="2"), ctx("ns"))
    assert raised.value.to_status()["reason"] == "Conflict"
    assert (await storage.inner.get(KEY)).value.count(b"someone else") == 1  # type: ignore[union-attr]
    storage.release_watch()


async def test_a_patch_over_a_stale_copy_applies_to_the_current_object(registry: Registry,
                                                                       storage: PausableStorage) -> None:
    changed = await stale_copy(registry, storage, v="someone else", w="kept")
    store = resource_store(registry, "", "v1", "configmaps")

    def transform(obj: dict[str, Any]) -> dict[str, Any]:
        return {**obj, "data": {**obj["data"], "v": "patched"}}

    patched = await store.guaranteed_update("ns", "cm", transform, ctx("ns"))
    assert patched.obj["data"] == {"v": "patched", "w": "kept"}
    assert int(patched.obj["metadata"]["resourceVersion"]) > changed
    storage.release_watch()
