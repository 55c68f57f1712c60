"""The unaggregated discovery documents of one catalog: APIVersions, APIGroupList, APIGroup and APIResourceList.

Plain dicts shaped like kube-apiserver v1.32's JSON: keys in the Go types' field order, optional fields omitted as
`omitempty` does (metav1.APIResource keeps `singularName` and `verbs` even when empty). Upstream writes `/api` and
`/api/v1` through its stripVersion serializer, so those two documents carry `kind` but no `apiVersion`; `/apis`,
`/apis/<group>` (served by the aggregator) and `/apis/<group>/<version>` say `apiVersion: v1`.

Resource lists of built-in group-versions are ordered as upstream's installer registers storage paths: sorted
byte-wise by name, so every subresource (`pods/status`) follows its resource; verbs are sorted alphabetically, as
the installer sorts them. Custom resources are listed as apiextensions' discovery controller lists them: each
resource followed by its `status` then its `scale` subresource, with the verbs in that controller's fixed order
(`spec.discovery_verbs`).
A subresource reports `group` and `version` only when its kind lives elsewhere (`pods/eviction` → policy/v1
Eviction), from the spec's Subresource declaration.
"""
from __future__ import annotations

from apiserver.meta.objects import JSONDict
from apiserver.registry.catalog import BUILTIN_PRIORITIES, ResourceCatalog
from apiserver.registry.spec import ResourceSpec, Subresource, Verb, group_version_string

# discovery.DefaultAddresses with no CIDR rules: every client is told the one external address.
ALL_CLIENTS_CIDR = "0.0.0.0/0"


def api_versions(server_address: str) -> JSONDict:
    """`/api`: the core group's versions and where clients reach the server (`host:port`)."""
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": ALL_CLIENTS_CIDR, "serverAddress": server_address}],
    }


def api_group_list(catalog: ResourceCatalog) -> JSONDict:
    """`/apis`: every named group in the catalog's discovery order, preferred version first."""
    groups = [_group_entry(catalog, group) for group in catalog.groups() if group]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_group(catalog: ResourceCatalog, group: str) -> JSONDict | None:
    """`/apis/<group>`, or None when the catalog serves no version of it."""
    if not group or not catalog.versions(group):
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group_entry(catalog, group)}


def api_resource_list(catalog: ResourceCatalog, group: str, version: str) -> JSONDict | None:
    """`/api/v1` or `/apis/<group>/<version>`, or None when that group-version is not served."""
    if (group, version) not in catalog.group_versions():
        return None
    document: JSONDict = {"kind": "APIResourceList"}
    if group:
        document["apiVersion"] = "v1"
    document["groupVersion"] = group_version_string(group, version)
    document["resources"] = api_resources(catalog, group, version)
    return document


def api_resources(catalog: ResourceCatalog, group: str, version: str) -> list[JSONDict]:
    """The metav1.APIResource entries of one group-version, subresources included, in upstream's order."""
    entries: list[JSONDict] = []
    for spec in catalog.resources(group, version):
        entries.append(resource_entry(spec))
        entries.extend(subresource_entry(spec, subresource) for subresource in spec.subresources)
    if not is_builtin(group, version):
        return entries
    return sorted(entries, key=lambda entry: entry["name"].encode())


def is_builtin(group: str, version: str) -> bool:
    """Whether a group-version is one of kube-apiserver's own (not a CRD's, whose discovery differs)."""
    return (group, version) in BUILTIN_PRIORITIES


def resource_entry(spec: ResourceSpec) -> JSONDict:
    """The APIResource of a resource itself (never `group`/`version`: its kind is the group-version's own)."""
    entry: JSONDict = {
        "name": spec.plural,
        "singularName": spec.singular,
        "namespaced": spec.namespaced,
        "kind": spec.kind,
        "verbs": resource_verbs(spec),
    }
    if spec.short_names:
        entry["shortNames"] = list(spec.short_names)
    if spec.categories:
        entry["categories"] = list(spec.categories)
    if spec.storage_version_hash:
        entry["storageVersionHash"] = spec.storage_version_hash
    return entry


def subresource_entry(spec: ResourceSpec, subresource: Subresource) -> JSONDict:
    """The APIResource of `<plural>/<subresource>`: empty singularName, no names, categories or hash."""
    entry: JSONDict = {"name": f"{spec.plural}/{subresource.name}", "singularName": "", "namespaced": spec.namespaced}
    if subresource.group:
        entry["group"] = subresource.group
    if subresource.version:
        entry["version"] = subresource.version
    entry["kind"] = subresource.kind
    entry["verbs"] = sorted_verbs(subresource.verbs)
    return entry


def resource_verbs(spec: ResourceSpec) -> list[str]:
    """A resource's verbs in discovery: in the spec's declared discovery order, else sorted by name."""
    if spec.discovery_verbs:
        return [verb.value for verb in spec.discovery_verbs]
    return sorted_verbs(spec.verbs)


def sorted_verbs(verbs: frozenset[Verb]) -> list[str]:
    """Verbs as the installer lists them: sorted by name."""
    return sorted(verb.value for verb in verbs)


def _group_entry(catalog: ResourceCatalog, group: str) -> JSONDict:
    versions = [
        {"groupVersion": group_version_string(group, version), "version": version}
        for version in catalog.versions(group)
    ]
    return {"name": group, "versions": versions, "preferredVersion": dict(versions[0])}
