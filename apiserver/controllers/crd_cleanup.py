"""The CRD cleanup controller: deletes every custom resource of a deleted CRD, then lets the CRD go.

The shape of apiextensions-apiserver's CRDFinalizer (pkg/controller/finalizer/crd_finalizer.go): a CRD marked
for deletion that still carries the `customresourcecleanup.apiextensions.k8s.io` finalizer becomes a key.
`reconcile` sets `Terminating` True (InstanceDeletionInProgress, `CustomResource deletion is in progress`); for
an established CRD it deletes the custom resources of every namespace (a delete collection per namespace, through
the API so admission and finalizers apply) and looks again until none is left, then sets `Terminating` False
(InstanceDeletionCompleted, `removed all instances`; `NeverEstablished` for a CRD that was never served) and removes
the finalizer, upon which the CRD is deleted and the server stops serving its resource. A failed delete is reported
as InstanceDeletionFailed and retried with backoff. Runs as the loopback identity.
"""
from __future__ import annotations

import copy
from typing import Any, Final

from apiserver.client.client import Resource
from apiserver.controllers.base import RequeueAfter
from apiserver.controllers.crd_controller import CRDS, CRDController
from apiserver.meta.errors import ApiError, Conflict, NotFound
from apiserver.resources.apiextensions.crd_conditions import (
    CLEANUP_FINALIZER,
    ESTABLISHED,
    TERMINATING,
    condition,
    find_condition,
    is_condition_true,
    is_equivalent,
    set_condition,
)
from apiserver.resources.apiextensions.crd_specs import crd_names, storage_version_of

JSONDict = dict[str, Any]
# Upstream polls every 5 s for a minute; deleted objects usually vanish at once here (finalizers aside).
RECHECK_SECONDS: Final = 0.5
BACKGROUND: Final = {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background"}


def needs_cleanup(crd: JSONDict) -> bool:
    meta = crd.get("metadata") or {}
    return bool(meta.get("deletionTimestamp")) and CLEANUP_FINALIZER in (meta.get("finalizers") or ())


def instances_of(crd: JSONDict) -> Resource:
    """The custom resource of a CRD as the client addresses it (in its storage version)."""
    spec = crd.get("spec") or {}
    served = [version.get("name") for version in spec.get("versions") or () if version.get("served")]
    version = storage_version_of(crd) if storage_version_of(crd) in served else (served or [""])[0]
    return Resource(str(spec.get("group") or ""), str(version), str(crd_names(crd).get("plural") or ""),
                    namespaced=spec.get("scope") == "Namespaced")


class CRDCleanupController(CRDController):
    name = "crd-finalizer"
    workers = 5

    def wants(self, crd: JSONDict) -> bool:
        return needs_cleanup(crd)

    async def reconcile(self, key: str) -> None:
        assert self._client is not None and self._crds is not None
        cached = self._crds.get(key)
        if cached is None or not needs_cleanup(cached):
            return
        in_progress = condition(TERMINATING, "True", "InstanceDeletionInProgress",
                                "CustomResource deletion is in progress")
        crd = await self._write_condition(cached, in_progress)
        if crd is None:
            return
        if is_condition_true(crd, ESTABLISHED):
            remaining = await self._delete_instances(crd)
            if remaining:
                raise RequeueAfter(RECHECK_SECONDS)
            done = condition(TERMINATING, "False", "InstanceDeletionCompleted", "removed all instances")
        else:
            done = condition(TERMINATING, "False", "NeverEstablished", "resource was never established")
        crd = await self._write_condition(crd, done)
        if crd is not None:
            await self._remove_finalizer(crd)

    async def _write_condition(self, crd: JSONDict, wanted: JSONDict) -> JSONDict | None:
        """The CRD with `wanted` set (written when it changes it); None when it is gone or changed meanwhile."""
        if is_equivalent(wanted, find_condition(crd, TERMINATING)):
            return crd
        updated = copy.deepcopy(crd)
        set_condition(updated, wanted, self._clock())
        return await self.write_status(updated)

    async def _delete_instances(self, crd: JSONDict) -> int:
        """Delete every instance (one delete collection per namespace); returns how many are still listed."""
        assert self._client is not None
        resource = instances_of(crd)
        try:
            listed = await self._client.list(resource)
            namespaces = sorted({str((item.get("metadata") or {}).get("namespace") or "")
                                 for item in listed.get("items") or ()})
            for namespace in namespaces:
                await self._client.delete(resource, "", namespace=namespace, options=BACKGROUND)
            remaining = await self._client.list(resource)
        except NotFound:
            return 0
        except ApiError as error:
            await self._write_condition(crd, condition(TERMINATING, "True", "InstanceDeletionFailed",
                                                       f"could not issue all deletes: {error.message}"))
            raise
        return len(remaining.get("items") or ())

    async def _remove_finalizer(self, crd: JSONDict) -> None:
        assert self._client is not None
        meta = crd.get("metadata") or {}
        kept = [name for name in meta.get("finalizers") or () if name != CLEANUP_FINALIZER]
        patch = {"metadata": {"finalizers": kept or None, "resourceVersion": meta.get("resourceVersion")}}
        try:
            await self._client.patch(CRDS, str(meta.get("name")), patch)
        except (NotFound, Conflict):
            return
