"""ResourceStore list: resourceVersion rules, pages and continue tokens, selectors, the storage fallback, 410s.

Runs on MemoryStorage and SQLiteStorage. The registry's prefix is /registry; keys written straight to storage
outside it stand for other users of a shared etcd.
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
from tests.registry.harness import UNIT_BACKENDS, ctx, opened_storage, resource_store, running_registry

FOREIGN = "/other/"


@pytest.fixture(params=UNIT_BACKENDS)
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    async with opened_storage(request.param, tmp_path, request) as opened:
        # History from before the registry started, then compacted: the registry's caches begin at revision 3.
        for index in range(3):
            await opened.create(f"{FOREIGN}before-{index}", b"x")
        await opened.compact(3)
        yield opened


@pytest.fixture
async def registry(storage: Storage) -> AsyncIterator[Registry]:
    async with running_registry(storage, fresh_timeout=0.2, consistent_timeout=0.1) as running:
        yield running


@pytest.fixture
def configmaps(registry: Registry) -> ResourceStore:
    return resource_store(registry, "", "v1", "configmaps")


def query(**params: str) -> ListOptions:
    return ListOptions.from_query({key: [value] for key, value in params.items()}, watch=False)


def names(result: Any) -> list[str]:
    return [item.obj["metadata"]["name"] for item in result.items]


async def make(store: ResourceStore, namespace: str, name: str, **metadata: Any) -> str:
    created = await store.create(namespace, {"metadata": {"name": name, **metadata}}, ctx(namespace))
    return str(created.obj["metadata"]["resourceVersion"])


async def test_a_consistent_list_sees_every_write_and_reports_the_current_revision(
        configmaps: ResourceStore, storage: Storage) -> None:
    await make(configmaps, "ns", "a")
    await make(configmaps, "ns", "b")
    result = await configmaps.list("ns", ListOptions())
    assert names(result) == ["a", "b"]
    assert result.resource_version == str(await storage.current_revision())
    assert result.continue_token == "" and result.remaining_item_count is None


async def test_a_consistent_list_goes_to_storage_when_the_revision_moved_outside_the_registry(
        configmaps: ResourceStore, storage: Storage) -> None:
    await make(configmaps, "ns", "a")
    await storage.create(f"{FOREIGN}later", b"x")  # the caches can never reach this revision
    result = await configmaps.list("ns", ListOptions())
    assert names(result) == ["a"]
    assert result.resource_version == str(await storage.current_revision())
    first = await configmaps.list("ns", query(limit="1"))
    assert names(first) == ["a"] and first.continue_token == ""


async def test_lists_are_per_namespace_or_across_all(configmaps: ResourceStore) -> None:
    await make(configmaps, "one", "a")
    await make(configmaps, "two", "b")
    assert names(await configmaps.list("one", ListOptions())) == ["a"]
    assert names(await configmaps.list("", ListOptions())) == ["a", "b"]


async def test_resource_version_zero_is_served_from_the_cache(configmaps: ResourceStore, storage: Storage) -> None:
    await make(configmaps, "ns", "a")
    await configmaps.list("ns", ListOptions())  # wait for the cache
    result = await configmaps.list("ns", query(resourceVersion="0", limit="1"))
    assert names(result) == ["a"]  # the cache ignores the limit for "0", as upstream's does
    assert int(result.resource_version) <= await storage.current_revision()


async def test_not_older_than_a_future_version_times_out_with_504(configmaps: ResourceStore) -> None:
    with pytest.raises(ApiError) as raised:
        await configmaps.list("ns", query(resourceVersion="99999", resourceVersionMatch="NotOlderThan"))
    status = raised.value.to_status()
    assert status["code"] == 504 and status["reason"] == "Timeout"
    assert str(status["message"]).startswith("Timeout: Too large resource version: 99999, current: ")
    assert status["details"] == {"causes": [{"reason": "ResourceVersionTooLarge",
                                             "message": "Too large resource version"}], "retryAfterSeconds": 1}


async def test_exact_lists_read_the_past_state(configmaps: ResourceStore) -> None:
    first = await make(configmaps, "ns", "a")
    second = await make(configmaps, "ns", "b")
    newest = await configmaps.list("ns", query(resourceVersion=second, resourceVersionMatch="NotOlderThan"))
    assert names(newest) == ["a", "b"] and int(newest.resource_version) >= int(second)
    result = await configmaps.list("ns", query(resourceVersion=first, resourceVersionMatch="Exact"))
    assert names(result) == ["a"] and result.resource_version == first


async def test_an_exact_list_below_the_compacted_revision_is_gone(configmaps: ResourceStore) -> None:
    with pytest.raises(ApiError) as raised:
        await configmaps.list("ns", query(resourceVersion="1", resourceVersionMatch="Exact"))
    assert raised.value.to_status() == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": "The resourceVersion for the provided list is too old.", "reason": "Expired", "code": 410,
    }


async def test_pages_hold_one_snapshot_and_count_what_remains(configmaps: ResourceStore) -> None:
    for name in "abcde":
        await make(configmaps, "ns", name)
    first = await configmaps.list("ns", query(limit="2"))
    assert names(first) == ["a", "b"] and first.remaining_item_count == 3 and first.continue_token
    await make(configmaps, "ns", "aa")  # after the snapshot: not in the following pages
    second = await configmaps.list("ns", query(limit="2", **{"continue": first.continue_token}))
    assert names(second) == ["c", "d"] and second.remaining_item_count == 1
    assert second.resource_version == first.resource_version
    last = await configmaps.list("ns", query(limit="2", **{"continue": second.continue_token}))
    assert names(last) == ["e"] and last.continue_token == "" and last.remaining_item_count is None


async def test_pages_served_from_storage_continue_the_same_way(configmaps: ResourceStore, storage: Storage) -> None:
    for name in "abc":
        await make(configmaps, "ns", name)
    await storage.create(f"{FOREIGN}later", b"x")  # consistent reads now come from storage
    first = await configmaps.list("ns", query(limit="2"))
    assert names(first) == ["a", "b"] and first.remaining_item_count == 1
    rest = await configmaps.list("ns", query(limit="2", **{"continue": first.continue_token}))
    assert names(rest) == ["c"] and rest.continue_token == ""


async def test_an_expired_continue_token_is_gone_with_a_token_to_go_on(configmaps: ResourceStore) -> None:
    await make(configmaps, "ns", "a")
    token = encode_continue("/registry/configmaps/ns/a\x00", "/registry/configmaps/ns/", 1)
    with pytest.raises(ApiError) as raised:
        await configmaps.list("ns", query(limit="1", **{"continue": token}))
    status = raised.value.to_status()
    assert status["code"] == 410 and status["reason"] == "Expired"
    assert str(status["message"]).startswith("The provided continue parameter is too old to display a consistent "
                                             "list result. You can start a new list without the continue parameter, "
                                             "or use the continue token in this response")
    assert status["metadata"] == {"continue": encode_continue("/registry/configmaps/ns/a\x00",
                                                              "/registry/configmaps/ns/", -1)}


@pytest.mark.parametrize(
    ("selector", "expected"),
    [("app=web", ["a", "b"]), ("app==web", ["a", "b"]), ("app!=web", ["c", "d"]), ("app in (db)", ["c"]),
     ("app notin (web,db)", ["d"]), ("tier", ["a"]), ("!tier", ["b", "c", "d"])],
    ids=["equals", "double-equals", "not-equals", "in", "notin", "exists", "not-exists"],
)
async def test_label_selectors(configmaps: ResourceStore, selector: str, expected: list[str]) -> None:
    await make(configmaps, "ns", "a", labels={"app": "web", "tier": "front"})
    await make(configmaps, "ns", "b", labels={"app": "web"})
    await make(configmaps, "ns", "c", labels={"app": "db"})
    await make(configmaps, "ns", "d")
    result = await configmaps.list("ns", query(labelSelector=selector, limit="10"))
    assert names(result) == expected
    assert result.remaining_item_count is None


async def test_field_selectors_on_metadata_and_declared_fields(registry: Registry) -> None:
    pods = resource_store(registry, "", "v1", "pods")
    containers = [{"name": "c", "image": "busybox"}]
    await pods.create("ns", {"metadata": {"name": "a"}, "spec": {"nodeName": "n1", "containers": containers}},
                      ctx("ns"))
    await pods.create("ns", {"metadata": {"name": "b"}, "spec": {"nodeName": "n2", "containers": containers}},
                      ctx("ns"))
    assert names(await pods.list("ns", query(fieldSelector="spec.nodeName=n2"))) == ["b"]
    assert names(await pods.list("", query(fieldSelector="metadata.name=a,metadata.namespace=ns"))) == ["a"]
    assert names(await pods.list("ns", query(fieldSelector="metadata.name!=a"))) == ["b"]


@pytest.mark.parametrize(
    ("group", "plural", "message"),
    [("", "configmaps", '"spec.x" is not a known field selector: only "metadata.name", "metadata.namespace"'),
     ("", "pods", "field label not supported: spec.x"),
     ("apps", "replicasets", "field label not supported for appsv1.ReplicaSet: spec.x")],
    ids=["default", "core-type", "replicasets"],
)
async def test_unknown_field_selectors_are_bad_requests(registry: Registry, group: str, plural: str,
                                                        message: str) -> None:
    store = resource_store(registry, group, "v1", plural)
    with pytest.raises(ApiError) as raised:
        await store.list("ns", query(fieldSelector="spec.x=y"))
    assert raised.value.to_status() == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                        "message": message, "reason": "BadRequest", "code": 400}


async def test_items_is_empty_not_missing(configmaps: ResourceStore) -> None:
    result = await configmaps.list("empty", ListOptions())
    assert list(result.items) == []


async def test_get_at_a_resource_version_reads_the_cache(configmaps: ResourceStore) -> None:
    version = await make(configmaps, "ns", "a")
    got = await configmaps.get("ns", "a", resource_version=version)
    assert got.obj["metadata"]["resourceVersion"] == version
    with pytest.raises(ApiError) as raised:
        await configmaps.get("ns", "a", resource_version="99999")
    assert raised.value.code == 504
