"""The RBAC objects the logged-in user may list, and who they grant what (who-can, a subject's rules).

`fetch_policy` lists ClusterRoles and ClusterRoleBindings, and Roles and RoleBindings of one namespace ("" = all
namespaces), through the user's client; each list the user may not read is recorded with the server's message,
so a page explains what it cannot see instead of silently answering from half the data. Aggregated ClusterRoles
need no work here: the server's aggregation controller has already written the gathered rules into them.
"""
from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import orjson

from apiserver.client.client import ApiClient, Resource, error_from_status
from apiserver.client.transports import Transport
from apiserver.meta.errors import ApiError
from console.rbac.rules import RBAC_GROUP, Request, Rule, Subject, allowing_rules, subject_applies

ROLES = Resource(RBAC_GROUP, "v1", "roles")
CLUSTER_ROLES = Resource(RBAC_GROUP, "v1", "clusterroles", namespaced=False)
ROLE_BINDINGS = Resource(RBAC_GROUP, "v1", "rolebindings")
CLUSTER_ROLE_BINDINGS = Resource(RBAC_GROUP, "v1", "clusterrolebindings", namespaced=False)

JSONDict = dict[str, Any]


@dataclass
class Policy:
    """Listed RBAC objects; `denied` maps a list that was refused (e.g. "rolebindings") to the server's message."""

    namespace: str = ""
    cluster_roles: dict[str, JSONDict] = field(default_factory=dict)
    roles: dict[tuple[str, str], JSONDict] = field(default_factory=dict)
    cluster_role_bindings: list[JSONDict] = field(default_factory=list)
    role_bindings: list[JSONDict] = field(default_factory=list)
    denied: dict[str, str] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return not self.denied

    def role_rules(self, role_ref: Mapping[str, Any], binding_namespace: str) -> tuple[Rule, ...] | None:
        """The rules of a binding's role, or None when the role is missing (or not listed)."""
        name = str(role_ref.get("name") or "")
        if role_ref.get("kind") == "ClusterRole":
            role = self.cluster_roles.get(name)
        elif role_ref.get("kind") == "Role" and binding_namespace:
            role = self.roles.get((binding_namespace, name))
        else:
            role = None
        if role is None:
            return None
        return tuple(Rule.from_dict(rule) for rule in role.get("rules") or ())

    def bindings(self, namespace: str) -> Iterator[tuple[str, JSONDict]]:
        """("ClusterRoleBinding" | "RoleBinding", binding) that apply in `namespace` ("" = cluster scope only)."""
        for binding in self.cluster_role_bindings:
            yield "ClusterRoleBinding", binding
        if namespace:
            for binding in self.role_bindings:
                if namespace_of(binding) == namespace:
                    yield "RoleBinding", binding


@dataclass(frozen=True, slots=True)
class Grant:
    """One subject allowed through one binding and its role, with the rules that match."""

    subject: JSONDict
    binding_kind: str
    binding_namespace: str
    binding_name: str
    role_kind: str
    role_name: str
    rules: tuple[Rule, ...]


def name_of(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("name") or "")


def namespace_of(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("namespace") or "")


async def get_named(transport: Transport, resource: Resource, name: str, namespace: str = "") -> JSONDict:
    """GET one object by a name that may hold `:` (system:* roles). The in-process transports put the
    percent-encoded path in the ASGI scope's `path` (which the spec says is decoded), so ApiClient.get's quoting
    of `:` reaches the server as a different name; `:` is valid in a path segment and is sent as it is here."""
    response = await transport.request("GET", f"{resource.path(namespace)}/{quote(name, safe=':@')}")
    if response.status >= 400:
        raise error_from_status(response.status, response.body)
    answer: JSONDict = orjson.loads(response.body)
    return answer


async def _list(client: ApiClient, resource: Resource, namespace: str = "") -> tuple[list[JSONDict], str]:
    try:
        answer = await client.list(resource, namespace=namespace)
    except ApiError as error:
        return [], error.message
    return list(answer.get("items") or ()), ""


async def fetch_policy(client: ApiClient, namespace: str = "", *, namespaced: bool = True) -> Policy:
    """See the module docstring. `namespaced=False` skips Roles and RoleBindings (cluster-scoped questions)."""
    wanted = [(CLUSTER_ROLES, ""), (CLUSTER_ROLE_BINDINGS, "")]
    if namespaced:
        wanted += [(ROLES, namespace), (ROLE_BINDINGS, namespace)]
    answers = await asyncio.gather(*(_list(client, resource, scope) for resource, scope in wanted))
    policy = Policy(namespace=namespace)
    for (resource, _), (items, denied) in zip(wanted, answers, strict=True):
        if denied:
            policy.denied[resource.plural] = denied
        elif resource is CLUSTER_ROLES:
            policy.cluster_roles = {name_of(item): item for item in items}
        elif resource is ROLES:
            policy.roles = {(namespace_of(item), name_of(item)): item for item in items}
        elif resource is CLUSTER_ROLE_BINDINGS:
            policy.cluster_role_bindings = items
        else:
            policy.role_bindings = items
    return policy


def who_can(policy: Policy, request: Request) -> list[Grant]:
    """Every (subject, binding, role) that allows `request`, ClusterRoleBindings first, as RBAC would find them."""
    grants = []
    for binding_kind, binding in policy.bindings(request.namespace):
        role_ref = binding.get("roleRef") or {}
        rules = policy.role_rules(role_ref, namespace_of(binding))
        matching = allowing_rules(request, rules or ())
        if not matching:
            continue
        for subject in binding.get("subjects") or ():
            grants.append(Grant(subject, binding_kind, namespace_of(binding), name_of(binding),
                                str(role_ref.get("kind") or ""), str(role_ref.get("name") or ""), tuple(matching)))
    return grants


def subject_rules(policy: Policy, subject: Subject, namespace: str) -> list[tuple[Rule, str]]:
    """The rules RBAC gives `subject` in `namespace`, each with the binding that grants it ("Kind ns/name")."""
    found = []
    for binding_kind, binding in policy.bindings(namespace):
        binding_namespace = namespace_of(binding)
        if not any(subject_applies(entry, subject, binding_namespace) for entry in binding.get("subjects") or ()):
            continue
        label = f"{binding_kind} {binding_namespace + '/' if binding_namespace else ''}{name_of(binding)}"
        found += [(rule, label) for rule in policy.role_rules(binding.get("roleRef") or {}, binding_namespace) or ()]
    return found
