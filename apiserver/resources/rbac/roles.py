"""Roles (rbac.authorization.k8s.io/v1): namespaced sets of rules; no printer upstream (NAME, CREATED AT)."""
from __future__ import annotations

from apiserver.registry.spec import ResourceSpec

SPEC = ResourceSpec(group="rbac.authorization.k8s.io", version="v1", kind="Role", plural="roles", namespaced=True)
