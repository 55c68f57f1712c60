"""`POST .../pods/<name>/binding` and `POST .../bindings` through the resource endpoints (in memory)."""
from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import pytest

from apiserver.endpoints.resources import ResourceEndpoints
from apiserver.registry.binding import binding_answers, binding_stores
from apiserver.registry.context import RequestContext
from apiserver.registry.eviction import eviction_stores
from apiserver.registry.virtual import VirtualStore
from tests.support.resource_app import ResourceApp, resource_app

PODS = "/api/v1/namespaces/default/pods"
SUCCESS = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}


@pytest.fixture
async def app() -> AsyncIterator[ResourceApp]:
    async with resource_app() as running:
        yield with_pod_subresources(running)


def with_pod_subresources(app: ResourceApp) -> ResourceApp:
    """The app with pods/binding, pods/eviction and the `bindings` answer wired as the server assembly does."""
    registry = app.registry
    stores = {**binding_stores(lambda: registry), **eviction_stores(lambda: registry)}
    app.app = ResourceEndpoints(dataclasses.replace(app.app.server, subresources=stores))
    bindings = registry.store_for("", "v1", "bindings")
    assert isinstance(bindings, VirtualStore)
    bindings.answer_with(binding_answers(lambda: registry)[("", "bindings")])
    return app


async def make_pod(app: ResourceApp, name: str = "web") -> dict[str, Any]:
    store = app.registry.store_for("", "v1", "pods")
    assert store is not None
    pod = {"metadata": {"name": name}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}
    return (await store.create("default", pod, RequestContext(namespace="default"))).copy()


def binding(name: str = "web", node: str = "node-1") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": name}, "target": {"kind": "Node", "name": node}}


async def read_pod(app: ResourceApp, name: str = "web") -> dict[str, Any]:
    answer = await app.request("GET", f"{PODS}/{name}")
    assert answer.status == 200
    pod: dict[str, Any] = answer.json()
    return pod


async def test_binding_answers_201_with_a_success_status(app: ResourceApp) -> None:
    await make_pod(app)
    answer = await app.request("POST", f"{PODS}/web/binding", binding())
    assert (answer.status, answer.json()) == (201, SUCCESS)
    pod = await read_pod(app)
    assert pod["spec"]["nodeName"] == "node-1"
    assert [condition["type"] for condition in pod["status"]["conditions"]] == ["PodScheduled"]


async def test_second_binding_is_a_conflict(app: ResourceApp) -> None:
    await make_pod(app)
    assert (await app.request("POST", f"{PODS}/web/binding", binding())).status == 201
    answer = await app.request("POST", f"{PODS}/web/binding", binding(node="node-2"))
    assert (answer.status, answer.json()) == (409, {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": 'Operation cannot be fulfilled on pods/binding "web": pod web is already assigned to node '
                   '"node-1"',
        "reason": "Conflict", "details": {"name": "web", "kind": "pods/binding"}, "code": 409,
    })
    assert (await read_pod(app))["spec"]["nodeName"] == "node-1"


async def test_binding_with_another_name_is_a_bad_request(app: ResourceApp) -> None:
    before = await make_pod(app)
    answer = await app.request("POST", f"{PODS}/web/binding", binding(name="other"))
    assert (answer.status, answer.json()["message"]) == (400, "name in URL does not match name in Binding object")
    assert (await read_pod(app))["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]


async def test_binding_to_a_non_node_is_an_internal_error(app: ResourceApp) -> None:
    await make_pod(app)
    body = {**binding(), "target": {"kind": "Service", "name": "n"}}
    answer = await app.request("POST", f"{PODS}/web/binding", body)
    assert (answer.status, answer.json()) == (500, {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": 'target.kind: Unsupported value: "Service": supported values: "Node", "<empty>"', "code": 500,
    })


async def test_dry_run_binding_changes_nothing(app: ResourceApp) -> None:
    before = await make_pod(app)
    answer = await app.request("POST", f"{PODS}/web/binding?dryRun=All", binding())
    assert (answer.status, answer.json()) == (201, SUCCESS)
    assert (await read_pod(app))["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]


async def test_binding_subresource_serves_only_post(app: ResourceApp) -> None:
    await make_pod(app)
    assert (await app.request("GET", f"{PODS}/web/binding")).status == 405


async def test_legacy_bindings_resource_binds_the_named_pod(app: ResourceApp) -> None:
    await make_pod(app)
    answer = await app.request("POST", "/api/v1/namespaces/default/bindings", binding())
    assert answer.status == 201
    assert answer.json()["status"] == "Success"
    assert (await read_pod(app))["spec"]["nodeName"] == "node-1"


async def test_legacy_bindings_resource_serves_only_create(app: ResourceApp) -> None:
    assert (await app.request("GET", "/api/v1/namespaces/default/bindings")).status == 405


async def test_binding_decodes_protobuf_bodies(app: ResourceApp) -> None:
    from apiserver.http.negotiation import protobuf_codec

    codec = protobuf_codec()
    assert codec is not None
    await make_pod(app)
    body = codec.encode_object(binding(), api_version="v1", kind="Binding")
    answer = await app.request("POST", f"{PODS}/web/binding", body,
                               headers={"Content-Type": "application/vnd.kubernetes.protobuf",
                                        "Accept": "application/json"})
    assert (answer.status, answer.json()) == (201, SUCCESS)
    assert (await read_pod(app))["spec"]["nodeName"] == "node-1"


async def test_binding_with_the_pods_uid_binds(app: ResourceApp) -> None:
    created = await make_pod(app)
    body = binding()
    body["metadata"]["uid"] = created["metadata"]["uid"]
    assert (await app.request("POST", f"{PODS}/web/binding", body)).status == 201
    assert (await read_pod(app))["spec"]["nodeName"] == "node-1"


async def test_binding_with_another_uid_is_a_conflict(app: ResourceApp) -> None:
    before = await make_pod(app)
    body = binding()
    body["metadata"]["uid"] = "0d8fbb4b-0000-4000-8000-000000000000"
    answer = await app.request("POST", f"{PODS}/web/binding", body)
    assert (answer.status, answer.json()) == (409, {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": 'Operation cannot be fulfilled on pods "web": StorageError: invalid object, Code: 4, Key: '
                   "/registry/pods/default/web, ResourceVersion: 0, AdditionalErrorMsg: Precondition failed: UID in "
                   "precondition: 0d8fbb4b-0000-4000-8000-000000000000, UID in object meta: "
                   f"{before['metadata']['uid']}",
        "reason": "Conflict", "details": {"name": "web", "kind": "pods"}, "code": 409,
    })
    pod = await read_pod(app)
    assert "nodeName" not in pod["spec"]
    assert pod["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
