"""WatchStream: a watch cache watch as the API sends it, one WatchEvent per change, bookmark or error.

Objects come out in the served version (converted once per object and version). A BOOKMARK carries a bare object
of the resource's kind with only its resourceVersion (and the `k8s.io/initial-events-end` annotation at the end
of requested initial events). An ERROR event carries a Status; the stream ends after it, which is how
kube-apiserver answers a watch from a resourceVersion that is too old.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Self

from apiserver.meta.errors import ApiError
from apiserver.meta.objects import JSONDict
from apiserver.registry.context import StoredObject
from apiserver.registry.conversion import decoded, object_converter, pending, prepare_views, served, stored_reader
from apiserver.registry.spec import ResourceSpec
from apiserver.storage.interface import EventType
from apiserver.storage.watchcache import Bookmark, CacheEvent, CacheWatch

ADDED: Final = "ADDED"
MODIFIED: Final = "MODIFIED"
DELETED: Final = "DELETED"
BOOKMARK: Final = "BOOKMARK"
ERROR: Final = "ERROR"
INITIAL_EVENTS_END_ANNOTATION: Final = "k8s.io/initial-events-end"
_EVENT_TYPES: Final = {EventType.CREATE: ADDED, EventType.UPDATE: MODIFIED, EventType.DELETE: DELETED}


@dataclass(frozen=True, slots=True)
class WatchEvent:
    """One line of a watch: `type` is ADDED, MODIFIED, DELETED, BOOKMARK or ERROR."""

    type: str
    object: StoredObject


def bookmark_object(spec: ResourceSpec, revision: int, *, initial_events_end: bool = False) -> StoredObject:
    """The object of a BOOKMARK event: kind, apiVersion and metadata with just the resourceVersion."""
    metadata: JSONDict = {"resourceVersion": str(revision), "creationTimestamp": None}
    if initial_events_end:
        metadata["annotations"] = {INITIAL_EVENTS_END_ANNOTATION: "true"}
    return StoredObject.of({"kind": spec.kind, "apiVersion": spec.group_version, "metadata": metadata})


class WatchStream:
    """`async for event in stream` yields WatchEvents until the cache ends the watch or `aclose()` is called.

    The stream ends by itself when the cache closes the watcher (too slow, re-list, storage trouble): the client
    then watches again or re-lists. `request_bookmark()` queues a BOOKMARK after everything already due.
    """

    def __init__(self, spec: ResourceSpec, watch: CacheWatch[StoredObject | None] | None, *,
                 error: StoredObject | None = None, initial_events_end: bool = False) -> None:
        self._spec = spec
        self._watch = watch
        self._error = error
        self._initial_events_end = initial_events_end
        self._converter = object_converter(spec)
        self._reader = stored_reader(spec)
        # An event `poll` took that needs a conversion webhook call first: `__anext__` serves it next.
        self._held: CacheEvent[StoredObject | None] | Bookmark | None = None

    @classmethod
    def failed(cls, spec: ResourceSpec, status: dict[str, object]) -> WatchStream:
        """A stream of one ERROR event carrying `status`."""
        return cls(spec, None, error=StoredObject.of(status))

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> WatchEvent:
        if self._error is not None:
            error, self._error = self._error, None
            return WatchEvent(ERROR, error)
        if self._watch is None:
            raise StopAsyncIteration
        while True:
            item, self._held = self._held, None
            if item is None:
                item = await self._watch.__anext__()
            if not isinstance(item, Bookmark) and self._needs_call(item):
                try:
                    await prepare_views((self._decoded(item),), self._spec.group_version, self._converter)
                except ApiError as error:  # upstream's watch ends with the conversion error as its ERROR event
                    await self.aclose()
                    self._watch = None
                    return WatchEvent(ERROR, StoredObject.of(error.to_status()))
            event = self._event(item)
            if event is not None:
                return event

    def poll(self) -> WatchEvent | None:
        """The next event if one is already due, without waiting; None when the caller must wait (`__anext__`)."""
        if self._error is not None or self._watch is None or self._held is not None:
            return None
        while (item := self._watch.poll()) is not None:
            if self._needs_call(item):
                self._held = item
                return None
            event = self._event(item)
            if event is not None:
                return event
        return None

    def _decoded(self, item: CacheEvent[StoredObject | None]) -> StoredObject:
        stored = item.entry.decoded
        assert stored is not None
        return decoded(stored, self._reader)

    def _needs_call(self, item: CacheEvent[StoredObject | None] | Bookmark) -> bool:
        if self._converter is None or isinstance(item, Bookmark) or item.entry.decoded is None:
            return False
        return pending(self._decoded(item), self._spec.group_version)

    def _event(self, item: CacheEvent[StoredObject | None] | Bookmark) -> WatchEvent | None:
        if isinstance(item, Bookmark):
            end, self._initial_events_end = self._initial_events_end, False
            return WatchEvent(BOOKMARK, bookmark_object(self._spec, item.revision, initial_events_end=end))
        stored = item.entry.decoded
        if stored is None:
            return None
        return WatchEvent(_EVENT_TYPES[item.type], served(decoded(stored, self._reader), self._spec.group_version))

    def request_bookmark(self) -> None:
        """Ask for a BOOKMARK at the cache's current revision (the endpoint's periodic bookmark)."""
        if self._watch is not None:
            self._watch.request_bookmark()

    async def aclose(self) -> None:
        """Stop the stream and release it from the cache; idempotent."""
        self._error = None
        if self._watch is not None:
            self._watch.close()

    @property
    def end_reason(self) -> str | None:
        """Why the cache ended the watch (None while open or for an ERROR stream)."""
        if self._watch is None or self._watch.end_reason is None:
            return None
        return self._watch.end_reason.value
