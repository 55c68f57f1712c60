"""Server-side apply through a running ResourceStore (memory and SQLite): the wiring the PATCH endpoint uses.

Create when absent with `store.create`, otherwise `apply` inside `store.guaranteed_update`; a no-op apply must
leave the stored bytes and the resourceVersion alone, and managedFields must survive storage byte for byte.
"""
from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from apiserver.meta.errors import Conflict, NotFound
from apiserver.meta.objects import JSONDict
from apiserver.registry.apply import apply
from apiserver.registry.context import StoredObject
from apiserver.registry.managedfields import reset_fields
from apiserver.registry.schema import TypeSchemas
from apiserver.registry.store import ResourceStore
from apiserver.storage.interface import Storage
from tests.registry.harness import NOW, UNIT_BACKENDS, ctx, opened_storage, resource_store, running_registry

CONFIG_MAP = TypeSchemas.builtin().for_kind("", "v1", "ConfigMap")


@pytest.fixture(params=UNIT_BACKENDS)
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    async with opened_storage(request.param, tmp_path, request) as opened:
        yield opened


@pytest.fixture
async def store(storage: Storage) -> AsyncIterator[ResourceStore]:
    async with running_registry(storage) as running:
        yield resource_store(running, "", "v1", "configmaps")


def config(value: str, **labels: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "labels": labels or {"a": "b"}},
            "data": {"key": value}}


async def server_side_apply(store: ResourceStore, applied: dict[str, Any], manager: str, *, force: bool = False,
                            minutes: int = 0) -> StoredObject:
    """What the PATCH endpoint does for application/apply-patch+yaml."""
    options: dict[str, Any] = {
        "force": force, "schema": CONFIG_MAP, "api_version": "v1", "kind": "ConfigMap",
        "now": NOW + timedelta(minutes=minutes), "ignored": reset_fields(False, ""),
    }
    try:
        return await store.guaranteed_update(
            "default", "cm", lambda current: apply(current, applied, manager, **options).obj, ctx("default"))
    except NotFound:
        created = apply(None, applied, manager, **options)
        return await store.create("default", created.obj, ctx("default"))


async def test_apply_creates_then_a_repeat_is_a_noop_that_keeps_the_resource_version(store: ResourceStore,
                                                                                     storage: Storage) -> None:
    created = await server_side_apply(store, config("one"), "kubectl")
    before = await storage.get(store.key("default", "cm"))
    again = await server_side_apply(store, config("one"), "kubectl", minutes=30)
    after = await storage.get(store.key("default", "cm"))
    assert again.obj["metadata"]["resourceVersion"] == created.obj["metadata"]["resourceVersion"]
    assert before is not None and after is not None and before.value == after.value
    assert b'"fieldsV1":{"f:data":{"f:key":{}},"f:metadata":{"f:labels":{"f:a":{}}}}' in after.value


async def test_a_changing_apply_is_stored_and_a_conflicting_one_is_refused(store: ResourceStore) -> None:
    created = await server_side_apply(store, config("one"), "kubectl")
    changed = await server_side_apply(store, config("two"), "kubectl", minutes=1)
    assert changed.obj["data"] == {"key": "two"}
    assert changed.obj["metadata"]["resourceVersion"] != created.obj["metadata"]["resourceVersion"]
    with pytest.raises(Conflict) as raised:
        await server_side_apply(store, config("three"), "other")
    assert raised.value.message == 'Apply failed with 1 conflict: conflict with "kubectl": .data.key'
    forced = await server_side_apply(store, config("three"), "other", force=True, minutes=2)
    entries: list[JSONDict] = forced.obj["metadata"]["managedFields"]
    assert [(entry["manager"], entry["time"]) for entry in entries] == [
        ("kubectl", "2024-05-01T12:01:00Z"), ("other", "2024-05-01T12:02:00Z")]
    assert entries[0]["fieldsV1"] == {"f:metadata": {"f:labels": {"f:a": {}}}}
