"""Exact and continued lists after a compaction the watch cache has not caught up with: 410 as kube-apiserver.

kube-apiserver 1.32 reads exact lists (resourceVersionMatch=Exact, or a resourceVersion with a limit) and continue
tokens from etcd, so a compacted revision is gone even while the cache's window still holds it; lists the cache
serves (NotOlderThan, "0", "") are unaffected. Runs on MemoryStorage and SQLiteStorage; the window is shown to
still hold the revision by a watch from it.
"""
from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from apiserver.meta.errors import ApiError
from apiserver.meta.resourceversion import encode_continue
from apiserver.registry.context import ListOptions
from apiserver.registry.store import ResourceStore
from apiserver.registry.stores import Registry
from apiserver.storage.interface import Storage
from tests.registry.harness import UNIT_BACKENDS, ctx, next_event, opened_storage, resource_store, running_registry

LIST_EXPIRED = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": "The resourceVersion for the provided list is too old.", "reason": "Expired", "code": 410}
CONTINUE_EXPIRED_MESSAGE = (
    "The provided continue parameter is too old to display a consistent list result. You can start a new list "
    "without the continue parameter, or use the continue token in this response to retrieve the remainder of the "
    "results. Continuing with the provided token results in an inconsistent list - objects that were created, "
    "modified, or deleted between the time the first chunk was returned and now may show up in the list."
)
PREFIX = "/registry/configmaps/ns/"


@pytest.fixture(params=UNIT_BACKENDS)
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    async with opened_storage(request.param, tmp_path, request) as opened:
        yield opened


@pytest.fixture
async def registry(storage: Storage) -> AsyncIterator[Registry]:
    async with running_registry(storage, fresh_timeout=5, consistent_timeout=0.1) as running:
        yield running


@pytest.fixture
def configmaps(registry: Registry) -> ResourceStore:
    return resource_store(registry, "", "v1", "configmaps")


def query(*, watch: bool = False, **params: str) -> ListOptions:
    return ListOptions.from_query({key: [value] for key, value in params.items()}, watch=watch)


def names(result: Any) -> list[str]:
    return [item.obj["metadata"]["name"] for item in result.items]


async def make(store: ResourceStore, name: str) -> str:
    created = await store.create("ns", {"metadata": {"name": name}}, ctx("ns"))
    return str(created.obj["metadata"]["resourceVersion"])


async def compact_caught_up(configmaps: ResourceStore, storage: Storage) -> int:
    """Compact the storage at its current revision once the cache has applied every change up to it."""
    current = await storage.current_revision()
    # MemoryStorage drops the events a watcher has not taken yet when it compacts; the cache must have them first.
    await configmaps.list("ns", query(resourceVersion=str(current), resourceVersionMatch="NotOlderThan"))
    await storage.compact(current)
    return current


async def compact_past(configmaps: ResourceStore, storage: Storage, revision: str) -> None:
    """Compact the storage above `revision` and prove the cache's window still holds it (a watch from it works)."""
    await make(configmaps, "later")
    await compact_caught_up(configmaps, storage)
    stream = await configmaps.watch("ns", query(watch=True, resourceVersion=revision))
    try:
        event = await next_event(stream)
        assert event.type in ("ADDED", "MODIFIED") and int(event.object.obj["metadata"]["resourceVersion"]) > int(
            revision)
    finally:
        await stream.aclose()


async def expired_status(store: ResourceStore, options: ListOptions) -> dict[str, object]:
    with pytest.raises(ApiError) as raised:
        await store.list("ns", options)
    return raised.value.to_status()


async def test_an_exact_list_at_a_compacted_revision_the_cache_still_holds_is_gone(
        configmaps: ResourceStore, storage: Storage) -> None:
    version = await make(configmaps, "a")
    await make(configmaps, "b")
    assert names(await configmaps.list("ns", query(resourceVersion=version, resourceVersionMatch="Exact"))) == ["a"]
    await compact_past(configmaps, storage, version)
    options = query(resourceVersion=version, resourceVersionMatch="Exact")
    assert await expired_status(configmaps, options) == LIST_EXPIRED


async def test_a_limited_list_at_a_compacted_revision_is_gone(configmaps: ResourceStore, storage: Storage) -> None:
    version = await make(configmaps, "a")
    await compact_past(configmaps, storage, version)
    assert await expired_status(configmaps, query(resourceVersion=version, limit="1")) == LIST_EXPIRED


async def test_a_continue_token_at_a_compacted_revision_is_gone_with_a_token_to_go_on(
        configmaps: ResourceStore, storage: Storage) -> None:
    for name in "abc":
        await make(configmaps, name)
    first = await configmaps.list("ns", query(limit="1"))
    assert names(first) == ["a"] and first.continue_token
    await compact_past(configmaps, storage, first.resource_version)
    status = await expired_status(configmaps, query(limit="1", **{"continue": first.continue_token}))
    assert status == {"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": CONTINUE_EXPIRED_MESSAGE,
                      "reason": "Expired", "code": 410,
                      "metadata": {"continue": encode_continue(PREFIX + "a\x00", PREFIX, -1)}}
    rest = await configmaps.list("ns", query(**{"continue": str(status["metadata"]["continue"])}))  # type: ignore[index]
    assert names(rest) == ["b", "c", "later"]
    assert rest.resource_version == str(await storage.current_revision())


async def test_the_compacted_revision_itself_is_still_served(configmaps: ResourceStore, storage: Storage) -> None:
    await make(configmaps, "a")
    await make(configmaps, "b")
    compacted = await compact_caught_up(configmaps, storage)
    result = await configmaps.list("ns", query(resourceVersion=str(compacted), resourceVersionMatch="Exact"))
    assert names(result) == ["a", "b"] and result.resource_version == str(compacted)


@pytest.mark.parametrize(
    "params",
    [{"resourceVersionMatch": "NotOlderThan"}, {"resourceVersionMatch": "NotOlderThan", "limit": "1"}, {}],
    ids=["not-older-than", "not-older-than-limited", "no-match-no-limit"],
)
async def test_lists_not_older_than_a_compacted_revision_are_served(
        configmaps: ResourceStore, storage: Storage, params: dict[str, str]) -> None:
    version = await make(configmaps, "a")
    await compact_past(configmaps, storage, version)
    result = await configmaps.list("ns", query(resourceVersion=version, **params))
    assert names(result)[:1] == ["a"] and int(result.resource_version) >= int(version)


@pytest.mark.parametrize("resource_version", ["0", ""], ids=["any", "consistent"])
async def test_any_and_consistent_lists_are_served_after_a_compaction(
        configmaps: ResourceStore, storage: Storage, resource_version: str) -> None:
    version = await make(configmaps, "a")
    await compact_past(configmaps, storage, version)
    params = {"resourceVersion": resource_version} if resource_version else {}
    assert names(await configmaps.list("ns", query(**params))) == ["a", "later"]


async def test_a_compacted_exact_list_changes_nothing_stored(configmaps: ResourceStore, storage: Storage) -> None:
    version = await make(configmaps, "a")
    await compact_past(configmaps, storage, version)
    before = await storage.list(PREFIX)
    await expired_status(configmaps, query(resourceVersion=version, resourceVersionMatch="Exact"))
    assert await storage.list(PREFIX) == before
