"""ClusterRoleBindings (rbac.authorization.k8s.io/v1): grant a cluster role's rules cluster-wide."""
from __future__ import annotations

from apiserver.registry.spec import ResourceSpec
from apiserver.resources.rbac.rolebindings import binding_columns

SPEC = ResourceSpec(
    group="rbac.authorization.k8s.io", version="v1", kind="ClusterRoleBinding", plural="clusterrolebindings",
    namespaced=False, columns=binding_columns("clusterRoleBinding"),
)
