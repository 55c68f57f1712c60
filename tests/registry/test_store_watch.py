"""ResourceStore watch: initial events, strictly-after semantics, 410 ERROR events, bookmarks, selector moves.

Runs on MemoryStorage and SQLiteStorage with a real Registry (fan-out, shared caches).
"""
from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from apiserver.registry.context import DeleteOptions, ListOptions
from apiserver.registry.store import ResourceStore
from apiserver.registry.stores import Registry
from apiserver.storage.interface import Storage
from tests.registry.harness import (
    UNIT_BACKENDS,
    ctx,
    next_event,
    no_event,
    opened_storage,
    resource_store,
    running_registry,
)


@pytest.fixture(params=UNIT_BACKENDS)
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    async with opened_storage(request.param, tmp_path, request) as opened:
        for index in range(3):  # the caches begin at revision 3
            await opened.create(f"/other/before-{index}", b"x")
        yield opened


@pytest.fixture
async def registry(storage: Storage) -> AsyncIterator[Registry]:
    async with running_registry(storage) as running:
        yield running


@pytest.fixture
def configmaps(registry: Registry) -> ResourceStore:
    return resource_store(registry, "", "v1", "configmaps")


def watch_query(**params: str) -> ListOptions:
    return ListOptions.from_query({key: [value] for key, value in params.items()}, watch=True)


async def make(store: ResourceStore, name: str, namespace: str = "ns", **metadata: object) -> str:
    created = await store.create(namespace, {"metadata": {"name": name, **metadata}}, ctx(namespace))
    return str(created.obj["metadata"]["resourceVersion"])


async def test_watch_from_zero_starts_with_added_events_for_what_exists(configmaps: ResourceStore) -> None:
    await make(configmaps, "a")
    await configmaps.list("ns", ListOptions())  # the cache has it
    stream = await configmaps.watch("ns", watch_query(resourceVersion="0"))
    first = await next_event(stream)
    assert first.type == "ADDED" and first.object.obj["metadata"]["name"] == "a"
    await make(configmaps, "b")
    second = await next_event(stream)
    assert second.type == "ADDED" and second.object.obj["metadata"]["name"] == "b"
    await stream.aclose()


async def test_watch_from_a_version_sends_only_later_changes(configmaps: ResourceStore) -> None:
    await make(configmaps, "a")
    version = await make(configmaps, "b")
    await make(configmaps, "c")
    stream = await configmaps.watch("ns", watch_query(resourceVersion=version))
    event = await next_event(stream)
    assert event.type == "ADDED" and event.object.obj["metadata"]["name"] == "c"
    await no_event(stream)
    await stream.aclose()


async def test_modified_and_deleted_events_carry_the_new_resource_version(configmaps: ResourceStore) -> None:
    version = await make(configmaps, "a")
    stream = await configmaps.watch("ns", watch_query(resourceVersion=version))
    current = await configmaps.get("ns", "a")
    body = current.copy()
    body["data"] = {"k": "v"}
    updated, _ = await configmaps.update("ns", "a", body, ctx("ns"))
    await configmaps.delete("ns", "a", DeleteOptions(), ctx("ns"))
    modified = await next_event(stream)
    deleted = await next_event(stream)
    assert modified.type == "MODIFIED" and modified.object.json == updated.json
    assert deleted.type == "DELETED"
    assert int(deleted.object.obj["metadata"]["resourceVersion"]) > int(updated.obj["metadata"]["resourceVersion"])
    await stream.aclose()


async def test_watch_from_a_version_older_than_the_cache_is_one_410_error_event(configmaps: ResourceStore) -> None:
    stream = await configmaps.watch("ns", watch_query(resourceVersion="1"))
    event = await next_event(stream)
    assert event.type == "ERROR"
    assert event.object.obj == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                "message": "too old resource version: 1 (3)", "reason": "Expired", "code": 410}
    with pytest.raises(StopAsyncIteration):
        await next_event(stream)


async def test_requested_bookmarks_carry_kind_and_resource_version(configmaps: ResourceStore) -> None:
    version = await make(configmaps, "a")
    stream = await configmaps.watch("ns", watch_query(resourceVersion=version, allowWatchBookmarks="true"))
    stream.request_bookmark()
    event = await next_event(stream)
    assert event.type == "BOOKMARK"
    assert event.object.obj == {"kind": "ConfigMap", "apiVersion": "v1",
                                "metadata": {"resourceVersion": version, "creationTimestamp": None}}
    await stream.aclose()


async def test_send_initial_events_ends_with_the_annotated_bookmark(configmaps: ResourceStore) -> None:
    await make(configmaps, "a")
    await make(configmaps, "b")
    options = watch_query(sendInitialEvents="true", resourceVersionMatch="NotOlderThan", allowWatchBookmarks="true")
    stream = await configmaps.watch("ns", options)
    events = [await next_event(stream) for _ in range(3)]
    assert [event.type for event in events] == ["ADDED", "ADDED", "BOOKMARK"]
    bookmark = events[2].object.obj
    assert bookmark["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}
    assert int(bookmark["metadata"]["resourceVersion"]) >= int(events[1].object.obj["metadata"]["resourceVersion"])
    await stream.aclose()


async def test_a_legacy_watch_without_bookmarks_sends_no_bookmark(configmaps: ResourceStore) -> None:
    await make(configmaps, "a")
    stream = await configmaps.watch("ns", watch_query())
    assert (await next_event(stream)).type == "ADDED"
    await no_event(stream)
    await stream.aclose()


async def test_an_object_leaving_the_selection_is_sent_as_deleted(configmaps: ResourceStore) -> None:
    version = await make(configmaps, "a", labels={"app": "web"})
    stream = await configmaps.watch("ns", watch_query(resourceVersion=version, labelSelector="app=web"))
    current = await configmaps.get("ns", "a")
    body = current.copy()
    body["metadata"]["labels"] = {"app": "db"}
    await configmaps.update("ns", "a", body, ctx("ns"))
    event = await next_event(stream)
    assert event.type == "DELETED" and event.object.obj["metadata"]["labels"] == {"app": "web"}
    body["metadata"]["labels"] = {"app": "web"}
    body["metadata"]["resourceVersion"] = ""
    await configmaps.update("ns", "a", body, ctx("ns"))
    event = await next_event(stream)
    assert event.type == "ADDED" and event.object.obj["metadata"]["labels"] == {"app": "web"}
    await stream.aclose()


async def test_a_namespace_watch_sees_only_its_namespace(configmaps: ResourceStore) -> None:
    version = await make(configmaps, "x", namespace="other")
    stream = await configmaps.watch("ns", watch_query(resourceVersion=version))
    await make(configmaps, "y", namespace="other")
    await make(configmaps, "z", namespace="ns")
    event = await next_event(stream)
    assert event.object.obj["metadata"]["name"] == "z"
    await stream.aclose()


async def test_events_watched_through_events_k8s_io_come_converted(registry: Registry) -> None:
    core = resource_store(registry, "", "v1", "events")
    new = resource_store(registry, "events.k8s.io", "v1", "events")
    stream = await new.watch("ns", watch_query(resourceVersion="0"))
    await core.create("ns", {"metadata": {"name": "e"}, "involvedObject": {"kind": "Pod", "name": "p"},
                             "message": "hi", "reason": "Started"}, ctx("ns"))
    event = await next_event(stream)
    assert event.object.obj["apiVersion"] == "events.k8s.io/v1"
    assert event.object.obj["regarding"] == {"kind": "Pod", "name": "p"} and event.object.obj["note"] == "hi"
    await stream.aclose()


async def test_a_consistent_watch_starts_from_the_latest_state(configmaps: ResourceStore) -> None:
    await make(configmaps, "a")
    stream = await configmaps.watch("ns", watch_query())
    event = await next_event(stream)
    assert event.type == "ADDED" and event.object.obj["metadata"]["name"] == "a"
    await stream.aclose()


async def test_a_closed_watch_is_released_by_the_cache(registry: Registry, configmaps: ResourceStore) -> None:
    stream = await configmaps.watch("ns", watch_query(resourceVersion="0"))
    cache = registry.cache_for("configmaps")
    assert cache is not None and cache.watcher_count == 1
    await stream.aclose()
    assert cache.watcher_count == 0
