"""Lists: where each list is read (watch cache or storage) by kube-apiserver's resourceVersion rules, and paging.

- resourceVersion "" (consistent): the cache once it has caught up with the storage's current revision, else the
  storage itself (always correct, e.g. when keys outside the registry advanced the revision).
- "0" (any): the cache as it is; like upstream's cache, the limit is ignored and everything is returned.
- N, NotOlderThan (or no match and no limit): the cache once it reached N; 504 after the wait.
- N, Exact (or no match with a limit) and continue tokens: kube-apiserver 1.32 reads these from etcd at N, so the
  storage is asked first whether it still holds N (410 when compacted, 504 when beyond its revision, even while
  the cache's window still holds N); then the cache serves N when it is inside its window, else the storage.
Pages carry a continue token encoding the list's revision and the last key, and `remainingItemCount` when no
selector filtered the page (upstream only counts unfiltered lists).
"""
from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from apiserver.meta.resourceversion import (
    ListRead,
    ReadMode,
    continue_after,
    continue_expired,
    plan_list_read,
    too_large_resource_version,
)
from apiserver.registry.codec import decode
from apiserver.registry.context import ListOptions, StoredObject
from apiserver.registry.conversion import object_converter, served_all, stored_reader
from apiserver.registry.selection import Selects, entry_predicate, prefix_end
from apiserver.registry.spec import ResourceSpec
from apiserver.registry.translation import translate
from apiserver.storage.errors import Compacted, StorageError
from apiserver.storage.interface import Storage
from apiserver.storage.watchcache import CacheNotReady, TooOld, WatchCache

CatchUp = Callable[[int, float], Awaitable[bool]]
STORAGE_PAGE = 500
# The last code point: a read from `prefix + _AFTER_EVERY_NAME` finds no keys in practice and costs the backend only
# its revision checks (a key that did sort there would merely be read, and change no answer).
_AFTER_EVERY_NAME = "\U0010ffff"


@dataclass(frozen=True, slots=True)
class ListResult:
    """One list response's items (served version, key order) and its ListMeta values."""

    items: Sequence[StoredObject]
    resource_version: str
    continue_token: str = ""
    remaining_item_count: int | None = None


@dataclass(frozen=True, slots=True)
class ListQuery:
    """What to read: the key range (a namespace's or the resource's), the selection, the options."""

    key_prefix: str
    selects: Selects | None
    options: ListOptions


class Lister:
    """Serves the lists of one spec from its (shared) watch cache or its storage."""

    def __init__(self, spec: ResourceSpec, storage: Storage, cache: WatchCache[StoredObject | None],
                 catch_up: CatchUp, *, consistent_timeout: float, fresh_timeout: float) -> None:
        self._spec = spec
        self._storage = storage
        self._cache = cache
        self._catch_up = catch_up
        self._consistent_timeout = consistent_timeout
        self._fresh_timeout = fresh_timeout
        self._converter = object_converter(spec)
        self._reader = stored_reader(spec)
        # The last revision the cache failed to reach in time: reads at it go to storage without waiting again
        # (it was written outside the registry's prefix, or the cache is stuck; the next write moves on).
        self._unreachable = -1

    async def list(self, query: ListQuery) -> ListResult:
        options = query.options
        plan = plan_list_read(options.resource_version, options.resource_version_match, options.continue_token,
                              limit=options.limit, key_prefix=query.key_prefix)
        try:
            result = await self._read(plan, query)
        except StorageError as error:
            raise translate(error, self._spec) from None
        # Pages hold stored objects; they are served (converted) once the page is known, in one conversion call.
        items = await served_all(result.items, self._spec.group_version, self._converter, self._reader)
        return dataclasses.replace(result, items=items)

    async def _read(self, plan: ListRead, query: ListQuery) -> ListResult:
        limit = query.options.limit
        if plan.mode is ReadMode.CONSISTENT:
            revision = await self._storage.current_revision()
            if await self._cache_reaches(revision):
                return self._from_cache(query, plan.start_key, limit, 0)
            return await self._from_storage(query, plan.start_key, limit, 0)
        if plan.mode is ReadMode.ANY:
            return self._from_cache(query, "", 0, 0)
        if plan.mode is ReadMode.NOT_OLDER_THAN:
            await self._wait_for(plan.revision)
            return self._from_cache(query, plan.start_key, limit, 0)
        return await self._exact(plan, query)

    async def _cache_reaches(self, revision: int) -> bool:
        """Whether the cache can serve a consistent read at `revision` (waiting briefly for it)."""
        if not self._cache.is_ready():
            return False
        if self._cache.revision >= revision:
            return True
        if revision == self._unreachable:  # waited in vain once already: go to storage without waiting again
            return False
        if await self._catch_up(revision, self._consistent_timeout):
            return True
        self._unreachable = revision
        return False

    async def _wait_for(self, revision: int) -> None:
        if not await self._catch_up(revision, self._fresh_timeout):
            raise too_large_resource_version(revision, self._cache.revision)

    async def _exact(self, plan: ListRead, query: ListQuery) -> ListResult:
        try:
            await self._probe_storage_at(plan.revision, query.key_prefix)
            return await self._exact_read(plan, query)
        except Compacted:
            if query.options.continue_token:
                raise continue_expired(plan.start_key, query.key_prefix) from None
            raise

    async def _probe_storage_at(self, revision: int, key_prefix: str) -> None:
        """Raise Compacted or FutureRevision as a storage read at `revision` would, at the cost of an empty read.

        kube-apiserver 1.32's cacher delegates exact and continued lists to etcd (shouldDelegateList), so their
        answer follows etcd's history, not the cache's window. Past this check the cache's state at `revision` is
        the storage's: a compaction that lands after it orders after the read, as it would for an etcd range.
        """
        await self._storage.list(key_prefix, revision=revision, limit=1, start=key_prefix + _AFTER_EVERY_NAME)

    async def _exact_read(self, plan: ListRead, query: ListQuery) -> ListResult:
        limit = query.options.limit
        # The cache serves the revision when it is inside its window; anything else is read from storage at that
        # revision (a revision written outside the registry's prefix is never reached by the cache).
        try:
            if await self._cache_reaches(plan.revision):
                return self._from_cache(query, plan.start_key, limit, plan.revision)
        except (TooOld, CacheNotReady):
            pass
        return await self._from_storage(query, plan.start_key, limit, plan.revision)

    def _from_cache(self, query: ListQuery, start: str, limit: int, revision: int) -> ListResult:
        page = self._cache.list(predicate=entry_predicate(query.key_prefix, query.selects),
                                start=max(start, query.key_prefix), end=prefix_end(query.key_prefix),
                                limit=limit, revision=revision)
        items = [entry.decoded for entry in page.items if entry.decoded is not None]
        token, remaining = "", None
        if page.more and page.items:
            token = continue_after(page.items[-1].key, query.key_prefix, page.revision)
            remaining = page.remaining if query.selects is None else None
        return ListResult(items, str(page.revision), token, remaining)

    async def _from_storage(self, query: ListQuery, start: str, limit: int, revision: int) -> ListResult:
        """Page through the storage until `limit` objects matched (all of them without a limit)."""
        items: list[StoredObject] = []
        cursor, last_key, more, remaining = max(start, query.key_prefix), "", False, 0
        while True:
            page = await self._storage.list(query.key_prefix, revision=revision,
                                            limit=max(limit - len(items), STORAGE_PAGE) if limit else 0, start=cursor)
            revision = page.revision
            for index, kv in enumerate(page.items):
                stored = decode(kv)
                if stored is None or (query.selects is not None and not query.selects(stored.obj)):
                    continue
                items.append(stored)
                if limit and len(items) == limit:
                    last_key = kv.key
                    remaining = len(page.items) - index - 1 + page.remaining
                    more = remaining > 0
                    break
            if last_key or not page.more or not page.items:
                break
            cursor = page.items[-1].key + "\x00"
        token = continue_after(last_key, query.key_prefix, revision) if more else ""
        count = remaining if more and query.selects is None else None
        return ListResult(items, str(revision), token, count)
