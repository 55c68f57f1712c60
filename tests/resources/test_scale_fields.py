"""Field ownership through `/scale`, as upstream v1.32's scale handler: scale writes record their manager on the
parent (subresource `scale`, owning `f:spec.f:replicas`), server-side apply of a Scale conflicts with the
parent's owners of replicas, and Scale answers carry no managedFields. The walk follows upstream's
TestScaleAllResources (test/integration/apiserver/apply/scale_test.go)."""
from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from apiserver.registry.scale_fields import to_parent, to_scale
from tests.resources.test_scale import PARENTS
from tests.support.resource_app import ResourceApp, resource_app

APPLY = {"content-type": "application/apply-patch+yaml"}
MERGE = {"content-type": "application/merge-patch+json"}
REPLICAS = {"f:spec": {"f:replicas": {}}}


@pytest.fixture
async def api() -> AsyncIterator[ResourceApp]:
    async with resource_app() as app:
        yield app


def owners(obj: dict[str, Any]) -> list[str]:
    """The managers owning spec.replicas."""
    return sorted(entry["manager"] for entry in obj["metadata"].get("managedFields", [])
                  if "f:replicas" in entry["fieldsV1"].get("f:spec", {}))


def scale(replicas: int) -> dict[str, Any]:
    return {"kind": "Scale", "apiVersion": "autoscaling/v1", "metadata": {"name": "web", "namespace": "default"},
            "spec": {"replicas": replicas}}


async def request(api: ResourceApp, method: str, path: str, body: Any, status: int = 200,
                  headers: dict[str, str] | None = None) -> dict[str, Any]:
    answer = await api.request(method, path, body, headers=headers)
    assert answer.status == status, answer.json()
    result: dict[str, Any] = answer.json()
    return result


@pytest.mark.parametrize("plural", list(PARENTS), ids=list(PARENTS))
async def test_scale_ownership_walk(api: ResourceApp, plural: str) -> None:
    collection, body, _ = PARENTS[plural]
    parent_version = "v1" if collection.startswith("/api/") else "apps/v1"
    body = {"apiVersion": parent_version, "kind": collection.rsplit("/", 1)[1], **body}
    body["kind"] = {"deployments": "Deployment", "replicasets": "ReplicaSet", "statefulsets": "StatefulSet",
                    "replicationcontrollers": "ReplicationController"}[plural]
    parent, scale_path = f"{collection}/web", f"{collection}/web/scale"

    await request(api, "PATCH", f"{parent}?fieldManager=apply_test", body, 201, APPLY)
    assert owners(await request(api, "GET", parent, b"")) == ["apply_test"]

    answer = await request(api, "PATCH", f"{scale_path}?fieldManager=scale_test", {"spec": {"replicas": 5}},
                           headers=MERGE)
    assert "managedFields" not in answer["metadata"]
    stored = await request(api, "GET", parent, b"")
    assert (stored["spec"]["replicas"], owners(stored)) == (5, ["scale_test"])
    entry = next(entry for entry in stored["metadata"]["managedFields"] if entry["manager"] == "scale_test")
    assert entry == {"manager": "scale_test", "operation": "Update", "apiVersion": parent_version,
                     "fieldsType": "FieldsV1", "fieldsV1": REPLICAS, "subresource": "scale"}

    # Re-applying the parent conflicts with the scaler, forcing takes replicas back.
    conflict = await request(api, "PATCH", f"{parent}?fieldManager=apply_test", body, 409, APPLY)
    assert conflict["message"] == ('Apply failed with 1 conflict: conflict with "scale_test" with subresource '
                                   f'"scale" using {parent_version}: .spec.replicas')
    await request(api, "PATCH", f"{parent}?fieldManager=apply_test&force=true", body, headers=APPLY)
    stored = await request(api, "GET", parent, b"")
    assert (stored["spec"]["replicas"], owners(stored)) == (2, ["apply_test"])

    # Applying a Scale conflicts with the parent's applier; forcing leaves the Scale applier the only owner.
    conflict = await request(api, "PATCH", f"{scale_path}?fieldManager=apply_scale", scale(17), 409, APPLY)
    assert conflict["message"] == 'Apply failed with 1 conflict: conflict with "apply_test": .spec.replicas'
    assert conflict["details"]["causes"] == [
        {"reason": "FieldManagerConflict", "message": 'conflict with "apply_test"', "field": ".spec.replicas"}]
    answer = await request(api, "PATCH", f"{scale_path}?fieldManager=apply_scale&force=true", scale(17),
                           headers=APPLY)
    assert (answer["spec"], "managedFields" in answer["metadata"]) == ({"replicas": 17}, False)
    stored = await request(api, "GET", parent, b"")
    assert (stored["spec"]["replicas"], owners(stored)) == (17, ["apply_scale"])
    applied = next(entry for entry in stored["metadata"]["managedFields"] if entry["manager"] == "apply_scale")
    assert {key: applied[key] for key in ("operation", "apiVersion", "fieldsV1", "subresource")} == {
        "operation": "Apply", "apiVersion": parent_version, "fieldsV1": REPLICAS, "subresource": "scale"}

    # A PUT of the Scale replaces the owner; applying the same count shares it; scaling again takes it alone.
    await request(api, "PUT", f"{scale_path}?fieldManager=replace_test", scale(7))
    assert owners(await request(api, "GET", parent, b"")) == ["replace_test"]
    await request(api, "PATCH", f"{scale_path}?fieldManager=co_owning_test", scale(7), headers=APPLY)
    assert owners(await request(api, "GET", parent, b"")) == ["co_owning_test", "replace_test"]
    await request(api, "PATCH", f"{scale_path}?fieldManager=scale_test", {"spec": {"replicas": 5}}, headers=MERGE)
    stored = await request(api, "GET", parent, b"")
    assert (stored["spec"]["replicas"], owners(stored)) == (5, ["scale_test"])
    # The parent's applier keeps the rest of its fields.
    applier = next(entry for entry in stored["metadata"]["managedFields"] if entry["manager"] == "apply_test")
    assert "f:template" in applier["fieldsV1"]["f:spec"] and "f:replicas" not in applier["fieldsV1"]["f:spec"]


async def test_a_status_only_scale_patch_leaves_ownership(api: ResourceApp) -> None:
    collection, body, _ = PARENTS["deployments"]
    await request(api, "PATCH", f"{collection}/web?fieldManager=apply_test",
                  {"apiVersion": "apps/v1", "kind": "Deployment", **body}, 201, APPLY)
    await request(api, "PATCH", f"{collection}/web/scale?fieldManager=scale_test", {"status": {"replicas": 42}},
                  headers=MERGE)
    stored = await request(api, "GET", f"{collection}/web", b"")
    assert (stored["spec"]["replicas"], owners(stored)) == (2, ["apply_test"])


async def test_kubectl_scale_by_an_update_manager(api: ResourceApp) -> None:
    """The creator (an Update manager) loses replicas to the scaler and keeps the rest; the scaler's entry has
    no time, as upstream's ToParent gives it the parent's time for an identity the parent never had."""
    collection, body, _ = PARENTS["deployments"]
    await request(api, "POST", f"{collection}?fieldManager=kubectl-create", body, 201)
    await request(api, "PATCH", f"{collection}/web/scale?fieldManager=kubectl", {"spec": {"replicas": 3}},
                  headers=MERGE)
    entries = (await request(api, "GET", f"{collection}/web", b""))["metadata"]["managedFields"]
    scaler = [entry for entry in entries if entry["manager"] == "kubectl"]
    assert scaler == [{"manager": "kubectl", "operation": "Update", "apiVersion": "apps/v1",
                       "fieldsType": "FieldsV1", "fieldsV1": REPLICAS, "subresource": "scale"}]
    creator = next(entry for entry in entries if entry["manager"] == "kubectl-create")
    assert "time" in creator and "f:replicas" not in creator["fieldsV1"]["f:spec"]


def test_to_scale_and_back_keep_apply_owners() -> None:
    parent = [
        {"manager": "a", "operation": "Apply", "apiVersion": "apps/v1", "time": "2024-01-01T00:00:00Z",
         "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:replicas": {}, "f:paused": {}}}},
        {"manager": "old", "operation": "Update", "apiVersion": "extensions/v1beta1", "fieldsType": "FieldsV1",
         "fieldsV1": {"f:spec": {"f:paused": {}}}},
    ]
    as_scale = to_scale(parent, "apps/v1")
    assert as_scale == [{"manager": "a", "operation": "Apply", "apiVersion": "autoscaling/v1",
                         "time": "2024-01-01T00:00:00Z", "fieldsType": "FieldsV1", "fieldsV1": REPLICAS}]
    # Unchanged on the Scale: the applier's entry stays whole; an unknown apiVersion is dropped.
    assert to_parent(parent, as_scale, "apps/v1") == parent[:1]
    # Nobody owns replicas on the Scale any more: the applier keeps the rest.
    assert to_parent(parent, None, "apps/v1") == [{**parent[0], "fieldsV1": {"f:spec": {"f:paused": {}}}}]
