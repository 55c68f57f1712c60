"""Read-only views of cluster state for the auth layer, backed by the registry's watch caches.

Upstream's "listers, not storage" rule: the RBAC authorizer reads roles and bindings from informers, the
ServiceAccount token authenticator reads ServiceAccounts, Pods, Secrets and Nodes from informers and falls back
to a live read when an informer misses (a token issued a moment ago for a new object works at once). These
classes implement `auth.authz.interface.RuleSource`, `auth.authn.serviceaccount.ServiceAccountLookup` and
`auth.authn.bootstrap.SecretGetter` over the Registry, so the auth layer never imports storage or the registry.

Every object handed out is the cache's shared dict: callers must not mutate it.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from apiserver.auth.authz.interface import RuleSourceUnavailable
from apiserver.meta.errors import ApiError
from apiserver.meta.objects import JSONDict
from apiserver.registry.context import StoredObject
from apiserver.registry.store import ResourceStore
from apiserver.registry.stores import Registry
from apiserver.storage.errors import StorageError
from apiserver.storage.watchcache import WatchCache

RBAC = ("rbac.authorization.k8s.io", "v1")
CORE = ("", "v1")


@dataclass(frozen=True, slots=True)
class _Resource:
    group: str
    version: str
    plural: str


ROLES = _Resource(*RBAC, "roles")
CLUSTER_ROLES = _Resource(*RBAC, "clusterroles")
ROLE_BINDINGS = _Resource(*RBAC, "rolebindings")
CLUSTER_ROLE_BINDINGS = _Resource(*RBAC, "clusterrolebindings")
SERVICE_ACCOUNTS = _Resource(*CORE, "serviceaccounts")
PODS = _Resource(*CORE, "pods")
SECRETS = _Resource(*CORE, "secrets")
NODES = _Resource(*CORE, "nodes")


class _CachedResources:
    """The store and watch cache of a resource in the running registry; None when either is missing."""

    def __init__(self, registry: Callable[[], Registry]) -> None:
        self._registry = registry

    def registry(self) -> Registry | None:
        try:
            return self._registry()
        except ApiError:  # the registry does not exist before storage is open
            return None

    def store_and_cache(self, resource: _Resource) -> tuple[ResourceStore, WatchCache[StoredObject | None]] | None:
        registry = self.registry()
        if registry is None:
            return None
        store = registry.store_for(resource.group, resource.version, resource.plural)
        if not isinstance(store, ResourceStore):
            return None
        cache = registry.cache_for(store.spec.storage_path)
        return None if cache is None else (store, cache)


def _cached(cache: WatchCache[StoredObject | None], key: str, *, keep: bool = True) -> JSONDict | None:
    """The cached object at `key`; None when absent. Raises StorageError (CacheNotReady) before the first list.

    `keep`: keep the decoded object beside the cached bytes (small, hot objects); without it every call decodes
    (pods, secrets and nodes are many and read once per token, so keeping them would hold a decoded cache)."""
    entry = cache.get(key)
    if entry is None or entry.decoded is None:
        return None
    return entry.decoded.obj if keep else entry.decoded.read()


class CachedRuleSource(_CachedResources):
    """RBAC objects from the watch caches (RuleSource). Raises RuleSourceUnavailable before the caches serve."""

    def __init__(self, registry: Callable[[], Registry]) -> None:
        super().__init__(registry)
        self._cluster_bindings: tuple[tuple[int, int], Sequence[JSONDict]] = ((0, -1), ())

    def _require(self, resource: _Resource) -> tuple[ResourceStore, WatchCache[StoredObject | None]]:
        found = self.store_and_cache(resource)
        if found is None:
            raise RuleSourceUnavailable(f"{resource.plural} are not served yet")
        return found

    async def get_role(self, namespace: str, name: str) -> JSONDict | None:
        return self._get(ROLES, namespace, name)

    async def get_cluster_role(self, name: str) -> JSONDict | None:
        return self._get(CLUSTER_ROLES, "", name)

    def _get(self, resource: _Resource, namespace: str, name: str) -> JSONDict | None:
        store, cache = self._require(resource)
        try:
            return _cached(cache, store.key(namespace, name))
        except StorageError as error:
            raise RuleSourceUnavailable(str(error)) from None

    async def list_role_bindings(self, namespace: str) -> Sequence[JSONDict]:
        store, cache = self._require(ROLE_BINDINGS)
        start = store.key(namespace, "")
        return self._list(cache, start, start[:-1] + chr(ord("/") + 1))

    async def list_cluster_role_bindings(self) -> Sequence[JSONDict]:
        _, cache = self._require(CLUSTER_ROLE_BINDINGS)
        state, bindings = self._cluster_bindings
        if state != (id(cache), cache.generation):  # every request lists these: keep one list per cached state
            bindings = self._list(cache, "", "")
            self._cluster_bindings = ((id(cache), cache.generation), bindings)
        return bindings

    @staticmethod
    def _list(cache: WatchCache[StoredObject | None], start: str, end: str) -> Sequence[JSONDict]:
        try:
            page = cache.list(start=start, end=end)
        except StorageError as error:
            raise RuleSourceUnavailable(str(error)) from None
        return tuple(entry.decoded.obj for entry in page.items if entry.decoded is not None)


class CachedObjectLookup(_CachedResources):
    """ServiceAccounts, Pods, Secrets and Nodes for token authentication: from the cache, else read live.

    Implements ServiceAccountLookup and SecretGetter. A resource that is not served, or storage that cannot be
    read, reads as absent (the token is then refused, never accepted).
    """

    async def get_service_account(self, namespace: str, name: str) -> JSONDict | None:
        return await self._get(SERVICE_ACCOUNTS, namespace, name)

    async def get_pod(self, namespace: str, name: str) -> JSONDict | None:
        return await self._get(PODS, namespace, name)

    async def get_secret(self, namespace: str, name: str) -> JSONDict | None:
        return await self._get(SECRETS, namespace, name)

    async def get_node(self, name: str) -> JSONDict | None:
        return await self._get(NODES, "", name)

    async def _get(self, resource: _Resource, namespace: str, name: str) -> JSONDict | None:
        found = self.store_and_cache(resource)
        registry = self.registry()
        if found is None or registry is None:
            return None
        store, cache = found
        key = store.key(namespace, name)
        try:
            if (cached := _cached(cache, key, keep=resource is SERVICE_ACCOUNTS)) is not None:
                return cached
        except StorageError:
            pass
        return await registry.read_live(key)
