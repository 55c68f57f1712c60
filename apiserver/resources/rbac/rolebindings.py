"""RoleBindings (rbac.authorization.k8s.io/v1): grant a role's rules to subjects within a namespace."""
from __future__ import annotations

from datetime import datetime

from apiserver.registry.columns import dig, mapping, sequence, text
from apiserver.registry.spec import AGE, NAME, Column, JSONObject, ResourceSpec


def role_ref(binding: JSONObject, now: datetime | None = None) -> str:
    """ROLE as `Kind/name`."""
    return f"{text(dig(binding, 'roleRef', 'kind'))}/{text(dig(binding, 'roleRef', 'name'))}"


def _subjects(binding: JSONObject, kind: str) -> str:
    names = []
    for subject in map(mapping, sequence(binding.get("subjects"))):
        if subject.get("kind") == kind:
            name = text(subject.get("name"))
            names.append(f"{text(subject.get('namespace'))}/{name}" if kind == "ServiceAccount" else name)
    return ", ".join(names)


def binding_columns(scope: str) -> tuple[Column, ...]:
    """ROLE and AGE, then the wide USERS, GROUPS and SERVICEACCOUNTS columns."""
    return (
        NAME,
        Column("Role", "string", description="The role this binding grants.", value=role_ref),
        AGE,
        Column("Users", "string", priority=1, description=f"Users in the {scope}",
               value=lambda binding, now: _subjects(binding, "User")),
        Column("Groups", "string", priority=1, description=f"Groups in the {scope}",
               value=lambda binding, now: _subjects(binding, "Group")),
        Column("ServiceAccounts", "string", priority=1, description=f"ServiceAccounts in the {scope}",
               value=lambda binding, now: _subjects(binding, "ServiceAccount")),
    )


SPEC = ResourceSpec(
    group="rbac.authorization.k8s.io", version="v1", kind="RoleBinding", plural="rolebindings", namespaced=True,
    columns=binding_columns("roleBinding"),
)
