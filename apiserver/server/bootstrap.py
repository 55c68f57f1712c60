"""Objects every cluster starts with, created once the registry runs; each step is idempotent.

Today: the system namespaces kube-apiserver creates at start (`default`, `kube-system`, `kube-public`,
`kube-node-lease`; upstream's start-system-namespaces-controller keeps re-creating them, this hook creates
them once per start, so it carries its own name). System RBAC, priority classes and the `kubernetes` Service
join later, as their own hooks.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from apiserver.meta.errors import AlreadyExists
from apiserver.registry.context import RequestContext
from apiserver.registry.store import ResourceStore
from apiserver.registry.virtual import VirtualStore
from apiserver.storage.interface import Storage

logger = logging.getLogger(__name__)

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


class StoreLookup(Protocol):
    def store_for(self, group: str, version: str, plural: str) -> ResourceStore | VirtualStore | None:
        """The store serving the resource, or None."""
        ...


class SystemNamespacesHook:
    """Post-start hook: create each system namespace unless it exists."""

    name = "bootstrap-system-namespaces"

    def __init__(self, registry: Callable[[], StoreLookup], namespaces: tuple[str, ...] = SYSTEM_NAMESPACES) -> None:
        self._registry = registry
        self._namespaces = namespaces

    async def start(self, storage: Storage) -> None:
        store = self._registry().store_for("", "v1", "namespaces")
        if not isinstance(store, ResourceStore):
            raise RuntimeError("namespaces are not served: cannot create the system namespaces")
        for name in self._namespaces:
            await ensure_namespace(store, name)

    async def stop(self) -> None:
        return None


async def ensure_namespace(store: ResourceStore, name: str) -> bool:
    """Create namespace `name` if it is missing; True when this call created it."""
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    try:
        await store.create("", namespace, RequestContext(namespace=""))
    except AlreadyExists:
        return False
    logger.info("created system namespace", extra={"namespace": name})
    return True
