"""The delete verb of the generic store, in upstream's order (registry/generic/registry/store.go Store.Delete).

Type hook (namespaces mark themselves Terminating) → preconditions → graceful deletion → finalizers for garbage
collection (Foreground adds `foregroundDeletion`, Orphan adds `orphan`) → an object with finalizers is marked
(deletionTimestamp, deletionGracePeriodSeconds 0) and kept, anything else is removed. What a delete answers:
the object for types that return deleted objects and for every object that stays, else a Success Status.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable

from apiserver.meta.objects import JSONDict, name_of, uid_of
from apiserver.registry import finalizers
from apiserver.registry.context import DeleteOptions, RequestContext, StoredObject
from apiserver.registry.metadata import metadata
from apiserver.registry.objectio import ObjectIO
from apiserver.registry.strategy import DeleteDecision
from apiserver.registry.traits import ResourceTraits
from apiserver.registry.translation import not_found
from apiserver.storage.interface import KeyValue

AdmissionHook = Callable[[JSONDict, JSONDict | None], Awaitable[None]]
Outcome = tuple[StoredObject, bool]


def success_status(stored: StoredObject, group: str, resource: str) -> StoredObject:
    """The Status a delete answers with for types that do not return the deleted object."""
    details: JSONDict = {"name": name_of(stored.obj)}
    if group:
        details["group"] = group
    details["kind"] = resource
    if uid_of(stored.obj):
        details["uid"] = uid_of(stored.obj)
    return StoredObject.of({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                            "details": details})


def _set_finalizers(obj: JSONDict, wanted: list[str]) -> None:
    meta = metadata(obj)
    if wanted:
        meta["finalizers"] = wanted
    else:
        meta.pop("finalizers", None)


class Deleter:
    """Deletes objects of one spec through its ObjectIO."""

    def __init__(self, io: ObjectIO, traits: ResourceTraits) -> None:
        self._io = io
        self._spec = io.spec
        self._traits = traits

    def finalize(self, stored: StoredObject) -> StoredObject:
        """The answer for a deleted (or pending) object: itself, or a Success Status, by the type."""
        if self._traits.return_deleted_object:
            return stored
        return success_status(stored, self._spec.group, self._spec.plural)

    async def delete(self, namespace: str, name: str, options: DeleteOptions, ctx: RequestContext,
                     validate: AdmissionHook | None) -> Outcome:
        dry_run = options.dry_run or ctx.dry_run
        key = self._io.key(namespace, name)
        while True:
            kv = await self._io.read(key, name)
            if kv is None:
                raise not_found(self._spec, name)
            outcome = await self._attempt(key, kv, options, ctx, validate, dry_run)
            if outcome is not None:
                return outcome

    async def _attempt(self, key: str, kv: KeyValue, options: DeleteOptions, ctx: RequestContext,
                       validate: AdmissionHook | None, dry_run: bool) -> Outcome | None:
        """One optimistic attempt at the delete; None when the object changed meanwhile."""
        existing = await self._io.decode(kv)
        name = name_of(existing.obj)
        obj = existing.copy()
        decision = self._spec.strategy.prepare_for_delete(obj, options, ctx)
        if decision is DeleteDecision.KEEP:
            return existing, False
        if validate is not None:
            await validate(existing.copy(), None)
        if decision is DeleteDecision.UPDATE:
            return await self._keep(key, kv, obj, dry_run)
        finalizers.check_preconditions(obj, options, kind=self._spec.kind, group=self._spec.group)
        state = finalizers.GracefulState.IMMEDIATE
        grace = self._spec.strategy.check_graceful_delete(obj, options)
        if grace is not None:
            state = finalizers.begin_graceful_delete(obj, options, grace, ctx.now()).state
        if state is finalizers.GracefulState.PENDING:
            return self.finalize(existing), False
        wanted = finalizers.finalizers_for_garbage_collection(obj, options)
        if wanted is not None:
            _set_finalizers(obj, wanted)
        if state is finalizers.GracefulState.IMMEDIATE:
            if finalizers.finalizers_of(obj):
                finalizers.mark_as_deleting(obj, ctx.now())
                return await self._keep(key, kv, obj, dry_run)
            deleted = await self._io.remove(key, kv.mod_revision, name, dry_run=dry_run)
            return None if deleted is None else (self.finalize(deleted), True)
        return await self._graceful(key, kv, obj, dry_run)

    async def _keep(self, key: str, kv: KeyValue, obj: JSONDict, dry_run: bool) -> Outcome | None:
        kept = await self._io.write(key, kv, obj, name_of(obj), dry_run=dry_run)
        return None if kept is None else (kept, False)

    async def _graceful(self, key: str, kv: KeyValue, obj: JSONDict, dry_run: bool) -> Outcome | None:
        """Record the grace period; with none left (and no finalizers) remove the object right away.

        Another party removing it meanwhile counts as deleted, as upstream tolerates that race.
        """
        name = name_of(obj)
        kept = await self._io.write(key, kv, obj, name, dry_run=dry_run)
        if kept is None:
            return None
        if finalizers.finalizers_of(obj) or metadata(obj).get("deletionGracePeriodSeconds"):
            return kept, False
        deleted = await self._io.remove(key, 0, name, dry_run=dry_run)
        return self.finalize(deleted or kept), True
