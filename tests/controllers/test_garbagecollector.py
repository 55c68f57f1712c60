"""The garbage collector in a started server, observed through the API: owners absent, present, deleted in each
propagation mode, in the wrong scope, and in a cycle."""
from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from apiserver.client.client import ApiClient, Resource
from apiserver.client.transports import InProcessTransport
from apiserver.meta.errors import NotFound
from tests.controllers.test_namespace_lifecycle import gone
from tests.controllers.test_serviceaccounts import ADMIN, NAMESPACES, eventually
from tests.server.security_harness import in_memory_server

JSONDict = dict[str, Any]
CONFIG_MAPS = Resource("", "v1", "configmaps")
SECRETS = Resource("", "v1", "secrets")
CLUSTER_ROLES = Resource("rbac.authorization.k8s.io", "v1", "clusterroles", namespaced=False)
REPLICA_SETS = Resource("apps", "v1", "replicasets")
REPLICA_SET = {"metadata": {"name": "web"}, "spec": {
    "replicas": 0, "selector": {"matchLabels": {"app": "web"}},
    "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "nginx"}]}}}}
HOLD = "example.com/hold"


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[ApiClient]:
    async with in_memory_server(tmp_path) as served:
        yield ApiClient(InProcessTransport(served.server.app, ADMIN))


def reference(owner: JSONDict, **extra: object) -> JSONDict:
    return {"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": owner["metadata"]["name"],
            "uid": owner["metadata"]["uid"], **extra}


async def config_map(client: ApiClient, name: str, *refs: JSONDict, namespace: str = "default",
                     finalizers: tuple[str, ...] = ()) -> JSONDict:
    metadata: JSONDict = {"name": name}
    if refs:
        metadata["ownerReferences"] = list(refs)
    if finalizers:
        metadata["finalizers"] = list(finalizers)
    created = await client.create(CONFIG_MAPS, {"metadata": metadata}, namespace=namespace)
    return {"apiVersion": "v1", "kind": "ConfigMap", **created}


async def deleted(client: ApiClient, resource: Resource, name: str, namespace: str = "default") -> None:
    await eventually(lambda: gone(client, resource, name, namespace))


async def owner_uids(client: ApiClient, name: str, namespace: str = "default") -> list[str]:
    obj = await client.get(CONFIG_MAPS, name, namespace=namespace)
    return [ref["uid"] for ref in obj["metadata"].get("ownerReferences") or []]


async def marker(client: ApiClient) -> None:
    """A dependent of a missing owner, created last and awaited: the collector's FIFO queue has handed out
    everything queued before it, so an object it should have touched by now would show it."""
    owner = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "never-existed", "uid": "missing-uid"}}
    await config_map(client, "marker", reference(owner))
    await deleted(client, CONFIG_MAPS, "marker")


async def test_background_delete_of_a_replicaset_deletes_its_dependents(client: ApiClient) -> None:
    owner = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
             **await client.create(REPLICA_SETS, REPLICA_SET, namespace="default")}
    await config_map(client, "a", reference(owner))
    await client.create(SECRETS, {"metadata": {"name": "b", "ownerReferences": [reference(owner)]}},
                        namespace="default")
    await client.delete(REPLICA_SETS, "web", namespace="default", options={"propagationPolicy": "Background"})
    await deleted(client, CONFIG_MAPS, "a")
    await deleted(client, SECRETS, "b")


async def test_dependent_of_an_owner_that_never_existed_is_deleted(client: ApiClient) -> None:
    owner = await config_map(client, "owner")
    await config_map(client, "kept", reference(owner))
    await config_map(client, "lost", reference(owner, uid="no-such-uid"))
    await deleted(client, CONFIG_MAPS, "lost")
    assert await owner_uids(client, "kept") == [owner["metadata"]["uid"]]


async def test_dangling_reference_is_removed_while_another_owner_lives(client: ApiClient) -> None:
    alive = await config_map(client, "alive")
    doomed = await config_map(client, "doomed")
    await config_map(client, "shared", reference(alive), reference(doomed))
    await client.delete(CONFIG_MAPS, "doomed", namespace="default")

    async def only_alive() -> bool:
        return await owner_uids(client, "shared") == [alive["metadata"]["uid"]]

    await eventually(only_alive)


async def test_owner_recreated_with_the_same_name_does_not_keep_the_dependent(client: ApiClient) -> None:
    first = await config_map(client, "owner")
    await config_map(client, "dependent", reference(first))
    await client.delete(CONFIG_MAPS, "owner", namespace="default", options={"propagationPolicy": "Orphan"})
    await eventually(lambda: gone(client, CONFIG_MAPS, "owner", "default"))
    assert await owner_uids(client, "dependent") == []
    second = await config_map(client, "owner")
    await config_map(client, "stale", reference(first))
    await deleted(client, CONFIG_MAPS, "stale")
    assert (await client.get(CONFIG_MAPS, "owner", namespace="default"))["metadata"]["uid"] == second["metadata"]["uid"]


async def test_foreground_delete_waits_for_blocking_dependents(client: ApiClient) -> None:
    owner = await config_map(client, "owner")
    await config_map(client, "held", reference(owner, blockOwnerDeletion=True), finalizers=(HOLD,))
    await config_map(client, "plain", reference(owner))
    marked = await client.delete(CONFIG_MAPS, "owner", namespace="default",
                                 options={"propagationPolicy": "Foreground"})
    assert marked["metadata"]["finalizers"] == ["foregroundDeletion"]

    async def held_is_deleting() -> bool:
        return bool((await client.get(CONFIG_MAPS, "held", namespace="default"))["metadata"].get("deletionTimestamp"))

    await eventually(held_is_deleting)
    await deleted(client, CONFIG_MAPS, "plain")
    waiting = await client.get(CONFIG_MAPS, "owner", namespace="default")
    assert waiting["metadata"]["finalizers"] == ["foregroundDeletion"]
    await client.patch(CONFIG_MAPS, "held", {"metadata": {"finalizers": None}}, namespace="default")
    await deleted(client, CONFIG_MAPS, "held")
    await deleted(client, CONFIG_MAPS, "owner")


async def test_foreground_delete_without_dependents_completes(client: ApiClient) -> None:
    await config_map(client, "alone")
    await client.delete(CONFIG_MAPS, "alone", namespace="default", options={"propagationPolicy": "Foreground"})
    await deleted(client, CONFIG_MAPS, "alone")


async def test_orphan_delete_keeps_dependents_without_the_reference(client: ApiClient) -> None:
    owner = await config_map(client, "owner")
    other = await config_map(client, "other")
    await config_map(client, "child", reference(owner), reference(other))
    await config_map(client, "only-child", reference(owner))
    marked = await client.delete(CONFIG_MAPS, "owner", namespace="default", options={"propagationPolicy": "Orphan"})
    assert marked["metadata"]["finalizers"] == ["orphan"]
    await deleted(client, CONFIG_MAPS, "owner")
    assert await owner_uids(client, "child") == [other["metadata"]["uid"]]
    assert await owner_uids(client, "only-child") == []


async def test_namespaced_owner_in_another_namespace_counts_as_absent(client: ApiClient) -> None:
    await client.create(NAMESPACES, {"metadata": {"name": "elsewhere"}})
    owner = await config_map(client, "owner", namespace="elsewhere")
    await config_map(client, "misplaced", reference(owner))
    await deleted(client, CONFIG_MAPS, "misplaced")
    assert (await client.get(CONFIG_MAPS, "owner", namespace="elsewhere"))["metadata"]["name"] == "owner"


async def test_cluster_scoped_owner_of_a_namespaced_dependent(client: ApiClient) -> None:
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            **await client.create(CLUSTER_ROLES, {"metadata": {"name": "gc-owner"}})}
    await config_map(client, "owned", reference(role))
    await marker(client)
    assert await owner_uids(client, "owned") == [role["metadata"]["uid"]]
    await client.delete(CLUSTER_ROLES, "gc-owner")
    await deleted(client, CONFIG_MAPS, "owned")


async def test_cluster_scoped_dependent_of_a_namespaced_owner_is_left_alone(client: ApiClient) -> None:
    owner = await config_map(client, "owner")
    await client.create(CLUSTER_ROLES, {"metadata": {"name": "invalid-ref", "ownerReferences": [reference(owner)]}})
    await client.delete(CONFIG_MAPS, "owner", namespace="default")
    await marker(client)
    assert (await client.get(CLUSTER_ROLES, "invalid-ref"))["metadata"]["name"] == "invalid-ref"


async def test_foreground_delete_of_an_ownership_cycle_completes(client: ApiClient) -> None:
    first = await config_map(client, "first")
    second = await config_map(client, "second", reference(first, blockOwnerDeletion=True))
    await client.patch(CONFIG_MAPS, "first", {"metadata": {"ownerReferences": [
        reference(second, blockOwnerDeletion=True)]}}, namespace="default")
    await client.delete(CONFIG_MAPS, "first", namespace="default", options={"propagationPolicy": "Foreground"})
    await deleted(client, CONFIG_MAPS, "first")
    await deleted(client, CONFIG_MAPS, "second")


async def test_owners_are_never_deleted_while_they_exist(client: ApiClient) -> None:
    first = await config_map(client, "first")
    second = await config_map(client, "second", reference(first))
    await client.patch(CONFIG_MAPS, "first", {"metadata": {"ownerReferences": [reference(second)]}},
                       namespace="default")
    await marker(client)
    assert await owner_uids(client, "first") == [second["metadata"]["uid"]]
    assert await owner_uids(client, "second") == [first["metadata"]["uid"]]


async def test_unserved_owner_kind_keeps_the_dependent(client: ApiClient) -> None:
    owner = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "uid": "widget-uid"}}
    await config_map(client, "of-a-widget", reference(owner))
    await marker(client)
    assert await owner_uids(client, "of-a-widget") == ["widget-uid"]
    with pytest.raises(NotFound):
        await client.get(CONFIG_MAPS, "marker", namespace="default")
