"""The ServiceAccounts controller: a `default` ServiceAccount in every active namespace.

The shape of kubernetes pkg/controller/serviceaccount/serviceaccounts_controller.go: namespace events (and the
deletion of a `default` ServiceAccount) become namespace keys, and `reconcile(namespace)` creates whatever is
missing. Runs as `system:serviceaccount:kube-system:service-account-controller` (allowed to create
ServiceAccounts by `system:controller:service-account-controller`).
"""
from __future__ import annotations

import logging
from typing import Any

from apiserver.client.client import ApiClient, Resource
from apiserver.client.informer import Informer
from apiserver.meta.errors import AlreadyExists, Forbidden, NotFound

logger = logging.getLogger(__name__)

JSONDict = dict[str, Any]
NAMESPACES = Resource("", "v1", "namespaces", namespaced=False)
SERVICE_ACCOUNTS = Resource("", "v1", "serviceaccounts")
DEFAULT_NAMES = ("default",)


class ServiceAccountsController:
    name = "service-account-controller"
    workers = 1
    watches = (NAMESPACES, SERVICE_ACCOUNTS)

    def __init__(self) -> None:
        self._client: ApiClient | None = None
        self._namespaces: Informer | None = None
        self._accounts: Informer | None = None

    def keys_for(self, resource: Resource, event_type: str, obj: JSONDict) -> list[str]:
        meta = obj.get("metadata") or {}
        if resource == NAMESPACES:
            return [] if event_type == "DELETED" else [str(meta.get("name") or "")]
        if event_type == "DELETED" and meta.get("name") in DEFAULT_NAMES:
            return [str(meta.get("namespace") or "")]
        return []

    async def start(self, client: ApiClient, informers: dict[Resource, Informer]) -> None:
        self._client, self._namespaces, self._accounts = client, informers[NAMESPACES], informers[SERVICE_ACCOUNTS]

    async def reconcile(self, key: str) -> None:
        assert self._client is not None and self._namespaces is not None and self._accounts is not None
        namespace = self._namespaces.get(key)
        if namespace is None or (namespace.get("status") or {}).get("phase", "Active") != "Active":
            return
        for name in DEFAULT_NAMES:
            if self._accounts.get(f"{key}/{name}") is not None:
                continue
            try:
                await self._client.create(SERVICE_ACCOUNTS, {"metadata": {"name": name}}, namespace=key)
            except AlreadyExists:
                continue
            except (NotFound, Forbidden) as error:
                # The namespace went away or began terminating meanwhile: nothing to create there.
                if "being terminated" in error.message or isinstance(error, NotFound):
                    continue
                raise
            logger.info("serviceaccount_created",
                        extra={"controller": self.name, "namespace": key, "serviceaccount": name})
