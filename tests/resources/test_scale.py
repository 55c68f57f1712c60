"""The `scale` subresource of deployments, replica sets, stateful sets and replication controllers.

GET answers an autoscaling/v1 Scale built from the parent; PUT and PATCH change only the parent's spec.replicas
(generation counts it), with resourceVersion preconditions, Scale validation and upstream's NotFound texts.
"""
from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.support.resource_app import ResourceApp, resource_app

NS = "default"
DEPLOYMENTS = f"/apis/apps/v1/namespaces/{NS}/deployments"
MERGE = {"content-type": "application/merge-patch+json"}
STRATEGIC = {"content-type": "application/strategic-merge-patch+json"}
JSON_PATCH = {"content-type": "application/json-patch+json"}


@pytest.fixture
async def api() -> AsyncIterator[ResourceApp]:
    async with resource_app() as app:
        yield app


def template(labels: dict[str, str]) -> dict[str, Any]:
    return {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}


def deployment(name: str = "web", replicas: int = 2) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": template({"app": name})}}


PARENTS = {
    "deployments": (DEPLOYMENTS, deployment("web"), "app=web"),
    "replicasets": (f"/apis/apps/v1/namespaces/{NS}/replicasets",
                    {"metadata": {"name": "web"}, "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                                                           "template": template({"app": "web"})}}, "app=web"),
    "statefulsets": (f"/apis/apps/v1/namespaces/{NS}/statefulsets",
                     {"metadata": {"name": "web"}, "spec": {"replicas": 2, "serviceName": "web",
                                                            "selector": {"matchLabels": {"app": "web"}},
                                                            "template": template({"app": "web"})}}, "app=web"),
    "replicationcontrollers": (f"/api/v1/namespaces/{NS}/replicationcontrollers",
                               {"metadata": {"name": "web"},
                                "spec": {"replicas": 2, "template": template({"app": "web", "tier": "a"})}},
                               "app=web,tier=a"),
}


async def create(api: ResourceApp, collection: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = await api.request("POST", collection, body)
    assert answer.status == 201, answer.json()
    created: dict[str, Any] = answer.json()
    return created


@pytest.mark.parametrize("plural", list(PARENTS), ids=list(PARENTS))
async def test_get_scale_answers_the_parents_scale(api: ResourceApp, plural: str) -> None:
    collection, body, selector = PARENTS[plural]
    parent = await create(api, collection, body)
    answer = await api.request("GET", f"{collection}/web/scale")
    assert answer.status == 200
    meta = parent["metadata"]
    assert answer.json() == {
        "kind": "Scale", "apiVersion": "autoscaling/v1",
        "metadata": {"name": "web", "namespace": NS, "uid": meta["uid"], "resourceVersion": meta["resourceVersion"],
                     "creationTimestamp": meta["creationTimestamp"]},
        "spec": {"replicas": 2}, "status": {"replicas": 0, "selector": selector},
    }


@pytest.mark.parametrize("plural", list(PARENTS), ids=list(PARENTS))
async def test_put_scale_changes_only_the_parents_replicas(api: ResourceApp, plural: str) -> None:
    collection, body, _ = PARENTS[plural]
    parent = await create(api, collection, body)
    scale = (await api.request("GET", f"{collection}/web/scale")).json()
    scale["spec"]["replicas"] = 5
    answer = await api.request("PUT", f"{collection}/web/scale", scale)
    assert answer.status == 200, answer.json()
    assert answer.json()["spec"] == {"replicas": 5}
    after = (await api.request("GET", f"{collection}/web")).json()
    assert after["spec"] == {**parent["spec"], "replicas": 5}
    assert after["metadata"]["generation"] == 2
    assert after["metadata"]["resourceVersion"] == answer.json()["metadata"]["resourceVersion"]


@pytest.mark.parametrize("headers", [MERGE, STRATEGIC], ids=["merge", "strategic"])
async def test_patch_scale_sets_replicas(api: ResourceApp, headers: dict[str, str]) -> None:
    await create(api, DEPLOYMENTS, deployment())
    answer = await api.request("PATCH", f"{DEPLOYMENTS}/web/scale", {"spec": {"replicas": 0}}, headers=headers)
    assert answer.status == 200, answer.json()
    assert answer.json()["spec"] == {}
    after = (await api.request("GET", f"{DEPLOYMENTS}/web")).json()
    assert after["spec"]["replicas"] == 0


async def test_json_patch_scale_sets_replicas(api: ResourceApp) -> None:
    await create(api, DEPLOYMENTS, deployment())
    patch = [{"op": "replace", "path": "/spec/replicas", "value": 7}]
    answer = await api.request("PATCH", f"{DEPLOYMENTS}/web/scale", patch, headers=JSON_PATCH)
    assert answer.status == 200, answer.json()
    assert (await api.request("GET", f"{DEPLOYMENTS}/web")).json()["spec"]["replicas"] == 7


async def test_negative_replicas_are_invalid_and_change_nothing(api: ResourceApp) -> None:
    parent = await create(api, DEPLOYMENTS, deployment())
    answer = await api.request("PATCH", f"{DEPLOYMENTS}/web/scale", {"spec": {"replicas": -1}}, headers=MERGE)
    assert answer.status == 422
    status = answer.json()
    assert status["message"] == (
        'Scale.autoscaling "web" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0'
    )
    assert status["details"] == {"name": "web", "group": "autoscaling", "kind": "Scale", "causes": [
        {"reason": "FieldValueInvalid", "message": "Invalid value: -1: must be greater than or equal to 0",
         "field": "spec.replicas"}]}
    assert (await api.request("GET", f"{DEPLOYMENTS}/web")).json() == parent


async def test_stale_resource_version_conflicts(api: ResourceApp) -> None:
    await create(api, DEPLOYMENTS, deployment())
    scale = (await api.request("GET", f"{DEPLOYMENTS}/web/scale")).json()
    await api.request("PATCH", f"{DEPLOYMENTS}/web", {"metadata": {"labels": {"x": "y"}}}, headers=MERGE)
    scale["spec"]["replicas"] = 4
    answer = await api.request("PUT", f"{DEPLOYMENTS}/web/scale", scale)
    assert answer.status == 409
    assert answer.json()["message"] == (
        'Operation cannot be fulfilled on deployments.apps "web": the object has been modified; please apply your '
        "changes to the latest version and try again"
    )
    assert (await api.request("GET", f"{DEPLOYMENTS}/web")).json()["spec"]["replicas"] == 2


async def test_put_without_resource_version_is_unconditional(api: ResourceApp) -> None:
    await create(api, DEPLOYMENTS, deployment())
    body = {"apiVersion": "autoscaling/v1", "kind": "Scale", "metadata": {"name": "web"}, "spec": {"replicas": 3}}
    answer = await api.request("PUT", f"{DEPLOYMENTS}/web/scale", body)
    assert answer.status == 200, answer.json()
    assert answer.json()["spec"] == {"replicas": 3}


@pytest.mark.parametrize(
    ("method", "path", "message"),
    [
        ("GET", f"{DEPLOYMENTS}/none/scale", 'deployments/scale.apps "none" not found'),
        ("PATCH", f"{DEPLOYMENTS}/none/scale", 'deployments.apps "none" not found'),
        ("GET", f"/api/v1/namespaces/{NS}/replicationcontrollers/none/scale",
         'replicationcontrollers/scale "none" not found'),
    ],
    ids=["get", "patch", "get-rc"],
)
async def test_missing_parent_is_not_found(api: ResourceApp, method: str, path: str, message: str) -> None:
    body = {"spec": {"replicas": 1}} if method == "PATCH" else b""
    answer = await api.request(method, path, body, headers=MERGE if method == "PATCH" else None)
    assert answer.status == 404
    assert answer.json()["message"] == message
    assert answer.json()["reason"] == "NotFound"


async def test_scale_of_a_resource_without_it_is_404(api: ResourceApp) -> None:
    await create(api, "/api/v1/namespaces/default/configmaps", {"metadata": {"name": "c"}})
    answer = await api.request("GET", "/api/v1/namespaces/default/configmaps/c/scale")
    assert answer.status == 404


async def test_dry_run_scale_changes_nothing(api: ResourceApp) -> None:
    await create(api, DEPLOYMENTS, deployment())
    answer = await api.request("PATCH", f"{DEPLOYMENTS}/web/scale?dryRun=All", {"spec": {"replicas": 9}},
                               headers=MERGE)
    assert answer.status == 200
    assert answer.json()["spec"] == {"replicas": 9}
    assert (await api.request("GET", f"{DEPLOYMENTS}/web")).json()["spec"]["replicas"] == 2
