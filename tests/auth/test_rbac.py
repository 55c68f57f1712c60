"""The RBAC authorizer: subjects, bindings, scopes, reasons and the rules behind SelfSubjectRulesReview."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from apiserver.auth.authz.interface import Attributes, Decision, PolicyRule, RuleSourceUnavailable
from apiserver.auth.authz.rbac import RBACAuthorizer, StaticRuleSource, subject_applies


@dataclass(frozen=True)
class User:
    name: str
    groups: Sequence[str] = ()
    uid: str = ""
    extra: Mapping[str, Sequence[str]] = field(default_factory=dict)


RBAC = "rbac.authorization.k8s.io"
PODS_READ = {"verbs": ["get", "list", "watch"], "apiGroups": [""], "resources": ["pods"]}
SECRETS_ALL = {"verbs": ["*"], "apiGroups": [""], "resources": ["secrets"]}
HEALTH = {"verbs": ["get"], "nonResourceURLs": ["/healthz", "/healthz/*"]}


def cluster_role(name: str, *rules: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "ClusterRole", "metadata": {"name": name}, "rules": list(rules)}


def role(namespace: str, name: str, *rules: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "Role", "metadata": {"name": name, "namespace": namespace}, "rules": list(rules)}


def subject(kind: str, name: str, namespace: str = "") -> dict[str, Any]:
    entry = {"kind": kind, "name": name}
    if namespace:
        entry["namespace"] = namespace
    elif kind != "ServiceAccount":
        entry["apiGroup"] = RBAC
    return entry


def cluster_binding(name: str, role_name: str, *subjects: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "ClusterRoleBinding", "metadata": {"name": name}, "subjects": list(subjects),
            "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": role_name}}


def binding(namespace: str, name: str, kind: str, role_name: str, *subjects: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "RoleBinding", "metadata": {"name": name, "namespace": namespace}, "subjects": list(subjects),
            "roleRef": {"apiGroup": RBAC, "kind": kind, "name": role_name}}


def get(resource: str, namespace: str, user: User, name: str = "", verb: str = "get") -> Attributes:
    return Attributes(user=user, verb=verb, is_resource_request=True, api_version="v1", resource=resource,
                      namespace=namespace, name=name)


ALICE = User("alice", ("devs", "system:authenticated"))
BOB = User("bob", ("system:authenticated",))
WORKER = User("system:serviceaccount:apps:worker",
              ("system:serviceaccounts", "system:serviceaccounts:apps", "system:authenticated"))


@pytest.mark.parametrize(
    ("entry", "user", "namespace", "applies"),
    [
        (subject("User", "alice"), ALICE, "", True),
        (subject("User", "alice"), BOB, "", False),
        (subject("Group", "devs"), ALICE, "", True),
        (subject("Group", "devs"), BOB, "", False),
        (subject("ServiceAccount", "worker", "apps"), WORKER, "", True),
        (subject("ServiceAccount", "worker", "other"), WORKER, "", False),
        (subject("ServiceAccount", "worker"), WORKER, "apps", True),
        (subject("ServiceAccount", "worker"), WORKER, "other", False),
        (subject("ServiceAccount", "worker"), WORKER, "", False),
        (subject("User", "system:serviceaccount:apps:worker"), WORKER, "", True),
        ({"kind": "Robot", "name": "alice"}, ALICE, "", False),
    ],
    ids=["user", "other-user", "group", "not-in-group", "service-account", "service-account-other-namespace",
         "service-account-binding-namespace", "service-account-wrong-binding-namespace",
         "service-account-without-any-namespace", "service-account-as-user", "unknown-kind"],
)
def test_subject_applies(entry: dict[str, Any], user: User, namespace: str, applies: bool) -> None:
    assert subject_applies(user, entry, namespace) is applies


async def test_cluster_role_binding_grants_in_every_namespace_and_cluster_wide() -> None:
    source = StaticRuleSource(cluster_roles=[cluster_role("reader", PODS_READ)],
                              cluster_role_bindings=[cluster_binding("read", "reader", subject("Group", "devs"))])
    authorizer = RBACAuthorizer(source)
    for namespace in ("default", "other", ""):
        decision, reason = await authorizer.authorize(get("pods", namespace, ALICE))
        assert decision is Decision.ALLOW
        assert reason == 'RBAC: allowed by ClusterRoleBinding "read" of ClusterRole "reader" to Group "devs"'
    assert (await authorizer.authorize(get("pods", "default", BOB)))[0] is Decision.NO_OPINION


async def test_role_binding_grants_only_in_its_namespace() -> None:
    source = StaticRuleSource(
        roles=[role("team", "pod-reader", PODS_READ)],
        role_bindings=[binding("team", "read", "Role", "pod-reader", subject("User", "alice"))],
    )
    authorizer = RBACAuthorizer(source)
    decision, reason = await authorizer.authorize(get("pods", "team", ALICE))
    assert decision is Decision.ALLOW
    assert reason == 'RBAC: allowed by RoleBinding "read/team" of Role "pod-reader" to User "alice"'
    assert await authorizer.authorize(get("pods", "other", ALICE)) == (Decision.NO_OPINION, "")
    assert await authorizer.authorize(get("pods", "", ALICE, verb="list")) == (Decision.NO_OPINION, "")


async def test_role_binding_to_cluster_role_is_scoped_to_the_binding_namespace() -> None:
    source = StaticRuleSource(
        cluster_roles=[cluster_role("secret-admin", SECRETS_ALL)],
        role_bindings=[binding("team", "secrets", "ClusterRole", "secret-admin", subject("ServiceAccount", "worker"))],
    )
    authorizer = RBACAuthorizer(source)
    # The ServiceAccount subject has no namespace, so it means the binding's namespace: worker in "team".
    team_worker = User("system:serviceaccount:team:worker")
    decision, reason = await authorizer.authorize(get("secrets", "team", team_worker, verb="delete", name="s"))
    assert decision is Decision.ALLOW
    assert reason == ('RBAC: allowed by RoleBinding "secrets/team" of ClusterRole "secret-admin" '
                      'to ServiceAccount "worker/team"')
    assert (await authorizer.authorize(get("secrets", "apps", team_worker)))[0] is Decision.NO_OPINION
    assert (await authorizer.authorize(get("secrets", "team", WORKER)))[0] is Decision.NO_OPINION


async def test_rbac_never_denies_and_reports_missing_roles_as_its_reason() -> None:
    source = StaticRuleSource(
        cluster_role_bindings=[cluster_binding("ghost", "missing-cluster-role", subject("User", "alice"))],
        role_bindings=[binding("team", "ghost", "Role", "missing-role", subject("User", "alice")),
                       binding("team", "other", "Role", "also-missing", subject("User", "bob"))],
    )
    decision, reason = await RBACAuthorizer(source).authorize(get("pods", "team", ALICE))
    assert decision is Decision.NO_OPINION
    assert reason == ('RBAC: [clusterrole.rbac.authorization.k8s.io "missing-cluster-role" not found, '
                      'role.rbac.authorization.k8s.io "missing-role" not found]')


async def test_a_single_resolution_error_is_not_bracketed() -> None:
    source = StaticRuleSource(
        cluster_role_bindings=[cluster_binding("ghost", "gone", subject("User", "alice"))])
    assert await RBACAuthorizer(source).authorize(get("pods", "team", ALICE)) == (
        Decision.NO_OPINION, 'RBAC: clusterrole.rbac.authorization.k8s.io "gone" not found')


async def test_allowed_despite_errors_elsewhere() -> None:
    source = StaticRuleSource(
        cluster_roles=[cluster_role("reader", PODS_READ)],
        cluster_role_bindings=[cluster_binding("ghost", "gone", subject("User", "alice")),
                               cluster_binding("read", "reader", subject("User", "alice"))],
    )
    assert (await RBACAuthorizer(source).authorize(get("pods", "team", ALICE)))[0] is Decision.ALLOW


async def test_unsupported_role_ref_kind_is_a_resolution_error() -> None:
    weird = cluster_binding("weird", "x", subject("User", "alice"))
    weird["roleRef"]["kind"] = "Team"
    decision, reason = await RBACAuthorizer(StaticRuleSource(cluster_role_bindings=[weird])).authorize(
        get("pods", "", ALICE))
    assert (decision, reason) == (Decision.NO_OPINION, 'RBAC: unsupported role reference kind: "Team"')


async def test_non_resource_urls_are_granted_by_cluster_role_bindings() -> None:
    source = StaticRuleSource(cluster_roles=[cluster_role("health", HEALTH)],
                              cluster_role_bindings=[cluster_binding("health", "health", subject("User", "bob"))])
    authorizer = RBACAuthorizer(source)
    assert (await authorizer.authorize(Attributes(user=BOB, verb="get", path="/healthz/etcd")))[0] is Decision.ALLOW
    assert (await authorizer.authorize(Attributes(user=BOB, verb="get", path="/metrics")))[0] is Decision.NO_OPINION


class UnavailableSource(StaticRuleSource):
    async def list_cluster_role_bindings(self) -> list[dict[str, Any]]:
        raise RuleSourceUnavailable("the cluster role binding cache is not ready")


async def test_unreadable_state_is_reported_and_other_bindings_still_count() -> None:
    source = UnavailableSource(roles=[role("team", "pod-reader", PODS_READ)],
                               role_bindings=[binding("team", "read", "Role", "pod-reader", subject("User", "alice"))])
    authorizer = RBACAuthorizer(source)
    assert (await authorizer.authorize(get("pods", "team", ALICE)))[0] is Decision.ALLOW
    assert await authorizer.authorize(get("pods", "", ALICE)) == (
        Decision.NO_OPINION, "RBAC: the cluster role binding cache is not ready")


async def test_rules_for_splits_resource_and_non_resource_rules() -> None:
    source = StaticRuleSource(
        cluster_roles=[cluster_role("mixed", PODS_READ, HEALTH)],
        roles=[role("team", "secrets", SECRETS_ALL)],
        cluster_role_bindings=[cluster_binding("mixed", "mixed", subject("Group", "devs"))],
        role_bindings=[binding("team", "secrets", "Role", "secrets", subject("User", "alice")),
                       binding("team", "broken", "Role", "nope", subject("User", "alice"))],
    )
    rules = await RBACAuthorizer(source).rules_for(ALICE, "team")
    assert rules.resource_rules == (PolicyRule.from_dict(PODS_READ), PolicyRule.from_dict(SECRETS_ALL))
    assert rules.non_resource_rules == (PolicyRule.from_dict(HEALTH),)
    assert rules.incomplete is False
    assert rules.to_status() == {
        "resourceRules": [
            {"verbs": ["get", "list", "watch"], "apiGroups": [""], "resources": ["pods"]},
            {"verbs": ["*"], "apiGroups": [""], "resources": ["secrets"]},
        ],
        "nonResourceRules": [{"verbs": ["get"], "nonResourceURLs": ["/healthz", "/healthz/*"]}],
        "incomplete": False,
        "evaluationError": 'role.rbac.authorization.k8s.io "nope" not found',
    }


async def test_rules_for_without_bindings_is_empty_without_evaluation_error() -> None:
    rules = await RBACAuthorizer(StaticRuleSource()).rules_for(BOB, "default")
    assert rules.to_status() == {"resourceRules": [], "nonResourceRules": [], "incomplete": False}
