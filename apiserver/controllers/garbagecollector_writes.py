"""The garbage collector's reads and writes through the API, each guarded so it never touches a newer object.

Deletes carry `preconditions.uid` (a recreated object of the same name is never deleted by mistake) and a
propagation policy; metadata changes are JSON merge patches carrying the `resourceVersion` just read, retried on
conflict a few times as upstream's retry.RetryOnConflict does, and abandoned when the object is gone or was
replaced (another uid).
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from apiserver.client.client import MERGE_PATCH, ApiClient, Resource
from apiserver.controllers.garbagecollector_graph import Identity, finalizers, owner_references
from apiserver.meta.errors import Conflict, NotFound
from apiserver.meta.objects import uid_of

logger = logging.getLogger(__name__)

JSONDict = dict[str, Any]
CONFLICT_RETRIES = 5
MetadataChange = Callable[[JSONDict], JSONDict | None]


class Writer:
    """Every call tolerates the object being gone; `patch_metadata` raises Conflict after CONFLICT_RETRIES."""

    def __init__(self, client: ApiClient, actor: str) -> None:
        self._client = client
        self._actor = actor

    async def get(self, resource: Resource, identity: Identity) -> JSONDict | None:
        """The object at identity's coordinates (whatever its uid), or None when there is none."""
        if resource.namespaced and not identity.namespace:
            return None
        try:
            return await self._client.get(resource, identity.name, namespace=_namespace(resource, identity))
        except NotFound:
            return None

    async def delete(self, resource: Resource, identity: Identity, policy: str) -> None:
        options = {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": policy,
                   "preconditions": {"uid": identity.uid}}
        try:
            await self._client.delete(resource, identity.name, namespace=_namespace(resource, identity),
                                      options=options)
        except NotFound:
            return
        except Conflict:
            # The uid precondition failed: the name now belongs to another object, which is not ours to delete.
            return
        logger.info("gc_deleted", extra={"controller": self._actor, "object": _describe(identity),
                                         "propagation": policy})

    async def patch_metadata(self, resource: Resource, identity: Identity, change: MetadataChange) -> None:
        """Apply `change(latest)` (a metadata merge patch, or None for nothing to do) to identity's object."""
        for _ in range(CONFLICT_RETRIES):
            latest = await self.get(resource, identity)
            if latest is None or uid_of(latest) != identity.uid:
                return
            metadata = change(latest)
            if metadata is None:
                return
            version = str((latest.get("metadata") or {}).get("resourceVersion") or "")
            patch = {"metadata": {**metadata, "resourceVersion": version}}
            try:
                await self._client.patch(resource, identity.name, patch, namespace=_namespace(resource, identity),
                                         content_type=MERGE_PATCH)
                return
            except NotFound:
                return
            except Conflict:
                continue
        raise Conflict(resource.plural, identity.name, "the object kept changing while being patched")

    async def remove_owner_references(self, resource: Resource, identity: Identity, uids: set[str]) -> None:
        def without(latest: JSONDict) -> JSONDict | None:
            refs = owner_references(latest)
            kept = [ref for ref in refs if str(ref.get("uid")) not in uids]
            return None if len(kept) == len(refs) else {"ownerReferences": kept or None}

        await self.patch_metadata(resource, identity, without)

    async def unblock_owner_references(self, resource: Resource, identity: Identity) -> None:
        def unblocked(latest: JSONDict) -> JSONDict | None:
            refs = owner_references(latest)
            if not any(ref.get("blockOwnerDeletion") is True for ref in refs):
                return None
            return {"ownerReferences": [{**ref, "blockOwnerDeletion": False} if "blockOwnerDeletion" in ref else ref
                                        for ref in refs]}

        await self.patch_metadata(resource, identity, unblocked)

    async def remove_finalizer(self, resource: Resource, identity: Identity, finalizer: str) -> None:
        def without(latest: JSONDict) -> JSONDict | None:
            current = finalizers(latest)
            if finalizer not in current:
                return None
            kept = [item for item in current if item != finalizer]
            return {"finalizers": kept or None}

        await self.patch_metadata(resource, identity, without)
        logger.info("gc_finalizer_removed", extra={"controller": self._actor, "object": _describe(identity),
                                                   "finalizer": finalizer})


def _namespace(resource: Resource, identity: Identity) -> str:
    return identity.namespace if resource.namespaced else ""


def _describe(identity: Identity) -> str:
    prefix = f"{identity.namespace}/" if identity.namespace else ""
    return f"{identity.kind}.{identity.api_version} {prefix}{identity.name} ({identity.uid})"
