"""The APIService controllers of kube-aggregator: local and remote availability, discovery.

One controller over the APIService, Service and Endpoints informers does what upstream splits in three:

- registration (`apiservice-registration-controller`) is not here: a post-start hook keeps the index that the
  proxy and discovery read in every replica (server/apiservices.py); this controller reads that index to map
  Service and Endpoints events to APIServices;
- local availability (`apiservice-status-local-available-controller`): `service: null` is `Available=True`,
  reason `Local`;
- remote availability (`apiservice-status-remote-available-controller`): the checks of
  aggregation/availability.py, re-run when the APIService, its Service or its Endpoints change and every
  `resync` seconds (upstream's 30 s resync), with backoff while the discovery check fails;
- discovery (`apiservice-discovery-controller`): after a passing check the remote group-version's discovery is
  fetched again; a failing one marks it stale;
- OpenAPI (upstream's openapi and openapiv3 aggregation controllers): after a passing check the remote's OpenAPI
  documents are downloaded again (aggregation/openapi.py); a deleted APIService's go.

The Available condition is written through `/status` only when it changed; `lastTransitionTime` moves only when
its status does. It acts as the server's loopback identity (system:apiserver in system:masters), as upstream's
aggregator controllers use the loopback client.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from apiserver.aggregation.apiservices import APIServiceIndex, RemoteAPIService, remote_api_service
from apiserver.aggregation.availability import LOCAL, Verdict, probe_verdict, service_verdict
from apiserver.aggregation.backend import Backend
from apiserver.aggregation.discovery import RemoteDiscovery
from apiserver.aggregation.openapi import RemoteOpenAPI
from apiserver.client.client import ApiClient, Resource
from apiserver.client.informer import Informer
from apiserver.controllers.base import LOOPBACK_USER, RequeueAfter
from apiserver.meta.errors import NotFound
from apiserver.meta.objects import format_time, utc_now

logger = logging.getLogger(__name__)

JSONDict = dict[str, Any]
APISERVICES = Resource("apiregistration.k8s.io", "v1", "apiservices", namespaced=False)
SERVICES = Resource("", "v1", "services")
ENDPOINTS = Resource("", "v1", "endpoints")
DEFAULT_RESYNC_SECONDS = 30.0


class DiscoveryCheckFailed(Exception):
    """Retried with backoff, as upstream's controller returns the probe's error to its rate-limited queue."""


class APIServiceAvailabilityController:
    name = "apiservice-status-available-controller"
    workers = 5
    watches: Sequence[Resource] = (APISERVICES, SERVICES, ENDPOINTS)
    user = LOOPBACK_USER

    def __init__(self, index: APIServiceIndex, backend: Backend, discovery: RemoteDiscovery, *,
                 resync: float = DEFAULT_RESYNC_SECONDS, openapi: RemoteOpenAPI | None = None) -> None:
        self._index = index
        self._openapi = openapi
        self._backend = backend
        self._discovery = discovery
        self._resync = resync
        self._client: ApiClient | None = None
        self._informers: dict[Resource, Informer] = {}

    def keys_for(self, resource: Resource, event_type: str, obj: JSONDict) -> list[str]:
        meta = obj.get("metadata") or {}
        if resource == APISERVICES:
            name = str(meta.get("name") or "")
            if event_type == "DELETED":
                self._discovery.forget(name)
                if self._openapi is not None:
                    self._openapi.forget(name)
                return []
            return [name]
        namespace, name = str(meta.get("namespace") or ""), str(meta.get("name") or "")
        return [remote.name for remote in self._index.remotes()
                if (remote.service_namespace, remote.service_name) == (namespace, name)]

    async def start(self, client: ApiClient, informers: dict[Resource, Informer]) -> None:
        self._client, self._informers = client, informers

    async def reconcile(self, key: str) -> None:
        current = self._informers[APISERVICES].get(key)
        if current is None:
            return
        remote = remote_api_service(current)
        if remote is None:
            await self._write(current, Verdict(*LOCAL))
            return
        verdict = await self._verdict(remote)
        if verdict.status == "True":
            await self._discovery.refresh(remote)
        else:
            self._discovery.mark_stale(remote.name)
        await self._write(current, verdict)
        if verdict.status == "True" and self._openapi is not None:
            await self._openapi.refresh(remote)  # after the condition: a large document must not delay it
        if verdict.reason == "FailedDiscoveryCheck":
            raise DiscoveryCheckFailed(verdict.message)
        raise RequeueAfter(self._resync)

    async def _verdict(self, remote: RemoteAPIService) -> Verdict:
        key = f"{remote.service_namespace}/{remote.service_name}"
        service = self._informers[SERVICES].get(key)
        endpoints = self._informers[ENDPOINTS].get(key)
        failed = service_verdict(remote, service, endpoints)
        if failed is not None:
            return failed
        return await probe_verdict(self._backend, remote)

    async def _write(self, current: JSONDict, verdict: Verdict) -> None:
        assert self._client is not None
        status = dict(current.get("status") or {})
        conditions = [dict(condition) for condition in status.get("conditions") or ()]
        updated = available_condition(conditions, verdict)
        if updated == conditions:
            return
        body = {**current, "status": {**status, "conditions": updated}}
        try:
            await self._client.update(APISERVICES, body, subresource="status")
        except NotFound:
            return
        old = next((condition for condition in conditions if condition.get("type") == "Available"), None)
        if old is None or old.get("status") != verdict.status:
            logger.info("apiservice_availability_changed", extra={
                "apiservice": (current.get("metadata") or {}).get("name"), "status": verdict.status,
                "reason": verdict.reason, "message_text": verdict.message})


def available_condition(conditions: list[JSONDict], verdict: Verdict) -> list[JSONDict]:
    """SetAPIServiceCondition: replace the Available condition; its lastTransitionTime moves only with its status."""
    result: list[JSONDict] = []
    found = False
    for condition in conditions:
        if condition.get("type") != "Available":
            result.append(condition)
            continue
        found = True
        since = condition.get("lastTransitionTime")
        if condition.get("status") != verdict.status:
            since = format_time(utc_now())
        result.append({"type": "Available", "status": verdict.status, "lastTransitionTime": since,
                       "reason": verdict.reason, "message": verdict.message})
    if not found:
        result.append({"type": "Available", "status": verdict.status, "lastTransitionTime": format_time(utc_now()),
                       "reason": verdict.reason, "message": verdict.message})
    return result
