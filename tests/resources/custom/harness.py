"""Custom resources in memory: the resource endpoints over a CatalogHolder that CRD serving keeps current."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from apiserver.admission.chain import DEFAULT_PLUGINS, build_admission_chain
from apiserver.endpoints.resources import ResourceEndpoints, ResourceServer
from apiserver.registry.catalog import CatalogHolder, ResourceCatalog, builtin_specs
from apiserver.registry.stores import Registry
from apiserver.server.assembly import AdmissionContext
from apiserver.server.bootstrap import SystemNamespacesHook
from apiserver.server.crd_serving import CustomResourceServing
from apiserver.storage.memory.backend import MemoryStorage
from tests.support.resource_app import Answer, ResourceApp, fixed_clock

CRDS_PATH = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"


class CustomApp(ResourceApp):
    """A ResourceApp whose catalog follows the CRDs it is given."""

    def __init__(self, app: ResourceEndpoints, registry: Registry, storage: MemoryStorage, holder: CatalogHolder,
                 serving: CustomResourceServing) -> None:
        super().__init__(app, registry, storage)
        self.holder = holder
        self.serving = serving

    async def install(self, crd: dict[str, Any]) -> Answer:
        """Create a CRD, give it the status the naming and establishing controllers would, wait until served."""
        created = await self.request("POST", CRDS_PATH, crd)
        assert created.status == 201, created.body
        status = dict(crd.get("status") or {})
        body = {**created.json(), "status": status}
        updated = await self.request("PUT", f"{CRDS_PATH}/{crd['metadata']['name']}/status", body)
        assert updated.status == 200, updated.body
        await self.wait_served(crd["metadata"]["name"], served=bool(status))
        return updated

    async def wait_served(self, name: str, *, served: bool = True, timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout):
            while self.serving.is_serving(name) != served:
                await asyncio.sleep(0.01)


@asynccontextmanager
async def custom_app() -> AsyncIterator[CustomApp]:
    storage = MemoryStorage()
    catalog = ResourceCatalog(builtin_specs())
    holder = CatalogHolder(catalog)
    registry = Registry(catalog, storage, clock=fixed_clock, read_only_objects=True)
    await registry.start()
    serving = CustomResourceServing(holder, lambda: registry)
    try:
        await registry.wait_ready(10)
        await SystemNamespacesHook(lambda: registry).start(storage)
        context = AdmissionContext(lambda: registry, registry.is_ready, _allow_everything)
        server = ResourceServer(catalog=holder, registry=lambda: registry,
                                admission=build_admission_chain(DEFAULT_PLUGINS, context), clock=fixed_clock,
                                stopping=asyncio.Event())
        await serving.start()
        yield CustomApp(ResourceEndpoints(server), registry, storage, holder, serving)
    finally:
        await serving.stop()
        await registry.stop()
        await storage.close()


async def _allow_everything(user: object, spec: Any) -> dict[str, Any]:
    return {"allowed": True}
