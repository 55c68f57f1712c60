"""MemoryStorage: the reference implementation of the `Storage` contract, for unit tests.

State lives in one process and is lost on close. The event log doubles as the history for lists at a past
revision, so compaction trims it exactly as etcd forgets old revisions.
"""
from __future__ import annotations

import asyncio
import bisect
from collections.abc import AsyncIterator, Sequence
from typing import Self

from apiserver.storage.backends import StorageOptions
from apiserver.storage.errors import (
    Compacted,
    FutureRevision,
    KeyExists,
    KeyNotFound,
    RevisionConflict,
    StorageUnavailable,
)
from apiserver.storage.interface import Event, EventType, KeyValue, Page


class MemoryStorage:
    """A `Storage` held in dicts; writes are atomic because they never await."""

    def __init__(self) -> None:
        self._revision = 0
        self._compacted = 0
        self._current: dict[str, KeyValue] = {}
        self._log: list[Event] = []
        self._base: dict[str, KeyValue] = {}
        self._changed = asyncio.Condition()
        self._closed = False

    @classmethod
    async def open(cls, options: StorageOptions | None = None) -> Self:
        return cls()

    async def get(self, key: str) -> KeyValue | None:
        self._ensure_open()
        return self._current.get(key)

    async def list(self, prefix: str, *, revision: int = 0, limit: int = 0, start: str = "") -> Page:
        self._ensure_open()
        if revision and revision < self._compacted:
            raise Compacted(revision, self._compacted)
        if revision > self._revision:
            raise FutureRevision(revision, self._revision)
        at = revision or self._revision
        state = self._current if at == self._revision else self._state_at(at)
        lower = max(prefix, start).encode()
        keys = sorted(
            (key for key in state if key.startswith(prefix) and key.encode() >= lower), key=str.encode
        )
        chosen = keys[:limit] if limit else keys
        remaining = len(keys) - len(chosen)
        return Page([state[key] for key in chosen], at, remaining > 0, remaining)

    async def create(self, key: str, value: bytes) -> int:
        self._ensure_open()
        if key in self._current:
            raise KeyExists(key)
        revision = self._next_revision()
        self._current[key] = KeyValue(key, value, revision, revision)
        await self._append(Event(EventType.CREATE, key, value, None, revision, revision))
        return revision

    async def update(self, key: str, value: bytes, *, expected: int) -> int:
        self._ensure_open()
        existing = self._current.get(key)
        if existing is None:
            raise KeyNotFound(key)
        if existing.mod_revision != expected:
            raise RevisionConflict(key, expected, existing.mod_revision)
        revision = self._next_revision()
        self._current[key] = KeyValue(key, value, existing.create_revision, revision)
        await self._append(Event(EventType.UPDATE, key, value, existing.value, revision, existing.create_revision))
        return revision

    async def delete(self, key: str, *, expected: int = 0) -> KeyValue:
        self._ensure_open()
        existing = self._current.get(key)
        if existing is None:
            raise KeyNotFound(key)
        if expected and existing.mod_revision != expected:
            raise RevisionConflict(key, expected, existing.mod_revision)
        revision = self._next_revision()
        del self._current[key]
        await self._append(Event(EventType.DELETE, key, b"", existing.value, revision, existing.create_revision))
        return KeyValue(key, existing.value, existing.create_revision, revision)

    async def watch(self, prefix: str, *, after: int) -> AsyncIterator[Sequence[Event]]:
        self._ensure_open()
        if after + 1 < self._compacted:
            raise Compacted(after + 1, self._compacted)
        last = after
        while not self._closed:
            if last + 1 < self._compacted:
                # History this watcher had not taken yet was compacted away: end it, as etcd cancels such a watch.
                raise Compacted(last + 1, self._compacted)
            batch = [event for event in self._events_after(last) if event.key.startswith(prefix)]
            if self._log and self._log[-1].revision > last:
                last = self._log[-1].revision
            if batch:
                yield batch
                continue
            async with self._changed:
                await self._changed.wait_for(lambda seen=last: self._closed or self._revision > seen)

    async def current_revision(self) -> int:
        self._ensure_open()
        return self._revision

    async def compact(self, revision: int) -> None:
        self._ensure_open()
        if revision > self._revision:
            raise FutureRevision(revision, self._revision)
        if revision <= self._compacted:
            return
        self._compacted = revision
        # Events at or above the compacted revision stay; the state below it is folded into `_base`.
        cut = bisect.bisect_left(self._log, revision, key=lambda event: event.revision)
        self._base = self._state_at(revision - 1)
        del self._log[:cut]

    async def check(self) -> None:
        self._ensure_open()

    async def close(self) -> None:
        self._closed = True
        async with self._changed:
            self._changed.notify_all()

    def _ensure_open(self) -> None:
        if self._closed:
            raise StorageUnavailable("storage is closed")

    def _next_revision(self) -> int:
        self._revision += 1
        return self._revision

    async def _append(self, event: Event) -> None:
        self._log.append(event)
        async with self._changed:
            self._changed.notify_all()

    def _events_after(self, revision: int) -> list[Event]:
        index = bisect.bisect_right(self._log, revision, key=lambda event: event.revision)
        return self._log[index:]

    def _state_at(self, revision: int) -> dict[str, KeyValue]:
        state = dict(self._base)
        for event in self._log:
            if event.revision > revision:
                break
            if event.type is EventType.DELETE:
                state.pop(event.key, None)
            else:
                state[event.key] = KeyValue(event.key, event.value, event.create_revision, event.revision)
        return state
