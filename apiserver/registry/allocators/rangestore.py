"""StoredRange: an AllocationBitmap persisted as a RangeAllocation, changed only by compare-and-swap.

Upstream's allocator storage (pkg/registry/core/service/allocator/storage): every change reads the stored
RangeAllocation, reloads the local bitmap when another writer moved it on, applies the change and writes it back
expecting the revision it read; a conflict starts over. The object must exist before values can be taken (the
repair pass creates it at start): until then changes fail with upstream's "cannot allocate resources of type
... at this time". Stored form: `{"kind": "RangeAllocation", "apiVersion": "v1", "metadata": {...},
"range": "<cidr or ports>", "data": "<base64 bitmap>"}`.
"""
from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Callable
from typing import TypeVar

import orjson

from apiserver.registry.allocators.bitmap import AllocationBitmap
from apiserver.storage.errors import KeyExists, KeyNotFound, RevisionConflict
from apiserver.storage.interface import KeyValue, Storage

T = TypeVar("T")


class RangeNotReady(Exception):
    """The RangeAllocation does not exist yet (or does not decode): nothing can be allocated."""


def range_key(prefix: str, name: str) -> str:
    """Upstream's keys: `/registry/ranges/serviceips`, `/registry/ranges/servicenodeports`."""
    return f"{prefix.rstrip('/')}/ranges/{name}"


def encode_range(range_spec: str, data: bytes, created: str = "") -> bytes:
    metadata = {"creationTimestamp": created} if created else {}
    return orjson.dumps({"kind": "RangeAllocation", "apiVersion": "v1", "metadata": metadata,
                         "range": range_spec, "data": base64.b64encode(data).decode()})


def decode_range(value: bytes) -> tuple[str, bytes]:
    """(range, data) of a stored RangeAllocation; ValueError when it is not one."""
    try:
        obj = orjson.loads(value)
        return str(obj["range"]), base64.b64decode(obj.get("data") or "")
    except (orjson.JSONDecodeError, KeyError, TypeError, binascii.Error) as error:
        raise ValueError(f"not a RangeAllocation: {error}") from None


class StoredRange:
    """One pool shared through storage. `resource` names it in errors (`serviceipallocations`)."""

    def __init__(self, storage: Storage, key: str, bitmap: AllocationBitmap, resource: str) -> None:
        self._storage = storage
        self.key = key
        self._bitmap = bitmap
        self._resource = resource
        self._last = 0
        self._lock = asyncio.Lock()

    @property
    def range_spec(self) -> str:
        return self._bitmap.range_spec

    @property
    def size(self) -> int:
        return self._bitmap.size

    async def allocate(self, offset: int) -> bool:
        """Take `offset` in storage; False when it is taken."""
        return await self._change(lambda bitmap: bitmap.allocate(offset))

    async def allocate_next(self) -> int | None:
        """Take a free offset in storage; None when the range is full."""
        return await self._change(lambda bitmap: bitmap.allocate_next())

    async def release(self, offset: int) -> None:
        """Give `offset` back in storage (no write when it was free)."""
        def release(bitmap: AllocationBitmap) -> bool:
            if not bitmap.has(offset):
                return False
            bitmap.release(offset)
            return True

        await self._change(release)

    async def has(self, offset: int) -> bool:
        """Whether `offset` is taken, as storage says now."""
        async with self._lock:
            await self._refresh()
            return self._bitmap.has(offset)

    async def snapshot(self) -> tuple[AllocationBitmap, int] | None:
        """A copy of the stored pool and its revision; None when the RangeAllocation does not exist.

        A stored pool of another range (the flag changed) or that does not decode reads as empty, so the repair
        pass replaces it with what the objects use, as upstream's repair does.
        """
        kv = await self._storage.get(self.key)
        if kv is None:
            return None
        copy = self.empty()
        try:
            copy.restore(*decode_range(kv.value))
        except ValueError:
            return self.empty(), kv.mod_revision
        return copy, kv.mod_revision

    def empty(self) -> AllocationBitmap:
        """A fresh, empty pool of the same shape (for the repair pass)."""
        return AllocationBitmap(self._bitmap.size, self._bitmap.range_spec, offset=self._bitmap.offset)

    async def replace(self, bitmap: AllocationBitmap, expected: int, created: str = "") -> bool:
        """Write `bitmap` over the revision `expected` (0: create); False when someone wrote meanwhile."""
        value = encode_range(*bitmap.snapshot(), created=created)
        try:
            if expected:
                await self._storage.update(self.key, value, expected=expected)
            else:
                await self._storage.create(self.key, value)
        except (RevisionConflict, KeyExists, KeyNotFound):
            return False
        return True

    async def _refresh(self) -> KeyValue:
        kv = await self._storage.get(self.key)
        if kv is None:
            raise RangeNotReady(f"cannot allocate resources of type {self._resource} at this time")
        if kv.mod_revision != self._last:
            try:
                self._bitmap.restore(*decode_range(kv.value))
            except ValueError as error:
                raise RangeNotReady(str(error)) from None
            self._last = kv.mod_revision
        return kv

    async def _change(self, change: Callable[[AllocationBitmap], T]) -> T:
        """Apply `change` to the current stored pool and write it back (when it reports a change)."""
        async with self._lock:
            while True:
                kv = await self._refresh()
                result = change(self._bitmap)
                if result is False or result is None:
                    return result
                value = encode_range(*self._bitmap.snapshot(), created=_created(kv))
                try:
                    self._last = await self._storage.update(self.key, value, expected=kv.mod_revision)
                except (RevisionConflict, KeyNotFound):
                    self._last = 0  # reload before trying again
                    continue
                return result


def _created(kv: KeyValue) -> str:
    try:
        metadata = orjson.loads(kv.value).get("metadata") or {}
    except (orjson.JSONDecodeError, AttributeError):
        return ""
    return str(metadata.get("creationTimestamp") or "")
