"""The namespace controller in a started server: deleting a namespace empties it, then removes it."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from apiserver.client.client import ApiClient, Resource
from apiserver.client.transports import InProcessTransport
from apiserver.meta.errors import NotFound
from tests.controllers.test_serviceaccounts import ADMIN, NAMESPACES, eventually
from tests.server.security_harness import in_memory_server

CONFIG_MAPS = Resource("", "v1", "configmaps")
DEPLOYMENTS = Resource("apps", "v1", "deployments")
DEPLOYMENT = {"metadata": {"name": "web"}, "spec": {
    "selector": {"matchLabels": {"app": "web"}},
    "template": {"metadata": {"labels": {"app": "web"}},
                 "spec": {"containers": [{"name": "web", "image": "nginx"}]}}}}


async def gone(client: ApiClient, resource: Resource, name: str, namespace: str = "") -> bool:
    try:
        await client.get(resource, name, namespace=namespace)
    except NotFound:
        return True
    return False


async def test_deleting_a_namespace_deletes_its_content_then_the_namespace(tmp_path: Path) -> None:
    async with in_memory_server(tmp_path) as served:
        client = ApiClient(InProcessTransport(served.server.app, ADMIN))
        await client.create(NAMESPACES, {"metadata": {"name": "doomed"}})
        await client.create(CONFIG_MAPS, {"metadata": {"name": "settings"}, "data": {"a": "b"}}, namespace="doomed")
        await client.create(DEPLOYMENTS, DEPLOYMENT, namespace="doomed")
        await client.create(NAMESPACES, {"metadata": {"name": "kept"}})
        await client.create(CONFIG_MAPS, {"metadata": {"name": "settings"}}, namespace="kept")
        marked = await client.delete(NAMESPACES, "doomed")
        assert marked["status"]["phase"] == "Terminating"
        await eventually(lambda: gone(client, NAMESPACES, "doomed"))
        assert await gone(client, CONFIG_MAPS, "settings", "doomed")
        assert await gone(client, DEPLOYMENTS, "web", "doomed")
        assert (await client.get(CONFIG_MAPS, "settings", namespace="kept"))["metadata"]["name"] == "settings"
        assert (await client.get(NAMESPACES, "kept"))["status"]["phase"] == "Active"


async def test_content_with_a_finalizer_keeps_the_namespace_terminating_until_it_goes(tmp_path: Path) -> None:
    async with in_memory_server(tmp_path) as served:
        client = ApiClient(InProcessTransport(served.server.app, ADMIN))
        await client.create(NAMESPACES, {"metadata": {"name": "held"}})
        await client.create(CONFIG_MAPS, {"metadata": {"name": "pinned", "finalizers": ["example.com/hold"]}},
                            namespace="held")
        await client.delete(NAMESPACES, "held")

        async def reports_remaining() -> dict[str, Any] | None:
            namespace = await client.get(NAMESPACES, "held")
            conditions = {c["type"]: c for c in (namespace.get("status") or {}).get("conditions") or []}
            remaining = conditions.get("NamespaceContentRemaining")
            return conditions if remaining and remaining["status"] == "True" else None

        conditions = await eventually(reports_remaining)
        assert conditions["NamespaceContentRemaining"]["reason"] == "SomeResourcesRemain"
        assert conditions["NamespaceContentRemaining"]["message"] == (
            "Some resources are remaining: configmaps. has 1 resource instances")
        assert conditions["NamespaceFinalizersRemaining"]["message"] == (
            "Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances")
        assert conditions["NamespaceDeletionDiscoveryFailure"]["status"] == "False"
        namespace = await client.get(NAMESPACES, "held")
        assert namespace["spec"]["finalizers"] == ["kubernetes"]
        await client.patch(CONFIG_MAPS, "pinned", {"metadata": {"finalizers": None}}, namespace="held")
        await eventually(lambda: gone(client, NAMESPACES, "held"))


async def test_finalize_updates_spec_finalizers_but_not_status(tmp_path: Path) -> None:
    async with in_memory_server(tmp_path) as served:
        client = ApiClient(InProcessTransport(served.server.app, ADMIN))
        created = await client.create(NAMESPACES, {"metadata": {"name": "plain"}})
        body = {**created, "spec": {"finalizers": ["kubernetes", "example.com/other"]},
                "status": {"phase": "Terminating"}}
        finalized = await client.update(NAMESPACES, body, subresource="finalize")
        assert finalized["spec"]["finalizers"] == ["kubernetes", "example.com/other"]
        assert finalized["status"]["phase"] == "Active"
        answer = await served.request("GET", "/api/v1/namespaces/plain/finalize")
        assert answer.status == 405


async def test_finalizing_a_terminating_namespace_by_hand_removes_it(tmp_path: Path) -> None:
    async with in_memory_server(tmp_path) as served:
        client = ApiClient(InProcessTransport(served.server.app, ADMIN))
        await client.create(NAMESPACES, {"metadata": {"name": "stuck"}})
        await client.create(CONFIG_MAPS, {"metadata": {"name": "pinned", "finalizers": ["example.com/hold"]}},
                            namespace="stuck")
        marked = await client.delete(NAMESPACES, "stuck")
        finalized = await client.update(NAMESPACES, {**marked, "spec": {"finalizers": []}}, subresource="finalize")
        assert finalized["spec"]["finalizers"] == []
        await eventually(lambda: gone(client, NAMESPACES, "stuck"))
