"""The rest of the REST surface through live servers: discovery through kubectl, /metrics, Table output, patch
types, deletecollection and protobuf answers."""
from __future__ import annotations

import json

import pytest
from prometheus_client.parser import text_string_to_metric_families

from apiserver.meta.protobuf import MAGIC, decode_object
from tests.support.kubectl import Kubectl
from tests.support.server import ServerProcess

pytestmark = pytest.mark.slow


def _json(server: ServerProcess, method: str, path: str, body: object = None,
          content_type: str = "application/json", accept: str = "application/json") -> tuple[int, dict]:
    payload = None if body is None else json.dumps(body).encode()
    status, _, raw = server.request(
        method, path, client_cert=True, body=payload, headers={"Content-Type": content_type, "Accept": accept}
    )
    return status, json.loads(raw) if raw else {}


def test_kubectl_api_resources_lists_the_core_and_apps_kinds(server: ServerProcess, kubectl: Kubectl) -> None:
    result = kubectl.run("api-resources", "--api-group=apps", "--no-headers")
    assert result.returncode == 0, result.stderr
    names = {line.split()[0] for line in result.stdout.splitlines()}
    assert {"deployments", "replicasets", "statefulsets", "daemonsets", "controllerrevisions"} <= names
    versions = kubectl.run("api-versions")
    assert {"v1", "apps/v1", "batch/v1", "rbac.authorization.k8s.io/v1"} <= set(versions.stdout.split())


def test_kubectl_get_wide_prints_the_priority_columns(server: ServerProcess, kubectl: Kubectl,
                                                       namespace: str) -> None:
    created = kubectl.run("create", "deployment", "web", "--image=nginx:1.27", "-n", namespace)
    assert created.returncode == 0, created.stderr
    result = kubectl.run("get", "deployments", "-n", namespace, "-o", "wide")
    assert result.returncode == 0, result.stderr
    header, row = result.stdout.splitlines()[:2]
    assert header.split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"]
    assert row.split()[0] == "web" and "nginx:1.27" in row.split() and "app=web" in row.split()


def test_json_patch_and_merge_patch_change_only_what_they_say(server: ServerProcess, namespace: str) -> None:
    base = f"/api/v1/namespaces/{namespace}/configmaps"
    status, _ = _json(server, "POST", base, {"metadata": {"name": "p"}, "data": {"a": "1", "b": "2"}})
    assert status == 201
    status, merged = _json(server, "PATCH", f"{base}/p", {"data": {"a": None, "c": "3"}},
                           content_type="application/merge-patch+json")
    assert (status, merged["data"]) == (200, {"b": "2", "c": "3"})
    status, patched = _json(server, "PATCH", f"{base}/p", [{"op": "replace", "path": "/data/b", "value": "x"}],
                            content_type="application/json-patch+json")
    assert (status, patched["data"]) == (200, {"b": "x", "c": "3"})
    assert int(patched["metadata"]["resourceVersion"]) > int(merged["metadata"]["resourceVersion"])


def test_deletecollection_with_a_label_selector_deletes_only_the_matching(server: ServerProcess,
                                                                         namespace: str) -> None:
    base = f"/api/v1/namespaces/{namespace}/configmaps"
    for name, tier in (("a", "web"), ("b", "web"), ("c", "db")):
        assert _json(server, "POST", base, {"metadata": {"name": name, "labels": {"tier": tier}}})[0] == 201
    status, _ = _json(server, "DELETE", f"{base}?labelSelector=tier%3Dweb")
    assert status == 200
    _, remaining = _json(server, "GET", f"{base}?labelSelector=tier")
    assert [item["metadata"]["name"] for item in remaining["items"]] == ["c"]


def test_table_for_one_object_is_a_one_row_table(server: ServerProcess) -> None:
    status, table = _json(server, "GET", "/api/v1/namespaces/default",
                          accept="application/json;as=Table;v=v1;g=meta.k8s.io")
    assert status == 200
    assert (table["kind"], table["apiVersion"]) == ("Table", "meta.k8s.io/v1")
    assert [column["name"] for column in table["columnDefinitions"]] == ["Name", "Status", "Age"]
    assert len(table["rows"]) == 1 and table["rows"][0]["cells"][:2] == ["default", "Active"]
    assert table["rows"][0]["object"]["kind"] == "PartialObjectMetadata"


def test_protobuf_is_answered_when_the_client_prefers_it(server: ServerProcess) -> None:
    status, headers, body = server.request(
        "GET", "/api/v1/namespaces/kube-system", client_cert=True,
        headers={"Accept": "application/vnd.kubernetes.protobuf, application/json"},
    )
    assert status == 200
    assert headers["content-type"] == "application/vnd.kubernetes.protobuf"
    assert body.startswith(MAGIC)
    namespace = decode_object(body)
    assert (namespace["kind"], namespace["metadata"]["name"]) == ("Namespace", "kube-system")


def test_metrics_count_requests_with_upstream_labels(server: ServerProcess) -> None:
    assert server.request("GET", "/api/v1/namespaces", client_cert=True)[0] == 200
    status, headers, body = server.request("GET", "/metrics", client_cert=True)
    assert status == 200
    assert headers["content-type"].startswith("text/plain; version=0.0.4")
    families = {family.name: family for family in text_string_to_metric_families(body.decode())}
    listed = [
        sample for sample in families["apiserver_request"].samples
        if sample.name == "apiserver_request_total" and sample.labels.get("resource") == "namespaces"
        and sample.labels.get("verb") == "LIST"
    ]
    assert listed and listed[0].labels["code"] == "200" and listed[0].labels["scope"] == "cluster"
    storage = [sample for sample in families["etcd_request_duration_seconds"].samples
               if sample.labels.get("type") == "namespaces"]
    assert storage
