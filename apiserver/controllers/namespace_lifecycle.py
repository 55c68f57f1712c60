"""The namespace controller: empties a namespace marked for deletion, then removes its `kubernetes` finalizer.

The shape of kube-controller-manager's namespace controller (pkg/controller/namespace): a namespace with a
deletionTimestamp becomes a key; `reconcile` discovers every namespaced resource the server serves (the public
discovery documents), deletes each one's collection in the namespace, reports progress in the namespace's
`NamespaceDeletion*` / `Namespace*Remaining` conditions, and retries with backoff while content remains. Once
nothing is left it PUTs `finalize` without the `kubernetes` finalizer. Runs as
`system:serviceaccount:kube-system:namespace-controller`.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from apiserver.client.client import ApiClient, Resource, error_from_status
from apiserver.client.informer import Informer
from apiserver.meta.errors import ApiError, Conflict, NotFound
from apiserver.meta.objects import format_time, utc_now

logger = logging.getLogger(__name__)

JSONDict = dict[str, Any]
NAMESPACES = Resource("", "v1", "namespaces", namespaced=False)
FINALIZER_KUBERNETES = "kubernetes"
BACKGROUND = {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background"}


class ContentRemaining(Exception):
    """The namespace still holds objects (or some could not be deleted): the key is retried with backoff."""


@dataclass(slots=True)
class Cleanup:
    """What one pass over a namespace's content found: failures and what is left, by resource."""

    discovery_failures: list[str] = field(default_factory=list)
    deletion_failures: list[str] = field(default_factory=list)
    remaining: dict[str, int] = field(default_factory=dict)
    finalizers: dict[str, int] = field(default_factory=dict)

    @property
    def is_done(self) -> bool:
        return not (self.discovery_failures or self.deletion_failures or self.remaining)


@dataclass(frozen=True, slots=True)
class ServedResource:
    """A namespaced resource from discovery, with the verbs it serves."""

    resource: Resource
    verbs: frozenset[str]

    @property
    def label(self) -> str:
        group = self.resource.group
        return f"{self.resource.plural}.{group}" if group else f"{self.resource.plural}."


class NamespaceLifecycleController:
    """Empties and finalizes every namespace with a deletionTimestamp; raises ContentRemaining to retry."""

    name = "namespace-controller"
    workers = 2
    watches = (NAMESPACES,)

    def __init__(self) -> None:
        self._client: ApiClient | None = None

    def keys_for(self, resource: Resource, event_type: str, obj: JSONDict) -> list[str]:
        meta = obj.get("metadata") or {}
        if event_type == "DELETED" or not meta.get("deletionTimestamp"):
            return []
        return [str(meta.get("name") or "")]

    async def start(self, client: ApiClient, informers: dict[Resource, Informer]) -> None:
        self._client = client

    async def reconcile(self, key: str) -> None:
        assert self._client is not None
        try:
            namespace = await self._client.get(NAMESPACES, key)
        except NotFound:
            return
        if not (namespace.get("metadata") or {}).get("deletionTimestamp"):
            return
        if FINALIZER_KUBERNETES not in _spec_finalizers(namespace):
            await self._delete_finalized(namespace)
            return
        cleanup = await self._delete_content(key)
        namespace = await self._report(namespace, cleanup)
        if not cleanup.is_done:
            raise ContentRemaining(f"namespace {key}: {_remaining_message(cleanup)}")
        await self._finalize(namespace)

    async def _delete_content(self, namespace: str) -> Cleanup:
        cleanup = Cleanup()
        for served in await self._discover(cleanup):
            try:
                await self._delete_collection(served, namespace, cleanup)
            except NotFound:
                continue
            except ApiError as error:
                cleanup.deletion_failures.append(f"{served.label}: {error.message}")
        return cleanup

    async def _delete_collection(self, served: ServedResource, namespace: str, cleanup: Cleanup) -> None:
        """Delete everything of one resource in `namespace`, then count what is left (and its finalizers)."""
        assert self._client is not None
        resource = served.resource
        if "deletecollection" in served.verbs:
            await self._client.delete(resource, "", namespace=namespace, options=BACKGROUND)
        else:
            for item in (await self._client.list(resource, namespace=namespace)).get("items") or []:
                name = str((item.get("metadata") or {}).get("name") or "")
                try:
                    await self._client.delete(resource, name, namespace=namespace, options=BACKGROUND)
                except NotFound:
                    continue
        items = (await self._client.list(resource, namespace=namespace)).get("items") or []
        if items:
            cleanup.remaining[served.label] = len(items)
        for item in items:
            for finalizer in (item.get("metadata") or {}).get("finalizers") or []:
                cleanup.finalizers[str(finalizer)] = cleanup.finalizers.get(str(finalizer), 0) + 1

    async def _discover(self, cleanup: Cleanup) -> list[ServedResource]:
        """Every namespaced resource that can be listed and deleted, at each group's preferred version."""
        served: list[ServedResource] = []
        group_versions = [("", "v1")]
        try:
            groups = await self._get_path("/apis/")
        except ApiError as error:
            cleanup.discovery_failures.append(f"apis: {error.message}")
            groups = {}
        for group in groups.get("groups") or []:
            preferred = (group.get("preferredVersion") or {}).get("version") or ""
            if preferred:
                group_versions.append((str(group.get("name") or ""), str(preferred)))
        for group, version in group_versions:
            path = f"/apis/{group}/{version}/" if group else f"/api/{version}/"
            try:
                resources = await self._get_path(path)
            except ApiError as error:
                cleanup.discovery_failures.append(f"{group or 'core'}/{version}: {error.message}")
                continue
            served += _namespaced(group, version, resources.get("resources") or [])
        return served

    async def _get_path(self, path: str) -> JSONDict:
        """GET a discovery document; ApiClient addresses resources only, so this goes through its transport."""
        assert self._client is not None
        transport = self._client._transport
        response = await transport.request("GET", path, headers=[("accept", "application/json")])
        if response.status >= 400:
            raise error_from_status(response.status, response.body)
        answer: JSONDict = orjson.loads(response.body) if response.body else {}
        return answer

    async def _report(self, namespace: JSONDict, cleanup: Cleanup) -> JSONDict:
        """Write the deletion conditions when they changed; answers the namespace as it now is."""
        assert self._client is not None
        status = namespace.get("status") or {}
        old = {str(condition.get("type")): condition for condition in status.get("conditions") or []}
        conditions = [_keep_transition(condition, old.get(condition["type"])) for condition in _conditions(cleanup)]
        if all(_same_condition(condition, old.get(condition["type"])) for condition in conditions):
            return namespace
        others = [condition for kind, condition in old.items() if kind not in CONDITION_TYPES]
        body = {**namespace, "status": {**status, "conditions": others + conditions}}
        try:
            return await self._client.update(NAMESPACES, body, subresource="status")
        except Conflict:
            return await self._client.get(NAMESPACES, str(namespace["metadata"]["name"]))

    async def _finalize(self, namespace: JSONDict) -> None:
        assert self._client is not None
        name = str(namespace["metadata"]["name"])
        remaining = [finalizer for finalizer in _spec_finalizers(namespace) if finalizer != FINALIZER_KUBERNETES]
        body = {**namespace, "spec": {**(namespace.get("spec") or {}), "finalizers": remaining}}
        try:
            finalized = await self._client.update(NAMESPACES, body, subresource="finalize")
        except NotFound:
            return
        logger.info("namespace_finalized", extra={"controller": self.name, "namespace": name})
        await self._delete_finalized(finalized)

    async def _delete_finalized(self, namespace: JSONDict) -> None:
        """Remove a finalized namespace the finalize update left in place (no spec or metadata finalizers left).

        Upstream's store removes it in the finalize update itself; where ours keeps it, the delete the user
        asked for is completed here, so the outcome is the same.
        """
        assert self._client is not None
        if _spec_finalizers(namespace) or (namespace.get("metadata") or {}).get("finalizers"):
            return
        try:
            await self._client.delete(NAMESPACES, str(namespace["metadata"]["name"]))
        except NotFound:
            return


CONDITION_TYPES = (
    "NamespaceDeletionDiscoveryFailure",
    "NamespaceDeletionGroupVersionParsingFailure",
    "NamespaceDeletionContentFailure",
    "NamespaceContentRemaining",
    "NamespaceFinalizersRemaining",
)


def _conditions(cleanup: Cleanup) -> list[JSONDict]:
    """The five deletion conditions upstream's namespace controller reports, with its reasons and messages."""
    discovery = cleanup.discovery_failures
    failures = cleanup.deletion_failures
    finalizers = cleanup.finalizers
    return [
        _condition("NamespaceDeletionDiscoveryFailure", bool(discovery), "DiscoveryFailed", "ResourcesDiscovered",
                   f"Discovery failed for some groups, {len(discovery)} failing: {', '.join(discovery)}",
                   "All resources successfully discovered"),
        _condition("NamespaceDeletionGroupVersionParsingFailure", False, "FailedParsingGroupVersion",
                   "ParsedGroupVersions", "", "All legacy kube types successfully parsed"),
        _condition("NamespaceDeletionContentFailure", bool(failures), "ContentDeletionFailed", "ContentDeleted",
                   f"Failed to delete all resource types, {len(failures)} remaining: {', '.join(failures)}",
                   "All content successfully deleted, may be waiting on finalization"),
        _condition("NamespaceContentRemaining", bool(cleanup.remaining), "SomeResourcesRemain", "ContentRemoved",
                   _remaining_message(cleanup), "All content successfully removed"),
        _condition("NamespaceFinalizersRemaining", bool(finalizers), "SomeFinalizersRemain",
                   "ContentHasNoFinalizers",
                   "Some content in the namespace has finalizers remaining: "
                   + ", ".join(f"{name} in {count} resource instances" for name, count in sorted(finalizers.items())),
                   "All content-preserving finalizers finished"),
    ]


def _condition(kind: str, is_true: bool, true_reason: str, false_reason: str, true_message: str,
               false_message: str) -> JSONDict:
    return {"type": kind, "status": "True" if is_true else "False",
            "reason": true_reason if is_true else false_reason,
            "message": true_message if is_true else false_message}


def _remaining_message(cleanup: Cleanup) -> str:
    remaining = ", ".join(f"{label} has {count} resource instances"
                          for label, count in sorted(cleanup.remaining.items()))
    return f"Some resources are remaining: {remaining}" if remaining else "; ".join(
        cleanup.discovery_failures + cleanup.deletion_failures)


def _keep_transition(condition: JSONDict, old: JSONDict | None) -> JSONDict:
    """lastTransitionTime moves only when the status changes."""
    changed = old is None or old.get("status") != condition["status"]
    since = format_time(utc_now()) if changed or old is None else old.get("lastTransitionTime")
    return {**condition, "lastTransitionTime": since}


def _same_condition(condition: JSONDict, old: JSONDict | None) -> bool:
    return old is not None and all(old.get(key) == condition[key] for key in ("status", "reason", "message"))


def _namespaced(group: str, version: str, resources: Sequence[JSONDict]) -> list[ServedResource]:
    served = []
    for entry in resources:
        name = str(entry.get("name") or "")
        verbs = frozenset(str(verb) for verb in entry.get("verbs") or [])
        if "/" in name or not entry.get("namespaced") or "list" not in verbs:
            continue
        if "deletecollection" in verbs or "delete" in verbs:
            served.append(ServedResource(Resource(group, version, name), verbs))
    return served


def _spec_finalizers(namespace: JSONDict) -> list[str]:
    return [str(finalizer) for finalizer in (namespace.get("spec") or {}).get("finalizers") or []]
