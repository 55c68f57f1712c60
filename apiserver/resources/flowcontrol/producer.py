"""The APF configuration producer and the cached view the filter classifies with.

`ConfigurationProducer` (a server runner) writes the bootstrap objects of bootstrap.py through the registry's
stores when the server starts and again every `interval`, as upstream's configuration producer keeps them
(create what is missing; put back the spec of objects annotated `apf.kubernetes.io/autoupdate-spec: "true"`),
and sets each FlowSchema's `Dangling` status condition as upstream's APF controller does (here once a round).
`CachedFlowControlObjects` hands the filter the FlowSchemas and PriorityLevelConfigurations from the watch
caches, keyed by the caches' revisions, so a request never reads storage to be classified.
"""
from __future__ import annotations

import asyncio
import copy
import json
import logging
from collections.abc import Callable, Sequence

from apiserver.meta.errors import AlreadyExists, ApiError, Conflict, NotFound
from apiserver.meta.objects import JSONDict, now_time
from apiserver.meta.tasks import cancel_and_wait
from apiserver.registry.context import ListOptions, RequestContext
from apiserver.registry.store import ResourceStore
from apiserver.registry.stores import Registry
from apiserver.resources.flowcontrol.bootstrap import FLOW_SCHEMAS, GROUP, PRIORITY_LEVELS, wants_spec_update
from apiserver.storage.errors import StorageError

logger = logging.getLogger(__name__)

PRODUCER_INTERVAL = 60.0
PLURALS = ("prioritylevelconfigurations", "flowschemas")


def _store(registry: Registry, plural: str) -> ResourceStore | None:
    store = registry.store_for(GROUP, "v1", plural)
    return store if isinstance(store, ResourceStore) else None


async def ensure_objects(store: ResourceStore, objects: Sequence[JSONDict]) -> list[str]:
    """Create each missing object and restore auto-updated specs; the names written, in order."""
    written: list[str] = []
    context = RequestContext(namespace="")
    for wanted in objects:
        name = wanted["metadata"]["name"]
        try:
            stored = (await store.get("", name)).obj
        except NotFound:
            try:
                await store.create("", copy.deepcopy(wanted), context)
            except AlreadyExists:
                continue
            written.append(name)
            continue
        if wants_spec_update(stored, wanted):
            changed = copy.deepcopy(stored)
            changed["spec"] = copy.deepcopy(wanted["spec"])
            try:
                await store.update("", name, changed, context)
            except (Conflict, NotFound):
                continue  # changed meanwhile: the next round looks again
            written.append(name)
    return written


def dangling_condition(schema: JSONDict, levels: set[str], now: str) -> JSONDict:
    """The `Dangling` condition upstream's APF controller keeps on a FlowSchema: True when the priority level
    the schema names does not exist."""
    name = str((schema.get("spec") or {}).get("priorityLevelConfiguration", {}).get("name", ""))
    found = name in levels
    return {"type": "Dangling", "status": "False" if found else "True", "lastTransitionTime": now,
            "reason": "Found" if found else "NotFound",
            "message": f"This FlowSchema references the PriorityLevelConfiguration object named {json.dumps(name)} "
                       + ("and it exists" if found else "but there is no such object")}


async def update_dangling_conditions(registry: Registry) -> list[str]:
    """Write the `Dangling` condition of every FlowSchema whose condition status is missing or changed."""
    schemas, levels = _store(registry, "flowschemas"), _store(registry, "prioritylevelconfigurations")
    if schemas is None or levels is None:
        return []
    level_names = {item.obj["metadata"]["name"] for item in (await levels.list("", ListOptions())).items}
    written: list[str] = []
    for item in (await schemas.list("", ListOptions())).items:
        schema = item.obj
        wanted = dangling_condition(schema, level_names, now_time())
        conditions = (schema.get("status") or {}).get("conditions") or []
        current = next((condition for condition in conditions if condition.get("type") == "Dangling"), None)
        if current is not None and (current.get("status"), current.get("message")) == (
                wanted["status"], wanted["message"]):
            continue
        changed = copy.deepcopy(schema)
        changed["status"] = {"conditions": [*(c for c in conditions if c.get("type") != "Dangling"), wanted]}
        try:
            await schemas.update("", schema["metadata"]["name"], changed, RequestContext(namespace=""),
                                 subresource="status")
        except (Conflict, NotFound):
            continue
        written.append(schema["metadata"]["name"])
    return written


async def ensure_configuration(registry: Registry) -> list[str]:
    """Every bootstrap PriorityLevelConfiguration, then every FlowSchema (so no schema dangles meanwhile)."""
    written: list[str] = []
    for plural, objects in zip(PLURALS, (PRIORITY_LEVELS, FLOW_SCHEMAS), strict=True):
        store = _store(registry, plural)
        if store is not None:
            written += await ensure_objects(store, objects)
    return written


class ConfigurationProducer:
    """Server runner: `ensure_configuration` at start, then every `interval` seconds until stopped."""

    def __init__(self, registry: Callable[[], Registry], *, interval: float = PRODUCER_INTERVAL) -> None:
        self._registry = registry
        self._interval = interval
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._round()
        self._task = asyncio.create_task(self._run(), name="apf-configuration-producer")

    async def _round(self) -> None:
        try:
            if written := await ensure_configuration(self._registry()):
                logger.info("apf_configuration_written", extra={"objects": written})
            await update_dangling_conditions(self._registry())
        except (ApiError, StorageError) as error:
            logger.warning("apf_configuration_failed", extra={"error": str(error)})

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            await self._round()

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task, quiet=True)


class CachedFlowControlObjects:
    """The stored FlowSchemas and PriorityLevelConfigurations, from the watch caches (filters/flowcontrol.py's
    FlowControlObjects). `snapshot()` is None while the registry or either cache is not serving."""

    def __init__(self, registry: Callable[[], Registry]) -> None:
        self._registry = registry

    def snapshot(self) -> tuple[object, Sequence[JSONDict], Sequence[JSONDict]] | None:
        """(version, flow schemas, priority levels); the version changes only when an object does."""
        try:
            registry = self._registry()
        except ApiError:
            return None
        versions: list[tuple[tuple[str, int], ...]] = []
        found: list[list[JSONDict]] = []
        for plural in PLURALS:
            store = _store(registry, plural)
            cache = None if store is None else registry.cache_for(store.spec.storage_path)
            if store is None or cache is None or not cache.is_ready():
                return None
            start = store.key("", "")
            try:
                page = cache.list(start=start, end=start[:-1] + chr(ord("/") + 1))
            except StorageError:
                return None
            items = [entry for entry in page.items if entry.decoded is not None]
            versions.append(tuple((entry.key, entry.revision) for entry in items))
            found.append([entry.decoded.obj for entry in items if entry.decoded is not None])
        return tuple(versions), found[1], found[0]

    def revision(self) -> object | None:
        """A key that changes whenever either cache changes (cheap; no list); None while not serving."""
        try:
            registry = self._registry()
        except ApiError:
            return None
        key: list[tuple[int, int]] = []
        for plural in PLURALS:
            store = _store(registry, plural)
            cache = None if store is None else registry.cache_for(store.spec.storage_path)
            if store is None or cache is None or not cache.is_ready():
                return None
            key.append((id(cache), cache.generation))
        return tuple(key)
