"""Registry: shared caches, specs joining later, readiness, the namespace lister, virtual stores, fallbacks."""
from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from apiserver.meta.errors import ApiError
from apiserver.registry.catalog import builtin_specs
from apiserver.registry.context import ListOptions
from apiserver.registry.spec import ResourceSpec
from apiserver.registry.store import ResourceStore
from apiserver.registry.stores import Registry
from apiserver.registry.virtual import VirtualStore
from apiserver.storage.interface import Storage
from tests.registry.harness import UNIT_BACKENDS, ctx, next_event, opened_storage, resource_store, running_registry


@pytest.fixture(params=UNIT_BACKENDS)
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    async with opened_storage(request.param, tmp_path, request) as opened:
        yield opened


@pytest.fixture
async def registry(storage: Storage) -> AsyncIterator[Registry]:
    async with running_registry(storage) as running:
        yield running


def widget_spec(version: str = "v1") -> ResourceSpec:
    return ResourceSpec(group="example.com", version=version, kind="Widget", plural="widgets", namespaced=True,
                        storage_path="example.com/widgets", storage_version="example.com/v1")


async def test_specs_sharing_a_storage_path_share_one_cache(registry: Registry) -> None:
    core = resource_store(registry, "", "v1", "events")
    new = resource_store(registry, "events.k8s.io", "v1", "events")
    assert registry.cache_for("events") is not None
    await core.create("ns", {"metadata": {"name": "e"}, "message": "hi"}, ctx("ns"))
    listed = await new.list("ns", ListOptions())
    assert [item.obj["note"] for item in listed.items] == ["hi"]


async def test_a_resource_added_later_joins_without_missing_changes(registry: Registry, storage: Storage) -> None:
    await storage.create("/registry/example.com/widgets/ns/early", b'{"metadata":{"name":"early"}}')
    store = await registry.add(widget_spec())
    assert isinstance(store, ResourceStore)
    await registry.wait_ready(5)
    assert registry.is_ready()
    stream = await store.watch("ns", ListOptions.from_query({"resourceVersion": ["0"]}, watch=True))
    assert (await next_event(stream)).object.obj["metadata"]["name"] == "early"
    await store.create("ns", {"metadata": {"name": "late"}}, ctx("ns"))
    event = await next_event(stream)
    assert event.type == "ADDED" and event.object.obj["metadata"]["name"] == "late"
    assert event.object.obj["apiVersion"] == "example.com/v1"
    await stream.aclose()
    second = await registry.add(widget_spec("v2"))
    assert isinstance(second, ResourceStore)
    assert [item.obj["apiVersion"] for item in (await second.list("ns", ListOptions())).items] == [
        "example.com/v2", "example.com/v2"]  # other versions only relabel apiVersion
    await registry.remove(widget_spec())
    await registry.remove(widget_spec("v2"))
    assert registry.cache_for("example.com/widgets") is None


async def test_the_namespace_lister_reads_the_cache_and_falls_back_to_storage(registry: Registry) -> None:
    namespaces = resource_store(registry, "", "v1", "namespaces")
    await namespaces.create("", {"metadata": {"name": "team"}}, ctx())
    found = await registry.namespaces.get("team")  # found even before the cache has seen it
    assert found is not None and found["status"] == {"phase": "Active"}
    assert await registry.namespaces.get("missing") is None


async def test_virtual_resources_answer_create_with_the_object(registry: Registry) -> None:
    store = registry.store_for("authentication.k8s.io", "v1", "tokenreviews")
    assert isinstance(store, VirtualStore)
    review = await store.create("", {"spec": {"token": "abc"}}, ctx())
    assert review.obj == {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "metadata": {},
                          "spec": {"token": "abc"}}
    with pytest.raises(ApiError) as raised:
        await store.delete("", "x")
    assert raised.value.code == 405
    statuses = registry.store_for("", "v1", "componentstatuses")
    assert isinstance(statuses, VirtualStore)
    assert list((await statuses.list("", ListOptions())).items) == []


async def test_every_builtin_spec_has_a_store(registry: Registry) -> None:
    for spec in builtin_specs():
        store = registry.store(spec)
        assert isinstance(store, VirtualStore if spec.virtual else ResourceStore)
        assert store.spec == spec


async def test_a_consistent_read_that_had_to_go_to_storage_does_not_wait_again(storage: Storage) -> None:
    async with running_registry(storage, consistent_timeout=0.3) as registry:
        store = resource_store(registry, "", "v1", "configmaps")
        await store.create("ns", {"metadata": {"name": "a"}}, ctx("ns"))
        await storage.create("/elsewhere/x", b"x")  # a revision the registry's caches never see
        started = time.monotonic()
        first = await store.list("ns", ListOptions())
        waited = time.monotonic() - started
        started = time.monotonic()
        second = await store.list("ns", ListOptions())
        assert waited >= 0.3 and time.monotonic() - started < 0.25
        assert first.resource_version == second.resource_version == str(await storage.current_revision())


def test_stores_refuse_the_wrong_kind_of_spec() -> None:
    virtual = next(spec for spec in builtin_specs() if spec.virtual)
    stored = next(spec for spec in builtin_specs() if not spec.virtual)
    with pytest.raises(ValueError):
        ResourceStore(virtual, None, None)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        VirtualStore(stored)
