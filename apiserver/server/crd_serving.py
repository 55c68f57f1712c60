"""Serving custom resources: follow the CustomResourceDefinitions and swap the catalog as they change.

A lifecycle runner, started before the controllers (once the post-start hooks are done and the caches have
caught up): it lists the CRDs through the registry's CRD store, serves every accepted one before it returns (so
custom resources are served again as soon as a restarted server reports started; upstream's readiness check for
this is `poststarthook/crd-informer-synced`), then follows the CRD watch. For each CRD it keeps the
specs it published: when the CRD becomes Established, or changes its versions, names, schema, subresources or
columns, the new specs join the registry (`Registry.add`, which starts a watch cache for a new storage path)
and then the catalog (`CatalogHolder.update`, atomically, so routing and discovery switch together); specs it
no longer has leave the catalog first and the registry after. A CRD that is deleted stops being served; its
cleanup (deleting its objects) is the `crd_cleanup` controller's job and happens before, while the CRD is
Terminating and still served (creates are refused then).

A custom resource never displaces a built-in resource, or another CRD's, with the same group, version and
plural (upstream's CR handler only sees requests the built-in handlers did not take).
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import orjson

from apiserver.meta.errors import ApiError
from apiserver.meta.objects import JSONDict
from apiserver.meta.tasks import cancel_and_wait
from apiserver.registry.catalog import CatalogHolder, ResourceCatalog
from apiserver.registry.context import ListOptions
from apiserver.registry.spec import ResourceSpec
from apiserver.registry.store import ResourceStore
from apiserver.registry.stores import Registry
from apiserver.resources.apiextensions.crd_specs import (
    ESTABLISHED,
    NAMES_ACCEPTED,
    condition_is_true,
    specs_from_crd,
)

logger = logging.getLogger(__name__)

CRD_RESOURCE: Final = ("apiextensions.k8s.io", "v1", "customresourcedefinitions")
RETRY_SECONDS: Final = 1.0
CACHE_READY_SECONDS: Final = 10.0
ResourceKey = tuple[str, str, str]
WebhookConverterFactory = Callable[[Mapping[str, Any]], Any]
"""Makes a CRD's conversion webhook client (resources/apiextensions/crd_conversion.WebhookConverter)."""


@dataclass(frozen=True, slots=True)
class _Served:
    """What one CRD publishes: a fingerprint of what its specs were built from, and the specs."""

    fingerprint: bytes
    specs: tuple[ResourceSpec, ...]


def _fingerprint(crd: Mapping[str, Any]) -> bytes:
    status = crd.get("status") or {}
    conditions = sorted((str(condition.get("type")), str(condition.get("status")))
                        for condition in status.get("conditions") or ())
    relevant = {"uid": (crd.get("metadata") or {}).get("uid"), "spec": crd.get("spec"),
                "acceptedNames": status.get("acceptedNames"), "conditions": conditions}
    return orjson.dumps(relevant, option=orjson.OPT_SORT_KEYS)


def served_specs(crd: Mapping[str, Any], webhook_converter: WebhookConverterFactory | None = None
                 ) -> tuple[ResourceSpec, ...]:
    """The specs a CRD serves now: none until its names are accepted or it is Established (upstream's CR handler
    serves on either, so the establishing controller sees it served when it sets Established), or when it cannot
    be served."""
    if not (condition_is_true(crd, NAMES_ACCEPTED) or condition_is_true(crd, ESTABLISHED)):
        return ()
    try:
        return specs_from_crd(crd, webhook_converter=webhook_converter)
    except (ValueError, TypeError, KeyError, AttributeError) as error:  # a CRD its validation should have refused
        logger.warning("crd_not_served", extra={"crd": (crd.get("metadata") or {}).get("name"), "error": str(error)})
        return ()


class CustomResourceServing:
    """The runner that serves custom resources (see the module docstring)."""

    def __init__(self, holder: CatalogHolder, registry: Callable[[], Registry], *,
                 webhook_converter: WebhookConverterFactory | None = None) -> None:
        self._holder = holder
        self._registry = registry
        self._webhook_converter = webhook_converter
        self._served: dict[str, _Served] = {}
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self.synced = asyncio.Event()

    def _crd_store(self) -> ResourceStore:
        store = self._registry().store_for(*CRD_RESOURCE)
        if not isinstance(store, ResourceStore):
            raise RuntimeError("customresourcedefinitions are not served")
        return store

    async def start(self) -> None:
        revision = await self._relist()
        self.synced.set()
        self._task = asyncio.create_task(self._follow(revision), name="crd-serving")

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)

    async def _relist(self) -> str:
        """Sync every CRD as listed now (forgetting those gone); returns the list's resourceVersion."""
        listed = await self._crd_store().list("", ListOptions())
        crds = {str(item.obj["metadata"]["name"]): item.copy() for item in listed.items}
        for name in [name for name in self._served if name not in crds]:
            await self.sync(name, None)
        for name, crd in crds.items():
            await self.sync(name, crd)
        return listed.resource_version

    async def _follow(self, revision: str) -> None:
        """Apply CRD events for as long as the server runs, re-listing whenever the watch ends."""
        while True:
            try:
                stream = await self._crd_store().watch("", ListOptions(resource_version=revision,
                                                                       send_initial_events=False))
                try:
                    async for event in stream:
                        if event.type in ("ADDED", "MODIFIED", "DELETED"):
                            crd = event.object.copy()  # specs keep parts of it: never share the cache's
                            name = str(crd["metadata"]["name"])
                            await self.sync(name, None if event.type == "DELETED" else crd)
                            revision = str(crd["metadata"].get("resourceVersion") or revision)
                        elif event.type == "ERROR":
                            break
                finally:
                    await stream.aclose()
                revision = await self._relist()
            except (ApiError, RuntimeError) as error:
                logger.warning("crd_watch_failed", extra={"error": str(error)})
                await asyncio.sleep(RETRY_SECONDS)
                try:
                    revision = await self._relist()
                except (ApiError, RuntimeError):
                    continue

    async def sync(self, name: str, crd: JSONDict | None) -> None:
        """Publish what `crd` serves now (None: the CRD is gone), unless nothing it is built from changed."""
        async with self._lock:
            previous = self._served.get(name)
            fingerprint = _fingerprint(crd) if crd is not None else b""
            if previous is not None and previous.fingerprint == fingerprint:
                return
            specs = served_specs(crd, self._webhook_converter) if crd is not None else ()
            specs = self._claimable(specs, previous)
            await self._publish(previous.specs if previous is not None else (), specs)
            if crd is None:
                self._served.pop(name, None)
            else:
                self._served[name] = _Served(fingerprint, specs)

    def _claimable(self, specs: tuple[ResourceSpec, ...], previous: _Served | None) -> tuple[ResourceSpec, ...]:
        """The specs that take no resource or kind served by something else (a built-in or another CRD)."""
        catalog = self._holder.current
        own = {spec.resource_key for spec in previous.specs} if previous is not None else set()
        kept: list[ResourceSpec] = []
        for spec in specs:
            holder_of_resource = catalog.lookup(*spec.resource_key)
            holder_of_kind = catalog.by_kind(spec.group, spec.version, spec.kind)
            taken = [other for other in (holder_of_resource, holder_of_kind)
                     if other is not None and other.resource_key not in own]
            if taken:
                logger.warning("crd_resource_taken", extra={"resource": spec.group_resource, "version": spec.version})
                continue
            kept.append(spec)
        return tuple(kept)

    async def _publish(self, old: tuple[ResourceSpec, ...], new: tuple[ResourceSpec, ...]) -> None:
        registry = self._registry()
        new_keys = {spec.resource_key for spec in new}
        gone = [spec for spec in old if spec.resource_key not in new_keys]
        if gone:
            self._holder.update(lambda catalog: catalog.without_resources(*(spec.resource_key for spec in gone)))
            for spec in gone:
                await registry.remove(spec)
        for spec in new:
            await registry.add(spec)
        await _wait_for_caches(registry, new)
        if new:
            self._holder.update(lambda catalog: _with_specs(catalog, new))
        logger.info("crd_serving_changed", extra={"served": [spec.group_resource + "/" + spec.version
                                                             for spec in new],
                                                  "removed": [spec.group_resource + "/" + spec.version
                                                              for spec in gone]})

    @property
    def served(self) -> Mapping[str, tuple[ResourceSpec, ...]]:
        """The specs each CRD (by name) serves now."""
        return {name: served.specs for name, served in self._served.items()}

    def is_serving(self, name: str) -> bool:
        """Whether the CRD of this name has its versions in the catalog (the establishing controller waits for
        it before it reports the CRD Established)."""
        served = self._served.get(name)
        return served is not None and bool(served.specs)


async def _wait_for_caches(registry: Registry, specs: tuple[ResourceSpec, ...]) -> None:
    """Let new watch caches fill before the catalog routes to them (a watch on an unready cache is a 429)."""
    for path in {spec.storage_path for spec in specs}:
        cache = registry.cache_for(path)
        if cache is None:
            continue
        try:
            async with asyncio.timeout(CACHE_READY_SECONDS):
                await cache.ready.wait()
        except TimeoutError:
            logger.warning("crd_cache_not_ready", extra={"storage_path": path})


def _with_specs(catalog: ResourceCatalog, specs: tuple[ResourceSpec, ...]) -> ResourceCatalog:
    return catalog.with_specs(*specs)
