"""Impersonation: each requested identity element is authorised, with upstream's messages when it is not."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pytest

from apiserver.auth.authz.interface import Attributes, AuthorizerError, Decision
from apiserver.auth.impersonation import ImpersonationRequestError, impersonate, is_impersonation_header
from apiserver.auth.user import UserInfo
from apiserver.meta.errors import Forbidden

BOB = UserInfo("bob", groups=("system:authenticated",))


@dataclass
class Policy:
    """Allows the (resource, subresource, namespace, name) tuples listed, with "*" as name wildcard."""

    allowed: set[tuple[str, str, str, str]] = field(default_factory=set)
    reason: str = ""
    seen: list[Attributes] = field(default_factory=list)

    async def authorize(self, attributes: Attributes) -> tuple[Decision, str]:
        self.seen.append(attributes)
        key = (attributes.resource, attributes.subresource, attributes.namespace)
        if (*key, attributes.name) in self.allowed or (*key, "*") in self.allowed:
            return Decision.ALLOW, ""
        return Decision.NO_OPINION, self.reason


def everything() -> Policy:
    return Policy({
        ("users", "", "", "*"), ("groups", "", "", "*"), ("serviceaccounts", "", "ci", "*"), ("uids", "", "", "*"),
        ("userextras", "scopes", "", "*"), ("userextras", "acme.com/project", "", "*"),
    })


def headers(**values: Sequence[str]) -> Mapping[str, Sequence[str]]:
    return {name.replace("_", "-").lower(): list(value) for name, value in values.items()}


async def test_no_impersonation_headers_means_no_impersonation() -> None:
    policy = Policy()
    assert await impersonate(BOB, headers(Accept=["*/*"]), policy.authorize) is None
    assert policy.seen == []


async def test_impersonating_a_user_adds_system_authenticated() -> None:
    user = await impersonate(BOB, headers(Impersonate_User=["alice"]), everything().authorize)
    assert user == UserInfo("alice", groups=("system:authenticated",))


async def test_impersonating_user_groups_uid_and_extras_checks_each_in_order() -> None:
    policy = everything()
    request = {
        "impersonate-user": ["alice"], "impersonate-group": ["devs", "ops"], "impersonate-uid": ["1234"],
        "impersonate-extra-scopes": ["view", "edit"], "impersonate-extra-acme.com%2fproject": ["apollo"],
    }
    user = await impersonate(BOB, request, policy.authorize)
    assert user == UserInfo("alice", uid="1234", groups=("devs", "ops", "system:authenticated"),
                            extra={"scopes": ("view", "edit"), "acme.com/project": ("apollo",)})
    assert [(a.resource, a.subresource, a.name, a.api_group, a.api_version) for a in policy.seen] == [
        ("users", "", "alice", "", ""), ("groups", "", "devs", "", ""), ("groups", "", "ops", "", ""),
        ("userextras", "scopes", "view", "authentication.k8s.io", "v1"),
        ("userextras", "scopes", "edit", "authentication.k8s.io", "v1"),
        ("userextras", "acme.com/project", "apollo", "authentication.k8s.io", "v1"),
        ("uids", "", "1234", "authentication.k8s.io", "v1"),
    ]
    assert all(a.verb == "impersonate" and a.is_resource_request and a.user == BOB for a in policy.seen)


async def test_impersonating_a_service_account_checks_it_in_its_namespace_and_adds_its_groups() -> None:
    policy = everything()
    user = await impersonate(BOB, headers(Impersonate_User=["system:serviceaccount:ci:builder"]), policy.authorize)
    assert user == UserInfo("system:serviceaccount:ci:builder",
                            groups=("system:serviceaccounts", "system:serviceaccounts:ci", "system:authenticated"))
    assert [(a.resource, a.namespace, a.name) for a in policy.seen] == [("serviceaccounts", "ci", "builder")]


async def test_groups_given_for_a_service_account_replace_its_groups() -> None:
    request = headers(Impersonate_User=["system:serviceaccount:ci:builder"], Impersonate_Group=["devs"])
    user = await impersonate(BOB, request, everything().authorize)
    assert user is not None and user.groups == ("devs", "system:authenticated")


@pytest.mark.parametrize(
    ("name", "groups", "expected"),
    [
        ("alice", ["system:unauthenticated"], ("system:unauthenticated",)),
        ("alice", ["system:authenticated", "x"], ("system:authenticated", "x")),
        ("system:anonymous", [], ("system:unauthenticated",)),
        ("system:anonymous", ["system:authenticated"], ("system:authenticated", "system:unauthenticated")),
    ],
    ids=["explicitly-unauthenticated", "explicitly-authenticated", "anonymous", "anonymous-with-authenticated"],
)
async def test_default_groups_of_the_impersonated_user(name: str, groups: list[str], expected: tuple[str, ...]) -> None:
    request = {"impersonate-user": [name], **({"impersonate-group": groups} if groups else {})}
    user = await impersonate(BOB, request, everything().authorize)
    assert user is not None and user.groups == expected


@pytest.mark.parametrize(
    ("request_headers", "allowed", "message", "details"),
    [
        ({"impersonate-user": ["alice"]}, set(),
         'users "alice" is forbidden: User "bob" cannot impersonate resource "users" in API group "" at the cluster '
         'scope', {"name": "alice", "kind": "users"}),
        ({"impersonate-user": ["system:serviceaccount:ci:builder"]}, set(),
         'serviceaccounts "builder" is forbidden: User "bob" cannot impersonate resource "serviceaccounts" in API '
         'group "" in the namespace "ci"', {"name": "builder", "kind": "serviceaccounts"}),
        ({"impersonate-user": ["alice"], "impersonate-group": ["system:masters"]}, {("users", "", "", "alice")},
         'groups "system:masters" is forbidden: User "bob" cannot impersonate resource "groups" in API group "" at '
         'the cluster scope', {"name": "system:masters", "kind": "groups"}),
        ({"impersonate-user": ["alice"], "impersonate-extra-scopes": ["admin"]}, {("users", "", "", "alice")},
         'userextras.authentication.k8s.io "admin" is forbidden: User "bob" cannot impersonate resource '
         '"userextras/scopes" in API group "authentication.k8s.io" at the cluster scope',
         {"name": "admin", "group": "authentication.k8s.io", "kind": "userextras"}),
        ({"impersonate-user": ["alice"], "impersonate-uid": ["42"]}, {("users", "", "", "alice")},
         'uids.authentication.k8s.io "42" is forbidden: User "bob" cannot impersonate resource "uids" in API group '
         '"authentication.k8s.io" at the cluster scope',
         {"name": "42", "group": "authentication.k8s.io", "kind": "uids"}),
        ({"impersonate-user": ["<script>&"]}, set(),
         'users "<script>&" is forbidden: User "bob" cannot impersonate resource "users" in API group "" at the '
         'cluster scope', {"name": "<script>&", "kind": "users"}),
    ],
    ids=["user", "service-account", "group", "extra", "uid", "html-in-name"],
)
async def test_denied_impersonation_is_forbidden_with_upstreams_message(
    request_headers: Mapping[str, Sequence[str]], allowed: set[tuple[str, str, str, str]], message: str,
    details: dict[str, str],
) -> None:
    with pytest.raises(Forbidden) as caught:
        await impersonate(BOB, request_headers, Policy(allowed).authorize)
    assert caught.value.to_status() == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
        "reason": "Forbidden", "details": details, "code": 403,
    }


async def test_html_in_the_forbidden_sentence_is_escaped() -> None:
    requester = UserInfo("<b>bob</b>")
    with pytest.raises(Forbidden) as caught:
        await impersonate(requester, {"impersonate-user": ["alice"]}, Policy().authorize)
    assert caught.value.message == ('users "alice" is forbidden: User "&lt;b&gt;bob&lt;/b&gt;" cannot impersonate '
                                    'resource "users" in API group "" at the cluster scope')


async def test_the_authorizers_reason_is_appended() -> None:
    with pytest.raises(Forbidden) as caught:
        await impersonate(BOB, {"impersonate-user": ["alice"]}, Policy(reason="RBAC: nope").authorize)
    assert caught.value.message.endswith("at the cluster scope: RBAC: nope")


async def test_an_authorizer_error_forbids() -> None:
    async def broken(attributes: Attributes) -> tuple[Decision, str]:
        raise AuthorizerError("rules unavailable")

    with pytest.raises(Forbidden):
        await impersonate(BOB, {"impersonate-user": ["alice"]}, broken)


async def test_checks_stop_at_the_first_denial() -> None:
    policy = Policy({("users", "", "", "alice")})
    with pytest.raises(Forbidden):
        await impersonate(BOB, {"impersonate-user": ["alice"], "impersonate-group": ["a", "b"]}, policy.authorize)
    assert [a.name for a in policy.seen] == ["alice", "a"]


@pytest.mark.parametrize(
    ("request_headers", "message"),
    [
        ({"impersonate-group": ["devs"]}, "requested [{Group  devs    }] without impersonating a user"),
        ({"impersonate-uid": ["42"]}, "requested [{UID  42  authentication.k8s.io/v1  }] without impersonating a user"),
        ({"impersonate-extra-scopes": ["view"], "impersonate-group": ["a"]},
         "requested [{Group  a    } {UserExtra  view  authentication.k8s.io/v1  scopes}] without impersonating a user"),
        ({"impersonate-user": [""], "impersonate-group": ["devs"]},
         "requested [{Group  devs    }] without impersonating a user"),
    ],
    ids=["groups", "uid", "extras", "empty-user"],
)
async def test_identity_elements_without_a_user_are_a_plain_internal_error(
    request_headers: Mapping[str, Sequence[str]], message: str
) -> None:
    policy = everything()
    with pytest.raises(ImpersonationRequestError) as caught:
        await impersonate(BOB, request_headers, policy.authorize)
    assert caught.value.message == message
    assert policy.seen == []


def test_internal_error_body_is_upstreams_plain_text() -> None:
    error = ImpersonationRequestError("requested [{Group  devs    }] without impersonating a user")
    assert error.body("/api/v1/namespaces?a=<b>") == (
        b'Internal Server Error: "/api/v1/namespaces?a=&lt;b&gt;": requested [{Group  devs    }] without '
        b"impersonating a user\n"
    )


@pytest.mark.parametrize(
    ("name", "stripped"),
    [("Impersonate-User", True), ("impersonate-group", True), ("Impersonate-Uid", True),
     ("Impersonate-Extra-Scopes", True), ("Impersonate", False), ("Authorization", False)],
)
def test_impersonation_headers_to_strip(name: str, stripped: bool) -> None:
    assert is_impersonation_header(name) is stripped
