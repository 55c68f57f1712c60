"""Registry: one store per served resource, one watch cache per storage path, one storage watch for them all.

The registry owns the watch fan-out (one storage watch over `<prefix>/`) and builds a WatchCache per storage path
on a view of it, so every cache's revision follows every write under the prefix. Specs stored at the same path
(core and events.k8s.io events, autoscaling v1 and v2 HPAs) share one cache. Stores for resources that appear
later (custom resources) join with `add()`: their cache lists at the fan-out's delivered revision and subscribes
from there, so no change is missed.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Protocol

from apiserver.meta.objects import Clock, JSONDict, utc_now
from apiserver.registry.catalog import ResourceCatalog
from apiserver.registry.codec import decode, decode_compact
from apiserver.registry.context import StoredObject
from apiserver.registry.naming import NameGenerator, RandomNameGenerator
from apiserver.registry.spec import ResourceSpec
from apiserver.registry.store import ResourceStore
from apiserver.registry.virtual import VirtualStore
from apiserver.storage.errors import StorageError
from apiserver.storage.fanout import FanoutView, WatchFanout
from apiserver.storage.interface import KeyValue, Storage
from apiserver.storage.keys import DEFAULT_PREFIX, object_key, resource_prefix
from apiserver.storage.watchcache import DEFAULT_OPTIONS, CacheNotReady, WatchCache, WatchCacheOptions

logger = logging.getLogger(__name__)

AnyStore = ResourceStore | VirtualStore


class NamespaceLister(Protocol):
    """Read-only access to namespaces for namespace-lifecycle admission ("listers, not storage")."""

    async def get(self, name: str) -> JSONDict | None:
        """The namespace as the watch cache holds it (shared: never mutate), or None when it does not exist."""
        ...


@dataclass(slots=True)
class _CacheSlot:
    """The watch cache of one storage path and the fan-out view it reads through."""

    cache: WatchCache[StoredObject | None]
    view: FanoutView


def _decode_entry(kv: KeyValue) -> StoredObject | None:
    return decode_compact(kv)


def _decode_read_only(kv: KeyValue) -> StoredObject | None:
    return decode_compact(kv, read_only=True)


class Registry:
    """Every store of a catalog, with their caches and the one storage watch feeding them.

    `start()` launches the fan-out and every cache (each lists at the fan-out's revision, then follows it) and
    returns at once; `wait_ready()` waits until all caches serve. `stop()` ends everything; call it before closing
    the storage. `read_only_objects` makes every cached object refuse changes (for tests: a stray write to a
    shared object raises TypeError instead of corrupting the cache).
    """

    def __init__(self, catalog: ResourceCatalog, storage: Storage, *, prefix: str = DEFAULT_PREFIX,
                 clock: Clock = utc_now, names: NameGenerator | None = None,
                 cache_options: WatchCacheOptions = DEFAULT_OPTIONS, consistent_timeout: float = 0.25,
                 fresh_timeout: float = 3.0, progress_interval: float = 1.0,
                 read_only_objects: bool = False) -> None:
        self._storage = storage
        self._prefix = prefix.rstrip("/")
        self.clock = clock
        self._names = names or RandomNameGenerator()
        self._cache_options = cache_options
        self._consistent_timeout = consistent_timeout
        self._fresh_timeout = fresh_timeout
        self._decode = _decode_read_only if read_only_objects else _decode_entry
        self._fanout = WatchFanout(storage, self._prefix + "/", progress_interval=progress_interval)
        self._slots: dict[str, _CacheSlot] = {}
        self._stores: dict[tuple[str, str, str], AnyStore] = {}
        self._started = False
        for spec in catalog.specs:
            self._stores[spec.resource_key] = self._build(spec)
        self.namespaces: NamespaceLister = CachedNamespaceLister(self)

    def _slot(self, storage_path: str) -> _CacheSlot:
        slot = self._slots.get(storage_path)
        if slot is None:
            prefix = resource_prefix(self._prefix, storage_path)
            view = self._fanout.view(prefix)
            cache = WatchCache(view, prefix, decode=self._decode, options=self._cache_options)
            slot = self._slots[storage_path] = _CacheSlot(cache, view)
        return slot

    def _build(self, spec: ResourceSpec) -> AnyStore:
        if spec.virtual:
            return VirtualStore(spec)
        slot = self._slot(spec.storage_path)
        return ResourceStore(spec, self._storage, slot.cache, prefix=self._prefix,
                             request_progress=slot.view.want_progress, names=self._names,
                             consistent_timeout=self._consistent_timeout, fresh_timeout=self._fresh_timeout)

    async def start(self, revision: int = 0) -> None:
        """Start the fan-out and every cache; returns without waiting for the caches (see `wait_ready`). The caches
        list at `revision` (a start-up snapshot's, which storage answers from memory), else at the current one."""
        self._started = True
        await self._fanout.start(revision)
        for slot in self._slots.values():
            await slot.cache.start()

    async def stop(self) -> None:
        """Stop every cache, then the fan-out. Idempotent."""
        for slot in self._slots.values():
            await slot.cache.stop()
        await self._fanout.stop()
        self._started = False

    async def wait_ready(self, timeout: float) -> None:
        """Return once every cache serves; raise CacheNotReady after `timeout` seconds."""
        try:
            async with asyncio.timeout(timeout):
                await asyncio.gather(*(slot.cache.ready.wait() for slot in self._slots.values()))
        except TimeoutError:
            raise CacheNotReady() from None

    async def wait_caught_up(self, timeout: float) -> bool:
        """Wait until every cache has applied the storage's current revision; False if that took too long.

        Controllers start after this, so what the post-start hooks wrote (the bootstrap RBAC policy above all) is
        what authorization reads when their first requests arrive.
        """
        revision = await self._storage.current_revision()
        try:
            async with asyncio.timeout(timeout):
                for slot in self._slots.values():
                    slot.view.want_progress(revision)
                    await slot.cache.wait_until(revision, timeout)
        except (TimeoutError, StorageError):
            return False
        return True

    def is_ready(self) -> bool:
        """True when every cache serves (the informer-sync readiness check)."""
        return self._started and all(slot.cache.is_ready() for slot in self._slots.values())

    def store(self, spec: ResourceSpec) -> AnyStore:
        """The store serving `spec` (by group, version and plural); KeyError when it was never added."""
        return self._stores[spec.resource_key]

    def store_for(self, group: str, version: str, plural: str) -> AnyStore | None:
        return self._stores.get((group, version, plural))

    async def add(self, spec: ResourceSpec) -> AnyStore:
        """Serve `spec` (new, or replacing the spec with the same group, version and plural).

        A new storage path gets a cache that joins the running fan-out; a known one is shared.
        """
        is_new_path = not spec.virtual and spec.storage_path not in self._slots
        store = self._build(spec)
        self._stores[spec.resource_key] = store
        if is_new_path and self._started:
            await self._slots[spec.storage_path].cache.start()
        return store

    async def remove(self, spec: ResourceSpec) -> None:
        """Stop serving `spec`; its cache stops when no other served spec uses its storage path."""
        self._stores.pop(spec.resource_key, None)
        if spec.virtual or any(isinstance(store, ResourceStore) and store.spec.storage_path == spec.storage_path
                               for store in self._stores.values()):
            return
        slot = self._slots.pop(spec.storage_path, None)
        if slot is not None:
            await slot.cache.stop()

    def cache_for(self, storage_path: str) -> WatchCache[StoredObject | None] | None:
        """The watch cache of a storage path (for health checks and metrics)."""
        slot = self._slots.get(storage_path)
        return None if slot is None else slot.cache

    def namespace_key(self, name: str) -> str:
        return object_key(self._prefix, "namespaces", "", name)

    async def read_live(self, key: str) -> JSONDict | None:
        """One stored object straight from storage (decoded, shared), or None when absent or unreadable."""
        try:
            kv = await self._storage.get(key)
        except StorageError:
            return None
        stored = decode(kv) if kv is not None else None
        return None if stored is None else stored.obj


class CachedNamespaceLister:
    """Namespaces from the registry's namespace cache, with a storage read when the cache does not have one.

    The fallback matches upstream's NamespaceLifecycle admission, which looks a namespace up live when its
    informer has not seen it yet: a namespace created a moment ago is found. Storage errors read as absent.
    """

    def __init__(self, registry: Registry) -> None:
        self._registry = registry

    async def get(self, name: str) -> JSONDict | None:
        key = self._registry.namespace_key(name)
        cache = self._registry.cache_for("namespaces")
        if cache is not None:
            try:
                entry = cache.get(key)
            except CacheNotReady:
                entry = None
            if entry is not None and entry.decoded is not None:
                return entry.decoded.obj
        return await self._registry.read_live(key)

