"""Custom resources through the official Python client, live on SQLite and etcd: an operator's view (CRD
create and Established, CustomObjectsApi CRUD, a watch seeing ADDED/MODIFIED/DELETED), garbage collection of
custom resources owned by other objects, namespace deletion, and OpenAPI v3 publishing the CRD schema."""
from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes import watch as k8s_watch

from tests.support.ports import free_port
from tests.support.server import ServerProcess

pytestmark = pytest.mark.slow

GROUP = "ops.example.com"
PLURAL = "databases"


def crd_body(group: str = GROUP, plural: str = PLURAL, kind: str = "Database") -> dict[str, Any]:
    schema = {"type": "object", "properties": {
        "spec": {"type": "object", "properties": {
            "engine": {"type": "string", "default": "postgres"}, "size": {"type": "integer"}}},
        "status": {"type": "object", "properties": {"phase": {"type": "string"}}}}}
    return {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {"group": group, "scope": "Namespaced",
                 "names": {"plural": plural, "singular": kind.lower(), "kind": kind},
                 "versions": [{"name": "v1", "served": True, "storage": True, "subresources": {"status": {}},
                               "schema": {"openAPIV3Schema": schema}}]},
    }


def eventually(check: Callable[[], Any], timeout: float = 20.0) -> Any:
    """The first truthy result of `check`, polled until `timeout`; AssertionError after that."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def established(api_client: k8s.ApiClient, name: str) -> bool:
    crd = k8s.ApiextensionsV1Api(api_client).read_custom_resource_definition(name)
    return any(condition.type == "Established" and condition.status == "True"
               for condition in crd.status.conditions or ())


@pytest.fixture(scope="module")
def databases(api_client: k8s.ApiClient) -> k8s.CustomObjectsApi:
    """databases.ops.example.com created through ApiextensionsV1Api and established."""
    k8s.ApiextensionsV1Api(api_client).create_custom_resource_definition(crd_body())
    eventually(lambda: established(api_client, f"{PLURAL}.{GROUP}"))
    return k8s.CustomObjectsApi(api_client)


def database(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": f"{GROUP}/v1", "kind": "Database", "metadata": {"name": name}, "spec": spec}


def test_custom_objects_crud(databases: k8s.CustomObjectsApi, namespace: str) -> None:
    created = databases.create_namespaced_custom_object(GROUP, "v1", namespace, PLURAL, database("db", size=1))
    assert created["spec"] == {"engine": "postgres", "size": 1}
    listed = databases.list_namespaced_custom_object(GROUP, "v1", namespace, PLURAL)
    assert (listed["kind"], listed["apiVersion"]) == ("DatabaseList", f"{GROUP}/v1")
    assert [item["metadata"]["name"] for item in listed["items"]] == ["db"]
    patched = databases.patch_namespaced_custom_object(GROUP, "v1", namespace, PLURAL, "db", {"spec": {"size": 3}})
    assert patched["spec"] == {"engine": "postgres", "size": 3}
    status = databases.patch_namespaced_custom_object_status(GROUP, "v1", namespace, PLURAL, "db",
                                                             {"status": {"phase": "Ready"}})
    assert status["status"] == {"phase": "Ready"}
    with pytest.raises(k8s.ApiException) as raised:
        databases.create_namespaced_custom_object(GROUP, "v1", namespace, PLURAL, database("db"))
    assert raised.value.status == 409
    databases.delete_namespaced_custom_object(GROUP, "v1", namespace, PLURAL, "db")
    with pytest.raises(k8s.ApiException) as missing:
        databases.get_namespaced_custom_object(GROUP, "v1", namespace, PLURAL, "db")
    assert missing.value.status == 404


def test_a_watch_sees_added_modified_deleted(databases: k8s.CustomObjectsApi, namespace: str) -> None:
    """An operator's list then watch from the list's resourceVersion sees every change after it, in order."""
    listed = databases.list_namespaced_custom_object(GROUP, "v1", namespace, PLURAL)
    databases.create_namespaced_custom_object(GROUP, "v1", namespace, PLURAL, database("watched"))
    databases.patch_namespaced_custom_object(GROUP, "v1", namespace, PLURAL, "watched", {"spec": {"size": 2}})
    databases.delete_namespaced_custom_object(GROUP, "v1", namespace, PLURAL, "watched")
    watcher = k8s_watch.Watch()
    seen: list[tuple[str, str, Any]] = []
    for event in watcher.stream(databases.list_namespaced_custom_object, GROUP, "v1", namespace, PLURAL,
                                resource_version=listed["metadata"]["resourceVersion"], timeout_seconds=10):
        seen.append((event["type"], event["object"]["metadata"]["name"], event["object"]["spec"].get("size")))
        if len(seen) == 3:
            watcher.stop()
    assert seen == [("ADDED", "watched", None), ("MODIFIED", "watched", 2), ("DELETED", "watched", 2)]


def test_custom_resources_owned_by_a_deleted_owner_are_collected(
    databases: k8s.CustomObjectsApi, api_client: k8s.ApiClient, namespace: str
) -> None:
    core = k8s.CoreV1Api(api_client)
    owner = core.create_namespaced_config_map(namespace, k8s.V1ConfigMap(metadata=k8s.V1ObjectMeta(name="owner")))
    owned = database("owned")
    owned["metadata"]["ownerReferences"] = [{"apiVersion": "v1", "kind": "ConfigMap", "name": "owner",
                                             "uid": owner.metadata.uid}]
    databases.create_namespaced_custom_object(GROUP, "v1", namespace, PLURAL, owned)
    core.delete_namespaced_config_map("owner", namespace)

    def collected() -> bool:
        try:
            databases.get_namespaced_custom_object(GROUP, "v1", namespace, PLURAL, "owned")
        except k8s.ApiException as error:
            return error.status == 404
        return False

    eventually(collected)


def test_deleting_a_namespace_deletes_its_custom_resources(
    databases: k8s.CustomObjectsApi, api_client: k8s.ApiClient
) -> None:
    core = k8s.CoreV1Api(api_client)
    name = f"t-{uuid.uuid4().hex[:10]}"
    core.create_namespace(k8s.V1Namespace(metadata=k8s.V1ObjectMeta(name=name)))
    databases.create_namespaced_custom_object(GROUP, "v1", name, PLURAL, database("doomed"))
    core.delete_namespace(name)

    def namespace_gone() -> bool:
        try:
            core.read_namespace(name)
        except k8s.ApiException as error:
            return error.status == 404
        return False

    eventually(namespace_gone, timeout=30)
    remaining = databases.list_cluster_custom_object(GROUP, "v1", PLURAL)
    assert [item["metadata"]["namespace"] for item in remaining["items"]].count(name) == 0


def test_openapi_v3_publishes_the_crd_schema(databases: k8s.CustomObjectsApi, server: ServerProcess) -> None:
    status, _, body = server.request("GET", "/openapi/v3", client_cert=True)
    assert status == 200
    url = json.loads(body)["paths"][f"apis/{GROUP}/v1"]["serverRelativeURL"]
    status, headers, body = server.request("GET", f"/openapi/v3/apis/{GROUP}/v1", client_cert=True)
    assert status == 200
    assert headers["etag"] == '"' + url.rpartition("hash=")[2] + '"'
    document = json.loads(body)
    schemas = document["components"]["schemas"]
    definition = schemas["com.example.ops.v1.Database"]
    assert definition["x-kubernetes-group-version-kind"] == [{"group": GROUP, "kind": "Database", "version": "v1"}]
    assert definition["properties"]["spec"]["properties"]["engine"] == {"default": "postgres", "type": "string"}
    assert definition["properties"]["metadata"]["allOf"] == [
        {"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}]
    assert "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta" in schemas
    assert f"/apis/{GROUP}/v1/namespaces/{{namespace}}/{PLURAL}/{{name}}/status" in document["paths"]


def test_a_name_held_by_another_crd_is_not_accepted(api_client: k8s.ApiClient, databases: Any) -> None:
    extensions = k8s.ApiextensionsV1Api(api_client)
    clash = crd_body(plural="dbs", kind="Database")
    extensions.create_custom_resource_definition(clash)

    def conflict() -> Any:
        conditions = extensions.read_custom_resource_definition(f"dbs.{GROUP}").status.conditions or ()
        found = [c for c in conditions if c.type == "NamesAccepted" and c.status == "False"]
        return found[0] if found else None

    names_accepted = eventually(conflict)
    assert (names_accepted.reason, names_accepted.message) == ("ListKindConflict", '"DatabaseList" is already in use')
    crd = extensions.read_custom_resource_definition(f"dbs.{GROUP}")
    assert [(c.type, c.status, c.reason) for c in crd.status.conditions] == [
        ("NamesAccepted", "False", "ListKindConflict"), ("Established", "False", "NotAccepted")]
    assert crd.status.accepted_names.plural == "dbs"
    extensions.delete_custom_resource_definition(f"dbs.{GROUP}")


def test_custom_resources_are_served_again_after_a_restart(tmp_path: Path) -> None:
    """A restarted server serves its CRDs' resources as soon as it is ready (SQLite: the data stays on disk)."""
    port = free_port()
    with ServerProcess(tmp_path / "data", port=port) as first, client_of(first) as api:
        k8s.ApiextensionsV1Api(api).create_custom_resource_definition(crd_body())
        eventually(lambda: established(api, f"{PLURAL}.{GROUP}"))
        k8s.CustomObjectsApi(api).create_namespaced_custom_object(GROUP, "v1", "default", PLURAL,
                                                                  database("kept", size=2))
    with ServerProcess(tmp_path / "data", port=port) as second, client_of(second) as api:
        kept = k8s.CustomObjectsApi(api).get_namespaced_custom_object(GROUP, "v1", "default", PLURAL, "kept")
        assert kept["spec"] == {"engine": "postgres", "size": 2}


def client_of(server: ServerProcess) -> k8s.ApiClient:
    configuration = k8s.Configuration()
    k8s_config.load_kube_config(config_file=str(server.kubeconfig), client_configuration=configuration)
    return k8s.ApiClient(configuration)
