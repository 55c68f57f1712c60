"""CustomResourceDefinitions (apiextensions.k8s.io/v1): stored group-qualified, as the extensions server does.

No printer upstream: `kubectl get crds` shows the default NAME and CREATED AT.
"""
from __future__ import annotations

from apiserver.registry.spec import ResourceSpec, Subresource

from .crd_conditions import CleanupOnDelete
from .crd_strategy import STRATEGY

SPEC = ResourceSpec(
    group="apiextensions.k8s.io", version="v1", kind="CustomResourceDefinition", plural="customresourcedefinitions",
    namespaced=False, short_names=("crd", "crds"), categories=("api-extensions",),
    subresources=(Subresource("status", "CustomResourceDefinition"),),
    storage_path="apiextensions.k8s.io/customresourcedefinitions", strategy=CleanupOnDelete(STRATEGY),
)
