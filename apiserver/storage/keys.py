"""Key layout, as kube-apiserver stores objects: `<prefix>/<resource>[/<namespace>]/<name>`.

`resource` is the upstream storage path of the resource: the plural for the core group and for most groups
(`/registry/deployments/...`), group-qualified where upstream does so
(`/registry/apiextensions.k8s.io/customresourcedefinitions/...`). The resource declaration decides which.
"""
from __future__ import annotations

DEFAULT_PREFIX = "/registry"


def resource_prefix(prefix: str, resource_path: str, namespace: str = "") -> str:
    """The key prefix of every object of a resource (in one namespace, if given), ending in '/'."""
    base = f"{prefix.rstrip('/')}/{resource_path}/"
    return f"{base}{namespace}/" if namespace else base


def object_key(prefix: str, resource_path: str, namespace: str, name: str) -> str:
    """The key of one object; `namespace` is empty for cluster-scoped resources."""
    return resource_prefix(prefix, resource_path, namespace) + name
