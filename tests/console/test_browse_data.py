"""The resource browser's page data, built with an admin ApiClient against an assembled in-memory server."""
from __future__ import annotations

from typing import Any

import yaml

from apiserver.auth.user import UserInfo
from apiserver.client.client import ApiClient, Resource
from apiserver.client.transports import InProcessTransport
from console.browse.detail import fetch_detail
from console.browse.discovery import Catalog, ResourceType, fetch_catalog
from console.browse.kubectl import get_command, list_command
from console.browse.listing import ListQuery, cell_text, fetch_listing
from console.browse.palette import palette_entries
from console.browse.yamltext import split_managed_fields, to_yaml
from tests.console.harness import ConsoleHarness

ADMIN = UserInfo("admin", groups=("system:masters",))
CONFIGMAPS = Resource("", "v1", "configmaps")
PODS = Resource("", "v1", "pods")
REPLICASETS = Resource("apps", "v1", "replicasets")


def admin(console: ConsoleHarness) -> tuple[ApiClient, InProcessTransport]:
    transport = InProcessTransport(console.server.server.app, ADMIN)
    return ApiClient(transport), transport


def kind_of(catalog: Catalog, group: str, plural: str) -> ResourceType:
    found = catalog.find(group, "v1", plural)
    assert found is not None, plural
    return found


async def test_the_catalog_comes_from_aggregated_discovery(console: ConsoleHarness) -> None:
    _, transport = admin(console)
    catalog = await fetch_catalog(transport)
    assert catalog.errors == ()
    assert catalog.groups[0].name == "" and catalog.groups[0].label == "core"
    pods = kind_of(catalog, "", "pods")
    assert (pods.kind, pods.singular, pods.short_names, pods.namespaced) == ("Pod", "pod", ("po",), True)
    deployments = kind_of(catalog, "apps", "deployments")
    assert deployments.short_names == ("deploy",)
    assert (deployments.list_url, deployments.kubectl_name) == ("/console/resources/apps/v1/deployments/",
                                                                 "deployments.apps")
    nodes = kind_of(catalog, "", "nodes")
    assert not nodes.namespaced and nodes.list_url == "/console/resources/core/v1/nodes/"
    every = {(t.group, t.plural) for t in catalog.preferred()}
    # Nothing without `list` (bindings, reviews), and no subresources.
    assert ("", "bindings") not in every and ("authentication.k8s.io", "tokenreviews") not in every
    assert not any("/" in plural for _, plural in every)
    assert ("apiextensions.k8s.io", "customresourcedefinitions") in every
    owner = catalog.by_kind("apps/v1", "ReplicaSet")
    assert owner is not None and owner.plural == "replicasets"
    assert catalog.by_kind("example.com/v1", "Widget") is None


async def test_a_list_page_is_the_servers_table_one_page_at_a_time(console: ConsoleHarness) -> None:
    await console.namespace("paged")
    for index in range(7):
        await console.api("POST", "/api/v1/namespaces/paged/secrets", {
            "apiVersion": "v1", "kind": "Secret", "metadata": {"name": f"s-{index}", "labels": {"app": "web"}}})
    _, transport = admin(console)
    secrets = kind_of(await fetch_catalog(transport), "", "secrets")
    first = await fetch_listing(transport, secrets, ListQuery(namespace="paged", limit=3))
    assert first.error == ""
    assert [column.name for column in first.columns] == ["Name", "Type", "Data", "Age"]
    assert [row.name for row in first.rows] == ["s-0", "s-1", "s-2"]
    assert first.remaining == 4 and first.continue_token and first.resource_version
    assert first.rows[0].cells[0].link and first.rows[0].cells[1].text == "Opaque"
    assert first.rows[0].url == "/console/resources/core/v1/secrets/s-0/?namespace=paged"
    assert len(first.rows[0].uid) == 36
    assert first.next_url == f"?namespace=paged&limit=3&continue={first.continue_token}"
    seen = [row.name for row in first.rows]
    token = first.continue_token
    while token:
        page = await fetch_listing(transport, secrets, ListQuery(namespace="paged", limit=3, continue_token=token))
        assert page.error == ""
        seen += [row.name for row in page.rows]
        token = page.continue_token
    assert seen == [f"s-{index}" for index in range(7)]


async def test_wide_all_namespaces_selectors_and_sorting(console: ConsoleHarness) -> None:
    await console.namespace("sorted")
    for name, keys in (("b", 2), ("a", 10), ("c", 1)):
        await console.api("POST", "/api/v1/namespaces/sorted/configmaps", {
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": {"sorted": "yes"}},
            "data": {f"k{index}": "v" for index in range(keys)}})
        await console.api("POST", "/api/v1/namespaces/sorted/pods", {
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"tier": name}},
            "spec": {"containers": [{"name": "app", "image": "nginx"}]}})
    _, transport = admin(console)
    pods = kind_of(await fetch_catalog(transport), "", "pods")
    narrow = await fetch_listing(transport, pods, ListQuery(namespace="sorted"))
    assert [column.name for column in narrow.columns] == ["Name", "Ready", "Status", "Restarts", "Age"]
    assert narrow.hidden_columns == 4
    wide = await fetch_listing(transport, pods, ListQuery(namespace="sorted", wide=True))
    assert [column.name for column in wide.columns][5:] == ["IP", "Node", "Nominated Node", "Readiness Gates"]
    assert wide.rows[0].cells[6].text == "<none>"
    across = await fetch_listing(transport, pods, ListQuery(all_namespaces=True, label_selector="tier in (a,c)"))
    assert [column.name for column in across.columns][:2] == ["Namespace", "Name"]
    assert [(row.cells[0].text, row.cells[1].text, row.cells[1].link) for row in across.rows] == [
        ("sorted", "a", True), ("sorted", "c", True)]
    by_name = await fetch_listing(transport, pods, ListQuery(namespace="sorted", sort="Name", descending=True))
    assert [row.name for row in by_name.rows] == ["c", "b", "a"]
    assert by_name.sorted_column is not None and by_name.headers[0].aria_sort == "descending"
    assert by_name.headers[0].url == "?namespace=sorted&sort=Name"  # a second click sorts ascending
    assert by_name.headers[1].url == "?namespace=sorted&sort=Ready"
    configmaps = kind_of(await fetch_catalog(transport), "", "configmaps")
    by_keys = await fetch_listing(transport, configmaps, ListQuery(namespace="sorted", label_selector="sorted=yes",
                                                                   sort="Data"))
    assert [row.cells[1].text for row in by_keys.rows] == ["1", "2", "10"]  # numbers as numbers
    named = await fetch_listing(transport, pods, ListQuery(namespace="sorted", name="b"))
    assert [row.name for row in named.rows] == ["b"]
    bad = await fetch_listing(transport, pods, ListQuery(namespace="sorted", label_selector="tier in"))
    assert bad.error_code == 400 and bad.rows == ()
    assert bad.error.startswith("unable to parse requirement: ")
    expired = await fetch_listing(transport, pods, ListQuery(namespace="sorted", continue_token="not-a-token"))
    assert expired.error_code == 400 and "continue key is not valid" in expired.error


def test_cells_read_as_kubectl_prints_them() -> None:
    assert [cell_text(value) for value in (None, True, 3, 2.0, 1.5, ["a", "b"], [], "x")] == [
        "<none>", "true", "3", "2", "1.5", "a,b", "<none>", "x"]


async def test_the_detail_page_has_metadata_owners_dependents_events_and_yaml(console: ConsoleHarness) -> None:
    client, transport = admin(console)
    await console.namespace("detail")
    replicaset = await client.create(REPLICASETS, {
        "apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "web-rs"},
        "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "app", "image": "nginx"}]}}}}, namespace="detail")
    pod = await client.create(PODS, {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web-1", "labels": {"app": "web"}, "annotations": {"note": "line one\nline two"},
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-rs",
                                          "uid": replicaset["metadata"]["uid"], "controller": True}]},
        "spec": {"containers": [{"name": "app", "image": "nginx"}]}}, namespace="detail")
    pod["status"] = {"phase": "Running", "conditions": [
        {"type": "Ready", "status": "False", "reason": "ContainersNotReady", "message": "not yet"}]}
    await client.update(PODS, pod, namespace="detail", subresource="status")
    await client.create(Resource("", "v1", "events"), {
        "apiVersion": "v1", "kind": "Event", "metadata": {"name": "web-1.1"}, "type": "Normal", "reason": "Pulled",
        "message": "image pulled", "involvedObject": {"kind": "Pod", "name": "web-1", "namespace": "detail",
                                                      "uid": pod["metadata"]["uid"]}}, namespace="detail")
    catalog = await fetch_catalog(transport)
    pods = kind_of(catalog, "", "pods")
    detail = await fetch_detail(client, transport, catalog, pods, "web-1", "detail")
    assert detail.error == ""
    assert detail.labels == (("app", "web"),)
    assert detail.annotations == (("note", "line one\nline two"),)
    assert detail.conditions == ({"type": "Ready", "status": "False", "reason": "ContainersNotReady",
                                  "message": "not yet", "lastTransitionTime": ""},)
    assert [(link.kind, link.name, link.url, link.controller) for link in detail.owners] == [
        ("ReplicaSet", "web-rs", "/console/resources/apps/v1/replicasets/web-rs/?namespace=detail", True)]
    assert [(event["reason"], event["message"]) for event in detail.events] == [("Pulled", "image pulled")]
    assert detail.kubectl == "kubectl get pod web-1 -n detail -o yaml"
    parsed = yaml.safe_load(detail.yaml)
    assert list(parsed) == list(detail.obj) and list(parsed)[:3] == ["apiVersion", "kind", "metadata"]
    assert "managedFields" not in parsed["metadata"] and detail.managed_fields_count >= 1
    assert "  annotations:\n    note: |-\n      line one\n      line two\n" in detail.yaml
    assert yaml.safe_load(detail.managed_fields_yaml)[0]["manager"]
    owner = await fetch_detail(client, transport, catalog, kind_of(catalog, "apps", "replicasets"), "web-rs", "detail")
    assert [(link.kind, link.name, link.url) for link in owner.dependents] == [
        ("Pod", "web-1", "/console/resources/core/v1/pods/web-1/?namespace=detail")]
    missing = await fetch_detail(client, transport, catalog, pods, "nope", "detail")
    assert (missing.error_code, missing.error) == (404, 'pods "nope" not found')


def test_yaml_keeps_the_servers_order_and_splits_managed_fields() -> None:
    obj: dict[str, Any] = {"kind": "X", "apiVersion": "v1", "metadata": {"name": "a", "managedFields": [{"m": 1}],
                                                                          "uid": "u"}}
    trimmed, managed = split_managed_fields(obj)
    assert to_yaml(trimmed) == "kind: X\napiVersion: v1\nmetadata:\n  name: a\n  uid: u\n"
    assert managed == [{"m": 1}] and obj["metadata"]["managedFields"] == [{"m": 1}]  # the input is unchanged


def test_kubectl_commands() -> None:
    deployments = ResourceType("apps", "v1", "deployments", "Deployment", "deployment", True, ("deploy",))
    nodes = ResourceType("", "v1", "nodes", "Node", "node", False, ("no",))
    assert list_command(deployments, ListQuery(namespace="x", label_selector="app=y")) == (
        "kubectl get deployments.apps -n x -l app=y")
    assert list_command(deployments, ListQuery(all_namespaces=True, name="web", wide=True)) == (
        "kubectl get deployments.apps -A --field-selector metadata.name=web -o wide")
    assert list_command(deployments, ListQuery(namespace="x", label_selector="app in (a, b)")) == (
        "kubectl get deployments.apps -n x -l 'app in (a, b)'")
    assert list_command(nodes, ListQuery(namespace="ignored")) == "kubectl get nodes"
    assert get_command(nodes, "n1", "") == "kubectl get node n1 -o yaml"
    assert get_command(deployments, "web", "x") == "kubectl get deployment.apps web -n x -o yaml"


async def test_palette_entries(console: ConsoleHarness) -> None:
    _, transport = admin(console)
    entries = palette_entries(await fetch_catalog(transport), ("default", "kube-system"))
    by_plural = {entry["plural"]: entry for entry in entries["resources"]}
    assert by_plural["deployments"] == {"plural": "deployments", "singular": "deployment", "kind": "Deployment",
                                        "group": "apps", "shortNames": ["deploy"], "namespaced": True,
                                        "url": "/console/resources/apps/v1/deployments/"}
    assert by_plural["services"]["shortNames"] == ["svc"]
    assert entries["resources"][0]["group"] == ""  # core first, so `events` is the core type, as kubectl has it
    assert entries["namespaces"] == ["default", "kube-system"]
