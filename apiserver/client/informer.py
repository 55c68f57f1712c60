"""Informer: a local cache of one resource kept by list+watch through an ApiClient, with handlers on changes.

Like client-go's reflector: list at a revision, watch from it, and list again whenever the watch ends with 410
Gone/Expired (the revision was compacted) or any other error (after a short pause). A relist reports what
changed in between as additions, updates and deletions, so handlers never miss a transition's end state.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from apiserver.client.client import ApiClient, Resource
from apiserver.meta.errors import ApiError, Expired, Gone

logger = logging.getLogger(__name__)

JSONDict = dict[str, Any]
Handler = Callable[[str, JSONDict], None]
RETRY_SECONDS = 1.0
RESTART_SECONDS = 0.2


def object_key(obj: JSONDict) -> str:
    """`namespace/name`, or `name` for cluster-scoped objects (client-go's MetaNamespaceKeyFunc)."""
    meta = obj.get("metadata") or {}
    namespace, name = meta.get("namespace") or "", meta.get("name") or ""
    return f"{namespace}/{name}" if namespace else str(name)


class Informer:
    """Caches every object of `resource` by key; `handler(event_type, obj)` runs for each change
    (`ADDED`, `MODIFIED`, `DELETED`), synchronously, so it must only enqueue work."""

    def __init__(self, client: ApiClient, resource: Resource, handler: Handler, *, name: str = "") -> None:
        self._client = client
        self.resource = resource
        self._handler = handler
        self._name = name or resource.plural
        self._cache: dict[str, JSONDict] = {}
        self._synced = asyncio.Event()
        self.relists = 0

    def get(self, key: str) -> JSONDict | None:
        return self._cache.get(key)

    def items(self) -> list[JSONDict]:
        return list(self._cache.values())

    async def wait_synced(self) -> None:
        await self._synced.wait()

    async def run(self) -> None:
        """List and watch until cancelled."""
        while True:
            try:
                revision = await self._relist()
                await self._watch(revision)
                # The server ended the watch (its timeout, or shutting down): pause so a stopping server is not
                # asked to list in a loop.
                await asyncio.sleep(RESTART_SECONDS)
            except (Gone, Expired):
                logger.info("informer_relist", extra={"informer": self._name})
            except asyncio.CancelledError:
                raise
            except Exception as error:
                logger.warning("informer_error", extra={"informer": self._name, "error": str(error)})
                await asyncio.sleep(RETRY_SECONDS)

    async def _relist(self) -> str:
        listed = await self._client.list(self.resource)
        self.relists += 1
        fresh = {object_key(obj): obj for obj in listed.get("items") or ()}
        for key, old in list(self._cache.items()):
            if key not in fresh:
                del self._cache[key]
                self._handler("DELETED", old)
        for key, obj in fresh.items():
            previous = self._cache.get(key)
            self._cache[key] = obj
            if previous is None:
                self._handler("ADDED", obj)
            elif _revision(previous) != _revision(obj):
                self._handler("MODIFIED", obj)
        self._synced.set()
        return str((listed.get("metadata") or {}).get("resourceVersion") or "")

    async def _watch(self, revision: str) -> None:
        async with contextlib.aclosing(self._client.watch(self.resource, resource_version=revision)) as events:
            async for event_type, obj in events:
                self._apply(event_type, obj)

    def _apply(self, event_type: str, obj: JSONDict) -> None:
        if event_type == "BOOKMARK":
            return
        key = object_key(obj)
        if event_type == "DELETED":
            self._cache.pop(key, None)
        else:
            self._cache[key] = obj
        self._handler(event_type, obj)


def _revision(obj: JSONDict) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion") or "")


__all__ = ["ApiError", "Informer", "object_key"]
