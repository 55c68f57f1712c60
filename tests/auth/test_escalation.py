"""RBAC escalation prevention for role and binding writes, with upstream's messages."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from apiserver.auth.authz.escalation import (
    check_binding_write,
    check_role_write,
    confirm_no_escalation,
    is_only_mutating_gc_fields,
    role_escalation_authorized,
)
from apiserver.auth.authz.interface import PolicyRule
from apiserver.auth.authz.rbac import RBACAuthorizer, StaticRuleSource
from apiserver.meta.errors import ApiError, Forbidden, NotFound


@dataclass(frozen=True)
class User:
    name: str
    groups: Sequence[str] = ()
    uid: str = ""
    extra: Mapping[str, Sequence[str]] = field(default_factory=dict)


RBAC = "rbac.authorization.k8s.io"
ALICE = User("alice", ("devs", "system:authenticated"))
ADMIN = User("root", ("system:masters",))
PODS_READ = {"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"]}
SECRETS_READ = {"verbs": ["get"], "apiGroups": [""], "resources": ["secrets"]}
GRANTING_HEADER = ('user "alice" (groups=["devs" "system:authenticated"]) is attempting to grant RBAC permissions '
                   "not currently held:\n")


def cluster_role(name: str, *rules: dict[str, Any], aggregation: bool = False) -> dict[str, Any]:
    role: dict[str, Any] = {"kind": "ClusterRole", "metadata": {"name": name}, "rules": list(rules)}
    if aggregation:
        role["aggregationRule"] = {"clusterRoleSelectors": [{"matchLabels": {"team": "a"}}]}
    return role


def role(namespace: str, name: str, *rules: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "Role", "metadata": {"name": name, "namespace": namespace}, "rules": list(rules)}


def alice_binding(kind: str, name: str, *, namespace: str = "", role_kind: str = "ClusterRole") -> dict[str, Any]:
    metadata = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {"kind": kind, "metadata": metadata,
            "subjects": [{"kind": "User", "apiGroup": RBAC, "name": "alice"}],
            "roleRef": {"apiGroup": RBAC, "kind": role_kind, "name": name}}


def world(*alice_rules: dict[str, Any], extra_roles: Sequence[dict[str, Any]] = (),
          roles: Sequence[dict[str, Any]] = ()) -> StaticRuleSource:
    """Alice holds `alice_rules` cluster-wide; `extra_roles` exist but are bound to nobody."""
    return StaticRuleSource(
        cluster_roles=[cluster_role("alice", *alice_rules), *extra_roles], roles=list(roles),
        cluster_role_bindings=[alice_binding("ClusterRoleBinding", "alice")],
    )


async def write_role(source: StaticRuleSource, new: dict[str, Any], *, user: User = ALICE,
                     resource: str = "clusterroles", namespace: str = "", request_name: str = "",
                     old: dict[str, Any] | None = None) -> None:
    await check_role_write(user=user, resource=resource, namespace=namespace, request_name=request_name, new=new,
                           old=old, authorizer=RBACAuthorizer(source), rule_source=source)


async def test_granting_held_permissions_is_allowed() -> None:
    source = world(PODS_READ, SECRETS_READ)
    await write_role(source, cluster_role("readers", {"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}))


async def test_granting_unheld_permissions_is_forbidden_with_upstreams_message() -> None:
    source = world(PODS_READ)
    with pytest.raises(Forbidden) as raised:
        await write_role(source, cluster_role("sneaky", PODS_READ, SECRETS_READ))
    assert raised.value.message == (
        'clusterroles.rbac.authorization.k8s.io "sneaky" is forbidden: ' + GRANTING_HEADER
        + '{APIGroups:[""], Resources:["secrets"], Verbs:["get"]}')
    assert raised.value.to_status()["details"] == {"name": "sneaky", "group": RBAC, "kind": "clusterroles"}


async def test_missing_permissions_are_compacted_and_sorted() -> None:
    source = world()
    wanted = [{"verbs": ["list", "get"], "apiGroups": [""], "resources": ["secrets", "configmaps"]},
              {"verbs": ["get"], "nonResourceURLs": ["/metrics"]},
              {"verbs": ["update"], "apiGroups": ["apps"], "resources": ["deployments"], "resourceNames": ["web"]}]
    with pytest.raises(Forbidden) as raised:
        await write_role(source, role("ns", "r", *wanted), resource="roles", namespace="ns")
    assert raised.value.message == (
        'roles.rbac.authorization.k8s.io "r" is forbidden: ' + GRANTING_HEADER
        + '{APIGroups:[""], Resources:["configmaps"], Verbs:["list" "get"]}\n'
        + '{APIGroups:[""], Resources:["secrets"], Verbs:["list" "get"]}\n'
        + '{APIGroups:["apps"], Resources:["deployments"], ResourceNames:["web"], Verbs:["update"]}\n'
        + '{NonResourceURLs:["/metrics"], Verbs:["get"]}')


async def test_role_bindings_of_the_request_namespace_count() -> None:
    source = StaticRuleSource(
        roles=[role("team", "secrets", SECRETS_READ)],
        role_bindings=[alice_binding("RoleBinding", "secrets", namespace="team", role_kind="Role")],
    )
    await write_role(source, role("team", "r", SECRETS_READ), resource="roles", namespace="team")
    with pytest.raises(Forbidden):
        await write_role(source, role("other", "r", SECRETS_READ), resource="roles", namespace="other")
    with pytest.raises(Forbidden):
        await write_role(source, cluster_role("r", SECRETS_READ))


async def test_system_masters_may_grant_anything() -> None:
    await write_role(StaticRuleSource(), cluster_role("all", {"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}),
                     user=ADMIN)


async def test_escalate_verb_allows_granting_anything() -> None:
    escalate = {"verbs": ["escalate"], "apiGroups": [RBAC], "resources": ["clusterroles"]}
    await write_role(world(escalate), cluster_role("all", SECRETS_READ, aggregation=True))


async def test_escalate_limited_to_a_name_applies_to_updates_of_that_role_only() -> None:
    escalate = {"verbs": ["escalate"], "apiGroups": [RBAC], "resources": ["roles"], "resourceNames": ["r"]}
    source = world(escalate)
    old = role("ns", "r")
    await write_role(source, role("ns", "r", SECRETS_READ), resource="roles", namespace="ns", request_name="r",
                     old=old)
    with pytest.raises(Forbidden):
        await write_role(source, role("ns", "r", SECRETS_READ), resource="roles", namespace="ns")


async def test_aggregation_rule_needs_full_authority() -> None:
    source = world(PODS_READ)
    with pytest.raises(Forbidden) as raised:
        await write_role(source, cluster_role("agg", PODS_READ, aggregation=True))
    assert raised.value.message == ('clusterroles.rbac.authorization.k8s.io "agg" is forbidden: '
                                    "must have cluster-admin privileges to use the aggregationRule")
    with pytest.raises(Forbidden, match="aggregationRule"):
        await write_role(source, cluster_role("agg", PODS_READ), old=cluster_role("agg", aggregation=True),
                         request_name="agg")
    full = world({"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}, {"verbs": ["*"], "nonResourceURLs": ["*"]})
    await write_role(full, cluster_role("agg", PODS_READ, aggregation=True))


async def test_update_touching_only_gc_fields_needs_no_permissions() -> None:
    old = cluster_role("powerful", SECRETS_READ)
    new = cluster_role("powerful", SECRETS_READ)
    new["metadata"]["finalizers"] = ["foregroundDeletion"]
    new["metadata"]["ownerReferences"] = [{"apiVersion": "v1", "kind": "ConfigMap", "name": "o", "uid": "u"}]
    await write_role(world(), new, old=old, request_name="powerful")
    new["metadata"]["labels"] = {"changed": "yes"}
    with pytest.raises(Forbidden):
        await write_role(world(), new, old=old, request_name="powerful")


def test_is_only_mutating_gc_fields_ignores_null_versus_empty() -> None:
    old = {"metadata": {"name": "r", "finalizers": ["a"]}, "rules": None}
    assert is_only_mutating_gc_fields({"metadata": {"name": "r", "labels": {}}, "rules": []}, old)
    assert not is_only_mutating_gc_fields({"metadata": {"name": "r"}, "rules": [SECRETS_READ]}, old)


async def test_resolution_errors_are_appended_to_the_message() -> None:
    source = StaticRuleSource(cluster_role_bindings=[alice_binding("ClusterRoleBinding", "gone")])
    message = await confirm_no_escalation(ALICE, "", [PolicyRule.from_dict(SECRETS_READ)], source)
    assert message == (GRANTING_HEADER + '{APIGroups:[""], Resources:["secrets"], Verbs:["get"]}'
                       '; resolution errors: [clusterroles.rbac.authorization.k8s.io "gone" not found]')


async def test_confirm_no_escalation_without_groups_prints_an_empty_list() -> None:
    message = await confirm_no_escalation(User("bob"), "ns", [PolicyRule.from_dict(PODS_READ)], StaticRuleSource())
    assert message is not None
    assert message.startswith('user "bob" (groups=[]) is attempting')


async def write_binding(source: StaticRuleSource, new: dict[str, Any], *, resource: str = "rolebindings",
                        namespace: str = "team", user: User = ALICE, old: dict[str, Any] | None = None) -> None:
    await check_binding_write(user=user, resource=resource, namespace=namespace, new=new, old=old,
                              authorizer=RBACAuthorizer(source), rule_source=source)


def binding_to(kind: str, role_kind: str, role_name: str, name: str = "b") -> dict[str, Any]:
    return {"kind": kind, "metadata": {"name": name}, "subjects": [{"kind": "User", "apiGroup": RBAC, "name": "bob"}],
            "roleRef": {"apiGroup": RBAC, "kind": role_kind, "name": role_name}}


async def test_binding_a_role_whose_permissions_are_held_is_allowed() -> None:
    source = world(PODS_READ, extra_roles=[cluster_role("pod-reader", PODS_READ)])
    await write_binding(source, binding_to("RoleBinding", "ClusterRole", "pod-reader"))
    await write_binding(source, binding_to("ClusterRoleBinding", "ClusterRole", "pod-reader"),
                        resource="clusterrolebindings", namespace="")


async def test_binding_a_role_with_unheld_permissions_is_forbidden() -> None:
    source = world(PODS_READ, extra_roles=[cluster_role("secret-reader", SECRETS_READ)])
    with pytest.raises(Forbidden) as raised:
        await write_binding(source, binding_to("ClusterRoleBinding", "ClusterRole", "secret-reader", name="grab"),
                            resource="clusterrolebindings", namespace="")
    assert raised.value.message == (
        'clusterrolebindings.rbac.authorization.k8s.io "grab" is forbidden: ' + GRANTING_HEADER
        + '{APIGroups:[""], Resources:["secrets"], Verbs:["get"]}')


async def test_bind_verb_allows_binding_without_holding_the_permissions() -> None:
    bind = {"verbs": ["bind"], "apiGroups": [RBAC], "resources": ["clusterroles"], "resourceNames": ["secret-reader"]}
    source = world(bind, extra_roles=[cluster_role("secret-reader", SECRETS_READ), cluster_role("other", SECRETS_READ)])
    await write_binding(source, binding_to("RoleBinding", "ClusterRole", "secret-reader"))
    with pytest.raises(Forbidden):
        await write_binding(source, binding_to("RoleBinding", "ClusterRole", "other"))


async def test_bind_verb_granted_in_a_namespace_only_works_there() -> None:
    bind = {"verbs": ["bind"], "apiGroups": [RBAC], "resources": ["clusterroles"]}
    source = StaticRuleSource(
        cluster_roles=[cluster_role("binder", bind), cluster_role("secret-reader", SECRETS_READ)],
        role_bindings=[alice_binding("RoleBinding", "binder", namespace="team")],
    )
    await write_binding(source, binding_to("RoleBinding", "ClusterRole", "secret-reader"))
    with pytest.raises(Forbidden):
        await write_binding(source, binding_to("ClusterRoleBinding", "ClusterRole", "secret-reader"),
                            resource="clusterrolebindings", namespace="")


async def test_binding_a_missing_role_is_not_found() -> None:
    with pytest.raises(NotFound) as raised:
        await write_binding(world(PODS_READ), binding_to("RoleBinding", "Role", "ghost"))
    assert raised.value.to_status() == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": 'roles.rbac.authorization.k8s.io "ghost" not found', "reason": "NotFound",
        "details": {"name": "ghost", "group": RBAC, "kind": "roles"}, "code": 404,
    }


async def test_binding_an_unsupported_kind_is_an_internal_error() -> None:
    with pytest.raises(ApiError) as raised:
        await write_binding(world(PODS_READ), binding_to("RoleBinding", "Team", "x"))
    assert (raised.value.code, raised.value.reason, raised.value.message) == (
        500, "", 'unsupported role reference kind: "Team"')


async def test_binding_writes_by_system_masters_and_gc_only_updates_pass() -> None:
    empty = StaticRuleSource()
    await write_binding(empty, binding_to("RoleBinding", "Role", "ghost"), user=ADMIN)
    old = binding_to("RoleBinding", "ClusterRole", "cluster-admin")
    new = binding_to("RoleBinding", "ClusterRole", "cluster-admin")
    new["metadata"]["finalizers"] = ["x"]
    await write_binding(empty, new, old=old)


async def test_escalate_is_only_checked_for_rbac_roles() -> None:
    source = world({"verbs": ["escalate"], "apiGroups": ["*"], "resources": ["*"]})
    authorizer = RBACAuthorizer(source)
    assert await role_escalation_authorized(authorizer, ALICE, resource="clusterroles", namespace="", name="")
    assert not await role_escalation_authorized(authorizer, ALICE, resource="widgets", namespace="", name="")
    assert not await role_escalation_authorized(authorizer, ALICE, resource="roles", namespace="ns", name="",
                                                api_group="example.com")
