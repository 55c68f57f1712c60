"""Remote group-versions in this server's discovery: `/apis`, `/apis/<group>` and aggregated discovery.

As kube-aggregator v1.32:

- `/apis` and `/apis/<group>` list every APIService's group-version, available or not (handler_apis.go); groups
  are ordered by their highest `groupPriorityMinimum`, versions by `versionPriority`, then kube-aware version
  order; local group-versions keep the priorities of the built-in APIServices (registry/catalog.py).
- Aggregated discovery (`apidiscovery.k8s.io/v2`) merges each remote group-version's entry, fetched from its
  server (its own aggregated `/apis`, or `/apis/<group>/<version>` converted when it serves none), refreshed by
  the availability controller after each successful check. A group-version whose server is unavailable or whose
  last fetch failed keeps its last resources with `freshness: Stale` (none when it was never fetched).
- `/apis/<group>/<version>` of a remote group-version is proxied to its server, like every path below it.
- A user-created local APIService (`service: null`) of a group-version this server does not serve is listed in
  `/apis` and `/apis/<group>` with its priorities, as upstream lists every APIService; it is not in aggregated
  discovery (upstream's discovery manager skips local APIServices) and `/apis/<group>/<version>` is 404.
- `GET /` lists `/apis/<group>` and `/apis/<group>/<version>` of every remote or user-created APIService, as the
  aggregator registers both paths on its mux for each.
"""
from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from apiserver.aggregation.apiservices import APIServiceIndex, LocalAPIService, RemoteAPIService
from apiserver.aggregation.backend import Backend, BackendError
from apiserver.meta.objects import JSONDict
from apiserver.registry.catalog import ResourceCatalog, kube_version_key
from apiserver.webhookclient import ServiceUnavailableError

AGGREGATED_ACCEPT = ("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
                     "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json")
FETCH_TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class _Served:
    """One group-version in discovery order terms."""

    group: str
    version: str
    group_priority: int
    version_priority: int
    remote: RemoteAPIService | None


def ordered_group_versions(catalog: ResourceCatalog, remotes: Iterable[RemoteAPIService],
                           user_locals: Iterable[LocalAPIService] = ()) -> list[_Served]:
    """Every named group-version, local and remote, in upstream's discovery order (a remote one replaces a local
    one of the same group-version, as its APIService does; a user's local APIService adds its group-version
    when nothing serves it)."""
    served: dict[tuple[str, str], _Served] = {}
    for group, version in catalog.group_versions():
        if group:
            priority = catalog.priority(group, version)
            served[(group, version)] = _Served(group, version, priority.group, priority.version, None)
    for local in user_locals:
        if local.group:
            served.setdefault((local.group, local.version), _Served(
                local.group, local.version, local.group_priority_minimum, local.version_priority, None))
    for remote in remotes:
        if remote.group:
            served[(remote.group, remote.version)] = _Served(
                remote.group, remote.version, remote.group_priority_minimum, remote.version_priority, remote)
    group_priority: dict[str, int] = {}
    for entry in served.values():
        group_priority[entry.group] = max(entry.group_priority, group_priority.get(entry.group, entry.group_priority))
    return sorted(served.values(), key=lambda entry: (
        -group_priority[entry.group], entry.group, -entry.version_priority, kube_version_key(entry.version)))


def _groups(ordered: list[_Served]) -> dict[str, list[_Served]]:
    groups: dict[str, list[_Served]] = {}
    for entry in ordered:
        groups.setdefault(entry.group, []).append(entry)
    return groups


def _group_entry(group: str, versions: list[_Served]) -> JSONDict:
    listed = [{"groupVersion": f"{group}/{entry.version}", "version": entry.version} for entry in versions]
    return {"name": group, "versions": listed, "preferredVersion": dict(listed[0])}


class RemoteDiscovery:
    """The aggregated discovery entries fetched from remote servers, by APIService name."""

    def __init__(self, backend: Backend) -> None:
        self._backend = backend
        self._entries: dict[str, JSONDict] = {}
        self._fresh: dict[str, bool] = {}
        self._generation = 0
        self._lock = threading.Lock()

    @property
    def generation(self) -> int:
        return self._generation

    def version_entry(self, remote: RemoteAPIService) -> JSONDict:
        """The APIVersionDiscovery of `remote`: Current only when available and freshly fetched."""
        entry = dict(self._entries.get(remote.name) or {"version": remote.version})
        fresh = remote.available and self._fresh.get(remote.name, False)
        entry["freshness"] = "Current" if fresh else "Stale"
        return entry

    async def refresh(self, remote: RemoteAPIService) -> None:
        """Fetch `remote`'s entry again; on failure keep the last one and mark it stale."""
        try:
            entry = await self._fetch(remote)
        except (ServiceUnavailableError, BackendError, ValueError, orjson.JSONDecodeError):
            self.mark_stale(remote.name)
            return
        with self._lock:
            if self._entries.get(remote.name) != entry or not self._fresh.get(remote.name):
                self._entries[remote.name] = entry
                self._fresh[remote.name] = True
                self._generation += 1

    def mark_stale(self, name: str) -> None:
        with self._lock:
            if self._fresh.get(name, True):
                self._fresh[name] = False
                self._generation += 1

    def forget(self, name: str) -> None:
        with self._lock:
            if self._entries.pop(name, None) is not None or self._fresh.pop(name, None) is not None:
                self._generation += 1

    async def _fetch(self, remote: RemoteAPIService) -> JSONDict:
        url = await self._backend.url(remote, "/apis")
        response = await self._backend.get(remote, url, accept=AGGREGATED_ACCEPT, timeout=FETCH_TIMEOUT, verify=True)
        if response.status == 200 and "as=APIGroupDiscoveryList" in response.content_type:
            found = _find_version(orjson.loads(response.body), remote)
            if found is not None:
                return found
        url = await self._backend.url(remote, remote.discovery_path)
        response = await self._backend.get(remote, url, accept="application/json", timeout=FETCH_TIMEOUT,
                                           verify=True)
        if response.status != 200:
            raise ValueError(f"bad status from {url}: {response.status}")
        return convert_resource_list(orjson.loads(response.body), remote.version)


def _find_version(document: Any, remote: RemoteAPIService) -> JSONDict | None:
    for item in (document or {}).get("items") or ():
        if ((item.get("metadata") or {}).get("name") or "") != remote.group:
            continue
        for version in item.get("versions") or ():
            if version.get("version") == remote.version:
                return {key: value for key, value in version.items() if key != "freshness"}
    return None


def convert_resource_list(document: Mapping[str, Any], version: str) -> JSONDict:
    """ConvertGroupVersionIntoToDiscovery: an APIResourceList as an APIVersionDiscovery (without freshness)."""
    resources: dict[str, JSONDict] = {}
    subresources: list[tuple[str, JSONDict]] = []
    for resource in document.get("resources") or ():
        name = str(resource.get("name") or "")
        kind = {"group": resource.get("group", ""), "version": resource.get("version", ""),
                "kind": resource.get("kind", "")}
        if "/" in name:
            parent, _, sub = name.partition("/")
            subresources.append((parent, {"subresource": sub, "responseKind": kind, "verbs": resource.get("verbs")}))
            continue
        entry: JSONDict = {"resource": name, "responseKind": kind,
                           "scope": "Namespaced" if resource.get("namespaced") else "Cluster",
                           "singularResource": resource.get("singularName", ""), "verbs": resource.get("verbs")}
        for key in ("shortNames", "categories"):
            if resource.get(key):
                entry[key] = resource[key]
        resources[name] = entry
    for parent, subresource in subresources:
        if parent in resources:
            resources[parent].setdefault("subresources", []).append(subresource)
    return {"version": version, "resources": list(resources.values())}


class AggregatedDiscovery:
    """Discovery's view of the remote APIServices (the endpoints' DiscoveryApp merges it into its documents)."""

    def __init__(self, index: APIServiceIndex, remote: RemoteDiscovery) -> None:
        self._index = index
        self._remote = remote

    @property
    def generation(self) -> tuple[int, int]:
        """Changes whenever a merged document may change."""
        return (self._index.generation, self._remote.generation)

    def __bool__(self) -> bool:
        return bool(self._index)

    def serves_group(self, group: str) -> bool:
        """Whether some remote or user-created local APIService lists `group`."""
        return any(api_service.group == group for api_service in self._listed())

    def _listed(self) -> list[RemoteAPIService | LocalAPIService]:
        return [*self._index.remotes(), *self._index.user_locals()]

    def root_paths(self) -> list[str]:
        """The paths `GET /` lists for the remote and user-created APIServices (`/api` for a remote `v1.`)."""
        paths: list[str] = []
        for api_service in self._listed():
            if not api_service.group:
                paths += ["/api"] if api_service.name == "v1." else []
                continue
            paths += [f"/apis/{api_service.group}", f"/apis/{api_service.group}/{api_service.version}"]
        return paths

    def _ordered(self, catalog: ResourceCatalog) -> list[_Served]:
        return ordered_group_versions(catalog, self._index.remotes(), self._index.user_locals())

    def group_list(self, catalog: ResourceCatalog) -> list[JSONDict]:
        """The APIGroupList `groups` with the remote group-versions merged in."""
        grouped = _groups(self._ordered(catalog))
        return [_group_entry(group, versions) for group, versions in grouped.items()]

    def group(self, catalog: ResourceCatalog, group: str) -> JSONDict | None:
        """The APIGroup document of `group`, or None when nobody serves it."""
        versions = _groups(self._ordered(catalog)).get(group)
        if not versions:
            return None
        return {"kind": "APIGroup", "apiVersion": "v1", **_group_entry(group, versions)}

    def aggregated_items(self, catalog: ResourceCatalog, local_items: list[JSONDict]) -> list[JSONDict]:
        """The `/apis` APIGroupDiscovery items with the remote group-versions merged in, in discovery order."""
        local = {((item.get("metadata") or {}).get("name") or ""): item for item in local_items}
        items: list[JSONDict] = []
        for group, versions in _groups(self._ordered(catalog)).items():
            local_versions = {entry["version"]: entry for entry in (local.get(group) or {}).get("versions") or ()}
            merged = [self._remote.version_entry(entry.remote) if entry.remote is not None
                      else local_versions[entry.version] for entry in versions
                      if entry.remote is not None or entry.version in local_versions]
            if merged:
                items.append({"metadata": {"name": group, "creationTimestamp": None}, "versions": merged})
        return items
