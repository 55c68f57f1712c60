"""The bootstrap RBAC policy, checked by what it allows: the default roles, their bindings and aggregation."""
from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from apiserver.auth.authz.bootstrappolicy import bootstrap_policy
from apiserver.auth.authz.escalation import confirm_no_escalation
from apiserver.auth.authz.interface import Attributes, Decision, rules_of
from apiserver.auth.authz.rbac import RBACAuthorizer, StaticRuleSource
from apiserver.auth.authz.rbac_rules import aggregate_rules, rules_equal
from apiserver.meta.objects import name_of, namespace_of


@dataclass(frozen=True)
class User:
    name: str
    groups: Sequence[str] = ()
    uid: str = ""
    extra: Mapping[str, Sequence[str]] = field(default_factory=dict)


AUTHENTICATED = ("system:authenticated",)
ANONYMOUS = User("system:anonymous", ("system:unauthenticated",))
ALICE = User("alice", AUTHENTICATED)
RBAC = "rbac.authorization.k8s.io"


def aggregated(cluster_roles: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Run aggregation to a fixed point, as the controller eventually does (view feeds edit feeds admin)."""
    roles = copy.deepcopy(list(cluster_roles))
    changed = True
    while changed:
        changed = False
        for role in roles:
            rules = aggregate_rules(role, roles)
            if rules is not None and not rules_equal(rules, role.get("rules") or []):
                role["rules"], changed = rules, True
    return roles


def policy_source(*extra_bindings: dict[str, Any]) -> StaticRuleSource:
    policy = bootstrap_policy()
    return StaticRuleSource(
        cluster_roles=aggregated(policy.cluster_roles), cluster_role_bindings=list(policy.cluster_role_bindings),
        roles=list(policy.roles), role_bindings=[*policy.role_bindings, *extra_bindings],
    )


def alice_binding(namespace: str, cluster_role: str) -> dict[str, Any]:
    return {"kind": "RoleBinding", "metadata": {"name": f"alice-{cluster_role}", "namespace": namespace},
            "subjects": [{"kind": "User", "apiGroup": RBAC, "name": "alice"}],
            "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": cluster_role}}


def resource(verb: str, resource_name: str, *, user: User = ALICE, namespace: str = "team", group: str = "",
             subresource: str = "", name: str = "") -> Attributes:
    return Attributes(user=user, verb=verb, is_resource_request=True, api_group=group, api_version="v1",
                      resource=resource_name, subresource=subresource, namespace=namespace, name=name)


def path(user: User, url: str) -> Attributes:
    return Attributes(user=user, verb="get", path=url)


async def allowed(source: StaticRuleSource, attributes: Attributes) -> bool:
    return (await RBACAuthorizer(source).authorize(attributes))[0] is Decision.ALLOW


VIEW_CASES = [
    (resource("list", "pods"), True),
    (resource("get", "pods", subresource="log", name="p"), True),
    (resource("get", "deployments", group="apps", name="d"), True),
    (resource("get", "secrets", name="s"), False),
    (resource("list", "secrets"), False),
    (resource("create", "pods"), False),
    (resource("list", "roles", group=RBAC), False),
    (resource("create", "pods", subresource="exec", name="p"), False),
    (resource("list", "pods", namespace="other"), False),
]


@pytest.mark.parametrize(("attributes", "expected"), VIEW_CASES,
                         ids=["pods", "pod-logs", "deployments", "secret", "secrets", "create-pod", "roles",
                              "exec", "other-namespace"])
async def test_view_reads_workloads_but_not_secrets(attributes: Attributes, expected: bool) -> None:
    assert await allowed(policy_source(alice_binding("team", "view")), attributes) is expected


EDIT_CASES = [
    (resource("create", "deployments", group="apps"), True),
    (resource("patch", "deployments", group="apps", name="d"), True),
    (resource("update", "deployments", group="apps", subresource="scale", name="d"), True),
    (resource("get", "secrets", name="s"), True),
    (resource("create", "pods", subresource="exec", name="p"), True),
    (resource("create", "serviceaccounts", subresource="token", name="sa"), True),
    (resource("create", "roles", group=RBAC), False),
    (resource("create", "rolebindings", group=RBAC), False),
    (resource("update", "resourcequotas", name="q"), False),
    (resource("update", "pods", subresource="status", name="p"), False),
]


@pytest.mark.parametrize(("attributes", "expected"), EDIT_CASES,
                         ids=["create-deployment", "patch-deployment", "scale", "secret", "exec", "token",
                              "create-role", "create-rolebinding", "quota", "pod-status"])
async def test_edit_writes_workloads_but_not_roles(attributes: Attributes, expected: bool) -> None:
    assert await allowed(policy_source(alice_binding("team", "edit")), attributes) is expected


async def test_admin_manages_roles_and_bindings_in_its_namespace_only() -> None:
    source = policy_source(alice_binding("team", "admin"))
    assert await allowed(source, resource("create", "roles", group=RBAC))
    assert await allowed(source, resource("create", "rolebindings", group=RBAC))
    assert await allowed(source, resource("create", "localsubjectaccessreviews", group="authorization.k8s.io"))
    assert await allowed(source, resource("delete", "pods", name="p"))
    assert not await allowed(source, resource("create", "roles", group=RBAC, namespace="other"))
    assert not await allowed(source, resource("create", "clusterroles", group=RBAC, namespace=""))
    assert not await allowed(source, resource("update", "resourcequotas", name="q"))


async def test_a_namespace_admin_can_grant_edit_there_without_escalating() -> None:
    source = policy_source(alice_binding("team", "admin"))
    edit = next(role for role in source.cluster_roles if name_of(role) == "edit")
    assert await confirm_no_escalation(ALICE, "team", rules_of(edit), source) is None
    assert await confirm_no_escalation(ALICE, "other", rules_of(edit), source) is not None


@pytest.mark.parametrize("url", ["/healthz", "/livez", "/readyz", "/version", "/version/"])
async def test_public_info_is_open_to_everyone(url: str) -> None:
    source = policy_source()
    assert await allowed(source, path(ANONYMOUS, url))
    assert await allowed(source, path(ALICE, url))


@pytest.mark.parametrize("url", ["/api", "/api/v1", "/apis", "/apis/apps/v1", "/openapi/v2", "/openapi/v3/apis"])
async def test_discovery_is_open_to_authenticated_users_only(url: str) -> None:
    source = policy_source()
    assert await allowed(source, path(ALICE, url))
    assert not await allowed(source, path(ANONYMOUS, url))


@pytest.mark.parametrize(
    ("group", "review"),
    [("authorization.k8s.io", "selfsubjectaccessreviews"), ("authorization.k8s.io", "selfsubjectrulesreviews"),
     ("authentication.k8s.io", "selfsubjectreviews")],
)
async def test_self_reviews_are_open_to_authenticated_users_only(group: str, review: str) -> None:
    source = policy_source()
    assert await allowed(source, resource("create", review, group=group, namespace=""))
    assert not await allowed(source, resource("create", review, group=group, namespace="", user=ANONYMOUS))
    assert not await allowed(source, resource("create", "subjectaccessreviews", group="authorization.k8s.io",
                                              namespace=""))


async def test_metrics_need_the_monitoring_group() -> None:
    source = policy_source()
    assert not await allowed(source, path(ALICE, "/metrics"))
    assert await allowed(source, path(User("prometheus", ("system:monitoring", *AUTHENTICATED)), "/metrics"))
    assert await allowed(source, path(User("prometheus", ("system:monitoring",)), "/readyz/etcd"))


async def test_cluster_admin_is_bound_to_system_masters() -> None:
    source = policy_source()
    master = User("root", ("system:masters", *AUTHENTICATED))
    decision, reason = await RBACAuthorizer(source).authorize(resource("delete", "nodes", user=master, namespace=""))
    assert decision is Decision.ALLOW
    assert reason == 'RBAC: allowed by ClusterRoleBinding "cluster-admin" of ClusterRole "cluster-admin" to Group ' \
                     '"system:masters"'
    assert await allowed(source, path(master, "/debug/pprof/"))


def controller(name: str) -> User:
    return User(f"system:serviceaccount:kube-system:{name}",
                ("system:serviceaccounts", "system:serviceaccounts:kube-system", *AUTHENTICATED))


@pytest.mark.parametrize(
    ("account", "attributes"),
    [
        ("namespace-controller", resource("deletecollection", "widgets", group="example.com", namespace="gone")),
        ("namespace-controller", resource("update", "namespaces", subresource="finalize", name="gone", namespace="")),
        ("generic-garbage-collector", resource("patch", "configmaps", name="c", namespace="any")),
        ("service-account-controller", resource("create", "serviceaccounts", namespace="new")),
        ("clusterrole-aggregation-controller", resource("escalate", "clusterroles", group=RBAC, name="admin",
                                                        namespace="")),
        ("root-ca-cert-publisher", resource("create", "configmaps", namespace="new")),
        ("resourcequota-controller", resource("update", "resourcequotas", subresource="status", name="q")),
    ],
    ids=["namespace-cleanup", "namespace-finalize", "gc", "serviceaccounts", "aggregation", "root-ca", "quota"],
)
async def test_controllers_hold_what_they_need(account: str, attributes: Attributes) -> None:
    source = policy_source()
    assert await allowed(source, replace(attributes, user=controller(account)))


async def test_service_accounts_may_read_the_issuer_discovery_documents() -> None:
    source = policy_source()
    worker = User("system:serviceaccount:apps:w", ("system:serviceaccounts", "system:serviceaccounts:apps"))
    assert await allowed(source, path(worker, "/openid/v1/jwks"))
    assert not await allowed(source, path(ALICE, "/openid/v1/jwks"))


async def test_kube_system_roles_serve_their_components() -> None:
    source = policy_source()
    scheduler = User("system:kube-scheduler", AUTHENTICATED)
    assert await allowed(source, resource("get", "configmaps", user=scheduler, namespace="kube-system",
                                          name="extension-apiserver-authentication"))
    assert not await allowed(source, resource("get", "configmaps", user=scheduler, namespace="kube-system", name="x"))
    assert await allowed(source, resource("update", "configmaps", user=scheduler, namespace="kube-system",
                                          name="kube-scheduler"))
    signer = controller("bootstrap-signer")
    assert await allowed(source, resource("update", "configmaps", user=signer, namespace="kube-public",
                                          name="cluster-info"))


def test_every_object_is_labelled_and_annotated_for_reconciliation() -> None:
    policy = bootstrap_policy()
    objects = [*policy.cluster_roles, *policy.cluster_role_bindings, *policy.roles, *policy.role_bindings]
    for obj in objects:
        assert obj["metadata"]["labels"]["kubernetes.io/bootstrapping"] == "rbac-defaults", name_of(obj)
        assert obj["metadata"]["annotations"] == {"rbac.authorization.kubernetes.io/autoupdate": "true"}
        assert obj["apiVersion"] == "rbac.authorization.k8s.io/v1"
    for kind in (policy.cluster_roles, policy.cluster_role_bindings, policy.roles, policy.role_bindings):
        keys = [(namespace_of(obj), name_of(obj)) for obj in kind]
        assert len(keys) == len(set(keys))


def test_every_binding_refers_to_a_bootstrap_role() -> None:
    policy = bootstrap_policy()
    cluster_roles = {name_of(role) for role in policy.cluster_roles}
    roles = {(namespace_of(role), name_of(role)) for role in policy.roles}
    for binding in policy.cluster_role_bindings:
        assert binding["roleRef"]["name"] in cluster_roles
    for binding in policy.role_bindings:
        assert (namespace_of(binding), binding["roleRef"]["name"]) in roles


def test_aggregated_roles_carry_selectors_and_labels_as_upstream() -> None:
    roles = {name_of(role): role for role in bootstrap_policy().cluster_roles}
    assert roles["admin"]["aggregationRule"] == {
        "clusterRoleSelectors": [{"matchLabels": {"rbac.authorization.k8s.io/aggregate-to-admin": "true"}}]}
    assert "rules" not in roles["admin"]
    assert roles["edit"]["metadata"]["labels"]["rbac.authorization.k8s.io/aggregate-to-admin"] == "true"
    assert roles["view"]["metadata"]["labels"]["rbac.authorization.k8s.io/aggregate-to-edit"] == "true"
    assert "subjects" not in next(b for b in bootstrap_policy().cluster_role_bindings if name_of(b) == "system:node")


async def test_cluster_admin_covers_every_bootstrap_role() -> None:
    source = policy_source()
    master = User("root", ("system:masters",))
    for role in [*source.cluster_roles, *source.roles]:
        assert await confirm_no_escalation(master, namespace_of(role), rules_of(role), source) is None


def test_bootstrap_policy_returns_fresh_objects() -> None:
    first = bootstrap_policy()
    first.cluster_roles[0]["rules"].clear()
    assert bootstrap_policy().cluster_roles[0]["rules"]
