"""Bearer tokens: header parsing, the --token-auth-file format and errors, audiences, and TokenReview's view."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from apiserver.auth.authn.interface import AuthenticatedToken
from apiserver.auth.authn.tokens import (
    AudienceAgnosticTokenAuthenticator,
    BearerTokenAuthenticator,
    StaticTokenAuthenticator,
    TokenFileError,
    TokenReviewResult,
    bearer_token,
    load_token_file,
    review_token,
)
from apiserver.auth.authn.union import TokenAuthenticatorUnion
from apiserver.auth.user import UserInfo
from apiserver.meta.errors import InternalError, Unauthorized

ALICE = UserInfo("alice", "1001", ("devs",))


@dataclass(frozen=True)
class HeaderRequest:
    authorization: str | None = None
    tls: Mapping[str, object] | None = None

    @property
    def headers(self) -> Mapping[str, Sequence[str]]:
        return {"authorization": [self.authorization]} if self.authorization is not None else {}

    def header(self, name: str) -> str | None:
        return self.authorization if name.lower() == "authorization" else None


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer abc", "abc"), ("bearer abc", "abc"), ("BEARER abc", "abc"), ("  Bearer abc  ", "abc"),
        ("Bearer abc def", "abc"), ("Bearer  abc", None), ("Bearer", None), ("Bearer ", None),
        ("Basic YWxpY2U6cHc=", None), ("", None), (None, None),
    ],
    ids=["plain", "lower", "upper", "padded", "extra-part", "double-space", "no-token", "empty-token", "basic",
         "empty", "absent"],
)
def test_bearer_token_parsing_matches_upstream(header: str | None, token: str | None) -> None:
    assert bearer_token(header) == token


async def test_bearer_token_authenticates_through_the_token_authenticator() -> None:
    authenticator = BearerTokenAuthenticator(StaticTokenAuthenticator({"abc": ALICE}))
    assert await authenticator.authenticate(HeaderRequest("Bearer abc")) == ALICE


async def test_unknown_bearer_token_is_an_error_not_anonymous() -> None:
    authenticator = BearerTokenAuthenticator(StaticTokenAuthenticator({"abc": ALICE}))
    with pytest.raises(Unauthorized) as caught:
        await authenticator.authenticate(HeaderRequest("Bearer nope"))
    assert caught.value.message == "invalid bearer token"


async def test_request_without_bearer_token_is_not_ours() -> None:
    authenticator = BearerTokenAuthenticator(StaticTokenAuthenticator({"abc": ALICE}))
    assert await authenticator.authenticate(HeaderRequest()) is None
    assert await authenticator.authenticate(HeaderRequest("Bearer  abc")) is None


@dataclass
class RecordingTokens:
    audiences: list[Sequence[str] | None]

    async def authenticate_token(self, token: str, audiences: Sequence[str] | None = None) -> AuthenticatedToken:
        self.audiences.append(audiences)
        return AuthenticatedToken(ALICE)


async def test_bearer_tokens_are_checked_for_the_api_audiences() -> None:
    recorded = RecordingTokens([])
    await BearerTokenAuthenticator(recorded, api_audiences=["https://kubernetes.default.svc"]).authenticate(
        HeaderRequest("Bearer x"))
    await BearerTokenAuthenticator(recorded).authenticate(HeaderRequest("Bearer x"))
    assert recorded.audiences == [("https://kubernetes.default.svc",), None]


@pytest.mark.parametrize(
    ("requested", "expected"),
    [(None, AuthenticatedToken(ALICE)), (["api", "other"], AuthenticatedToken(ALICE, ("api",))), (["other"], None)],
    ids=["no-requirement", "intersecting", "disjoint"],
)
async def test_audience_agnostic_tokens_are_valid_for_the_api_audiences(
    requested: list[str] | None, expected: AuthenticatedToken | None
) -> None:
    authenticator = AudienceAgnosticTokenAuthenticator(["api"], StaticTokenAuthenticator({"abc": ALICE}))
    assert await authenticator.authenticate_token("abc", requested) == expected


# --- TokenReview ----------------------------------------------------------------------------------------------------


class FailingTokens:
    async def authenticate_token(self, token: str, audiences: Sequence[str] | None = None) -> AuthenticatedToken:
        raise Unauthorized("service account token has expired")


async def test_review_of_a_good_token_adds_system_authenticated() -> None:
    tokens = AudienceAgnosticTokenAuthenticator(["api"], StaticTokenAuthenticator({"abc": ALICE}))
    result = await review_token(tokens, "abc", api_audiences=["api"])
    assert result == TokenReviewResult(True, UserInfo("alice", "1001", ("devs", "system:authenticated")), ("api",))


async def test_review_of_an_unknown_token_reports_invalid_bearer_token() -> None:
    result = await review_token(StaticTokenAuthenticator({}), "abc")
    assert result == TokenReviewResult(False, error="invalid bearer token")


async def test_review_reports_the_authenticators_errors() -> None:
    result = await review_token(TokenAuthenticatorUnion([StaticTokenAuthenticator({}), FailingTokens()]), "abc")
    assert result == TokenReviewResult(False, error="service account token has expired")


async def test_review_for_an_audience_the_token_lacks_is_unauthenticated() -> None:
    tokens = AudienceAgnosticTokenAuthenticator(["api"], StaticTokenAuthenticator({"abc": ALICE}))
    result = await review_token(tokens, "abc", audiences=["vault"], api_audiences=["api"])
    assert result == TokenReviewResult(False, error="invalid bearer token")


async def test_review_with_an_authenticator_ignoring_audiences_is_an_internal_error() -> None:
    with pytest.raises(InternalError) as caught:
        await review_token(StaticTokenAuthenticator({"abc": ALICE}), "abc", audiences=["vault"])
    assert caught.value.message == "Internal error occurred: error validating audiences"


# --- --token-auth-file ----------------------------------------------------------------------------------------------


def token_file(tmp_path: Path, content: bytes) -> Path:
    path = tmp_path / "tokens.csv"
    path.write_bytes(content)
    return path


async def users_of(path: Path, *tokens: str) -> list[UserInfo | None]:
    authenticator = load_token_file(path)
    results = [await authenticator.authenticate_token(token) for token in tokens]
    return [result.user if result is not None else None for result in results]


async def test_token_file_records_become_users(tmp_path: Path) -> None:
    path = token_file(tmp_path, (
        b't1,alice,1001,"devs,system:masters"\r\n'
        b"\n"
        b"t2,bob,1002\n"
        b"t3,carol,1003,ops,ignored-column\n"
        b't4,"dave ""the"" admin",1004,\n'
        b"t5,erin,1005"
    ))
    assert await users_of(path, "t1", "t2", "t3", "t4", "t5", "unknown") == [
        UserInfo("alice", "1001", ("devs", "system:masters")),
        UserInfo("bob", "1002"),
        UserInfo("carol", "1003", ("ops",)),
        UserInfo('dave "the" admin', "1004", ("",)),
        UserInfo("erin", "1005"),
        None,
    ]


async def test_token_file_quoted_fields_may_span_lines(tmp_path: Path) -> None:
    path = token_file(tmp_path, b't1,"multi\nline",1\n')
    assert await users_of(path, "t1") == [UserInfo("multi\nline", "1")]


async def test_token_file_skips_empty_tokens_and_keeps_the_last_duplicate(tmp_path: Path) -> None:
    path = token_file(tmp_path, b",ghost,0\nt1,first,1\nt1,second,2\n")
    assert await users_of(path, "t1", "") == [UserInfo("second", "2"), None]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"t1,alice\n", "token file '{path}' must have at least 3 columns (token, user name, user uid), found 2"),
        (b"t1,alice,1\nt2\n", "token file '{path}' must have at least 3 columns (token, user name, user uid), found 1"),
        (b't1,al"ice,1\n', 'parse error on line 1, column 6: bare " in non-quoted-field'),
        (b't1,"alice"x,1\n', 'parse error on line 1, column 10: extraneous or missing " in quoted-field'),
        (b't1,"alice,1\n', 'parse error on line 1, column 13: extraneous or missing " in quoted-field'),
        (b't1,"alice,1', 'parse error on line 1, column 12: extraneous or missing " in quoted-field'),
        (b'ok,a,1\n\nt2,b,"x\ny"z\n', 'record on line 3; parse error on line 4, column 2: extraneous or missing " in '
                                      'quoted-field'),
    ],
    ids=["two-columns", "later-record", "bare-quote", "text-after-quote", "unterminated-newline", "unterminated-eof",
         "multi-line-record"],
)
def test_token_file_errors_are_upstreams(tmp_path: Path, content: bytes, message: str) -> None:
    path = token_file(tmp_path, content)
    with pytest.raises(TokenFileError) as caught:
        load_token_file(path)
    assert str(caught.value) == message.format(path=path)


def test_missing_token_file_is_a_start_up_error(tmp_path: Path) -> None:
    with pytest.raises(TokenFileError) as caught:
        load_token_file(tmp_path / "absent.csv")
    assert str(caught.value) == f"open {tmp_path / 'absent.csv'}: no such file or directory"


def test_empty_token_file_has_no_tokens(tmp_path: Path) -> None:
    assert load_token_file(token_file(tmp_path, b"")) is not None
