"""The `Storage` protocol: a revisioned key-value store with etcd semantics.

Every write returns a new, strictly increasing global revision. Reads and watches are relative to
revisions. Values are opaque bytes; keys are strings that sort bytewise (UTF-8) as in etcd.
"""
from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class KeyValue:
    """One key at one revision.

    `mod_revision` is the revision of the write that produced this value; `create_revision` the revision
    that created the key (unchanged by updates, new after delete + create).
    """

    key: str
    value: bytes
    create_revision: int
    mod_revision: int


class EventType(enum.Enum):
    CREATE = "CREATE"
    UPDATE = "UPDATE"
    DELETE = "DELETE"


@dataclass(frozen=True, slots=True)
class Event:
    """One change to one key.

    `revision` is the revision of the change. For CREATE and UPDATE, `value` is the new value; for DELETE it is
    empty. `prev_value` is the value before the change (None for CREATE); a DELETE always carries it.
    `create_revision` is the create revision of the key as it was written (for DELETE: of the deleted key).
    """

    type: EventType
    key: str
    value: bytes
    prev_value: bytes | None
    revision: int
    create_revision: int


@dataclass(frozen=True, slots=True)
class Page:
    """A list result.

    `revision` is the revision the list was read at (pass it back to read the next page consistently).
    `more` is True when keys beyond `items` exist under the prefix at that revision; `remaining` is how many
    (counted from the key after the last returned one).
    """

    items: Sequence[KeyValue]
    revision: int
    more: bool
    remaining: int


class Storage(Protocol):
    """A revisioned byte store with etcd semantics.

    Contract shared by every backend (proven by tests/storage/test_conformance.py):
    - Revisions are global, start above 0 and strictly increase with every successful write; a failed write
      (KeyExists, RevisionConflict, KeyNotFound) does not consume one.
    - Keys are compared and sorted bytewise on their UTF-8 encoding.
    - Every method may raise StorageUnavailable when the backend cannot be reached within a bounded time;
      it never hangs forever.
    """

    async def get(self, key: str) -> KeyValue | None:
        """Return the current value of `key`, or None when it does not exist. Always a consistent read."""
        ...

    async def list(self, prefix: str, *, revision: int = 0, limit: int = 0, start: str = "") -> Page:
        """List keys under `prefix` in key order, as of `revision` (0 = current).

        `start` (inclusive) must be under `prefix` or empty; pass the last returned key + "\\x00" to continue.
        `limit` 0 means no limit. Raises Compacted below the compacted revision and FutureRevision above the
        current one.
        """
        ...

    async def create(self, key: str, value: bytes) -> int:
        """Create `key`; return the new revision. Raises KeyExists when it already exists."""
        ...

    async def update(self, key: str, value: bytes, *, expected: int) -> int:
        """Replace `key` if its mod revision is `expected`; return the new revision.

        Raises KeyNotFound when the key does not exist, RevisionConflict when its mod revision differs.
        """
        ...

    async def delete(self, key: str, *, expected: int = 0) -> KeyValue:
        """Delete `key` (if `expected` is non-zero, only at that mod revision).

        Returns the deleted value with `mod_revision` set to the revision of the delete. Raises KeyNotFound
        or RevisionConflict.
        """
        ...

    def watch(self, prefix: str, *, after: int) -> AsyncIterator[Sequence[Event]]:
        """Yield batches of events under `prefix` with revision > `after`, in strict revision order.

        No gaps and no duplicates. Raises Compacted (on the first iteration) when `after` + 1 is below the
        compacted revision. Ends only when the consumer stops iterating (aclose) or the storage closes; raises
        StorageUnavailable if the stream cannot be kept up.
        """
        ...

    async def current_revision(self) -> int:
        """The newest revision (a consistent read)."""
        ...

    async def compact(self, revision: int) -> None:
        """Forget history older than `revision`: reads and watches below it raise Compacted afterwards.

        Compacting to a revision at or below the current compacted revision is a no-op.
        """
        ...

    async def check(self) -> None:
        """Raise StorageUnavailable unless the backend answers a trivial read within a bounded time."""
        ...

    async def close(self) -> None:
        """Release connections and threads; ends open watches. Idempotent."""
        ...
