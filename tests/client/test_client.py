"""ApiClient over the in-process transport against an assembled server: the filter chain applies."""
from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from apiserver.auth.user import UserInfo
from apiserver.client.client import ApiClient, Resource
from apiserver.client.transports import IN_PROCESS_IDENTITY_KEY, InProcessTransport
from apiserver.meta.errors import AlreadyExists, Forbidden, NotFound
from tests.server.security_harness import in_memory_server

CONFIGMAPS = Resource("", "v1", "configmaps")
NAMESPACES = Resource("", "v1", "namespaces", namespaced=False)
ADMIN = UserInfo("admin", groups=("system:masters",))


async def test_crud_and_errors(tmp_path: Path) -> None:
    async with in_memory_server(tmp_path) as served:
        client = ApiClient(InProcessTransport(served.server.app, ADMIN))
        created = await client.create(CONFIGMAPS, {"metadata": {"name": "a"}, "data": {"k": "v"}},
                                      namespace="default")
        assert created["metadata"]["resourceVersion"]
        with pytest.raises(AlreadyExists, match='configmaps "a" already exists'):
            await client.create(CONFIGMAPS, {"metadata": {"name": "a"}}, namespace="default")
        patched = await client.patch(CONFIGMAPS, "a", {"data": {"k": "w"}}, namespace="default")
        assert patched["data"] == {"k": "w"}
        patched["data"]["x"] = "y"
        updated = await client.update(CONFIGMAPS, patched, namespace="default")
        assert updated["data"] == {"k": "w", "x": "y"}
        # Every namespace also holds the root CA bundle its controller publishes (a moment after start).
        deadline = asyncio.get_running_loop().time() + 10
        while True:
            listed = await client.list(CONFIGMAPS, namespace="default")
            names = [item["metadata"]["name"] for item in listed["items"]]
            if names != ["a"] or asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.02)
        assert names == ["a", "kube-root-ca.crt"]
        await client.delete(CONFIGMAPS, "a", namespace="default")
        with pytest.raises(NotFound):
            await client.get(CONFIGMAPS, "a", namespace="default")


async def test_identity_is_authorized_by_rbac(tmp_path: Path) -> None:
    async with in_memory_server(tmp_path) as served:
        client = ApiClient(InProcessTransport(served.server.app, UserInfo("jane", groups=("devs",))))
        with pytest.raises(Forbidden, match='User "jane" cannot list resource "configmaps"'):
            await client.list(CONFIGMAPS, namespace="default")


async def test_network_requests_cannot_claim_an_in_process_identity(tmp_path: Path) -> None:
    async with in_memory_server(tmp_path) as served:
        # What a TLS layer could at most carry: plain data under the key, never an InProcessIdentity object.
        answer = await served.request("GET", "/api/v1/namespaces/default/configmaps", user=None,
                                      headers=[("x-remote-user", "admin")])
        assert answer.status == 403
        assert IN_PROCESS_IDENTITY_KEY not in answer.body.decode()


async def test_watch_streams_events(tmp_path: Path) -> None:
    async with in_memory_server(tmp_path) as served:
        client = ApiClient(InProcessTransport(served.server.app, ADMIN))
        listed = await client.list(CONFIGMAPS, namespace="default")
        seen: list[tuple[str, str]] = []

        async def follow() -> None:
            async for kind, obj in client.watch(CONFIGMAPS, namespace="default",
                                                resource_version=listed["metadata"]["resourceVersion"]):
                if kind != "BOOKMARK" and obj["metadata"]["name"] != "kube-root-ca.crt":  # published meanwhile
                    seen.append((kind, obj["metadata"]["name"]))
                if len(seen) == 2:
                    return

        task = asyncio.create_task(follow())
        await client.create(CONFIGMAPS, {"metadata": {"name": "one"}}, namespace="default")
        await client.delete(CONFIGMAPS, "one", namespace="default")
        await asyncio.wait_for(task, 10)
        assert seen == [("ADDED", "one"), ("DELETED", "one")]


async def test_names_with_colons_and_repeated_warning_headers(tmp_path: Path) -> None:
    """The transport gives the app a decoded path (ASGI) and keeps every Warning header of an answer."""
    async with in_memory_server(tmp_path) as served:
        transport = InProcessTransport(served.server.app, ADMIN)
        client = ApiClient(transport)
        role = await client.get(Resource("rbac.authorization.k8s.io", "v1", "clusterroles", namespaced=False),
                                "system:aggregate-to-view")
        assert role["metadata"]["name"] == "system:aggregate-to-view"
        body = (b'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"w"},'
                b'"data":{"a":"1"},"unknownOne":1,"unknownTwo":2}')
        answer = await transport.request("POST", "/api/v1/namespaces/default/configmaps",
                                         query="fieldValidation=Warn", body=body)
        assert answer.status == 201, answer.body
        warnings = answer.header_values("warning")
        assert len(warnings) == 2 and all("unknown field" in warning for warning in warnings)
