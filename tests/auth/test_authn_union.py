"""The authentication chain: first success wins, errors aggregate, system:authenticated, anonymous last."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pytest

from apiserver.auth.authn.anonymous import AnonymousAuthenticator
from apiserver.auth.authn.interface import AuthenticatedToken, AuthenticationFailed, AuthRequest
from apiserver.auth.authn.union import AuthenticatorUnion, RequestAuthenticator, TokenAuthenticatorUnion
from apiserver.auth.user import (
    UserInfo,
    add_authenticated_group,
    service_account_groups,
    service_account_username,
    split_service_account_username,
)
from apiserver.meta.errors import Unauthorized

ALICE = UserInfo("alice", groups=("devs",))


@dataclass(frozen=True)
class EmptyRequest:
    headers: Mapping[str, Sequence[str]] = field(default_factory=dict)
    tls: Mapping[str, object] | None = None

    def header(self, name: str) -> str | None:
        return None


@dataclass
class Fixed:
    """An authenticator with a fixed answer: a user, None, or an error message; counts its calls."""

    answer: UserInfo | str | None
    calls: int = 0

    async def authenticate(self, request: AuthRequest) -> UserInfo | None:
        self.calls += 1
        if isinstance(self.answer, str):
            raise Unauthorized(self.answer)
        return self.answer


async def test_first_success_wins_even_after_errors() -> None:
    later = Fixed(UserInfo("bob"))
    union = AuthenticatorUnion([Fixed("x509: bad"), Fixed(None), Fixed(ALICE), later])
    assert await union.authenticate(EmptyRequest()) == ALICE
    assert later.calls == 0


async def test_errors_are_aggregated_when_nobody_succeeds() -> None:
    union = AuthenticatorUnion([Fixed("first"), Fixed(None), Fixed("second"), Fixed("first")])
    with pytest.raises(Unauthorized) as caught:
        await union.authenticate(EmptyRequest())
    assert caught.value.message == "[first, second]"


async def test_nested_unions_flatten_their_errors() -> None:
    inner = AuthenticatorUnion([Fixed("a"), Fixed("b")])
    with pytest.raises(Unauthorized) as caught:
        await AuthenticatorUnion([inner, Fixed("c")]).authenticate(EmptyRequest())
    assert caught.value.message == "[a, b, c]"


async def test_nobody_claiming_the_request_is_none() -> None:
    assert await AuthenticatorUnion([Fixed(None), Fixed(None)]).authenticate(EmptyRequest()) is None


async def test_fail_on_error_stops_at_the_first_error() -> None:
    later = Fixed(ALICE)
    with pytest.raises(Unauthorized, match=r"^bad token$"):
        await AuthenticatorUnion([Fixed("bad token"), later], fail_on_error=True).authenticate(EmptyRequest())
    assert later.calls == 0


@dataclass
class FixedTokens:
    answer: AuthenticatedToken | str | None

    async def authenticate_token(self, token: str, audiences: Sequence[str] | None = None) -> AuthenticatedToken | None:
        if isinstance(self.answer, str):
            raise Unauthorized(self.answer)
        return self.answer


async def test_token_union_has_the_same_rules() -> None:
    winner = AuthenticatedToken(ALICE, ("api",))
    assert await TokenAuthenticatorUnion([FixedTokens("e"), FixedTokens(winner)]).authenticate_token("t") == winner
    with pytest.raises(Unauthorized, match=r"^\[e1, e2\]$"):
        await TokenAuthenticatorUnion([FixedTokens("e1"), FixedTokens(None), FixedTokens("e2")]).authenticate_token("t")
    assert await TokenAuthenticatorUnion([FixedTokens(None)]).authenticate_token("t") is None


async def test_chain_adds_system_authenticated() -> None:
    user = await RequestAuthenticator([Fixed(ALICE)]).authenticate(EmptyRequest())
    assert user == UserInfo("alice", groups=("devs", "system:authenticated"))


async def test_chain_without_credential_and_without_anonymous_is_unauthorized() -> None:
    with pytest.raises(AuthenticationFailed) as caught:
        await RequestAuthenticator([Fixed(None)]).authenticate(EmptyRequest())
    assert caught.value.to_status() == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": "Unauthorized",
        "reason": "Unauthorized", "code": 401,
    }
    assert caught.value.detail == ""


async def test_chain_without_credential_is_anonymous_when_enabled() -> None:
    user = await RequestAuthenticator([Fixed(None)], anonymous=AnonymousAuthenticator()).authenticate(EmptyRequest())
    assert user == UserInfo("system:anonymous", groups=("system:unauthenticated",))


async def test_chain_with_a_bad_credential_is_never_anonymous() -> None:
    chain = RequestAuthenticator([Fixed("invalid bearer token")], anonymous=AnonymousAuthenticator())
    with pytest.raises(AuthenticationFailed) as caught:
        await chain.authenticate(EmptyRequest())
    assert (caught.value.message, caught.value.detail) == ("Unauthorized", "invalid bearer token")


async def test_chain_with_several_errors_reports_them_all_for_the_log() -> None:
    chain = RequestAuthenticator([Fixed("x509: unknown authority"), Fixed("invalid bearer token")])
    with pytest.raises(AuthenticationFailed) as caught:
        await chain.authenticate(EmptyRequest())
    assert caught.value.detail == "[x509: unknown authority, invalid bearer token]"


@pytest.mark.parametrize(
    ("user", "groups"),
    [
        (UserInfo("alice", groups=("devs",)), ("devs", "system:authenticated")),
        (UserInfo("system:anonymous", groups=("system:unauthenticated",)), ("system:unauthenticated",)),
        (UserInfo("bob", groups=("system:authenticated", "ops")), ("system:authenticated", "ops")),
        (UserInfo("probe", groups=("system:unauthenticated",)), ("system:unauthenticated",)),
    ],
    ids=["added", "anonymous", "already-authenticated", "explicitly-unauthenticated"],
)
def test_authenticated_group_adder(user: UserInfo, groups: tuple[str, ...]) -> None:
    assert add_authenticated_group(user).groups == groups


# --- UserInfo and ServiceAccount names -----------------------------------------------------------------------------


def test_user_info_is_immutable_whatever_it_was_given() -> None:
    extra = {"scopes": ["view"]}
    groups = ["devs"]
    user = UserInfo("alice", groups=groups, extra=extra)  # type: ignore[arg-type]
    extra["scopes"].append("edit")
    groups.append("admins")
    assert (user.groups, dict(user.extra)) == (("devs",), {"scopes": ("view",)})
    with pytest.raises(TypeError):
        user.extra["scopes"] = ("x",)  # type: ignore[index]
    assert hash(user) == hash(UserInfo("alice", groups=("devs",)))


def test_user_info_renders_the_authentication_api_object() -> None:
    user = UserInfo("alice", "1001", ("devs",), {"scopes": ("view",)})
    assert user.to_dict() == {"username": "alice", "uid": "1001", "groups": ["devs"], "extra": {"scopes": ["view"]}}
    assert UserInfo("bob").to_dict() == {"username": "bob"}


def test_service_account_names() -> None:
    assert service_account_username("ci", "builder") == "system:serviceaccount:ci:builder"
    assert service_account_groups("ci") == ("system:serviceaccounts", "system:serviceaccounts:ci")


@pytest.mark.parametrize(
    ("username", "parts"),
    [
        ("system:serviceaccount:ci:builder", ("ci", "builder")),
        ("system:serviceaccount:ci:my.bot", ("ci", "my.bot")),
        ("system:serviceaccount:ci", None),
        ("system:serviceaccount:ci:a:b", None),
        ("system:serviceaccount:Ci:builder", None),
        ("system:serviceaccount:ci:", None),
        ("system:serviceaccounts:ci:builder", None),
        ("alice", None),
    ],
)
def test_split_service_account_username(username: str, parts: tuple[str, str] | None) -> None:
    assert split_service_account_username(username) == parts
