"""Remote group-versions merged into /apis, /apis/<group> and aggregated discovery, in upstream's order."""
from __future__ import annotations

from typing import Any

from apiserver.aggregation.apiservices import APIServiceIndex
from apiserver.aggregation.discovery import AggregatedDiscovery, RemoteDiscovery, convert_resource_list
from apiserver.endpoints.discovery_aggregated import discovery_items
from apiserver.registry.catalog import ResourceCatalog, builtin_specs


def _api_service(group: str, version: str, priority: int, version_priority: int, *,
                 available: bool = True) -> dict[str, Any]:
    return {"metadata": {"name": f"{version}.{group}"},
            "spec": {"group": group, "version": version, "groupPriorityMinimum": priority,
                     "versionPriority": version_priority, "service": {"namespace": "ns", "name": "api"}},
            "status": {"conditions": [{"type": "Available", "status": "True" if available else "False"}]}}


def _discovery(*api_services: dict[str, Any]) -> tuple[AggregatedDiscovery, RemoteDiscovery]:
    index = APIServiceIndex()
    for obj in api_services:
        index.observe("ADDED", obj)
    remote = RemoteDiscovery(backend=None)  # type: ignore[arg-type]  # nothing is fetched here
    return AggregatedDiscovery(index, remote), remote


CATALOG = ResourceCatalog(builtin_specs())


def test_remote_groups_take_their_place_by_priority() -> None:
    aggregated, _ = _discovery(_api_service("metrics.k8s.io", "v1beta1", 100, 100),
                               _api_service("wardle.example.com", "v1alpha1", 17900, 15),
                               _api_service("wardle.example.com", "v1beta1", 17900, 20))
    names = [group["name"] for group in aggregated.group_list(CATALOG)]
    assert names[:3] == ["apiregistration.k8s.io", "wardle.example.com", "apps"]
    assert names[-1] == "metrics.k8s.io"
    wardle = aggregated.group(CATALOG, "wardle.example.com")
    assert wardle == {"kind": "APIGroup", "apiVersion": "v1", "name": "wardle.example.com",
                      "versions": [{"groupVersion": "wardle.example.com/v1beta1", "version": "v1beta1"},
                                   {"groupVersion": "wardle.example.com/v1alpha1", "version": "v1alpha1"}],
                      "preferredVersion": {"groupVersion": "wardle.example.com/v1beta1", "version": "v1beta1"}}
    assert aggregated.serves_group("metrics.k8s.io") and not aggregated.serves_group("apps")


def test_an_unfetched_or_unavailable_group_version_is_stale() -> None:
    aggregated, _ = _discovery(_api_service("metrics.k8s.io", "v1beta1", 100, 100, available=False))
    items = aggregated.aggregated_items(CATALOG, discovery_items(CATALOG, core=False))
    assert items[-1] == {"metadata": {"name": "metrics.k8s.io", "creationTimestamp": None},
                         "versions": [{"version": "v1beta1", "freshness": "Stale"}]}
    assert [item["metadata"]["name"] for item in items[:-1]] == [
        item["metadata"]["name"] for item in discovery_items(CATALOG, core=False)]


def test_generation_moves_when_remote_discovery_changes() -> None:
    aggregated, remote = _discovery(_api_service("metrics.k8s.io", "v1beta1", 100, 100))
    before = aggregated.generation
    remote.mark_stale("v1beta1.metrics.k8s.io")
    assert aggregated.generation != before
    remote.forget("v1beta1.metrics.k8s.io")


def test_legacy_resource_lists_convert_to_aggregated_entries() -> None:
    document = {"kind": "APIResourceList", "groupVersion": "metrics.k8s.io/v1beta1", "resources": [
        {"name": "pods", "singularName": "", "namespaced": True, "kind": "PodMetrics", "verbs": ["get", "list"]},
        {"name": "pods/status", "singularName": "", "namespaced": True, "kind": "PodMetrics", "verbs": ["get"]},
        {"name": "nodes", "singularName": "", "namespaced": False, "kind": "NodeMetrics", "verbs": ["get"],
         "shortNames": ["nm"]},
    ]}
    kind = {"group": "", "version": "", "kind": "PodMetrics"}
    assert convert_resource_list(document, "v1beta1") == {"version": "v1beta1", "resources": [
        {"resource": "pods", "responseKind": kind, "scope": "Namespaced", "singularResource": "",
         "verbs": ["get", "list"], "subresources": [{"subresource": "status", "responseKind": kind, "verbs": ["get"]}]},
        {"resource": "nodes", "responseKind": {"group": "", "version": "", "kind": "NodeMetrics"}, "scope": "Cluster",
         "singularResource": "", "verbs": ["get"], "shortNames": ["nm"]},
    ]}


def _local_api_service(group: str, version: str, priority: int, version_priority: int,
                       labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"metadata": {"name": f"{version}.{group}", **({"labels": labels} if labels else {})},
            "spec": {"group": group, "version": version, "groupPriorityMinimum": priority,
                     "versionPriority": version_priority}}


def test_a_users_local_api_service_of_an_unserved_group_version_is_listed_but_not_aggregated() -> None:
    aggregated, _ = _discovery(_local_api_service("local.example.com", "v1", 20000, 10))
    assert aggregated  # discovery must consult the aggregator now
    names = [group["name"] for group in aggregated.group_list(CATALOG)]
    assert names[:2] == ["local.example.com", "apiregistration.k8s.io"]  # 20000 beats every built-in group
    assert aggregated.group(CATALOG, "local.example.com") == {
        "kind": "APIGroup", "apiVersion": "v1", "name": "local.example.com",
        "versions": [{"groupVersion": "local.example.com/v1", "version": "v1"}],
        "preferredVersion": {"groupVersion": "local.example.com/v1", "version": "v1"}}
    items = aggregated.aggregated_items(CATALOG, discovery_items(CATALOG, core=False))
    assert "local.example.com" not in [item["metadata"]["name"] for item in items]
    assert aggregated.root_paths() == ["/apis/local.example.com", "/apis/local.example.com/v1"]


def test_automanaged_and_served_local_api_services_change_nothing() -> None:
    automanaged = _local_api_service("stable.example.com", "v1", 1000, 100,
                                     labels={"kube-aggregator.kubernetes.io/automanaged": "true"})
    aggregated, _ = _discovery(automanaged)
    assert not aggregated
    users_apps, _ = _discovery(_local_api_service("apps", "v1", 1, 1))
    plain, _ = _discovery(_api_service("metrics.k8s.io", "v1beta1", 100, 100))
    listed = [group["name"] for group in users_apps.group_list(CATALOG)]
    assert listed == [group["name"] for group in plain.group_list(CATALOG)][:-1]  # apps keeps its place


def test_root_paths_list_each_remote_group_and_group_version() -> None:
    aggregated, _ = _discovery(_api_service("wardle.example.com", "v1alpha1", 17900, 15),
                               _api_service("wardle.example.com", "v1beta1", 17900, 20))
    assert aggregated.root_paths() == ["/apis/wardle.example.com", "/apis/wardle.example.com/v1alpha1",
                                       "/apis/wardle.example.com", "/apis/wardle.example.com/v1beta1"]
