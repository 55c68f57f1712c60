"""ObjectIO: one resource's objects read from and written to storage, in served form, errors translated.

Reads are consistent (straight from storage); writes are optimistic: each takes the KeyValue it was computed
from and answers None when the stored object changed meanwhile, so the caller re-reads and recomputes (upstream's
GuaranteedUpdate loop). A write that would store the same bytes again is skipped, which is how a no-op update
keeps its resourceVersion. Dry runs do everything but the write.
"""
from __future__ import annotations

from apiserver.meta.errors import ApiError
from apiserver.meta.objects import JSONDict
from apiserver.registry import codec
from apiserver.registry.context import StoredObject
from apiserver.registry.conversion import convert_with, decoded, object_converter, prepare_views, served, stored_reader
from apiserver.registry.spec import ResourceSpec
from apiserver.registry.translation import translate
from apiserver.storage.errors import KeyNotFound, RevisionConflict, StorageError
from apiserver.storage.interface import KeyValue, Storage
from apiserver.storage.keys import object_key, resource_prefix


class ObjectIO:
    """Storage access for one spec (see the module docstring)."""

    def __init__(self, spec: ResourceSpec, storage: Storage, prefix: str) -> None:
        self.spec = spec
        self.storage = storage
        self._prefix = prefix
        self._converter = object_converter(spec)
        self._reader = stored_reader(spec)

    def key(self, namespace: str, name: str) -> str:
        """The storage key of one object (the namespace is ignored for cluster-scoped resources)."""
        return object_key(self._prefix, self.spec.storage_path, namespace if self.spec.namespaced else "", name)

    def key_prefix(self, namespace: str) -> str:
        """The key prefix of one namespace's objects, or of every object of the resource."""
        return resource_prefix(self._prefix, self.spec.storage_path, namespace if self.spec.namespaced else "")

    async def served(self, stored: StoredObject) -> StoredObject:
        """`stored` in the served version: decoded as the kind decodes stored objects, then converted (through
        the kind's conversion webhook when it has one)."""
        stored = decoded(stored, self._reader)
        if self._converter is not None:
            await prepare_views((stored,), self.spec.group_version, self._converter)
        return served(stored, self.spec.group_version)

    async def prepare(self, obj: JSONDict) -> JSONDict:
        """A served-version object in its stored form (storage version, stored key order, no resourceVersion)."""
        return codec.prepare(await convert_with(obj, self.spec.storage_version, self._converter))

    async def answer(self, prepared: JSONDict, revision: int) -> StoredObject:
        """What a write answers with: the prepared object at `revision`, in the served version."""
        return await self.served(codec.stamp(prepared, revision))

    async def decode(self, kv: KeyValue) -> StoredObject:
        """The served object at `kv`; a value that does not decode is a 500 (it was logged)."""
        stored = codec.decode(kv)
        if stored is None:
            raise ApiError(f"unable to decode the stored object {kv.key}")
        return await self.served(stored)

    async def read(self, key: str, name: str) -> KeyValue | None:
        """The stored value of `key`, or None."""
        try:
            return await self.storage.get(key)
        except StorageError as error:
            raise translate(error, self.spec, name) from None

    async def current_revision(self) -> int:
        try:
            return await self.storage.current_revision()
        except StorageError as error:
            raise translate(error, self.spec) from None

    async def write(self, key: str, kv: KeyValue, obj: JSONDict, name: str, *, dry_run: bool,
                    confirm_no_op: bool = False) -> StoredObject | None:
        """Replace the value at `kv` with `obj`; the stored object when nothing changes; None on a conflict, and,
        with `confirm_no_op`, when nothing would change (`kv` may be stale: the caller reads storage again)."""
        prepared = await self.prepare(obj)
        payload = codec.dumps(prepared)
        if payload == kv.value:
            return None if confirm_no_op else await self.decode(kv)
        if dry_run:
            return await self.answer(prepared, kv.mod_revision)
        try:
            revision = await self.storage.update(key, payload, expected=kv.mod_revision)
        except (RevisionConflict, KeyNotFound):
            return None
        except StorageError as error:
            raise translate(error, self.spec, name) from None
        return await self.answer(prepared, revision)

    async def remove(self, key: str, expected: int, name: str, *, dry_run: bool) -> StoredObject | None:
        """Delete the object (at `expected`, 0: any revision); the deleted object at the revision of the delete.

        None when it changed or vanished meanwhile. A dry run answers with the current object.
        """
        if dry_run:
            current = await self.read(key, name)
            return None if current is None else await self.decode(current)
        try:
            deleted = await self.storage.delete(key, expected=expected)
        except (RevisionConflict, KeyNotFound):
            return None
        except StorageError as error:
            raise translate(error, self.spec, name) from None
        return await self.decode(deleted)
