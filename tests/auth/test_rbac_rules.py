"""RBAC rule semantics: matching requests, covering rules, compact descriptions and aggregation."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pytest

from apiserver.auth.authz.interface import Attributes, PolicyRule
from apiserver.auth.authz.rbac_rules import (
    aggregate_rules,
    breakdown_rule,
    compact_rules,
    compact_string,
    covers,
    rule_allows,
    rules_equal,
    semantically_equal,
)
from apiserver.meta.selectors import SelectorError


@dataclass(frozen=True)
class User:
    name: str
    groups: Sequence[str] = ()
    uid: str = ""
    extra: Mapping[str, Sequence[str]] = field(default_factory=dict)


ALICE = User("alice")


def request(verb: str, resource: str, *, group: str = "", subresource: str = "", name: str = "",
            namespace: str = "default") -> Attributes:
    return Attributes(user=ALICE, verb=verb, is_resource_request=True, api_group=group, api_version="v1",
                      resource=resource, subresource=subresource, name=name, namespace=namespace)


def path_request(verb: str, path: str) -> Attributes:
    return Attributes(user=ALICE, verb=verb, path=path)


def rule(*verbs: str, groups: Sequence[str] = ("",), resources: Sequence[str] = (), names: Sequence[str] = (),
         urls: Sequence[str] = ()) -> PolicyRule:
    return PolicyRule(verbs=verbs, api_groups=tuple(groups) if resources else (), resources=tuple(resources),
                      resource_names=tuple(names), non_resource_urls=tuple(urls))


@pytest.mark.parametrize(
    ("policy", "attributes", "allowed"),
    [
        (rule("get", resources=["pods"]), request("get", "pods"), True),
        (rule("get", resources=["pods"]), request("list", "pods"), False),
        (rule("*", resources=["pods"]), request("deletecollection", "pods"), True),
        (rule("get", resources=["pods"]), request("get", "pods", group="apps"), False),
        (rule("get", groups=["*"], resources=["deployments"]), request("get", "deployments", group="apps"), True),
        (rule("get", groups=["apps"], resources=["deployments"]), request("get", "deployments", group="apps"), True),
        (rule("get", resources=["*"]), request("get", "secrets"), True),
        (rule("get", resources=["*"]), request("get", "pods", subresource="log"), True),
        (rule("get", resources=["pods"]), request("get", "pods", subresource="log"), False),
        (rule("get", resources=["pods/log"]), request("get", "pods", subresource="log"), True),
        (rule("get", resources=["pods/log"]), request("get", "pods"), False),
        (rule("get", resources=["*/log"]), request("get", "pods", subresource="log"), True),
        (rule("get", resources=["*/log"]), request("get", "pods"), False),
        (rule("get", resources=["*/status"]), request("get", "pods", subresource="log"), False),
        (rule("get", resources=["pods/*"]), request("get", "pods", subresource="log"), False),
        (rule("get", resources=["pods"], names=["x"]), request("get", "pods", name="x"), True),
        (rule("get", resources=["pods"], names=["x"]), request("get", "pods", name="y"), False),
        (rule("list", resources=["pods"], names=["x"]), request("list", "pods"), False),
        (rule("create", resources=["pods"], names=["x"]), request("create", "pods"), False),
        (rule("delete", resources=["pods"]), request("delete", "pods", name="anything"), True),
        (rule("get", resources=["pods"]), path_request("get", "/api/v1/pods"), False),
        (rule("get", urls=["/healthz"]), path_request("get", "/healthz"), True),
        (rule("get", urls=["/healthz"]), path_request("get", "/healthz/etcd"), False),
        (rule("get", urls=["/healthz/*"]), path_request("get", "/healthz/etcd"), True),
        (rule("get", urls=["/healthz/*"]), path_request("get", "/healthz"), False),
        (rule("get", urls=["/api*"]), path_request("get", "/apis/apps"), True),
        (rule("get", urls=["*"]), path_request("get", "/anything/at/all"), True),
        (rule("get", urls=["/healthz"]), path_request("post", "/healthz"), False),
        (rule("get", urls=["/healthz"]), request("get", "healthz"), False),
    ],
    ids=[
        "verb", "other-verb", "verb-star", "group-mismatch", "group-star", "named-group", "resource-star",
        "resource-star-covers-subresource", "resource-does-not-cover-subresource", "subresource", "subresource-only",
        "star-subresource", "star-subresource-needs-subresource", "other-star-subresource", "resource-slash-star",
        "resource-name", "other-resource-name", "list-never-matches-names", "create-never-matches-names",
        "no-names-any-name", "resource-rule-no-path", "url", "url-exact", "url-prefix", "url-prefix-needs-slash",
        "url-bare-prefix", "url-star", "url-verb", "url-rule-no-resource",
    ],
)
def test_rule_allows(policy: PolicyRule, attributes: Attributes, allowed: bool) -> None:
    assert rule_allows(attributes, policy) is allowed


def test_policy_rule_round_trips_through_its_object() -> None:
    rule_object = {"verbs": ["get"], "apiGroups": [""], "resources": ["pods"], "resourceNames": ["x"]}
    assert PolicyRule.from_dict(rule_object).to_dict() == rule_object
    assert PolicyRule.from_dict({"verbs": ["get"], "nonResourceURLs": ["/x"], "apiGroups": None}).to_dict() == {
        "verbs": ["get"], "nonResourceURLs": ["/x"]}


def test_breakdown_rule_yields_one_verb_resource_and_name_each_in_upstream_order() -> None:
    broken = breakdown_rule(PolicyRule(verbs=("get", "list"), api_groups=("",), resources=("pods", "secrets"),
                                       resource_names=("a",)))
    assert [(r.resources, r.verbs, r.resource_names) for r in broken] == [
        (("pods",), ("get",), ("a",)), (("pods",), ("list",), ("a",)),
        (("secrets",), ("get",), ("a",)), (("secrets",), ("list",), ("a",)),
    ]
    urls = breakdown_rule(PolicyRule(verbs=("get", "post"), non_resource_urls=("/a",)))
    assert urls == [PolicyRule(verbs=("get",), non_resource_urls=("/a",)),
                    PolicyRule(verbs=("post",), non_resource_urls=("/a",))]


@pytest.mark.parametrize(
    ("owner", "servant", "covered"),
    [
        ([rule("*", groups=["*"], resources=["*"])], [rule("get", resources=["pods"], names=["x"])], True),
        ([rule("get", "list", resources=["pods"])], [rule("get", resources=["pods"])], True),
        ([rule("get", resources=["pods"])], [rule("get", "list", resources=["pods"])], False),
        ([rule("get", resources=["pods"])], [rule("get", resources=["pods"], names=["x"])], True),
        ([rule("get", resources=["pods"], names=["x"])], [rule("get", resources=["pods"])], False),
        ([rule("get", resources=["pods"], names=["x", "y"])], [rule("get", resources=["pods"], names=["y"])], True),
        ([rule("get", resources=["*/log"])], [rule("get", resources=["pods/log"])], True),
        ([rule("get", resources=["*/log"])], [rule("get", resources=["pods"])], False),
        ([rule("get", resources=["pods"])], [rule("get", resources=["pods/log"])], False),
        ([rule("get", urls=["/logs/*"])], [rule("get", urls=["/logs/kube.log"])], True),
        ([rule("get", urls=["/logs"])], [rule("get", urls=["/logs/kube.log"])], False),
        ([rule("*", groups=["*"], resources=["*"])], [rule("get", urls=["/healthz"])], False),
        ([rule("*", urls=["*"])], [rule("get", resources=["pods"])], False),
        ([rule("get", resources=["pods"]), rule("list", resources=["pods"])], [rule("get", "list", resources=["pods"])],
         True),
    ],
    ids=["star-covers-all", "verb-subset", "verb-superset", "no-names-covers-names", "names-do-not-cover-all",
         "name-subset", "star-subresource", "star-subresource-not-resource", "resource-not-subresource",
         "url-prefix", "url-exact-only", "resources-do-not-cover-urls", "urls-do-not-cover-resources",
         "split-across-rules"],
)
def test_covers(owner: list[PolicyRule], servant: list[PolicyRule], covered: bool) -> None:
    assert covers(owner, servant)[0] is covered


def test_covers_lists_the_uncovered_broken_down_rules() -> None:
    owner = [rule("get", resources=["pods"])]
    _, missing = covers(owner, [rule("get", "list", resources=["pods", "secrets"])])
    assert missing == [
        PolicyRule(verbs=("list",), api_groups=("",), resources=("pods",)),
        PolicyRule(verbs=("get",), api_groups=("",), resources=("secrets",)),
        PolicyRule(verbs=("list",), api_groups=("",), resources=("secrets",)),
    ]


def test_compact_string_prints_go_quoted_lists_in_upstream_field_order() -> None:
    described = compact_string(PolicyRule(verbs=("get", "list"), api_groups=("",), resources=("pods",),
                                          resource_names=("a",)))
    assert described == '{APIGroups:[""], Resources:["pods"], ResourceNames:["a"], Verbs:["get" "list"]}'
    assert compact_string(PolicyRule(verbs=("get",), non_resource_urls=("/healthz",))) == (
        '{NonResourceURLs:["/healthz"], Verbs:["get"]}')


def test_compact_rules_merges_verbs_of_simple_rules_only() -> None:
    compacted = compact_rules([
        PolicyRule(verbs=("get",), api_groups=("",), resources=("pods",)),
        PolicyRule(verbs=("get",), api_groups=("",), resources=("secrets",), resource_names=("s",)),
        PolicyRule(verbs=("list",), api_groups=("",), resources=("pods",)),
    ])
    assert compacted == [
        PolicyRule(verbs=("get",), api_groups=("",), resources=("secrets",), resource_names=("s",)),
        PolicyRule(verbs=("get", "list"), api_groups=("",), resources=("pods",)),
    ]


def cluster_role(name: str, *rules: dict[str, object], labels: Mapping[str, str] | None = None,
                 selectors: list[dict[str, object]] | None = None) -> dict[str, object]:
    role: dict[str, object] = {"metadata": {"name": name, "labels": dict(labels or {})}, "rules": list(rules)}
    if selectors is not None:
        role["aggregationRule"] = {"clusterRoleSelectors": selectors}
    return role


PODS_READ = {"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}
SECRETS_READ = {"verbs": ["get"], "apiGroups": [""], "resources": ["secrets"]}


def test_aggregate_rules_merges_selected_roles_by_name_once_each() -> None:
    aggregated = cluster_role("agg", selectors=[{"matchLabels": {"team": "a"}}])
    roles = [
        aggregated,
        cluster_role("z-role", SECRETS_READ, PODS_READ, labels={"team": "a"}),
        cluster_role("a-role", PODS_READ, labels={"team": "a"}),
        cluster_role("other", {"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}, labels={"team": "b"}),
    ]
    assert aggregate_rules(aggregated, roles) == [PODS_READ, SECRETS_READ]


def test_aggregate_rules_follows_selector_order_and_skips_the_role_itself() -> None:
    aggregated = cluster_role("agg", {"verbs": ["list"], "apiGroups": [""], "resources": ["x"]},
                              labels={"b": "1"},
                              selectors=[{"matchLabels": {"b": "1"}}, {"matchExpressions": [
                                  {"key": "a", "operator": "Exists"}]}])
    roles = [aggregated, cluster_role("first", SECRETS_READ, labels={"a": "1"}),
             cluster_role("second", PODS_READ, labels={"b": "1"})]
    assert aggregate_rules(aggregated, roles) == [PODS_READ, SECRETS_READ]


def test_aggregate_rules_is_none_without_aggregation_rule_and_empty_with_no_match() -> None:
    assert aggregate_rules(cluster_role("plain", PODS_READ), []) is None
    lonely = cluster_role("agg", selectors=[{"matchLabels": {"team": "nobody"}}])
    assert aggregate_rules(lonely, [lonely, cluster_role("x", PODS_READ)]) == []


def test_aggregate_rules_with_an_empty_selector_selects_every_role() -> None:
    aggregated = cluster_role("agg", selectors=[{}])
    assert aggregate_rules(aggregated, [aggregated, cluster_role("x", PODS_READ)]) == [PODS_READ]


def test_aggregate_rules_rejects_an_invalid_selector() -> None:
    aggregated = cluster_role("agg", selectors=[{"matchExpressions": [{"key": "a", "operator": "Near"}]}])
    with pytest.raises(SelectorError, match='"Near" is not a valid label selector operator'):
        aggregate_rules(aggregated, [aggregated])


def test_rules_and_objects_compare_semantically() -> None:
    assert rules_equal([{"verbs": ["get"], "resourceNames": []}], [{"verbs": ["get"], "resourceNames": None}])
    assert not rules_equal([{"verbs": ["get"]}], [{"verbs": ["list"]}])
    assert semantically_equal({"a": {"b": []}, "c": None}, {"a": {}})
    assert not semantically_equal({"labels": {"a": ""}}, {"labels": {}})
