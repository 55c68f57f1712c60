"""The ResourceQuota controller: each quota's `status.hard` and `status.used`, recalculated from the objects.

The shape of kubernetes pkg/controller/resourcequota: a quota is synced when it is new, when its `spec.hard`
changes, or when its status lacks a hard value or a usage (never for the status writes of admission, which
charge usage ahead of the objects reaching the informers); every quota of a namespace is synced when a counted
object there is deleted, or a pod ends, or a Service or claim changes; and every quota is synced again once
`resync_period` has passed (checked on each event, upstream: --resource-quota-sync-period, 5 minutes). Usage
comes from the informers (pods, services, claims, configmaps, secrets, replicationcontrollers) and, for
`count/<resource>.<group>` of other resources, from a list. Runs as
`system:serviceaccount:kube-system:resourcequota-controller` (`system:controller:resourcequota-controller`:
list and watch everything, update resourcequotas/status).
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from apiserver.admission.quota.accounting import calculate_usage
from apiserver.admission.quota.pods import is_charged
from apiserver.admission.quota.resources import parse_list, to_strings
from apiserver.client.client import ApiClient, Resource
from apiserver.client.informer import Informer, object_key
from apiserver.meta.errors import NotFound

logger = logging.getLogger(__name__)

JSONDict = dict[str, Any]
QUOTAS = Resource("", "v1", "resourcequotas")
COUNTED = {name: Resource("", "v1", name) for name in (
    "pods", "services", "persistentvolumeclaims", "configmaps", "secrets", "replicationcontrollers")}
NAMESPACE_KEY = "namespace:"
DEFAULT_RESYNC_SECONDS = 300.0
# The served version `count/<resource>.<group>` of a resource without an informer is listed at.
GROUP_VERSIONS = {"autoscaling": "v2"}


class ResourceQuotaController:
    name = "resourcequota-controller"
    workers = 1
    watches = (QUOTAS, *COUNTED.values())

    def __init__(self, *, resync_period: float = DEFAULT_RESYNC_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._client: ApiClient | None = None
        self._informers: dict[Resource, Informer] = {}
        self._seen_hard: dict[str, dict[str, str]] = {}
        self._resync_period = resync_period
        self._clock = clock
        self._last_resync = clock()

    def keys_for(self, resource: Resource, event_type: str, obj: JSONDict) -> list[str]:
        keys = self._resync_keys()
        namespace = str((obj.get("metadata") or {}).get("namespace") or "")
        if resource == QUOTAS:
            key = object_key(obj)
            if event_type == "DELETED":
                self._seen_hard.pop(key, None)
            elif self._needs_sync(key, obj):
                keys.append(key)
        elif event_type in ("ADDED", "DELETED") or (event_type == "MODIFIED" and _changes_usage(resource, obj)):
            # Upstream recounts only when usage may drop; recounting on creates too keeps a recount that raced
            # admission's charge (it read the charged quota but not yet the new object) from standing until the
            # next full resync. Keys are per namespace and deduplicated by the queue, so bursts cost one recount.
            keys.append(NAMESPACE_KEY + namespace)
        return keys

    def _resync_keys(self) -> list[str]:
        if self._clock() - self._last_resync < self._resync_period or QUOTAS not in self._informers:
            return []
        self._last_resync = self._clock()
        return [object_key(quota) for quota in self._informers[QUOTAS].items()]

    def _needs_sync(self, key: str, quota: JSONDict) -> bool:
        hard = _strings((quota.get("spec") or {}).get("hard"))
        changed = self._seen_hard.get(key) != hard
        self._seen_hard[key] = hard
        status = quota.get("status") or {}
        missing = set(hard) - set(status.get("used") or {})
        return changed or _strings(status.get("hard")) != hard or bool(missing)

    async def start(self, client: ApiClient, informers: dict[Resource, Informer]) -> None:
        self._client, self._informers = client, informers

    async def reconcile(self, key: str) -> None:
        if key.startswith(NAMESPACE_KEY):
            namespace = key.removeprefix(NAMESPACE_KEY)
            for item in self._informers[QUOTAS].items():
                if (item.get("metadata") or {}).get("namespace") == namespace:
                    await self._sync(item)
            return
        quota = self._informers[QUOTAS].get(key)
        if quota is not None:
            await self._sync(quota)

    async def _sync(self, quota: JSONDict) -> None:
        assert self._client is not None
        namespace = str(quota["metadata"].get("namespace") or "")
        listed: dict[tuple[str, str], list[JSONDict]] = {}
        for group, resource in _uncached(quota):
            listed[(group, resource)] = await self._list(group, resource, namespace)

        def objects_of(group: str, resource: str) -> list[JSONDict]:
            if (group, resource) in listed:
                return listed[(group, resource)]
            return [obj for obj in self._informers[COUNTED[resource]].items()
                    if (obj.get("metadata") or {}).get("namespace") == namespace]

        status = {"hard": to_strings(parse_list((quota.get("spec") or {}).get("hard"))),
                  "used": to_strings(calculate_usage(quota, objects_of))}
        if quota.get("status") == status:
            # The informer's copy may not show a recount that raced admission yet (it wrote usage without an
            # object admission had just charged): settle against the stored quota before calling it done.
            try:
                quota = await self._client.get(QUOTAS, str(quota["metadata"].get("name") or ""),
                                               namespace=namespace)
            except NotFound:
                return
            if quota.get("status") == status:
                return
        updated = {**quota, "status": status}
        try:
            await self._client.update(QUOTAS, updated, namespace=namespace, subresource="status")
        except NotFound:
            return
        logger.info("resourcequota_synced", extra={"controller": self.name, "namespace": namespace,
                                                   "resourcequota": quota["metadata"].get("name")})

    async def _list(self, group: str, resource: str, namespace: str) -> list[JSONDict]:
        assert self._client is not None
        version = GROUP_VERSIONS.get(group, "v1")
        try:
            listed = await self._client.list(Resource(group, version, resource), namespace=namespace)
        except NotFound:
            return []
        return list(listed.get("items") or ())


def _uncached(quota: JSONDict) -> list[tuple[str, str]]:
    """The `count/<resource>.<group>` resources of a quota that have no informer here."""
    found = []
    for name in (quota.get("spec") or {}).get("hard") or {}:
        if name.startswith("count/"):
            resource, _, group = str(name).removeprefix("count/").partition(".")
            if group or resource not in COUNTED:
                found.append((group, resource))
    return found


def _strings(values: object) -> dict[str, str]:
    return to_strings(parse_list(values))


def _changes_usage(resource: Resource, obj: JSONDict) -> bool:
    """Updates that can lower usage: a pod that ended, any Service or claim change (type, size)."""
    if resource.plural == "pods":
        return not is_charged(obj)
    return resource.plural in ("services", "persistentvolumeclaims")
