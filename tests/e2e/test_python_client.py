"""The official `kubernetes` Python client against a live server, on SQLite and on etcd."""
from __future__ import annotations

import base64
import json
import time

import pytest
from kubernetes import client as k8s
from kubernetes import watch
from kubernetes.client.rest import ApiException

pytestmark = pytest.mark.slow


def config_map(name: str, labels: dict[str, str] | None = None, **data: str) -> k8s.V1ConfigMap:
    return k8s.V1ConfigMap(metadata=k8s.V1ObjectMeta(name=name, labels=labels), data=data or None)


def test_config_map_crud(api_client: k8s.ApiClient, namespace: str) -> None:
    core = k8s.CoreV1Api(api_client)
    created = core.create_namespaced_config_map(namespace, config_map("settings", mode="fast"))
    assert created.metadata.namespace == namespace
    assert created.metadata.uid and created.metadata.resource_version
    read = core.read_namespaced_config_map("settings", namespace)
    assert read.data == {"mode": "fast"}
    read.data["mode"] = "slow"
    replaced = core.replace_namespaced_config_map("settings", namespace, read)
    assert replaced.data == {"mode": "slow"}
    assert int(replaced.metadata.resource_version) > int(created.metadata.resource_version)
    status = core.delete_namespaced_config_map("settings", namespace)
    assert status == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                      "details": {"name": "settings", "kind": "configmaps", "uid": created.metadata.uid}}
    with pytest.raises(ApiException) as raised:
        core.read_namespaced_config_map("settings", namespace)
    assert raised.value.status == 404


def test_secret_round_trip_keeps_base64_data(api_client: k8s.ApiClient, namespace: str) -> None:
    core = k8s.CoreV1Api(api_client)
    encoded = base64.b64encode(b"s3cret").decode()
    core.create_namespaced_secret(namespace, k8s.V1Secret(metadata=k8s.V1ObjectMeta(name="creds"),
                                                          data={"password": encoded}, type="Opaque"))
    secret = core.read_namespaced_secret("creds", namespace)
    assert (secret.data, secret.type) == ({"password": encoded}, "Opaque")
    listed = core.list_namespaced_secret(namespace, field_selector="type=Opaque")
    assert [item.metadata.name for item in listed.items] == ["creds"]


def test_deployment_crud_in_apps_v1(api_client: k8s.ApiClient, namespace: str) -> None:
    apps = k8s.AppsV1Api(api_client)
    template = k8s.V1PodTemplateSpec(
        metadata=k8s.V1ObjectMeta(labels={"app": "web"}),
        spec=k8s.V1PodSpec(containers=[k8s.V1Container(name="web", image="nginx")]),
    )
    body = k8s.V1Deployment(
        metadata=k8s.V1ObjectMeta(name="web"),
        spec=k8s.V1DeploymentSpec(replicas=1, selector=k8s.V1LabelSelector(match_labels={"app": "web"}),
                                  template=template),
    )
    created = apps.create_namespaced_deployment(namespace, body)
    assert created.metadata.generation == 1
    created.spec.replicas = 3
    updated = apps.replace_namespaced_deployment("web", namespace, created)
    assert (updated.spec.replicas, updated.metadata.generation) == (3, 2)
    patched = apps.patch_namespaced_deployment("web", namespace, {"metadata": {"labels": {"tier": "fe"}}},
                                               _content_type="application/merge-patch+json")
    assert patched.metadata.labels == {"tier": "fe"}
    assert patched.metadata.generation == 2
    listed = apps.list_namespaced_deployment(namespace)
    assert [item.metadata.name for item in listed.items] == ["web"]
    apps.delete_namespaced_deployment("web", namespace)
    assert apps.list_namespaced_deployment(namespace).items == []


def test_namespace_delete_marks_it_terminating_until_its_content_is_gone(api_client: k8s.ApiClient) -> None:
    core = k8s.CoreV1Api(api_client)
    core.create_namespace(k8s.V1Namespace(metadata=k8s.V1ObjectMeta(name="short-lived")))
    assert core.read_namespace("short-lived").status.phase == "Active"
    # A finalizer on its content holds the namespace in Terminating until it is removed.
    held = k8s.V1ConfigMap(metadata=k8s.V1ObjectMeta(name="held", finalizers=["example.com/hold"]))
    core.create_namespaced_config_map("short-lived", held)
    core.delete_namespace("short-lived")
    assert core.read_namespace("short-lived").status.phase == "Terminating"
    with pytest.raises(ApiException) as raised:
        core.create_namespaced_config_map("short-lived", config_map("late"))
    assert raised.value.status == 403
    assert json.loads(raised.value.body)["message"] == (
        'configmaps "late" is forbidden: unable to create new content in namespace short-lived because it is '
        "being terminated"
    )
    core.patch_namespaced_config_map("held", "short-lived", {"metadata": {"finalizers": None}})
    deadline = time.monotonic() + 30
    while True:
        try:
            core.read_namespace("short-lived")
        except ApiException as error:
            assert error.status == 404
            break
        assert time.monotonic() < deadline, "namespace short-lived was not removed"
        time.sleep(0.05)


def test_list_with_label_and_field_selectors(api_client: k8s.ApiClient, namespace: str) -> None:
    core = k8s.CoreV1Api(api_client)
    for name, tier in (("a", "web"), ("b", "db"), ("c", "web")):
        core.create_namespaced_config_map(namespace, config_map(name, {"tier": tier}))
    web = core.list_namespaced_config_map(namespace, label_selector="tier=web")
    assert [item.metadata.name for item in web.items] == ["a", "c"]
    not_web = core.list_namespaced_config_map(namespace, label_selector="tier notin (web)")
    assert [item.metadata.name for item in not_web.items] == ["b", "kube-root-ca.crt"]  # unlabelled: not web
    named = core.list_namespaced_config_map(namespace, field_selector="metadata.name=c")
    assert [item.metadata.name for item in named.items] == ["c"]
    everywhere = core.list_config_map_for_all_namespaces(label_selector="tier=db",
                                                         field_selector=f"metadata.namespace={namespace}")
    assert [item.metadata.name for item in everywhere.items] == ["b"]


def test_pagination_with_limit_and_continue(api_client: k8s.ApiClient, namespace: str) -> None:
    core = k8s.CoreV1Api(api_client)
    for index in range(5):
        core.create_namespaced_config_map(namespace, config_map(f"page-{index}"))
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        page = core.list_namespaced_config_map(namespace, limit=2, _continue=token)
        seen += [item.metadata.name for item in page.items]
        pages += 1
        token = page.metadata._continue
        if not token:
            break
        assert page.metadata.remaining_item_count == 6 - len(seen)
    # The namespace's kube-root-ca.crt is listed too ("k" < "p": first).
    assert (seen, pages) == (["kube-root-ca.crt", *(f"page-{index}" for index in range(5))], 3)


def test_watch_stream_sees_added_modified_deleted_in_order(api_client: k8s.ApiClient, namespace: str) -> None:
    core = k8s.CoreV1Api(api_client)
    version = core.list_namespaced_config_map(namespace).metadata.resource_version
    core.create_namespaced_config_map(namespace, config_map("watched", step="1"))
    core.patch_namespaced_config_map("watched", namespace, {"data": {"step": "2"}},
                                     _content_type="application/merge-patch+json")
    core.delete_namespaced_config_map("watched", namespace)
    stream = watch.Watch()
    seen = []
    for event in stream.stream(core.list_namespaced_config_map, namespace, resource_version=version,
                               timeout_seconds=10):
        seen.append((event["type"], event["object"].metadata.name, (event["object"].data or {}).get("step")))
        if len(seen) == 3:
            stream.stop()
    assert seen == [("ADDED", "watched", "1"), ("MODIFIED", "watched", "2"), ("DELETED", "watched", "2")]


def test_not_found_is_an_api_exception_with_the_status_body(api_client: k8s.ApiClient, namespace: str) -> None:
    with pytest.raises(ApiException) as raised:
        k8s.CoreV1Api(api_client).read_namespaced_config_map("missing", namespace)
    assert (raised.value.status, raised.value.reason) == (404, "Not Found")
    assert json.loads(raised.value.body) == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": 'configmaps "missing" not found', "reason": "NotFound",
        "details": {"name": "missing", "kind": "configmaps"}, "code": 404,
    }


def test_already_exists_is_a_409(api_client: k8s.ApiClient, namespace: str) -> None:
    core = k8s.CoreV1Api(api_client)
    core.create_namespaced_config_map(namespace, config_map("twice"))
    with pytest.raises(ApiException) as raised:
        core.create_namespaced_config_map(namespace, config_map("twice"))
    assert (raised.value.status, raised.value.reason) == (409, "Conflict")
    assert json.loads(raised.value.body) == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": 'configmaps "twice" already exists', "reason": "AlreadyExists",
        "details": {"name": "twice", "kind": "configmaps"}, "code": 409,
    }


def test_a_stale_update_is_a_409_conflict(api_client: k8s.ApiClient, namespace: str) -> None:
    core = k8s.CoreV1Api(api_client)
    first = core.create_namespaced_config_map(namespace, config_map("raced", v="1"))
    core.patch_namespaced_config_map("raced", namespace, {"data": {"v": "2"}},
                                     _content_type="application/merge-patch+json")
    first.data = {"v": "3"}
    with pytest.raises(ApiException) as raised:
        core.replace_namespaced_config_map("raced", namespace, first)
    assert raised.value.status == 409
    assert json.loads(raised.value.body)["message"] == (
        'Operation cannot be fulfilled on configmaps "raced": the object has been modified; please apply your '
        "changes to the latest version and try again"
    )


def test_an_invalid_name_is_a_422_with_causes(api_client: k8s.ApiClient, namespace: str) -> None:
    with pytest.raises(ApiException) as raised:
        k8s.CoreV1Api(api_client).create_namespaced_config_map(namespace, config_map("Not_Valid"))
    assert raised.value.status == 422
    status = json.loads(raised.value.body)
    assert status["reason"] == "Invalid"
    assert status["message"].startswith('ConfigMap "Not_Valid" is invalid: metadata.name: Invalid value: "Not_Valid": '
                                        "a lowercase RFC 1123 subdomain must consist of")
    assert status["details"]["causes"][0]["field"] == "metadata.name"


def test_a_malformed_selector_is_a_400(api_client: k8s.ApiClient, namespace: str) -> None:
    with pytest.raises(ApiException) as raised:
        k8s.CoreV1Api(api_client).list_namespaced_config_map(namespace, label_selector="tier in (web")
    assert (raised.value.status, raised.value.reason) == (400, "Bad Request")
    assert json.loads(raised.value.body)["reason"] == "BadRequest"


def test_dry_run_creates_nothing(api_client: k8s.ApiClient, namespace: str) -> None:
    core = k8s.CoreV1Api(api_client)
    answered = core.create_namespaced_config_map(namespace, config_map("dry"), dry_run="All")
    assert answered.metadata.name == "dry"
    assert core.list_namespaced_config_map(namespace, field_selector="metadata.name=dry").items == []
