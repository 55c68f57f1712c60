"""ResourceStore: every verb for any resource spec, on a Storage and a (shared) WatchCache.

The generic store does what every type needs, in kube-apiserver's order (registry/generic/registry/store.go):
system metadata, generateName with retry, the strategy hooks, name and ObjectMeta validation, admission
callbacks, optimistic concurrency, the status subresource, generation, finalizers, graceful deletion, dry run.
It is the only place storage errors become API errors. Reads of one object at resourceVersion "" and every write
go to the storage; lists and watches are served from the watch cache by the resourceVersion rules (listing.py).

Objects handed in are owned by the store from then on; objects handed out are shared StoredObjects (never
mutate `obj`; `copy()` it). Admission hooks always receive copies.
"""
from __future__ import annotations

import asyncio
import copy
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Final

from apiserver.meta.errors import ApiError, BadRequest, Invalid, NotFound
from apiserver.meta.objects import JSONDict, name_of, namespace_of, resource_version_of
from apiserver.meta.resourceversion import (
    parse_cached_resource_version,
    parse_resource_version,
    too_large_resource_version,
    too_old_resource_version,
)
from apiserver.meta.validation import FieldError, FieldPath
from apiserver.registry import codec, finalizers, metadata
from apiserver.registry.context import DeleteOptions, ListOptions, RequestContext, StoredObject
from apiserver.registry.deletion import Deleter
from apiserver.registry.listing import Lister, ListQuery, ListResult
from apiserver.registry.naming import NameGenerator, RandomNameGenerator
from apiserver.registry.objectio import ObjectIO
from apiserver.registry.selection import check_field_selector, entry_predicate, object_predicate
from apiserver.registry.spec import ResourceSpec
from apiserver.registry.traits import ResourceTraits, builtin_traits
from apiserver.registry.translation import (
    RESOURCE_VERSION_ON_CREATE,
    already_exists,
    not_found,
    optimistic_lock_conflict,
    translate,
)
from apiserver.registry.watch import WatchStream
from apiserver.storage.errors import KeyExists, KeyNotFound, RevisionConflict, StorageError
from apiserver.storage.interface import KeyValue, Storage
from apiserver.storage.watchcache import CacheNotReady, TooOld, WatchCache

__all__ = ["AdmissionHook", "ListResult", "ResourceStore", "Transform"]

AdmissionHook = Callable[[JSONDict, JSONDict | None], Awaitable[None]]
"""Admission callback: (new object, old object or None); raises an ApiError to reject. Gets copies."""
Transform = Callable[[JSONDict], Awaitable[JSONDict] | JSONDict]
ProgressRequest = Callable[[int], None]

GENERATE_NAME_ATTEMPTS: Final = 8
DELETE_COLLECTION_WORKERS: Final = 16


def _no_progress(revision: int) -> None:
    return None


class ResourceStore:
    """Serves one ResourceSpec; raises only ApiError subclasses (see the module docstring).

    `cache` mirrors the spec's storage path and may be shared by specs stored there (events, HPAs).
    `request_progress(revision)` asks the cache's feed to report progress up to `revision` before a read waits
    for it. `consistent_timeout` bounds that wait for consistent reads before they go to storage; `fresh_timeout`
    bounds waits for an explicit resourceVersion (then 504 "Too large resource version").
    """

    def __init__(self, spec: ResourceSpec, storage: Storage, cache: WatchCache[StoredObject | None], *,
                 prefix: str = "/registry", request_progress: ProgressRequest = _no_progress,
                 names: NameGenerator | None = None, consistent_timeout: float = 0.25,
                 fresh_timeout: float = 3.0) -> None:
        if spec.virtual:
            raise ValueError(f"{spec.group_resource} is virtual: use VirtualStore")
        self.spec = spec
        self.traits: ResourceTraits = spec.strategy.traits or builtin_traits(spec.group_resource)
        self._io = ObjectIO(spec, storage, prefix)
        self._cache = cache
        self._request_progress = request_progress
        self._names = names or RandomNameGenerator()
        self._consistent_timeout = consistent_timeout
        self._fresh_timeout = fresh_timeout
        self._lister = Lister(spec, storage, cache, self._caught_up, consistent_timeout=consistent_timeout,
                              fresh_timeout=fresh_timeout)
        self._deleter = Deleter(self._io, self.traits)

    def key(self, namespace: str, name: str) -> str:
        """The storage key of one object."""
        return self._io.key(namespace, name)

    async def _caught_up(self, revision: int, timeout: float) -> bool:
        """Wait (up to `timeout`) for the cache to reach `revision`; False when it did not."""
        if self._cache.revision >= revision:
            return True
        self._request_progress(revision)
        try:
            await self._cache.wait_until(revision, timeout)
        except StorageError:
            return False
        return True

    # --- reads -------------------------------------------------------------------------------------------------

    async def get(self, namespace: str, name: str, *, resource_version: str = "") -> StoredObject:
        """One object: from storage for resourceVersion "", else from the cache once it reached the version."""
        key = self._io.key(namespace, name)
        revision = parse_cached_resource_version(resource_version) if resource_version else 0
        if not resource_version or (revision == 0 and not self._cache.is_ready()):
            kv = await self._io.read(key, name)
            if kv is None:
                raise not_found(self.spec, name)
            return await self._io.decode(kv)
        if revision and not await self._caught_up(revision, self._fresh_timeout):
            raise too_large_resource_version(revision, self._cache.revision)
        try:
            entry = self._cache.get(key)
        except StorageError as error:
            raise translate(error, self.spec, name) from None
        if entry is None or entry.decoded is None:
            raise not_found(self.spec, name)
        return await self._io.served(entry.decoded)

    async def list(self, namespace: str, options: ListOptions) -> ListResult:
        """A list of one namespace ("" for all, or a cluster-scoped resource) by the rules in listing.py."""
        check_field_selector(self.spec, options.field_selector)
        selects = object_predicate(self.spec, options.label_selector, options.field_selector)
        return await self._lister.list(ListQuery(self._io.key_prefix(namespace), selects, options))

    async def watch(self, namespace: str, options: ListOptions) -> WatchStream:
        """A watch from the cache: initial ADDED events for "" / "0" (sendInitialEvents), else changes after N.

        A resourceVersion below the cache's window gives a stream of one ERROR event (410 Expired), as upstream.
        Raises 429 while the cache is not ready, 504 when it does not reach the requested version in time.
        """
        check_field_selector(self.spec, options.field_selector)
        revision = parse_cached_resource_version(options.resource_version)
        if not self._cache.is_ready():
            raise translate(CacheNotReady(), self.spec)
        selects = object_predicate(self.spec, options.label_selector, options.field_selector)
        predicate = entry_predicate(self._io.key_prefix(namespace), selects)
        send_initial = options.send_initial_events
        if send_initial is None:
            send_initial = options.resource_version in ("", "0")
        if options.resource_version == "":
            await self._caught_up(await self._io.current_revision(), self._consistent_timeout)
        elif revision and send_initial and not await self._caught_up(revision, self._fresh_timeout):
            raise too_large_resource_version(revision, self._cache.revision)
        if send_initial:
            cache_watch = self._cache.watch(predicate=predicate, send_initial=True)
            end_bookmark = options.is_initial_events_end_bookmark_required
            if end_bookmark:
                cache_watch.request_bookmark()
            return WatchStream(self.spec, cache_watch, initial_events_end=end_bookmark)
        try:
            return WatchStream(self.spec, self._cache.watch(after=revision or self._cache.revision,
                                                            predicate=predicate))
        except TooOld as error:
            return WatchStream.failed(self.spec, too_old_resource_version(error.requested, error.oldest).to_status())

    # --- create ------------------------------------------------------------------------------------------------

    async def create(self, namespace: str, obj: JSONDict, ctx: RequestContext, *,
                     validate: AdmissionHook | None = None) -> StoredObject:
        """Create `obj` (owned by the store from now on) in `namespace`; see the module docstring for the order.

        Raises BadRequest (namespace mismatch), Invalid, AlreadyExists (prefixed `object is being deleted: ` when
        the existing object is being deleted), and whatever `validate` raises.
        """
        obj = metadata.stamp_kind(obj, self.spec)
        metadata.match_request_namespace(obj, namespace, self.spec.namespaced)
        metadata.fill_system_fields(obj, ctx)
        meta = metadata.metadata(obj)
        if not (meta.get("generateName") and not meta.get("name")):
            return await self._create(namespace, obj, ctx, validate, generated=False)
        # Upstream retries a generated name that collides (RetryGenerateName), eight times in all.
        error: ApiError | None = None
        for _ in range(GENERATE_NAME_ATTEMPTS):
            attempt = copy.deepcopy(obj)
            attempt["metadata"]["name"] = self._names(str(meta["generateName"]))
            try:
                return await self._create(namespace, attempt, ctx, validate, generated=True)
            except _GeneratedNameTaken as taken:
                error = taken.error
        assert error is not None
        raise error

    async def _create(self, namespace: str, obj: JSONDict, ctx: RequestContext, validate: AdmissionHook | None,
                      *, generated: bool) -> StoredObject:
        metadata.before_create(self.spec, self.traits, obj, ctx)
        if validate is not None:
            await validate(copy.deepcopy(obj), None)
        name = name_of(obj)
        key = self._io.key(namespace, name)
        prepared = await self._io.prepare(obj)
        if ctx.dry_run:
            if await self._io.read(key, name) is not None:
                raise await self._create_conflict(key, name, generated)
            return await self._io.served(StoredObject.of(codec.order_object(obj)))
        if resource_version_of(obj):
            raise ApiError(RESOURCE_VERSION_ON_CREATE)
        try:
            revision = await self._io.storage.create(key, codec.dumps(prepared))
        except KeyExists:
            raise await self._create_conflict(key, name, generated) from None
        except StorageError as error:
            raise translate(error, self.spec, name) from None
        return await self._io.answer(prepared, revision)

    async def _create_conflict(self, key: str, name: str, generated: bool) -> ApiError:
        if generated:
            return _GeneratedNameTaken(_generate_name_conflict(self.spec, name))
        error = already_exists(self.spec, name)
        try:
            existing = await self._io.storage.get(key)
        except StorageError:
            return error
        stored = codec.decode(existing) if existing is not None else None
        if stored is not None and metadata.metadata(stored.obj).get("deletionTimestamp"):
            return type(error).from_message(f"object is being deleted: {error.message}", details=error.details)
        return error

    # --- update ------------------------------------------------------------------------------------------------

    async def update(self, namespace: str, name: str, obj: JSONDict, ctx: RequestContext, *, subresource: str = "",
                     validate: AdmissionHook | None = None,
                     mutate: AdmissionHook | None = None) -> tuple[StoredObject, bool]:
        """PUT: replace the object (or its status); returns (object, created).

        Creates only where the type allows create-on-update (never through a subresource). A stale
        resourceVersion is a Conflict; none at all is allowed where the type allows unconditional updates. An
        update that changes nothing leaves the resourceVersion as it is. An update that removes the last finalizer
        of an object being deleted removes it (and still answers with the updated object, as upstream).
        """
        body = metadata.stamp_kind(obj, self.spec)
        if name_of(body) != name:
            raise BadRequest(f"the name of the object ({name_of(body)}) does not match the name on the URL ({name})")
        metadata.match_request_namespace(body, namespace, self.spec.namespaced)
        key = self._io.key(namespace, name)
        guess = self._cached_guess(key, ctx)
        while True:
            current = guess is None
            kv, guess = (guess if guess is not None else await self._io.read(key, name)), None
            if kv is None:
                if subresource or not self.traits.allow_create_on_update:
                    raise not_found(self.spec, name)
                created = await self._create_on_update(namespace, copy.deepcopy(body), ctx, validate, mutate)
                if created is not None:
                    return created, True
                continue
            new = copy.deepcopy(body)
            try:
                if mutate is not None:
                    await mutate(new, (await self._io.decode(kv)).copy())
                self._check_update_version(new, kv, name)
                result = await self._try_update(key, kv, new, ctx, subresource, validate, current=current)
            except ApiError:
                if current:
                    raise
                continue  # perhaps only the cache's copy was stale: again from storage's current state
            if result is not None:
                return result, False

    async def _create_on_update(self, namespace: str, obj: JSONDict, ctx: RequestContext,
                                validate: AdmissionHook | None, mutate: AdmissionHook | None) -> StoredObject | None:
        """Create through PUT; None when someone else created the object meanwhile (the caller retries)."""
        if mutate is not None:
            await mutate(obj, None)
        metadata.metadata(obj).pop("resourceVersion", None)
        metadata.fill_system_fields(obj, ctx)
        try:
            return await self._create(namespace, obj, ctx, validate, generated=False)
        except ApiError as error:
            if error.reason == "AlreadyExists":
                return None
            raise

    def _check_update_version(self, new: JSONDict, kv: KeyValue, name: str) -> None:
        """Upstream's resourceVersion rules of an update: absent → unconditional (if allowed), else must match."""
        given = resource_version_of(new)
        if not given:
            if not self.traits.allow_unconditional_update:
                path = FieldPath("metadata", "resourceVersion")
                error = FieldError.invalid(path, 0, "must be specified for an update")
                raise Invalid(self.spec.plural, name, [error.to_cause()], group=self.spec.group)
            metadata.metadata(new)["resourceVersion"] = str(kv.mod_revision)
            return
        if parse_resource_version(given) != kv.mod_revision:
            raise optimistic_lock_conflict(self.spec, name)

    def _cached_guess(self, key: str, ctx: RequestContext) -> KeyValue | None:
        """The watch cache's copy of `key` as the first guess of an update (upstream's cacher hands its object to
        GuaranteedUpdate as `cachedExistingObject`): a write that compares revisions instead of a storage read
        first. None (read storage) for dry runs, which upstream reads from storage, or when the cache has none."""
        if ctx.dry_run or not self._cache.is_ready():
            return None
        entry = self._cache.get(key)
        return entry.kv if entry is not None else None

    async def _try_update(self, key: str, kv: KeyValue, new: JSONDict, ctx: RequestContext, subresource: str,
                          validate: AdmissionHook | None, *, current: bool = True) -> StoredObject | None:
        """One optimistic attempt at writing `new` over `kv`; None when the stored object changed meanwhile, or,
        for a `kv` that may not be `current` (the cache's), when the update would change nothing: that must be
        confirmed against storage."""
        name = name_of(new)
        old = (await self._io.decode(kv)).copy()
        metadata.before_update(self.spec, self.traits, new, old, ctx, subresource)
        if validate is not None:
            await validate(copy.deepcopy(new), copy.deepcopy(old))
        if finalizers.should_delete_during_update(new, old) and self.spec.strategy.may_delete_during_update(new):
            return await self._delete_during_update(key, kv, new, ctx.dry_run)
        return await self._io.write(key, kv, new, name, dry_run=ctx.dry_run, confirm_no_op=not current)

    async def _delete_during_update(self, key: str, kv: KeyValue, new: JSONDict,
                                    dry_run: bool) -> StoredObject | None:
        """The last finalizer of a deleted object went: remove it, answer with the update's object (upstream's
        deleteWithoutFinalizers: PUT clients expect an object, not a Status). None on a conflict."""
        answer = await self._io.served(StoredObject.of(codec.order_object(new)))
        if dry_run:
            return answer
        try:
            await self._io.storage.delete(key, expected=kv.mod_revision)
        except KeyNotFound:
            return answer
        except RevisionConflict:
            return None
        except StorageError as error:
            raise translate(error, self.spec, name_of(new)) from None
        return answer

    async def guaranteed_update(self, namespace: str, name: str, transform: Transform, ctx: RequestContext, *,
                                subresource: str = "", validate: AdmissionHook | None = None) -> StoredObject:
        """PATCH: apply `transform` to a copy of the current object and write it, retrying on conflicts.

        `transform` gets the current object (served version, with its resourceVersion) and returns the new one;
        it runs again after a conflict. A returned object carrying a resourceVersion other than the current one is
        a Conflict (the patch itself asked for that version).
        """
        key = self._io.key(namespace, name)
        guess = self._cached_guess(key, ctx)
        while True:
            current = guess is None
            kv, guess = (guess if guess is not None else await self._io.read(key, name)), None
            if kv is None:
                raise not_found(self.spec, name)
            try:
                outcome = transform((await self._io.decode(kv)).copy())
                new = await outcome if inspect.isawaitable(outcome) else outcome
                new = metadata.stamp_kind(new, self.spec)
                metadata.match_request_namespace(new, namespace, self.spec.namespaced)
                if resource_version_of(new) and resource_version_of(new) != str(kv.mod_revision):
                    raise optimistic_lock_conflict(self.spec, name)
                metadata.metadata(new)["resourceVersion"] = str(kv.mod_revision)
                result = await self._try_update(key, kv, new, ctx, subresource, validate, current=current)
            except ApiError:
                if current:
                    raise
                continue  # perhaps only the cache's copy was stale: again from storage's current state
            if result is not None:
                return result

    async def update_in_storage(self, namespace: str, name: str, change: Callable[[JSONDict, int], None], *,
                                dry_run: bool) -> StoredObject:
        """Storage.GuaranteedUpdate past the strategy, admission and metadata rules (upstream's BindingREST):
        `change(obj, revision)` edits a copy of the stored object in place, or raises to stop; it runs again after
        a conflict. Raises NotFound when the object is missing."""
        key = self._io.key(namespace, name)
        while True:
            kv = await self._io.read(key, name)
            if kv is None:
                raise not_found(self.spec, name)
            obj = (await self._io.decode(kv)).copy()
            change(obj, kv.mod_revision)
            stored = await self._io.write(key, kv, obj, name, dry_run=dry_run)
            if stored is not None:
                return stored

    # --- delete ------------------------------------------------------------------------------------------------

    def finalize_delete(self, stored: StoredObject) -> StoredObject:
        """What a delete answers for `stored`: the object for types that return it, else a Success Status."""
        return self._deleter.finalize(stored)

    async def delete(self, namespace: str, name: str, options: DeleteOptions, ctx: RequestContext, *,
                     validate: AdmissionHook | None = None) -> tuple[StoredObject, bool]:
        """DELETE: returns (answer, deleted now); the rules are in deletion.py.

        The answer is the object (types that return deleted objects, and every object kept by finalizers or a
        grace period) or a Success Status (`is_status`). The endpoint answers 202 instead of 200 when the object
        was not deleted now and the options set orphanDependents=false, as upstream. `validate` is called as
        `validate(object about to be deleted or marked, None)`.
        """
        return await self._deleter.delete(namespace, name, options, ctx, validate)

    async def delete_collection(self, namespace: str, list_options: ListOptions, delete_options: DeleteOptions,
                                ctx: RequestContext) -> ListResult:
        """Delete every listed object (missing ones are fine); returns the list as it was before the deletes."""
        listed = await self.list(namespace, list_options)
        slots = asyncio.Semaphore(DELETE_COLLECTION_WORKERS)

        async def delete_one(item: StoredObject) -> None:
            async with slots:
                try:
                    await self.delete(namespace_of(item.obj), name_of(item.obj), delete_options, ctx)
                except NotFound:
                    return

        results = await asyncio.gather(*(delete_one(item) for item in listed.items), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return listed


class _GeneratedNameTaken(ApiError):
    """A generated name collided: the caller tries another one, and reports `error` after the last attempt."""

    def __init__(self, error: ApiError) -> None:
        super().__init__(error.message, details=error.details)
        self.error = error


def _generate_name_conflict(spec: ResourceSpec, name: str) -> ApiError:
    """NewGenerateNameConflict: AlreadyExists, with a hint to retry after a second."""
    error = already_exists(spec, name)
    message = f"{error.message}, the server was not able to generate a unique name for the object"
    details = error.details
    assert details is not None
    return type(error).from_message(message, details=replace(details, retry_after_seconds=1))
