"""Aggregated discovery (apidiscovery.k8s.io v2 and v2beta1): every group, version and resource in one document.

`/api` lists the core group alone, `/apis` every named group; groups and versions come in the catalog's
discovery order, so the first version of a group is its preferred one (client-go relies on that). Each version is
`freshness: Current`. The entries are converted from the unaggregated ones as upstream's
ConvertGroupVersionIntoToDiscovery does, which gives built-in resources a `responseKind` with empty group and
version (the installer only fills them for kinds from another group-version, such as `deployments/scale` →
autoscaling/v1 Scale); custom resources, whose discovery comes from the apiextensions server, name their own
group-version there.

The ETag is upstream's: the upper-case hex SHA-512 of the v2 list marshalled without `kind`/`apiVersion`, so the
same document has the same tag in v2, v2beta1, JSON and YAML (responses carry `Vary: Accept`).
"""
from __future__ import annotations

import hashlib

from apiserver.endpoints.discovery_legacy import is_builtin, resource_entry, sorted_verbs
from apiserver.http.responses import encode_json
from apiserver.meta.objects import JSONDict
from apiserver.registry.catalog import BUILTIN_PRIORITIES, ResourceCatalog
from apiserver.registry.spec import ResourceSpec, Subresource

GROUP = "apidiscovery.k8s.io"
KIND = "APIGroupDiscoveryList"
VERSIONS = ("v2", "v2beta1")


def discovery_items(catalog: ResourceCatalog, *, core: bool) -> list[JSONDict]:
    """The APIGroupDiscovery items: the core group only (`/api`) or every named group (`/apis`)."""
    groups = [group for group in catalog.groups() if (group == "") == core]
    return [_group_discovery(catalog, group) for group in groups]


def discovery_list(items: list[JSONDict], version: str) -> JSONDict:
    """The APIGroupDiscoveryList as served in `version` (v2 or v2beta1: the same fields)."""
    if version not in VERSIONS:
        raise ValueError(f"not an aggregated discovery version: {version!r}")
    return {"kind": KIND, "apiVersion": f"{GROUP}/{version}", "metadata": {}, "items": items}


def discovery_etag(items: list[JSONDict]) -> str:
    """The quoted ETag of the document holding `items`."""
    digest = hashlib.sha512(encode_json({"metadata": {}, "items": items})).hexdigest().upper()
    return f'"{digest}"'


def _group_discovery(catalog: ResourceCatalog, group: str) -> JSONDict:
    metadata: JSONDict = {"name": group} if group else {}
    metadata["creationTimestamp"] = None
    versions = [
        {"version": version, "resources": _resources(catalog, group, version), "freshness": "Current"}
        for version in catalog.versions(group)
    ]
    return {"metadata": metadata, "versions": versions}


def _resources(catalog: ResourceCatalog, group: str, version: str) -> list[JSONDict]:
    return [_resource_discovery(spec) for spec in catalog.resources(group, version)]


def _resource_discovery(spec: ResourceSpec) -> JSONDict:
    legacy = resource_entry(spec)
    entry: JSONDict = {
        "resource": spec.plural,
        "responseKind": _kind(spec, spec.group, spec.version, spec.kind),
        "scope": "Namespaced" if spec.namespaced else "Cluster",
        "singularResource": spec.singular,
        "verbs": legacy["verbs"],
    }
    for key in ("shortNames", "categories"):
        if key in legacy:
            entry[key] = legacy[key]
    subresources = list(spec.subresources)
    if is_builtin(spec.group, spec.version):
        # The installer's order; a CRD's discovery controller lists status before scale.
        subresources.sort(key=lambda subresource: subresource.name.encode())
    if subresources:
        entry["subresources"] = [_subresource_discovery(spec, subresource) for subresource in subresources]
    return entry


def _subresource_discovery(spec: ResourceSpec, subresource: Subresource) -> JSONDict:
    if subresource.group or subresource.version:
        kind = {"group": subresource.group, "version": subresource.version, "kind": subresource.kind}
    else:
        kind = _kind(spec, spec.group, spec.version, subresource.kind)
    return {"subresource": subresource.name, "responseKind": kind, "verbs": sorted_verbs(subresource.verbs)}


def _kind(spec: ResourceSpec, group: str, version: str, kind: str) -> JSONDict:
    if (spec.group, spec.version) in BUILTIN_PRIORITIES:
        return {"group": "", "version": "", "kind": kind}
    return {"group": group, "version": version, "kind": kind}
