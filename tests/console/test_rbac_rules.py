"""The console's copy of RBAC rule semantics and its reading of escalation refusals, as tables."""
from __future__ import annotations

import pytest

from console.rbac.escalation import MissingRule, missing_permissions
from console.rbac.policy import Policy, subject_rules, who_can
from console.rbac.rules import (
    Request,
    Rule,
    Subject,
    parse_resource,
    rule_allows,
    service_account_user,
    subject_applies,
)

PODS_READ = Rule(verbs=("get", "list"), api_groups=("",), resources=("pods",))


@pytest.mark.parametrize(("rule", "request_", "allowed"), [
    (PODS_READ, Request("get", "pods"), True),
    (PODS_READ, Request("watch", "pods"), False),
    (PODS_READ, Request("get", "pods", "apps"), False),
    (PODS_READ, Request("get", "pods", subresource="log"), False),
    (Rule(("get",), ("",), ("pods/log",)), Request("get", "pods", subresource="log"), True),
    (Rule(("get",), ("",), ("*/log",)), Request("get", "pods", subresource="log"), True),
    (Rule(("get",), ("",), ("*/log",)), Request("get", "pods"), False),
    (Rule(("*",), ("*",), ("*",)), Request("deletecollection", "widgets", "example.com"), True),
    (Rule(("*",), ("*",), ("*",)), Request("get", path="/healthz"), False),
    (Rule(("get",), ("",), ("configmaps",), ("cfg",)), Request("get", "configmaps", name="cfg"), True),
    (Rule(("get",), ("",), ("configmaps",), ("cfg",)), Request("get", "configmaps", name="other"), False),
    (Rule(("list",), ("",), ("configmaps",), ("cfg",)), Request("list", "configmaps"), False),  # no name: no match
    (Rule(("get",), non_resource_urls=("/healthz",)), Request("get", path="/healthz"), True),
    (Rule(("get",), non_resource_urls=("/healthz",)), Request("get", path="/healthz/ping"), False),
    (Rule(("get",), non_resource_urls=("/healthz*",)), Request("get", path="/healthz/ping"), True),
    (Rule(("get",), non_resource_urls=("*",)), Request("get", path="/version"), True),
    (Rule(("get",), non_resource_urls=("/api*",)), Request("get", "pods"), False),
])
def test_rule_matching_follows_the_rbac_authorizer(rule: Rule, request_: Request, allowed: bool) -> None:
    assert rule_allows(request_, rule) is allowed


@pytest.mark.parametrize(("entry", "applies"), [
    ({"kind": "User", "name": "alice"}, True),
    ({"kind": "User", "name": "bob"}, False),
    ({"kind": "Group", "name": "devs"}, True),
    ({"kind": "Group", "name": "ops"}, False),
    ({"kind": "ServiceAccount", "name": "alice", "namespace": ""}, False),
])
def test_subjects_apply_by_user_name_and_group(entry: dict[str, str], applies: bool) -> None:
    assert subject_applies(entry, Subject("alice", ("devs",)), "team") is applies


def test_a_service_account_subject_matches_its_user_and_its_groups() -> None:
    account = service_account_user("team", "robot")
    assert account.user == "system:serviceaccount:team:robot"
    assert subject_applies({"kind": "ServiceAccount", "name": "robot", "namespace": "team"}, account, "x")
    assert not subject_applies({"kind": "ServiceAccount", "name": "robot", "namespace": "other"}, account, "x")
    assert subject_applies({"kind": "Group", "name": "system:serviceaccounts:team"}, account, "x")


@pytest.mark.parametrize(("text", "parsed"), [
    ("pods", ("pods", "", "")), ("pods/log", ("pods", "", "log")),
    ("deployments.apps", ("deployments", "apps", "")), ("deployments.apps/scale", ("deployments", "apps", "scale")),
    ("widgets.example.com", ("widgets", "example.com", "")),
])
def test_resources_are_read_as_kubectl_names_them(text: str, parsed: tuple[str, str, str]) -> None:
    assert parse_resource(text) == parsed


def _policy() -> Policy:
    role = {"metadata": {"name": "reader", "namespace": "team"}, "rules": [
        {"verbs": ["get"], "apiGroups": [""], "resources": ["pods", "pods/log"]}]}
    cluster_role = {"metadata": {"name": "lister"}, "rules": [{"verbs": ["list"], "apiGroups": ["*"],
                                                               "resources": ["*"]}]}
    return Policy(
        namespace="team", cluster_roles={"lister": cluster_role}, roles={("team", "reader"): role},
        cluster_role_bindings=[{"metadata": {"name": "listers"}, "roleRef": {"kind": "ClusterRole", "name": "lister"},
                                "subjects": [{"kind": "Group", "name": "devs"}]}],
        role_bindings=[
            {"metadata": {"name": "readers", "namespace": "team"}, "roleRef": {"kind": "Role", "name": "reader"},
             "subjects": [{"kind": "User", "name": "alice"},
                          {"kind": "ServiceAccount", "name": "robot", "namespace": "team"}]},
            {"metadata": {"name": "elsewhere", "namespace": "other"}, "roleRef": {"kind": "Role", "name": "reader"},
             "subjects": [{"kind": "User", "name": "mallory"}]},
        ])


def test_who_can_names_the_subject_binding_and_role() -> None:
    grants = who_can(_policy(), Request("get", "pods", subresource="log", namespace="team"))
    assert [(g.subject["name"], g.binding_name, g.role_kind, g.role_name) for g in grants] == [
        ("alice", "readers", "Role", "reader"), ("robot", "readers", "Role", "reader")]
    grants = who_can(_policy(), Request("list", "pods", namespace="team"))
    assert [(g.subject["name"], g.binding_kind) for g in grants] == [("devs", "ClusterRoleBinding")]
    assert who_can(_policy(), Request("get", "pods", namespace="")) == []  # RoleBindings never grant cluster-wide


def test_a_subjects_rules_come_from_the_bindings_naming_it() -> None:
    rules = subject_rules(_policy(), Subject("alice", ("devs",)), "team")
    assert [label for _, label in rules] == ["ClusterRoleBinding listers", "RoleBinding team/readers"]
    assert subject_rules(_policy(), Subject("mallory"), "team") == []


def test_missing_permissions_are_read_from_the_escalation_message() -> None:
    message = ('rolebindings.rbac.authorization.k8s.io "b" is forbidden: user "dev" (groups=["system:authenticated"]) '
               "is attempting to grant RBAC permissions not currently held:\n"
               '{APIGroups:[""], Resources:["pods"], Verbs:["get" "list"]}\n'
               '{APIGroups:["apps"], Resources:["deployments"], ResourceNames:["web"], Verbs:["delete"]}\n'
               '{NonResourceURLs:["/metrics"], Verbs:["get"]}')
    assert missing_permissions(message) == [
        MissingRule(verbs=("get", "list"), api_groups=("",), resources=("pods",)),
        MissingRule(verbs=("delete",), api_groups=("apps",), resources=("deployments",), resource_names=("web",)),
        MissingRule(verbs=("get",), non_resource_urls=("/metrics",)),
    ]
    assert missing_permissions('pods is forbidden: User "x" cannot list resource "pods"') == []
