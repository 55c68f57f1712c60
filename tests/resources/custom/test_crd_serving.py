"""CRD serving in memory: the catalog follows the CRDs; deletion keeps the CRD behind its cleanup finalizer."""
from __future__ import annotations

import asyncio

from tests.resources.custom.crds import widget_crd
from tests.resources.custom.harness import CRDS_PATH, CustomApp

WIDGETS = "/apis/example.com/v1/namespaces/default/widgets"
WIDGET = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"replicas": 1}}


async def test_a_crd_is_served_only_once_its_names_are_accepted(app: CustomApp) -> None:
    await app.install(widget_crd(established=False))
    assert app.holder.current.lookup("example.com", "v1", "widgets") is None
    missing = await app.request("GET", WIDGETS)
    assert missing.status == 404
    assert missing.json()["message"] == "the server could not find the requested resource"
    crd = (await app.request("GET", f"{CRDS_PATH}/widgets.example.com")).json()
    crd["status"] = widget_crd()["status"]
    assert (await app.request("PUT", f"{CRDS_PATH}/widgets.example.com/status", crd)).status == 200
    await app.wait_served("widgets.example.com")
    assert (await app.request("POST", WIDGETS, WIDGET)).status == 201


async def test_served_specs_follow_the_crd_versions(widgets: CustomApp) -> None:
    assert widgets.holder.current.lookup("example.com", "v1beta1", "widgets") is not None
    crd = (await widgets.request("GET", f"{CRDS_PATH}/widgets.example.com")).json()
    crd["spec"]["versions"][1]["served"] = False
    updated = await widgets.request("PUT", f"{CRDS_PATH}/widgets.example.com", crd)
    assert updated.status == 200, updated.body
    async with asyncio.timeout(5):
        while widgets.holder.current.lookup("example.com", "v1beta1", "widgets") is not None:
            await asyncio.sleep(0.01)
    assert (await widgets.request("GET", "/apis/example.com/v1beta1/namespaces/default/widgets")).status == 404
    assert (await widgets.request("GET", WIDGETS)).status == 200


async def test_deleting_a_crd_marks_it_terminating_and_refuses_creates(widgets: CustomApp) -> None:
    deleted = await widgets.request("DELETE", f"{CRDS_PATH}/widgets.example.com")
    assert deleted.status == 200, deleted.body
    crd = deleted.json()
    assert crd["metadata"]["finalizers"] == ["customresourcecleanup.apiextensions.k8s.io"]
    assert crd["metadata"]["deletionTimestamp"]
    terminating = [condition for condition in crd["status"]["conditions"] if condition["type"] == "Terminating"]
    assert [(c["status"], c["reason"], c["message"]) for c in terminating] == [
        ("True", "InstanceDeletionPending",
         "CustomResourceDefinition marked for deletion; CustomResource deletion will begin soon")]
    async with asyncio.timeout(5):
        while (refused := await widgets.request("POST", WIDGETS, WIDGET)).status != 405:
            await asyncio.sleep(0.01)
    assert refused.json()["message"] == "create not allowed while custom resource definition is terminating"
    assert refused.json()["reason"] == "MethodNotAllowed"
    assert (await widgets.request("GET", WIDGETS)).status == 200


async def test_a_deleted_crd_stops_being_served(widgets: CustomApp) -> None:
    await widgets.request("DELETE", f"{CRDS_PATH}/widgets.example.com")
    crd = (await widgets.request("GET", f"{CRDS_PATH}/widgets.example.com")).json()
    patch = {"metadata": {"finalizers": None, "resourceVersion": crd["metadata"]["resourceVersion"]}}
    removed = await widgets.request("PATCH", f"{CRDS_PATH}/widgets.example.com", patch,
                                    headers={"content-type": "application/merge-patch+json"})
    assert removed.status == 200, removed.body
    await widgets.wait_served("widgets.example.com", served=False)
    assert widgets.holder.current.lookup("example.com", "v1", "widgets") is None
    assert (await widgets.request("GET", WIDGETS)).status == 404
    assert widgets.registry.cache_for("example.com/widgets") is None


async def test_a_crd_never_displaces_a_built_in_resource(app: CustomApp) -> None:
    crd = widget_crd()
    crd["metadata"] = {"name": "deployments.apps"}
    names = {"plural": "deployments", "singular": "deployment", "kind": "Deployment", "listKind": "DeploymentList"}
    crd["spec"].update(group="apps", names=names)
    crd["status"]["acceptedNames"] = names
    builtin = app.holder.current.lookup("apps", "v1", "deployments")
    await app.serving.sync("deployments.apps", crd)
    assert not app.serving.is_serving("deployments.apps")
    assert app.holder.current.lookup("apps", "v1", "deployments") is builtin
