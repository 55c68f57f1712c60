"""The garbage collector's monitors follow the catalog: which resources are watched, and resources that arrive
or leave while it runs."""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from apiserver.auth.user import UserInfo
from apiserver.client.client import ApiClient
from apiserver.client.transports import InProcessTransport
from apiserver.controllers.garbagecollector_monitors import Monitored, Monitors, garbage_collected
from apiserver.registry.catalog import CatalogHolder, ResourceCatalog, builtin_specs
from tests.controllers.test_serviceaccounts import ADMIN, eventually
from tests.server.security_harness import in_memory_server

JSONDict = dict[str, Any]


def test_every_garbage_collected_builtin_is_watched_once_at_its_preferred_version() -> None:
    chosen = garbage_collected(ResourceCatalog(builtin_specs()))
    assert chosen[("apps", "replicasets")].api_version == "apps/v1"
    assert chosen[("", "configmaps")].kind == "ConfigMap"
    assert chosen[("", "namespaces")].resource.namespaced is False
    assert chosen[("autoscaling", "horizontalpodautoscalers")].api_version == "autoscaling/v2"
    for ignored in (("", "events"), ("events.k8s.io", "events"), ("authentication.k8s.io", "tokenreviews"),
                    ("", "bindings"), ("", "componentstatuses")):
        assert ignored not in chosen


async def test_monitors_start_and_stop_with_the_catalog(tmp_path: Path) -> None:
    full = ResourceCatalog(builtin_specs())
    holder = CatalogHolder(full.without("apps"))
    seen: list[tuple[str, str]] = []

    def handle(monitored: Monitored, event_type: str, obj: JSONDict) -> None:
        seen.append((monitored.resource.plural, event_type))

    async with in_memory_server(tmp_path) as served:
        client = ApiClient(InProcessTransport(served.server.app, UserInfo(ADMIN.name, groups=ADMIN.groups)))
        monitors = Monitors(client, holder, handle, poll_seconds=0.01)
        task = asyncio.create_task(monitors.run())
        try:
            await asyncio.wait_for(monitors.wait_synced(), 10)
            assert ("apps", "replicasets") not in {m.key for m in monitors.monitored()}
            assert monitors.spec_for("apps/v1", "ReplicaSet") is None
            holder.replace(full)

            async def watching_replicasets() -> bool:
                return ("apps", "replicasets") in {m.key for m in monitors.monitored()}

            await eventually(watching_replicasets)
            assert monitors.spec_for("apps/v1", "ReplicaSet") is not None
            holder.replace(full.without("apps"))

            async def stopped() -> bool:
                return not await watching_replicasets()

            await eventually(stopped)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    assert ("configmaps", "ADDED") in seen
