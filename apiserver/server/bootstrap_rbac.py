"""The bootstrap RBAC policy reconciled at start-up, and ClusterRole aggregation kept up while the server runs.

`RBACBootstrapHook` is upstream's `rbac/bootstrap-roles` post-start hook (pkg/registry/rbac/rest/storage_rbac.go):
every default ClusterRole, ClusterRoleBinding, Role and RoleBinding is created when missing and topped up when
it lacks rules, subjects, labels or annotations (`reconcile_role`/`reconcile_binding` decide; objects annotated
`rbac.authorization.kubernetes.io/autoupdate: "false"` are left alone). A binding whose roleRef changed is
deleted (with a uid precondition) and created again. Conflicts retry from a fresh read, as upstream retries.

Once reconciled, the hook keeps aggregated ClusterRoles (`admin`, `edit`, `view` and any with an
`aggregationRule`) equal to the union of the rules of the ClusterRoles their selectors pick: a loop on the
clusterroles watch cache re-aggregates after every ClusterRole change (upstream runs this as the
clusterrole-aggregation controller of kube-controller-manager). Both write through the registry's stores, as
the server itself; admission and escalation checks do not apply to them, as they do not to upstream's hook.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any

from apiserver.auth.authz.bootstrappolicy import bootstrap_policy
from apiserver.auth.authz.bootstrappolicy_reconcile import (
    ReconcileOperation,
    reconcile_binding,
    reconcile_role,
)
from apiserver.auth.authz.rbac_rules import aggregate_rules, rules_equal
from apiserver.meta.errors import AlreadyExists, Conflict, NotFound
from apiserver.meta.objects import JSONDict, name_of, namespace_of, uid_of
from apiserver.meta.selectors import SelectorError
from apiserver.meta.tasks import repeat_forever
from apiserver.registry.context import DeleteOptions, RequestContext
from apiserver.registry.store import ResourceStore
from apiserver.registry.stores import Registry
from apiserver.storage.errors import StorageError
from apiserver.storage.interface import Storage
from apiserver.storage.watchcache import Bookmark

logger = logging.getLogger(__name__)

RBAC_GROUP = "rbac.authorization.k8s.io"
MAX_ATTEMPTS = 5
RETRY_SECONDS = 1.0


class RBACBootstrapHook:
    """Post-start hook: reconcile the bootstrap policy, then run the ClusterRole aggregation loop."""

    name = "rbac/bootstrap-roles"

    def __init__(self, registry: Callable[[], Registry]) -> None:
        self._registry = registry
        self._aggregation: asyncio.Task[None] | None = None

    def _store(self, plural: str) -> ResourceStore:
        store = self._registry().store_for(RBAC_GROUP, "v1", plural)
        if not isinstance(store, ResourceStore):
            raise RuntimeError(f"{plural}.{RBAC_GROUP} are not served: cannot bootstrap RBAC")
        return store

    async def start(self, storage: Storage) -> None:
        policy = bootstrap_policy()
        cluster_roles, roles = self._store("clusterroles"), self._store("roles")
        cluster_bindings, bindings = self._store("clusterrolebindings"), self._store("rolebindings")
        await asyncio.gather(*(reconcile_stored_role(cluster_roles, role) for role in policy.cluster_roles))
        await asyncio.gather(*(reconcile_stored_binding(cluster_bindings, binding)
                               for binding in policy.cluster_role_bindings))
        await asyncio.gather(*(reconcile_stored_role(roles, role) for role in policy.roles))
        await asyncio.gather(*(reconcile_stored_binding(bindings, binding) for binding in policy.role_bindings))
        aggregator = ClusterRoleAggregator(self._registry, cluster_roles)
        await aggregator.aggregate_all()
        self._aggregation = asyncio.create_task(aggregator.run(), name="clusterrole-aggregation")

    async def stop(self) -> None:
        task, self._aggregation = self._aggregation, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


def _context(namespace: str) -> RequestContext:
    return RequestContext(namespace=namespace)


async def _current(store: ResourceStore, namespace: str, name: str) -> JSONDict | None:
    try:
        return (await store.get(namespace, name)).copy()
    except NotFound:
        return None


async def reconcile_stored_role(store: ResourceStore, expected: Mapping[str, Any]) -> None:
    """Create or top up one bootstrap Role or ClusterRole, retrying on write races."""
    namespace, name = namespace_of(expected), name_of(expected)
    for _ in range(MAX_ATTEMPTS):
        result = reconcile_role(await _current(store, namespace, name), expected)
        if not result.needs_write:
            return
        try:
            if result.operation is ReconcileOperation.CREATE:
                await store.create(namespace, result.role, _context(namespace))
            else:
                await store.update(namespace, name, result.role, _context(namespace))
            return
        except (AlreadyExists, Conflict, NotFound):
            continue
    logger.warning("rbac_bootstrap_gave_up", extra={"resource": store.spec.plural, "object": name})


async def reconcile_stored_binding(store: ResourceStore, expected: Mapping[str, Any]) -> None:
    """Create, top up or (for a changed roleRef) recreate one bootstrap binding, retrying on write races."""
    namespace, name = namespace_of(expected), name_of(expected)
    for _ in range(MAX_ATTEMPTS):
        existing = await _current(store, namespace, name)
        result = reconcile_binding(existing, expected)
        if not result.needs_write:
            return
        try:
            if result.operation is ReconcileOperation.RECREATE and existing is not None:
                options = DeleteOptions(preconditions_uid=uid_of(existing))
                await store.delete(namespace, name, options, _context(namespace))
                await store.create(namespace, result.binding, _context(namespace))
            elif result.operation is ReconcileOperation.UPDATE:
                await store.update(namespace, name, result.binding, _context(namespace))
            else:
                await store.create(namespace, result.binding, _context(namespace))
            return
        except (AlreadyExists, Conflict, NotFound):
            continue
    logger.warning("rbac_bootstrap_gave_up", extra={"resource": store.spec.plural, "object": name})


class ClusterRoleAggregator:
    """Keeps every ClusterRole with an aggregationRule at the union of the rules its selectors pick."""

    def __init__(self, registry: Callable[[], Registry], store: ResourceStore) -> None:
        self._registry = registry
        self._store = store

    def _cache_roles(self) -> list[JSONDict]:
        cache = self._registry().cache_for(self._store.spec.storage_path)
        if cache is None:
            return []
        return [entry.decoded.obj for entry in cache.list().items if entry.decoded is not None]

    async def aggregate_all(self) -> None:
        """One pass over every aggregated ClusterRole; writes only those whose rules changed."""
        roles = self._cache_roles()
        for role in roles:
            try:
                rules = aggregate_rules(role, roles)
            except SelectorError as error:
                logger.warning("clusterrole_aggregation_bad_selector", extra={"role": name_of(role),
                                                                               "error": error.message})
                continue
            if rules is not None and not rules_equal(role.get("rules") or (), rules):
                await self._write_rules(name_of(role), rules)

    async def _write_rules(self, name: str, rules: list[JSONDict]) -> None:
        def with_rules(current: JSONDict) -> JSONDict:
            return {**current, "rules": rules}

        try:
            await self._store.guaranteed_update("", name, with_rules, _context(""))
        except NotFound:
            return
        logger.info("clusterrole_aggregated", extra={"role": name, "rules": len(rules)})

    async def run(self) -> None:
        """Re-aggregate after every ClusterRole change until cancelled (the controller's worker loop)."""
        await repeat_forever(self._follow, pause=RETRY_SECONDS, logger=logger,
                             failure_event="clusterrole_aggregation_failed")

    async def _follow(self) -> None:
        cache = self._registry().cache_for(self._store.spec.storage_path)
        if cache is None:
            return
        try:
            watch = cache.watch(after=cache.revision)
        except StorageError:
            return
        async with watch:
            await self.aggregate_all()  # anything changed before the watch began
            async for event in watch:
                if not isinstance(event, Bookmark):
                    await self.aggregate_all()

