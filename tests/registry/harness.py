"""Shared helpers for registry tests: a fixed clock, request contexts, running registries over real backends."""
from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from apiserver.registry.catalog import ResourceCatalog, builtin_specs
from apiserver.registry.context import RequestContext
from apiserver.registry.naming import NameGenerator, RandomNameGenerator
from apiserver.registry.spec import ResourceSpec
from apiserver.registry.store import ResourceStore
from apiserver.registry.stores import Registry
from apiserver.registry.watch import WatchEvent, WatchStream
from apiserver.storage.backends import StorageOptions, open_storage
from apiserver.storage.interface import Storage

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
NOW_TEXT = "2024-05-01T12:00:00Z"
UNIT_BACKENDS = ("memory", "sqlite")


def clock() -> datetime:
    return NOW


def ctx(namespace: str = "", **changes: Any) -> RequestContext:
    """A request context on the fixed clock."""
    return RequestContext(namespace=namespace, now=clock, **changes)


def backend_options(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> StorageOptions:
    if backend == "sqlite":
        return StorageOptions(backend="sqlite", sqlite_path=str(tmp_path / "state.db"), sqlite_synchronous="NORMAL")
    if backend == "etcd3":
        etcd = request.getfixturevalue("etcd")
        return StorageOptions(backend="etcd3", etcd_servers=(etcd.url,))
    return StorageOptions(backend=backend)


@asynccontextmanager
async def opened_storage(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[Storage]:
    storage = await open_storage(backend_options(backend, tmp_path, request))
    try:
        yield storage
    finally:
        await storage.close()


@asynccontextmanager
async def running_registry(storage: Storage, *, prefix: str = "/registry", specs: Iterable[ResourceSpec] | None = None,
                           seed: int = 7, names: NameGenerator | None = None,
                           **options: Any) -> AsyncIterator[Registry]:
    """A started registry over `storage` (cached objects read-only, names from a seeded generator), ready."""
    catalog = ResourceCatalog(builtin_specs() if specs is None else specs)
    registry = Registry(catalog, storage, prefix=prefix, clock=clock,
                        names=names or RandomNameGenerator(random.Random(seed)), read_only_objects=True, **options)
    await registry.start()
    try:
        await registry.wait_ready(10)
        yield registry
    finally:
        await registry.stop()


def resource_store(registry: Registry, group: str, version: str, plural: str) -> ResourceStore:
    store = registry.store_for(group, version, plural)
    assert isinstance(store, ResourceStore)
    return store


async def next_event(stream: WatchStream, timeout: float = 3.0) -> WatchEvent:
    """The next event of a watch, failing the test after `timeout` seconds."""
    async with asyncio.timeout(timeout):
        return await stream.__anext__()


async def no_event(stream: WatchStream, wait: float = 0.1) -> None:
    """Assert that no event arrives within `wait` seconds (used only where absence is the behaviour)."""
    try:
        async with asyncio.timeout(wait):
            event = await stream.__anext__()
    except TimeoutError:
        return
    raise AssertionError(f"unexpected watch event {event.type}: {event.object.obj}")
