"""Storage errors as API errors: the one place the registry turns a StorageError into a Status.

Reproduces k8s.io/apiserver/pkg/storage/errors (InterpretGetError, InterpretCreateError, ...) and the cacher's
answers: 404/409 for missing, existing and stale keys, 410 for compacted history, 504 for a resourceVersion the
store has not reached, 429 while a cache (re)initialises, 503 when the storage cannot be reached.
"""
from __future__ import annotations

from typing import Final

from apiserver.meta.errors import (
    AlreadyExists,
    ApiError,
    Conflict,
    Expired,
    InternalError,
    NotFound,
    ServiceUnavailable,
    TooManyRequests,
)
from apiserver.meta.resourceversion import LIST_EXPIRED_MESSAGE, too_large_resource_version, too_old_resource_version
from apiserver.registry.spec import ResourceSpec
from apiserver.storage.errors import (
    Compacted,
    FutureRevision,
    KeyExists,
    KeyNotFound,
    RevisionConflict,
    StorageError,
    StorageUnavailable,
)
from apiserver.storage.watchcache import CacheNotReady, CacheTimeout, TooOld

OPTIMISTIC_LOCK_MESSAGE: Final = (
    "the object has been modified; please apply your changes to the latest version and try again"
)
RESOURCE_VERSION_ON_CREATE: Final = "resourceVersion should not be set on objects to be created"


def not_found(spec: ResourceSpec, name: str) -> NotFound:
    return NotFound(spec.plural, name, group=spec.group)


def already_exists(spec: ResourceSpec, name: str) -> AlreadyExists:
    return AlreadyExists(spec.plural, name, group=spec.group)


def optimistic_lock_conflict(spec: ResourceSpec, name: str) -> Conflict:
    return Conflict(spec.plural, name, OPTIMISTIC_LOCK_MESSAGE, group=spec.group)


def translate(error: StorageError, spec: ResourceSpec, name: str = "") -> ApiError:
    """The API error for a storage error met while serving `spec` (object `name`, when there is one)."""
    if isinstance(error, KeyNotFound):
        return not_found(spec, name)
    if isinstance(error, KeyExists):
        return already_exists(spec, name)
    if isinstance(error, RevisionConflict):
        return optimistic_lock_conflict(spec, name)
    if isinstance(error, TooOld):
        return too_old_resource_version(error.requested, error.oldest)
    if isinstance(error, Compacted):
        return Expired(LIST_EXPIRED_MESSAGE)
    if isinstance(error, CacheTimeout):
        return too_large_resource_version(error.requested, error.current)
    if isinstance(error, FutureRevision):
        return too_large_resource_version(error.requested, error.current, retry_after_seconds=0)
    if isinstance(error, CacheNotReady):
        return TooManyRequests("storage is (re)initializing", retry_after_seconds=1)
    if isinstance(error, StorageUnavailable):
        return ServiceUnavailable(f"storage is unavailable: {error}")
    return InternalError(str(error))
