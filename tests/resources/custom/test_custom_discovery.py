"""Discovery of custom resources as apiextensions' discovery controller writes it (v1.32): its fixed verb order
(fewer verbs while the CRD is Terminating), each resource followed by `status` then `scale`, in both the
unaggregated APIResourceList and aggregated discovery."""
from __future__ import annotations

from typing import Any

import pytest

from apiserver.endpoints.discovery_aggregated import discovery_items
from apiserver.endpoints.discovery_legacy import api_resources
from apiserver.registry.catalog import ResourceCatalog, builtin_specs
from apiserver.registry.spec import storage_version_hash
from apiserver.resources.apiextensions.crd_specs import specs_from_crd
from tests.resources.custom.crds import widget_crd

VERBS = ["delete", "deletecollection", "get", "list", "patch", "create", "update", "watch"]
TERMINATING_VERBS = ["delete", "deletecollection", "get", "list", "watch"]
SUBRESOURCE_VERBS = ["get", "patch", "update"]


def gadget_crd() -> dict[str, Any]:
    """A second CRD of the group, without subresources, whose plural sorts between widgets' entries."""
    crd = widget_crd()
    names = {"plural": "widgets-extra", "singular": "widgetextra", "kind": "WidgetExtra",
             "listKind": "WidgetExtraList"}
    crd["metadata"]["name"] = "widgets-extra.example.com"
    crd["spec"]["names"] = dict(names)
    crd["status"]["acceptedNames"] = dict(names)
    for version in crd["spec"]["versions"]:
        version.pop("subresources")
    return crd


def catalog(*crds: dict[str, Any]) -> ResourceCatalog:
    return ResourceCatalog((*builtin_specs(), *(spec for crd in crds for spec in specs_from_crd(crd))))


def terminating(crd: dict[str, Any]) -> dict[str, Any]:
    crd["status"]["conditions"].append({"type": "Terminating", "status": "True", "reason": "InstanceDeletionPending",
                                        "message": "CustomResourceDefinition marked for deletion"})
    return crd


def test_the_resource_list_follows_the_discovery_controller() -> None:
    entries = api_resources(catalog(widget_crd(), gadget_crd()), "example.com", "v1")
    assert entries == [
        {"name": "widgets", "singularName": "widget", "namespaced": True, "kind": "Widget", "verbs": VERBS,
         "shortNames": ["wd"], "categories": ["all"],
         "storageVersionHash": storage_version_hash("example.com", "v1", "Widget")},
        {"name": "widgets/status", "singularName": "", "namespaced": True, "kind": "Widget",
         "verbs": SUBRESOURCE_VERBS},
        {"name": "widgets/scale", "singularName": "", "namespaced": True, "group": "autoscaling", "version": "v1",
         "kind": "Scale", "verbs": SUBRESOURCE_VERBS},
        {"name": "widgets-extra", "singularName": "widgetextra", "namespaced": True, "kind": "WidgetExtra",
         "verbs": VERBS, "storageVersionHash": storage_version_hash("example.com", "v1", "WidgetExtra")},
    ]


@pytest.mark.parametrize(("crd", "verbs"), [(widget_crd(), VERBS), (terminating(widget_crd()), TERMINATING_VERBS)],
                         ids=["established", "terminating"])
def test_aggregated_discovery_lists_the_same_verbs_and_subresources(crd: dict[str, Any], verbs: list[str]) -> None:
    items = discovery_items(catalog(crd), core=False)
    group = next(item for item in items if item["metadata"].get("name") == "example.com")
    assert group["versions"] == [{"version": "v1", "freshness": "Current", "resources": [{
        "resource": "widgets", "responseKind": {"group": "example.com", "version": "v1", "kind": "Widget"},
        "scope": "Namespaced", "singularResource": "widget", "verbs": verbs, "shortNames": ["wd"],
        "categories": ["all"], "subresources": [
            {"subresource": "status", "responseKind": {"group": "example.com", "version": "v1", "kind": "Widget"},
             "verbs": SUBRESOURCE_VERBS},
            {"subresource": "scale", "responseKind": {"group": "autoscaling", "version": "v1", "kind": "Scale"},
             "verbs": SUBRESOURCE_VERBS}]}]}]


def test_a_terminating_crd_lists_only_the_verbs_still_allowed() -> None:
    entries = api_resources(catalog(terminating(widget_crd())), "example.com", "v1")
    assert [(entry["name"], entry["verbs"]) for entry in entries] == [
        ("widgets", TERMINATING_VERBS), ("widgets/status", SUBRESOURCE_VERBS), ("widgets/scale", SUBRESOURCE_VERBS)]


def test_built_in_resources_keep_the_installers_sorted_order() -> None:
    entries = api_resources(catalog(widget_crd()), "apps", "v1")
    deployments = [entry for entry in entries if entry["name"].startswith("deployments")]
    assert [entry["name"] for entry in deployments] == ["deployments", "deployments/scale", "deployments/status"]
    assert deployments[0]["verbs"] == sorted(VERBS)
    apps = next(item for item in discovery_items(catalog(), core=False) if item["metadata"].get("name") == "apps")
    resource = next(entry for entry in apps["versions"][0]["resources"] if entry["resource"] == "deployments")
    assert [sub["subresource"] for sub in resource["subresources"]] == ["scale", "status"]
