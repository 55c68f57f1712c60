"""Authorization of binding and eviction in an assembled server: RBAC sees `pods/binding`, `bindings` and
`pods/eviction`, as kube-scheduler's and kubectl drain's roles name them."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from tests.server.security_harness import InMemoryServer, in_memory_server

pytestmark = pytest.mark.asyncio(loop_scope="module")
PODS = "/api/v1/namespaces/default/pods"
ROLES = "/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles"
ROLE_BINDINGS = "/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def served(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[InMemoryServer]:
    async with in_memory_server(tmp_path_factory.mktemp("binding-rbac")) as server:
        yield server


async def admin(served: InMemoryServer, method: str, path: str, body: Any = None) -> Any:
    answer = await served.request(method, path, body=body)
    assert answer.status < 300, answer.body
    return answer.json


async def make_pod(served: InMemoryServer, name: str) -> None:
    deadline = asyncio.get_running_loop().time() + 10
    while True:  # pods are admitted once the namespace's default ServiceAccount exists
        answer = await served.request("POST", PODS, body={
            "metadata": {"name": name}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}})
        if answer.status == 201 or asyncio.get_running_loop().time() > deadline:
            assert answer.status == 201, answer.body
            return
        await asyncio.sleep(0.05)


async def grant(served: InMemoryServer, user: str, resources: list[str]) -> None:
    await admin(served, "POST", ROLES, {"metadata": {"name": user}, "rules": [
        {"apiGroups": [""], "resources": resources, "verbs": ["create"]}]})
    await admin(served, "POST", ROLE_BINDINGS, {
        "metadata": {"name": user}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": user},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}]})


async def until_status(served: InMemoryServer, status: int, method: str, path: str, body: Any, user: str) -> Any:
    """The answer once it has `status` (authorization reads the watch caches, a moment behind the grant)."""
    deadline = asyncio.get_running_loop().time() + 5
    while True:
        answer = await served.request(method, path, body=body, user=user, groups=())
        if answer.status == status or asyncio.get_running_loop().time() > deadline:
            assert answer.status == status, answer.body
            return answer
        await asyncio.sleep(0.05)


def binding(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": name}, "target": {"kind": "Node", "name": "n1"}}


def eviction(name: str) -> dict[str, Any]:
    return {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name}}


async def test_binding_needs_create_on_pods_binding(served: InMemoryServer) -> None:
    await make_pod(served, "bind-me")
    answer = await served.request("POST", f"{PODS}/bind-me/binding", body=binding("bind-me"), user="sched", groups=())
    assert (answer.status, answer.json["message"]) == (403, (
        'pods "bind-me" is forbidden: User "sched" cannot create resource "pods/binding" in API group "" in the '
        'namespace "default"'))
    await grant(served, "sched", ["pods/binding"])
    await until_status(served, 201, "POST", f"{PODS}/bind-me/binding", binding("bind-me"), "sched")


async def test_legacy_bindings_need_create_on_bindings(served: InMemoryServer) -> None:
    await make_pod(served, "legacy")
    answer = await served.request("POST", "/api/v1/namespaces/default/bindings", body=binding("legacy"),
                                  user="old-sched", groups=())
    assert (answer.status, answer.json["message"]) == (403, (
        'bindings is forbidden: User "old-sched" cannot create resource "bindings" in API group "" in the '
        'namespace "default"'))
    await grant(served, "old-sched", ["bindings"])
    await until_status(served, 201, "POST", "/api/v1/namespaces/default/bindings", binding("legacy"), "old-sched")
    pod = await admin(served, "GET", f"{PODS}/legacy")
    assert pod["spec"]["nodeName"] == "n1"


async def test_eviction_needs_create_on_pods_eviction(served: InMemoryServer) -> None:
    await make_pod(served, "evict-me")
    answer = await served.request("POST", f"{PODS}/evict-me/eviction", body=eviction("evict-me"), user="drainer",
                                  groups=())
    assert answer.status == 403
    await grant(served, "drainer", ["pods/eviction"])
    await until_status(served, 201, "POST", f"{PODS}/evict-me/eviction", eviction("evict-me"), "drainer")
