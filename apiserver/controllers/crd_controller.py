"""What the CRD controllers (naming, establishing, cleanup) share: one informer over CustomResourceDefinitions,
the API server's loopback identity, and writes of a CRD's status that give way to a concurrent change.

Upstream's apiextensions-apiserver runs these controllers inside the server on its loopback client; a status
write that meets a deleted or changed CRD is dropped, because the CRD's next event brings its key back.
"""
from __future__ import annotations

from typing import Any, Final

from apiserver.client.client import ApiClient, Resource
from apiserver.client.informer import Informer
from apiserver.controllers.base import LOOPBACK_USER
from apiserver.meta.errors import Conflict, NotFound
from apiserver.meta.objects import Clock, utc_now

JSONDict = dict[str, Any]
CRDS: Final = Resource("apiextensions.k8s.io", "v1", "customresourcedefinitions", namespaced=False)


def crd_name(crd: JSONDict) -> str:
    return str((crd.get("metadata") or {}).get("name") or "")


class CRDController:
    """A Controller (controllers.base) keyed by CRD name: a CRD event is a key when `wants(crd)` says so.

    Subclasses set `name` (and `workers`), override `wants` and implement `reconcile`; `start` keeps the client
    and the CRD informer as `_client` and `_crds`.
    """

    name: str
    workers = 1
    watches = (CRDS,)
    user = LOOPBACK_USER

    def __init__(self, clock: Clock = utc_now) -> None:
        self._clock = clock
        self._client: ApiClient | None = None
        self._crds: Informer | None = None

    def wants(self, crd: JSONDict) -> bool:
        """Whether a CRD (not deleted) needs this controller's attention."""
        return True

    def keys_for(self, resource: Resource, event_type: str, obj: JSONDict) -> list[str]:
        if event_type == "DELETED" or not self.wants(obj):
            return []
        return [crd_name(obj)]

    async def start(self, client: ApiClient, informers: dict[Resource, Informer]) -> None:
        self._client, self._crds = client, informers[CRDS]

    async def write_status(self, crd: JSONDict) -> JSONDict | None:
        """Update the CRD through `/status`: the written CRD, or None when it was deleted or changed meanwhile."""
        assert self._client is not None
        try:
            return await self._client.update(CRDS, crd, subresource="status")
        except (NotFound, Conflict):
            return None
