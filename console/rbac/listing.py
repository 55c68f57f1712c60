"""Rows for the RBAC list and detail pages: rules as tables, aggregation, subjects and roleRefs with links."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from console.rbac.policy import JSONDict, Policy, name_of, namespace_of
from console.rbac.rules import Rule

AGGREGATE_LABEL_PREFIX = "rbac.authorization.k8s.io/aggregate-to-"


@dataclass(frozen=True, slots=True)
class RoleRow:
    kind: str
    namespace: str
    name: str
    url: str
    rules: tuple[Rule, ...]
    aggregate_to: tuple[str, ...] = ()  # the aggregated ClusterRoles this one feeds (its aggregate-to-* labels)
    aggregation_selectors: tuple[str, ...] = ()  # this role gathers the ClusterRoles these selectors match
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SubjectLink:
    kind: str
    name: str
    namespace: str
    url: str

    @property
    def label(self) -> str:
        return f"{self.namespace}/{self.name}" if self.kind == "ServiceAccount" else self.name


@dataclass(frozen=True, slots=True)
class BindingRow:
    kind: str
    namespace: str
    name: str
    url: str
    role_kind: str
    role_name: str
    role_url: str
    subjects: tuple[SubjectLink, ...]
    role_missing: bool = False


def role_url(kind: str, namespace: str, name: str) -> str:
    if kind == "ClusterRole":
        return f"/console/rbac/clusterroles/{quote(name, safe='')}/"
    return f"/console/rbac/roles/{quote(namespace, safe='')}/{quote(name, safe='')}/"


def binding_url(kind: str, namespace: str, name: str) -> str:
    if kind == "ClusterRoleBinding":
        return f"/console/rbac/clusterrolebindings/{quote(name, safe='')}/"
    return f"/console/rbac/rolebindings/{quote(namespace, safe='')}/{quote(name, safe='')}/"


def subject_link(subject: Mapping[str, Any]) -> SubjectLink:
    kind = str(subject.get("kind") or "")
    name = str(subject.get("name") or "")
    namespace = str(subject.get("namespace") or "")
    if kind == "ServiceAccount":
        url = f"/console/serviceaccounts/{quote(namespace, safe='')}/{quote(name, safe='')}/"
    else:
        url = "/console/rbac/matrix/?" + urlencode({"kind": kind, "name": name})
    return SubjectLink(kind, name, namespace, url)


def role_row(kind: str, role: JSONDict) -> RoleRow:
    labels = (role.get("metadata") or {}).get("labels") or {}
    aggregate_to = tuple(sorted(key.removeprefix(AGGREGATE_LABEL_PREFIX) for key, value in labels.items()
                                if key.startswith(AGGREGATE_LABEL_PREFIX) and value == "true"))
    selectors = tuple(_selector_text(selector) for selector in
                      (role.get("aggregationRule") or {}).get("clusterRoleSelectors") or ())
    return RoleRow(kind, namespace_of(role), name_of(role), role_url(kind, namespace_of(role), name_of(role)),
                   tuple(Rule.from_dict(rule) for rule in role.get("rules") or ()), aggregate_to, selectors,
                   dict(labels))


def _selector_text(selector: Mapping[str, Any]) -> str:
    parts = [f"{key}={value}" for key, value in sorted((selector.get("matchLabels") or {}).items())]
    for expression in selector.get("matchExpressions") or ():
        values = ",".join(str(value) for value in expression.get("values") or ())
        parts.append(f"{expression.get('key')} {str(expression.get('operator') or '').lower()} ({values})")
    return ", ".join(parts) or "(everything)"


def binding_row(kind: str, binding: JSONDict, policy: Policy | None = None) -> BindingRow:
    role_ref = binding.get("roleRef") or {}
    role_kind = str(role_ref.get("kind") or "")
    role_name = str(role_ref.get("name") or "")
    namespace = namespace_of(binding)
    missing = policy is not None and policy.complete and policy.role_rules(role_ref, namespace) is None
    return BindingRow(kind, namespace, name_of(binding), binding_url(kind, namespace, name_of(binding)), role_kind,
                      role_name, role_url(role_kind, namespace, role_name),
                      tuple(subject_link(subject) for subject in binding.get("subjects") or ()), missing)


@dataclass
class RbacLists:
    namespace: str
    cluster_roles: list[RoleRow]
    roles: list[RoleRow]
    cluster_role_bindings: list[BindingRow]
    role_bindings: list[BindingRow]
    denied: dict[str, str]


def rbac_lists(policy: Policy) -> RbacLists:
    return RbacLists(
        policy.namespace,
        [role_row("ClusterRole", role) for _, role in sorted(policy.cluster_roles.items())],
        [role_row("Role", role) for _, role in sorted(policy.roles.items())],
        sorted((binding_row("ClusterRoleBinding", b, policy) for b in policy.cluster_role_bindings),
               key=lambda row: row.name),
        sorted((binding_row("RoleBinding", b, policy) for b in policy.role_bindings),
               key=lambda row: (row.namespace, row.name)),
        policy.denied,
    )


def bindings_referring_to(policy: Policy, kind: str, namespace: str, name: str) -> list[BindingRow]:
    """The bindings (among those listed) whose roleRef names this role."""
    rows = []
    for binding_kind, bindings in (("ClusterRoleBinding", policy.cluster_role_bindings),
                                   ("RoleBinding", policy.role_bindings)):
        for binding in bindings:
            role_ref = binding.get("roleRef") or {}
            if role_ref.get("kind") != kind or role_ref.get("name") != name:
                continue
            if kind == "Role" and namespace_of(binding) != namespace:
                continue
            rows.append(binding_row(binding_kind, binding))
    return rows
