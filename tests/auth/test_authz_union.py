"""The authorizer chain: --authorization-mode parsing, the union, AlwaysAllow/AlwaysDeny, system:masters."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pytest

from apiserver.auth.authz.always import AlwaysAllow, AlwaysDeny, PrivilegedGroups
from apiserver.auth.authz.interface import (
    Attributes,
    AuthorizerError,
    Decision,
    PolicyRule,
    SubjectRules,
    attributes_from_request_info,
)
from apiserver.auth.authz.rbac import StaticRuleSource
from apiserver.auth.authz.union import (
    AuthorizationModeError,
    UnionAuthorizer,
    UnionRuleResolver,
    authorization_modes,
    build_authorizer,
)
from apiserver.meta.requestinfo import parse_request_info


@dataclass(frozen=True)
class User:
    name: str
    groups: Sequence[str] = ()
    uid: str = ""
    extra: Mapping[str, Sequence[str]] = field(default_factory=dict)


ADMIN = User("admin", ("system:masters", "system:authenticated"))
ALICE = User("alice", ("system:authenticated",))
LIST_PODS = Attributes(user=ALICE, verb="list", is_resource_request=True, api_version="v1", resource="pods",
                       namespace="default")


@pytest.mark.parametrize(
    ("value", "modes"),
    [("RBAC", ("RBAC",)), ("AlwaysAllow", ("AlwaysAllow",)), ("RBAC,AlwaysDeny", ("RBAC", "AlwaysDeny"))],
    ids=["rbac", "always-allow", "several"],
)
def test_authorization_modes_parses_the_flag(value: str, modes: tuple[str, ...]) -> None:
    assert authorization_modes(value) == modes


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "at least one authorization-mode must be passed"),
        ("RBAC,Magic", 'authorization-mode "Magic" is not a valid mode'),
        ("rbac", 'authorization-mode "rbac" is not a valid mode'),
        ("RBAC, AlwaysAllow", 'authorization-mode " AlwaysAllow" is not a valid mode'),
        ("RBAC,RBAC", 'authorization-mode ["RBAC" "RBAC"] has mode specified more than once'),
        ("Node,RBAC", 'authorization-mode "Node" is not supported by this server'),
        ("Magic,Magic", '[authorization-mode "Magic" is not a valid mode, '
                        'authorization-mode ["Magic" "Magic"] has mode specified more than once]'),
    ],
    ids=["empty", "unknown", "case-sensitive", "no-trimming", "duplicate", "not-implemented", "several-errors"],
)
def test_authorization_modes_rejects_invalid_values_with_upstream_messages(value: str, message: str) -> None:
    with pytest.raises(AuthorizationModeError) as raised:
        authorization_modes(value)
    assert str(raised.value) == message


class Fixed:
    def __init__(self, decision: Decision, reason: str = "") -> None:
        self.decision, self.reason, self.calls = decision, reason, 0

    async def authorize(self, attributes: Attributes) -> tuple[Decision, str]:
        self.calls += 1
        return self.decision, self.reason


class Failing:
    async def authorize(self, attributes: Attributes) -> tuple[Decision, str]:
        raise AuthorizerError("webhook unreachable")


async def test_union_returns_the_first_decision_with_its_own_reason() -> None:
    later = Fixed(Decision.ALLOW, "later")
    union = UnionAuthorizer([Fixed(Decision.NO_OPINION, "first abstains"), Fixed(Decision.DENY, "denied"), later])
    assert await union.authorize(LIST_PODS) == (Decision.DENY, "denied")
    assert later.calls == 0


async def test_union_without_decision_joins_reasons_with_newlines() -> None:
    union = UnionAuthorizer([Fixed(Decision.NO_OPINION, "one"), Fixed(Decision.NO_OPINION), AlwaysDeny()])
    assert await union.authorize(LIST_PODS) == (Decision.NO_OPINION, "one\nEverything is forbidden.")


async def test_union_tries_the_next_authorizer_after_a_failure() -> None:
    assert (await UnionAuthorizer([Failing(), AlwaysAllow()]).authorize(LIST_PODS))[0] is Decision.ALLOW
    with pytest.raises(AuthorizerError, match="webhook unreachable"):
        await UnionAuthorizer([Failing(), AlwaysDeny()]).authorize(LIST_PODS)


async def test_always_deny_abstains_so_a_later_mode_can_allow() -> None:
    assert await AlwaysDeny().authorize(LIST_PODS) == (Decision.NO_OPINION, "Everything is forbidden.")
    authorizer, _ = build_authorizer(("AlwaysDeny", "AlwaysAllow"), StaticRuleSource())
    assert await authorizer.authorize(LIST_PODS) == (Decision.ALLOW, "")


async def test_system_masters_is_allowed_before_any_mode() -> None:
    authorizer, _ = build_authorizer(("AlwaysDeny",), StaticRuleSource())
    admin_request = Attributes(user=ADMIN, verb="delete", is_resource_request=True, resource="nodes", name="n1")
    assert await authorizer.authorize(admin_request) == (Decision.ALLOW, "")
    assert await authorizer.authorize(LIST_PODS) == (Decision.NO_OPINION, "Everything is forbidden.")
    assert await PrivilegedGroups("ops").authorize(LIST_PODS) == (Decision.NO_OPINION, "")


async def test_rbac_mode_without_bindings_has_no_opinion_and_no_reason() -> None:
    authorizer, _ = build_authorizer(authorization_modes("RBAC"), StaticRuleSource())
    assert await authorizer.authorize(LIST_PODS) == (Decision.NO_OPINION, "")


async def test_rule_resolvers_union_concatenates_rules_and_errors() -> None:
    class Partial:
        async def rules_for(self, user: object, namespace: str) -> SubjectRules:
            return SubjectRules(resource_rules=(PolicyRule(verbs=("get",), api_groups=("",), resources=("pods",)),),
                                incomplete=True, errors=("a", "b"))

    union = UnionRuleResolver([AlwaysAllow(), AlwaysDeny(), Partial()])
    rules = await union.rules_for(ALICE, "default")
    assert [rule.resources for rule in rules.resource_rules] == [("*",), ("pods",)]
    assert rules.to_status() == {
        "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]},
                          {"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}],
        "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
        "incomplete": True,
        "evaluationError": "[a, b]",
    }


async def test_the_rule_resolver_of_the_modes_leaves_out_system_masters() -> None:
    _, resolver = build_authorizer(("RBAC",), StaticRuleSource())
    assert (await resolver.rules_for(ADMIN, "default")).to_status() == {
        "resourceRules": [], "nonResourceRules": [], "incomplete": False}


def test_attributes_from_request_info_carry_the_request() -> None:
    info = parse_request_info("GET", "/apis/apps/v1/namespaces/ns/deployments/web/scale", {})
    attributes = attributes_from_request_info(ALICE, info)
    assert (attributes.verb, attributes.api_group, attributes.api_version, attributes.namespace, attributes.resource,
            attributes.subresource, attributes.name, attributes.is_resource_request) == (
        "get", "apps", "v1", "ns", "deployments", "scale", "web", True)
    assert attributes_from_request_info(ALICE, parse_request_info("GET", "/healthz", {})).path == "/healthz"


def test_attributes_from_request_info_parse_selectors_and_keep_parse_errors() -> None:
    info = parse_request_info("GET", "/api/v1/pods", {"labelSelector": ["app=web"], "fieldSelector": ["a"]})
    attributes = attributes_from_request_info(ALICE, info)
    assert attributes.label_selector is not None
    assert str(attributes.label_selector) == "app=web"
    assert attributes.field_selector is None
    assert attributes.field_selector_error == "invalid selector: 'a'; can't understand 'a'"
