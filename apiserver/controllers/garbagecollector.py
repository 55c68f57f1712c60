"""The garbage collector: deletes objects whose owners are all gone, and carries out foreground and orphan deletes.

The shape of kube-controller-manager's generic garbage collector (pkg/controller/garbagecollector): monitors
(garbagecollector_monitors.py) feed informer events into the owner graph (garbagecollector_graph.py), which
answers work keys; workers then, per key,

- `delete:<uid>` (attemptToDeleteItem): reads the object live; reads each owner live (a namespaced owner in the
  dependent's own namespace, as owner references carry no namespace). With some owner present, dangling
  references (and references to owners deleting in the foreground) are patched out; with none, the object is
  deleted (background, unless its own finalizers say orphan or foreground; foreground when an owner waits for it
  and it has dependents of its own). An owner deleting in the foreground gets its `foregroundDeletion` finalizer
  removed once no dependent with `blockOwnerDeletion` remains.
- `orphan:<uid>` (attemptToOrphan): removes the owner's reference from every dependent, then its `orphan`
  finalizer.

Nothing is deleted while an owner exists; every write is guarded (garbagecollector_writes.py). Runs as
`system:serviceaccount:kube-system:generic-garbage-collector`; its monitors, queue and workers run in `run()`,
which the controller runner owns, because the set of monitors follows the catalog as it changes.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from apiserver.client.client import ApiClient, Resource
from apiserver.client.informer import Informer
from apiserver.controllers.base import WorkQueue
from apiserver.controllers.garbagecollector_graph import (
    Identity,
    Node,
    OwnerGraph,
    delete_key,
    finalizers,
    owner_references,
)
from apiserver.controllers.garbagecollector_monitors import CatalogSource, Monitored, Monitors, resource_of
from apiserver.controllers.garbagecollector_writes import Writer
from apiserver.controllers.informers import ControllerInformers
from apiserver.meta.objects import uid_of
from apiserver.meta.validation import FINALIZER_DELETE_DEPENDENTS, FINALIZER_ORPHAN
from apiserver.registry.context import BACKGROUND, FOREGROUND, ORPHAN

logger = logging.getLogger(__name__)

JSONDict = dict[str, Any]
WORKERS = 4


class NotServed(Exception):
    """An owner reference names an apiVersion/kind the server does not serve (yet): retried with backoff, as a
    custom resource may be registered later (upstream's restMappingError)."""


class NotObservedYet(Exception):
    """A virtual node whose object exists but has not been seen by a monitor: looked at again with backoff."""


class NamespacedOwnerOfClusterScopedObject(Exception):
    """A cluster-scoped object names a namespaced owner: invalid, and retrying would not change that."""


class GarbageCollector:
    name = "generic-garbage-collector"
    workers = 0  # its own workers run in run(), behind the monitors
    watches: Sequence[Resource] = ()

    def __init__(self, catalog: CatalogSource, *, workers: int = WORKERS) -> None:
        self._catalog = catalog
        self._worker_count = workers
        self.graph = OwnerGraph()
        self.queue = WorkQueue()
        self._writer: Writer | None = None
        self._monitors: Monitors | None = None

    def keys_for(self, resource: Resource, event_type: str, obj: JSONDict) -> list[str]:
        return []

    async def start(self, client: ApiClient, informers: dict[Resource, Informer]) -> None:
        self._writer = Writer(client, self.name)
        shared = informers.factory if isinstance(informers, ControllerInformers) else None
        self._monitors = Monitors(client, self._catalog, self._observe, informers=shared)

    async def run(self) -> None:
        """Monitors, then (once they have listed) the workers; until cancelled."""
        assert self._monitors is not None
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self._monitors.run(), name="gc-monitors")
                await self._monitors.wait_synced()
                logger.info("gc_synced", extra={"controller": self.name, "objects": len(self.graph)})
                for index in range(self._worker_count):
                    group.create_task(self._work(), name=f"gc-worker-{index}")
        finally:
            self.queue.shut_down()

    def _observe(self, monitored: Monitored, event_type: str, obj: JSONDict) -> None:
        for key in self.graph.observe(event_type, obj, monitored.api_version, monitored.kind, monitored.key):
            self.queue.add(key)

    async def _work(self) -> None:
        while True:
            key = await self.queue.get()
            try:
                await self.reconcile(key)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                delay = self.queue.retry(key)
                logger.warning("controller_sync_failed", extra={
                    "controller": self.name, "key": key, "error": f"{type(error).__name__}: {error}",
                    "retry_in": delay})
            else:
                self.queue.forget(key)
            finally:
                self.queue.done(key)

    async def reconcile(self, key: str) -> None:
        action, _, uid = key.partition(":")
        node = self.graph.get(uid)
        if node is None:
            return
        if action == "orphan":
            await self._orphan_dependents(node)
            return
        try:
            await self._attempt_to_delete(node)
        except NamespacedOwnerOfClusterScopedObject:
            logger.info("gc_invalid_owner_reference", extra={
                "controller": self.name, "object": node.identity.name,
                "reason": "cluster-scoped object refers to a namespaced owner"})
            return
        if not node.observed and self.graph.get(uid) is node:
            raise NotObservedYet(f"{node.identity.kind} {node.identity.name} exists but is not observed yet")

    def _resource(self, identity: Identity) -> Resource:
        assert self._monitors is not None
        spec = self._monitors.spec_for(identity.api_version, identity.kind)
        if spec is None:
            raise NotServed(f"unable to map {identity.api_version}, Kind={identity.kind} to a served resource")
        return resource_of(spec)

    async def _attempt_to_delete(self, node: Node) -> None:
        assert self._writer is not None
        if node.being_deleted and not node.deleting_dependents:
            return  # a one-way trip: its dependents are looked at once it is gone
        resource = self._resource(node.identity)
        if resource.namespaced and not node.identity.namespace:
            # Only a cluster-scoped object names a namespaced owner without a namespace (upstream's getObject).
            raise NamespacedOwnerOfClusterScopedObject(node.identity.name)
        latest = await self._writer.get(resource, node.identity)
        if latest is None or uid_of(latest) != node.identity.uid:
            for key in self.graph.virtual_delete(node.identity):
                self.queue.add(key)
            return
        if node.deleting_dependents:
            await self._finish_foreground(node, resource)
            return
        refs = owner_references(latest)
        if refs:
            await self._collect(node, resource, latest, refs)

    async def _collect(self, node: Node, resource: Resource, latest: JSONDict, refs: list[JSONDict]) -> None:
        """Decide on an object with owner references from what each owner is now (upstream's classifyReferences)."""
        assert self._writer is not None
        solid, dangling, waiting = [], [], []
        for ref in refs:
            owner = await self._live_owner(ref, node.identity)
            if owner is None:
                dangling.append(ref)
            elif FINALIZER_DELETE_DEPENDENTS in finalizers(owner) and (owner.get("metadata") or {}).get(
                    "deletionTimestamp"):
                waiting.append(ref)
            else:
                solid.append(ref)
        if solid:
            if dangling or waiting:
                await self._writer.remove_owner_references(
                    resource, node.identity, {str(ref["uid"]) for ref in dangling + waiting})
            return
        if waiting and node.dependents:
            if any(dependent.deleting_dependents for dependent in self.graph.dependents(node)):
                # A dependent of this object waits on it too: unblock its own references first, so a cycle of
                # foreground deletes cannot wait on itself.
                await self._writer.unblock_owner_references(resource, node.identity)
            await self._writer.delete(resource, node.identity, FOREGROUND)
            return
        own = finalizers(latest)
        policy = ORPHAN if FINALIZER_ORPHAN in own else FOREGROUND if FINALIZER_DELETE_DEPENDENTS in own else BACKGROUND
        await self._writer.delete(resource, node.identity, policy)

    async def _live_owner(self, ref: JSONDict, dependent: Identity) -> JSONDict | None:
        """The owner a reference points to, read live; None when it is absent (not found, or another uid there)."""
        assert self._writer is not None
        uid = str(ref["uid"])
        absent = self.graph.absent
        if absent.has(uid, "") or absent.has(uid, dependent.namespace):
            return None
        owner_identity = Identity(str(ref.get("apiVersion") or ""), str(ref.get("kind") or ""),
                                  str(ref.get("name") or ""), uid, dependent.namespace)
        resource = self._resource(owner_identity)
        if resource.namespaced and not dependent.namespace:
            raise NamespacedOwnerOfClusterScopedObject(owner_identity.name)
        namespace = dependent.namespace if resource.namespaced else ""
        owner = await self._writer.get(resource, owner_identity)
        if owner is None or uid_of(owner) != uid:
            absent.add(uid, namespace)
            return None
        return owner

    async def _finish_foreground(self, node: Node, resource: Resource) -> None:
        """An owner deleting in the foreground: done once nothing blocks it, else push its blocking dependents."""
        assert self._writer is not None
        blocking = self.graph.blocking_dependents(node)
        if not blocking:
            await self._writer.remove_finalizer(resource, node.identity, FINALIZER_DELETE_DEPENDENTS)
            return
        for dependent in blocking:
            if not dependent.deleting_dependents:
                self.queue.add(delete_key(dependent.identity.uid))

    async def _orphan_dependents(self, node: Node) -> None:
        """Take the owner's reference out of every dependent, then drop its `orphan` finalizer."""
        assert self._writer is not None
        for dependent in self.graph.dependents(node):
            await self._writer.remove_owner_references(
                self._resource(dependent.identity), dependent.identity, {node.identity.uid})
        await self._writer.remove_finalizer(self._resource(node.identity), node.identity, FINALIZER_ORPHAN)
