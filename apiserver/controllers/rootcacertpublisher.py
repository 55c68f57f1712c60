"""The root CA publisher: a `kube-root-ca.crt` ConfigMap with the cluster CA bundle in every namespace.

The shape of kube-controller-manager's pkg/controller/certificates/rootcacertpublisher: namespace events and
changes to (or the deletion of) a `kube-root-ca.crt` ConfigMap become namespace keys; `reconcile(namespace)`
creates the ConfigMap when missing and restores its data and description annotation when they differ. Runs as
`system:serviceaccount:kube-system:root-ca-cert-publisher`.
"""
from __future__ import annotations

import logging
from typing import Any

from apiserver.client.client import ApiClient, Resource
from apiserver.client.informer import Informer
from apiserver.meta.errors import Forbidden, NotFound

logger = logging.getLogger(__name__)

JSONDict = dict[str, Any]
NAMESPACES = Resource("", "v1", "namespaces", namespaced=False)
CONFIG_MAPS = Resource("", "v1", "configmaps")
ROOT_CA_CONFIG_MAP = "kube-root-ca.crt"
DESCRIPTION_ANNOTATION = "kubernetes.io/description"
# Upstream's wording (rootcacertpublisher/publisher.go), which clients may display.
DESCRIPTION = ("Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints "
               "such as the internal service IP or kubernetes.default.svc. "
               "No other usage is guaranteed across distributions of Kubernetes clusters.")


class RootCACertPublisher:
    name = "root-ca-cert-publisher"
    workers = 1
    watches = (NAMESPACES, CONFIG_MAPS)

    def __init__(self, root_ca: bytes) -> None:
        self._data = {"ca.crt": root_ca.decode()}
        self._client: ApiClient | None = None
        self._config_maps: Informer | None = None

    def keys_for(self, resource: Resource, event_type: str, obj: JSONDict) -> list[str]:
        meta = obj.get("metadata") or {}
        if not self._data["ca.crt"]:
            return []  # no cluster CA to publish (upstream does not start the controller then)
        if resource == NAMESPACES:
            if event_type == "DELETED" or (obj.get("status") or {}).get("phase", "Active") != "Active":
                return []
            return [str(meta.get("name") or "")]
        if meta.get("name") != ROOT_CA_CONFIG_MAP or event_type == "ADDED":
            return []
        return [str(meta.get("namespace") or "")]

    async def start(self, client: ApiClient, informers: dict[Resource, Informer]) -> None:
        self._client, self._config_maps = client, informers[CONFIG_MAPS]

    async def reconcile(self, key: str) -> None:
        assert self._client is not None and self._config_maps is not None
        current = self._config_maps.get(f"{key}/{ROOT_CA_CONFIG_MAP}")
        if current is None:
            await self._create(key)
            return
        annotations = (current.get("metadata") or {}).get("annotations") or {}
        if current.get("data") == self._data and annotations.get(DESCRIPTION_ANNOTATION):
            return
        metadata = current.get("metadata") or {}
        updated = {**current, "data": dict(self._data),
                   "metadata": {**metadata, "annotations": {**annotations, DESCRIPTION_ANNOTATION: DESCRIPTION}}}
        try:
            await self._client.update(CONFIG_MAPS, updated, namespace=key)
        except NotFound:
            return
        logger.info("root_ca_restored", extra={"controller": self.name, "namespace": key})

    async def _create(self, namespace: str) -> None:
        assert self._client is not None
        body = {"metadata": {"name": ROOT_CA_CONFIG_MAP, "annotations": {DESCRIPTION_ANNOTATION: DESCRIPTION}},
                "data": dict(self._data)}
        try:
            # AlreadyExists (the informer has not seen it yet) is retried: by then the cache has it to compare.
            await self._client.create(CONFIG_MAPS, body, namespace=namespace)
        except NotFound:
            return
        except Forbidden as error:
            # Upstream does not retry a create in a namespace being terminated.
            if "being terminated" in error.message:
                return
            raise
        logger.info("root_ca_published", extra={"controller": self.name, "namespace": namespace})
