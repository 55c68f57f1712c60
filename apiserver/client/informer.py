"""Informer: a local cache of one resource kept by list+watch through an ApiClient, with handlers on changes.

Like client-go's reflector: list at a revision, watch from it, and list again whenever the watch ends with 410
Gone/Expired (the revision was compacted) or any other error (after a short pause). A relist reports what
changed in between as additions, updates and deletions, so handlers never miss a transition's end state.

One informer may serve several handlers (client-go's shared informer): each event goes to every handler, and a
handler added to an informer that already holds objects first gets each of them as `ADDED`, as it would from a
fresh list. `MetadataOnlyTransport` makes an informer list and watch PartialObjectMetadata (client-go's metadata
informer), for readers that need nothing but `metadata`.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from apiserver.client.client import ApiClient, Resource
from apiserver.client.transports import Transport, TransportResponse
from apiserver.meta.errors import ApiError, Expired, Gone

logger = logging.getLogger(__name__)

JSONDict = dict[str, Any]
Handler = Callable[[str, JSONDict], None]
RETRY_SECONDS = 1.0
RESTART_SECONDS = 0.2
# What client-go's metadata client asks for: a list as PartialObjectMetadataList, watch events as
# PartialObjectMetadata (k8s.io/client-go/metadata).
METADATA_LIST_ACCEPT = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
METADATA_WATCH_ACCEPT = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"


def object_key(obj: JSONDict) -> str:
    """`namespace/name`, or `name` for cluster-scoped objects (client-go's MetaNamespaceKeyFunc)."""
    meta = obj.get("metadata") or {}
    namespace, name = meta.get("namespace") or "", meta.get("name") or ""
    return f"{namespace}/{name}" if namespace else str(name)


class MetadataOnlyTransport:
    """Wraps a transport so every list answers a PartialObjectMetadataList and every watch PartialObjectMetadata
    events: objects carry only `metadata` (with kind PartialObjectMetadata)."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    async def request(self, method: str, path: str, *, query: str = "", body: bytes = b"",
                      headers: Sequence[tuple[str, str]] = ()) -> TransportResponse:
        return await self._transport.request(method, path, query=query, body=body,
                                             headers=[("accept", METADATA_LIST_ACCEPT), *headers])

    def stream(self, method: str, path: str, *, query: str = "", headers: Sequence[tuple[str, str]] = ()
               ) -> contextlib.AbstractAsyncContextManager[tuple[int, AsyncIterator[bytes]]]:
        return self._transport.stream(method, path, query=query, headers=[("accept", METADATA_WATCH_ACCEPT), *headers])


class Informer:
    """Caches every object of `resource` by key; each handler `handler(event_type, obj)` runs for each change
    (`ADDED`, `MODIFIED`, `DELETED`), synchronously, so it must only enqueue work.

    Cached objects are shared by every handler and every reader of `get`/`items`: never mutate one (copy it).
    """

    def __init__(self, client: ApiClient, resource: Resource, handler: Handler | None = None, *,
                 name: str = "") -> None:
        self._client = client
        self.resource = resource
        self._handlers: list[Handler] = [handler] if handler is not None else []
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

    def add_handler(self, handler: Handler) -> None:
        """Send `handler` every later event, after each object cached now as `ADDED` (client-go's
        AddEventHandler), so it sees what a handler of a fresh informer would."""
        for obj in list(self._cache.values()):
            handler("ADDED", obj)
        self._handlers.append(handler)

    def remove_handler(self, handler: Handler) -> None:
        """Stop sending events to `handler` (no-op when it is not registered)."""
        with contextlib.suppress(ValueError):
            self._handlers.remove(handler)

    def _emit(self, event_type: str, obj: JSONDict) -> None:
        for handler in tuple(self._handlers):
            try:
                handler(event_type, obj)
            except Exception:
                # One handler's failure must not cost the others their events (nor force a relist on them).
                logger.exception("informer_handler_failed", extra={"informer": self._name, "event": event_type})

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
                self._emit("DELETED", old)
        for key, obj in fresh.items():
            previous = self._cache.get(key)
            self._cache[key] = obj
            if previous is None:
                self._emit("ADDED", obj)
            elif _revision(previous) != _revision(obj):
                self._emit("MODIFIED", obj)
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
        self._emit(event_type, obj)


def _revision(obj: JSONDict) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion") or "")


__all__ = ["ApiError", "Informer", "MetadataOnlyTransport", "object_key"]
