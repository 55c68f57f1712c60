"""The aggregation layer assembled: local APIServices registered, the proxy's parts built, the hooks named.

- `AutoRegistrationHook` (`kube-apiserver-autoregistration`, upstream's autoregister controller for the
  "sync on start" set): at start every served built-in group-version gets its local APIService (`service: null`,
  the priorities of registry/catalog.py, label `kube-aggregator.kubernetes.io/automanaged: onstart`): created
  when missing, its spec restored when an automanaged one differs; automanaged `onstart` APIServices of
  group-versions no longer served are deleted. APIServices without the label are the user's and left alone.
- `CRDRegistrationController` (upstream's crdregistration controller with the "sync always" set): every
  group-version a CustomResourceDefinition serves has a local APIService (priority 1000/100, label `true`) for as
  long as a CRD serves it; it is created, restored and deleted as CRDs come and go.
- `AggregationParts`: the APIService index, the service resolver (`--enable-aggregator-routing`), TLS with the
  front-proxy client certificate, remote discovery, shared by the proxy, discovery and the availability controller.
- `RegistrationHook` (`apiservice-registration-controller`): the APIService index follows the watch cache in
  every replica. `aggregator_hooks()` adds upstream's other hook names, whose work runs in the availability
  controller: they report started as soon as the server runs its hooks (upstream's only start goroutines too).
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from apiserver.aggregation.apiservices import APIServiceIndex
from apiserver.aggregation.backend import Backend
from apiserver.aggregation.discovery import AggregatedDiscovery, RemoteDiscovery
from apiserver.aggregation.openapi import RemoteOpenAPI
from apiserver.aggregation.proxy import AggregationProxy
from apiserver.aggregation.transport import ProxyClientCertificate, ProxyTLS
from apiserver.client.client import ApiClient, Resource
from apiserver.client.informer import Informer
from apiserver.controllers.apiservice_availability import (
    APISERVICES,
    DEFAULT_RESYNC_SECONDS,
    LOOPBACK_USER,
    APIServiceAvailabilityController,
)
from apiserver.controllers.base import Controller
from apiserver.endpoints.health import FunctionCheck
from apiserver.http.asgi import ASGIApp
from apiserver.meta.errors import AlreadyExists, NotFound
from apiserver.meta.objects import JSONDict
from apiserver.meta.tasks import repeat_forever
from apiserver.registry.catalog import ResourceCatalog
from apiserver.registry.context import DeleteOptions, ListOptions, RequestContext
from apiserver.registry.store import ResourceStore
from apiserver.registry.stores import Registry
from apiserver.server.config import ServerConfig
from apiserver.storage.errors import StorageError
from apiserver.storage.interface import EventType, Storage
from apiserver.storage.watchcache import Bookmark
from apiserver.webhookclient import ServiceResolver

logger = logging.getLogger(__name__)

AUTOMANAGED_LABEL = "kube-aggregator.kubernetes.io/automanaged"
SYNC_ON_START = "onstart"
SYNC_ALWAYS = "true"
CRD_GROUP_PRIORITY = 1000  # "CRDs should have relatively low priority"
CRD_VERSION_PRIORITY = 100  # sorted by kube-like versions among themselves
CRDS = Resource("apiextensions.k8s.io", "v1", "customresourcedefinitions", namespaced=False)
FOLLOW_RETRY_SECONDS = 1.0


def local_api_service(group: str, version: str, group_priority: int, version_priority: int,
                      managed: str) -> JSONDict:
    """The APIService of a group-version served by this server."""
    return {"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
            "metadata": {"name": f"{version}.{group}", "labels": {AUTOMANAGED_LABEL: managed}},
            "spec": {"group": group, "version": version, "groupPriorityMinimum": group_priority,
                     "versionPriority": version_priority}}


def builtin_api_services(catalog: ResourceCatalog) -> list[JSONDict]:
    """The local APIServices of every built-in group-version the catalog serves."""
    return [local_api_service(group, version, catalog.priority(group, version).group,
                              catalog.priority(group, version).version, SYNC_ON_START)
            for group, version in catalog.group_versions()]


def _managed(obj: Mapping[str, Any]) -> str:
    return str(((obj.get("metadata") or {}).get("labels") or {}).get(AUTOMANAGED_LABEL) or "")


def _spec_differs(current: Mapping[str, Any], desired: Mapping[str, Any]) -> bool:
    return (current.get("spec") or {}) != desired["spec"]


class AutoRegistrationHook:
    """Post-start hook: the built-in group-versions' local APIServices, written through the registry's store."""

    name = "kube-apiserver-autoregistration"

    def __init__(self, registry: Callable[[], Registry], catalog: ResourceCatalog) -> None:
        self._registry = registry
        self._catalog = catalog
        self.completed = False

    def _store(self) -> ResourceStore:
        store = self._registry().store_for("apiregistration.k8s.io", "v1", "apiservices")
        if not isinstance(store, ResourceStore):
            raise RuntimeError("apiservices.apiregistration.k8s.io are not served: cannot register APIServices")
        return store

    async def start(self, storage: Storage) -> None:
        store = self._store()
        ctx = RequestContext(namespace="")
        existing = {str(item.obj["metadata"]["name"]): item.obj
                    for item in (await store.list("", ListOptions())).items}
        desired = {str(obj["metadata"]["name"]): obj for obj in builtin_api_services(self._catalog)}
        for name, obj in desired.items():
            current = existing.get(name)
            if current is None:
                with contextlib.suppress(AlreadyExists):
                    await store.create("", obj, ctx)
            elif _managed(current) and _spec_differs(current, obj):
                await store.update("", name, {**current, "spec": obj["spec"]}, ctx)
        for name, current in existing.items():
            if name not in desired and _managed(current) == SYNC_ON_START:
                with contextlib.suppress(NotFound):
                    await store.delete("", name, DeleteOptions(), ctx)
        self.completed = True

    async def stop(self) -> None:
        return None

    @property
    def boot_sequence_checks(self) -> tuple[FunctionCheck, ...]:
        """`autoregister-completion` on /healthz and /readyz, right after this hook's own check (as upstream)."""
        return (FunctionCheck("autoregister-completion", self.check_completion),)

    async def check_completion(self) -> None:
        """`autoregister-completion`: fails until every built-in APIService is registered."""
        if not self.completed:
            raise RuntimeError("missing APIService registrations")


class StartedHook:
    """A post-start hook that only names work the controllers do (its health check passes once hooks ran)."""

    def __init__(self, name: str) -> None:
        self.name = name

    async def start(self, storage: Storage) -> None:
        return None

    async def stop(self) -> None:
        return None


class RegistrationHook:
    """`apiservice-registration-controller`: keeps the aggregator's index equal to the stored APIServices.

    It follows the APIService watch cache in every replica (the proxy of each server must route, whichever
    replica runs the controllers), starting over from a full list after any interruption.
    """

    name = "apiservice-registration-controller"

    def __init__(self, registry: Callable[[], Registry], index: APIServiceIndex) -> None:
        self._registry = registry
        self._index = index
        self._task: asyncio.Task[None] | None = None

    async def start(self, storage: Storage) -> None:
        cache = self._cache()
        if cache is not None:
            self._index.replace_all(_objects(cache.list().items))
        self._task = asyncio.create_task(self._run(), name="apiservice-registration")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    def _cache(self) -> Any:
        store = self._registry().store_for("apiregistration.k8s.io", "v1", "apiservices")
        return None if not isinstance(store, ResourceStore) else self._registry().cache_for(store.spec.storage_path)

    async def _run(self) -> None:
        await repeat_forever(self._follow, pause=FOLLOW_RETRY_SECONDS, logger=logger,
                             failure_event="apiservice_registration_failed")

    async def _follow(self) -> None:
        cache = self._cache()
        if cache is None:
            return
        try:
            page = cache.list()
            watch = cache.watch(after=page.revision)
        except StorageError:
            return
        self._index.replace_all(_objects(page.items))
        async with watch:
            async for event in watch:
                if isinstance(event, Bookmark) or event.entry.decoded is None:
                    continue
                event_type = "DELETED" if event.type is EventType.DELETE else "MODIFIED"
                self._index.observe(event_type, event.entry.decoded.obj)


def _objects(entries: Iterable[Any]) -> list[JSONDict]:
    return [entry.decoded.obj for entry in entries if entry.decoded is not None]


def aggregator_hooks(registration: RegistrationHook) -> list[Any]:
    """The aggregator's post-start hooks in upstream's order (those only naming controllers' work pass at once)."""
    return [StartedHook("start-kube-aggregator-informers"),
            StartedHook("apiservice-status-local-available-controller"),
            StartedHook("apiservice-status-remote-available-controller"), registration,
            StartedHook("apiservice-discovery-controller")]


def served_group_versions(crd: Mapping[str, Any]) -> list[tuple[str, str]]:
    spec = crd.get("spec") or {}
    group = str(spec.get("group") or "")
    return [(group, str(version.get("name") or "")) for version in spec.get("versions") or ()
            if version.get("served") and version.get("name")]


class CRDRegistrationController:
    """Keeps one local APIService per group-version that some CRD serves (keys are `<group>/<version>`)."""

    name = "crd-autoregistration"
    workers = 1
    watches: Sequence[Resource] = (CRDS, APISERVICES)
    user = LOOPBACK_USER

    def __init__(self) -> None:
        self._client: ApiClient | None = None
        self._informers: dict[Resource, Informer] = {}

    def keys_for(self, resource: Resource, event_type: str, obj: JSONDict) -> list[str]:
        if resource == CRDS:
            spec = obj.get("spec") or {}
            return [f"{spec.get('group') or ''}/{version.get('name')}" for version in spec.get("versions") or ()
                    if version.get("name")]
        if _managed(obj) != SYNC_ALWAYS:
            return []
        spec = obj.get("spec") or {}
        return [f"{spec.get('group') or ''}/{spec.get('version') or ''}"]

    async def start(self, client: ApiClient, informers: dict[Resource, Informer]) -> None:
        self._client, self._informers = client, informers

    async def reconcile(self, key: str) -> None:
        assert self._client is not None
        group, _, version = key.partition("/")
        served = any((group, version) in served_group_versions(crd) for crd in self._informers[CRDS].items())
        name = f"{version}.{group}"
        current = self._informers[APISERVICES].get(name)
        if not served:
            if current is not None and _managed(current) == SYNC_ALWAYS:
                with contextlib.suppress(NotFound):
                    await self._client.delete(APISERVICES, name)
            return
        desired = local_api_service(group, version, CRD_GROUP_PRIORITY, CRD_VERSION_PRIORITY, SYNC_ALWAYS)
        if current is None:
            with contextlib.suppress(AlreadyExists):
                await self._client.create(APISERVICES, desired)
        elif _managed(current) and _spec_differs(current, desired):
            await self._client.update(APISERVICES, {**current, "spec": desired["spec"]})


@dataclass(frozen=True, slots=True)
class AggregationParts:
    """What the proxy, discovery and the availability controller share."""

    index: APIServiceIndex
    resolver: ServiceResolver
    tls: ProxyTLS
    backend: Backend
    remote_discovery: RemoteDiscovery
    discovery: AggregatedDiscovery
    openapi: RemoteOpenAPI


def build_aggregation(services: Any, endpoints: Any, *, endpoint_routing: bool,
                      client_certificate: ProxyClientCertificate) -> AggregationParts:
    """The aggregation layer's parts over the Services and Endpoints listers (the watch caches)."""
    index = APIServiceIndex()
    resolver = ServiceResolver(services, endpoints, endpoint_routing=endpoint_routing)
    tls = ProxyTLS(client_certificate)
    backend = Backend(resolver, tls)
    remote_discovery = RemoteDiscovery(backend)
    return AggregationParts(index, resolver, tls, backend, remote_discovery,
                            AggregatedDiscovery(index, remote_discovery), RemoteOpenAPI(backend))


class AggregationLayer:
    """Everything the aggregation layer adds to the server; `build_server` wires each piece in its place."""

    def __init__(self, config: ServerConfig, catalog: ResourceCatalog, registry: Callable[[], Registry], *,
                 services: Any, endpoints: Any) -> None:
        certificate = ProxyClientCertificate(config.proxy_client_cert_path, config.proxy_client_key_path)
        self.parts = build_aggregation(services, endpoints, endpoint_routing=config.enable_aggregator_routing,
                                       client_certificate=certificate)
        self.autoregistration = AutoRegistrationHook(registry, catalog)
        self.registration = RegistrationHook(registry, self.parts.index)
        self._reject_redirects = config.aggregator_reject_forwarding_redirect
        resync = config.aggregator_availability_resync
        self._resync = resync if resync > 0 else DEFAULT_RESYNC_SECONDS

    @property
    def discovery(self) -> AggregatedDiscovery:
        return self.parts.discovery

    @property
    def hooks(self) -> list[Any]:
        """The post-start hooks, in upstream's order (after the server's own)."""
        return [*aggregator_hooks(self.registration), self.autoregistration]

    @property
    def controllers(self) -> list[Callable[[], Controller]]:
        parts, resync = self.parts, self._resync
        return [lambda: APIServiceAvailabilityController(parts.index, parts.backend, parts.remote_discovery,
                                                         resync=resync, openapi=parts.openapi),
                CRDRegistrationController]

    def proxy(self, app: ASGIApp) -> ASGIApp:
        """`app` behind the aggregator's proxy (the innermost app of the filter chain)."""
        parts = self.parts
        return AggregationProxy(app, index=parts.index, resolver=parts.resolver, tls=parts.tls,
                                reject_forwarding_redirects=self._reject_redirects, openapi=parts.openapi)
