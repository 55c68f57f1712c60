"""The garbage collector's monitors: one informer per garbage-collected resource of the catalog in force.

As upstream's GC re-reads discovery and starts or stops monitors for resources that appear or go (custom
resources arrive and leave at runtime), `Monitors.run` follows the catalog: it polls the holder's generation and
syncs its informers to the catalog's garbage-collected resources, one version per group-resource. Also maps an
owner reference's apiVersion and kind to the resource that serves it (upstream's REST mapper).

The informers are metadata-only (PartialObjectMetadata), as upstream's GC uses the metadata informer factory:
the graph needs only uid, name, namespace, ownerReferences, finalizers and deletionTimestamp. They come from the
controller manager's shared factory when there is one, else from a factory of the monitors' own.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from apiserver.client.client import ApiClient, Resource
from apiserver.client.informer import Informer
from apiserver.controllers.informers import InformerFactory
from apiserver.registry.catalog import ResourceCatalog
from apiserver.registry.spec import ResourceSpec, Verb

logger = logging.getLogger(__name__)

JSONDict = dict[str, Any]
CATALOG_POLL_SECONDS = 1.0
# Upstream's default ignored resources (garbagecollector.DefaultIgnoredResources): events are never owners'
# dependents worth a monitor.
IGNORED_RESOURCES = frozenset({("", "events"), ("events.k8s.io", "events")})
REQUIRED_VERBS = frozenset({Verb.GET, Verb.LIST, Verb.WATCH, Verb.DELETE})


class CatalogSource(Protocol):
    """Where the catalog in force is read (server's CatalogHolder): `generation` changes whenever it does."""

    @property
    def current(self) -> ResourceCatalog: ...

    @property
    def generation(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Monitored:
    """A watched resource and the apiVersion/kind of its objects (list items do not carry them)."""

    resource: Resource
    api_version: str
    kind: str

    @property
    def key(self) -> tuple[str, str]:
        return self.resource.group, self.resource.plural


Handler = Callable[[Monitored, str, JSONDict], None]


def resource_of(spec: ResourceSpec) -> Resource:
    return Resource(spec.group, spec.version, spec.plural, namespaced=spec.namespaced)


def garbage_collected(catalog: ResourceCatalog) -> dict[tuple[str, str], Monitored]:
    """(group, plural) → the resource to watch, at the group's most preferred served version."""
    chosen: dict[tuple[str, str], Monitored] = {}
    for group, version in catalog.group_versions():
        for spec in catalog.resources(group, version):
            if spec.virtual or not spec.garbage_collected or not spec.verbs >= REQUIRED_VERBS:
                continue
            if (spec.group, spec.plural) in IGNORED_RESOURCES or (spec.group, spec.plural) in chosen:
                continue
            chosen[(spec.group, spec.plural)] = Monitored(resource_of(spec), spec.group_version, spec.kind)
    return chosen


def split_api_version(api_version: str) -> tuple[str, str]:
    group, _, version = api_version.rpartition("/")
    return group, version


class Monitors:
    """Informers for the garbage-collected resources, kept in step with the catalog by `run` (until cancelled).

    `handler(monitored, event_type, obj)` is called synchronously for every event, as an informer handler is.
    """

    def __init__(self, client: ApiClient, catalog: CatalogSource, handler: Handler, *,
                 poll_seconds: float = CATALOG_POLL_SECONDS, informers: InformerFactory | None = None) -> None:
        self._client = client
        self._catalog = catalog
        self._handler = handler
        self._poll_seconds = poll_seconds
        self._informers = informers
        self._running: dict[tuple[str, str], tuple[Monitored, Informer, Callable[[str, JSONDict], None]]] = {}
        self._synced = asyncio.Event()
        self._generation = -1

    def monitored(self) -> list[Monitored]:
        return [monitored for monitored, _, _ in self._running.values()]

    async def wait_synced(self) -> None:
        """Returns once the informers started first have all listed (later ones are not waited for)."""
        await self._synced.wait()

    async def run(self) -> None:
        own = self._informers is None
        # Without the manager's factory (monitors run on their own), one of their own over the client's transport.
        factory = self._informers or InformerFactory(self._client._transport)
        try:
            await self._sync(factory)
            for _, informer, _ in list(self._running.values()):
                await informer.wait_synced()
            self._synced.set()
            while True:
                await asyncio.sleep(self._poll_seconds)
                if self._catalog.generation != self._generation:
                    await self._sync(factory)
        finally:
            running, self._running = list(self._running.values()), {}
            for _, informer, handler in running:
                informer.remove_handler(handler)
                await factory.release(informer)
            if own:
                await factory.stop()

    async def _sync(self, factory: InformerFactory) -> None:
        self._generation = self._catalog.generation
        wanted = garbage_collected(self._catalog.current)
        for key, (monitored, informer, handler) in list(self._running.items()):
            if wanted.get(key) != monitored:
                del self._running[key]
                informer.remove_handler(handler)
                await factory.release(informer)
                logger.info("gc_monitor_stopped", extra={"resource": f"{key[1]}.{key[0]}"})
        for key, monitored in wanted.items():
            if key in self._running:
                continue
            informer = factory.acquire(monitored.resource, metadata_only=True)
            handler = self._bound(monitored)
            self._running[key] = (monitored, informer, handler)
            informer.add_handler(handler)

    def _bound(self, monitored: Monitored) -> Callable[[str, JSONDict], None]:
        def handle(event_type: str, obj: JSONDict) -> None:
            self._handler(monitored, event_type, obj)
        return handle

    def spec_for(self, api_version: str, kind: str) -> ResourceSpec | None:
        """The served resource of an owner reference's apiVersion and kind, or None (not served)."""
        group, version = split_api_version(api_version)
        return self._catalog.current.by_kind(group, version, kind)
