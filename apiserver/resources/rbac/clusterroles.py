"""ClusterRoles (rbac.authorization.k8s.io/v1): cluster-wide sets of rules, possibly aggregated from others."""
from __future__ import annotations

from apiserver.registry.spec import ResourceSpec

SPEC = ResourceSpec(
    group="rbac.authorization.k8s.io", version="v1", kind="ClusterRole", plural="clusterroles", namespaced=False,
)
