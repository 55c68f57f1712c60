"""CachedTokenAuthenticator: upstream's token cache (10 s for successes, failures never cached)."""
from __future__ import annotations

import base64
from collections.abc import Sequence

import orjson
import pytest

from apiserver.auth.authn.interface import AuthenticatedToken
from apiserver.auth.authn.tokencache import SUCCESS_TTL_SECONDS, CachedTokenAuthenticator
from apiserver.auth.user import UserInfo
from apiserver.meta.errors import Unauthorized

WALL = 1_800_000_000.0


class Counting:
    """A token authenticator that knows `valid` tokens, refuses `invalid` ones and counts its calls."""

    def __init__(self) -> None:
        self.valid: dict[str, str] = {}
        self.invalid: set[str] = set()
        self.calls: list[tuple[str, tuple[str, ...] | None]] = []

    async def authenticate_token(self, token: str, audiences: Sequence[str] | None = None) -> AuthenticatedToken | None:
        self.calls.append((token, None if audiences is None else tuple(audiences)))
        if token in self.invalid:
            raise Unauthorized("invalid bearer token")
        name = self.valid.get(token)
        if name is None:
            return None
        return AuthenticatedToken(UserInfo(name=name), tuple(audiences or ()))


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def jwt_with(claims: dict[str, object]) -> str:
    def part(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(orjson.dumps(value)).rstrip(b"=").decode()

    return f"{part({'alg': 'RS256'})}.{part(claims)}.c2lnbmF0dXJl"


@pytest.fixture
def inner() -> Counting:
    return Counting()


@pytest.fixture
def clock() -> Clock:
    return Clock()


def cached(inner: Counting, clock: Clock, **options: object) -> CachedTokenAuthenticator:
    return CachedTokenAuthenticator(inner, clock=clock, wall_clock=lambda: WALL + clock.now, **options)  # type: ignore[arg-type]


async def test_a_success_is_reused_for_ten_seconds_then_checked_again(inner: Counting, clock: Clock) -> None:
    inner.valid["t"] = "alice"
    tokens = cached(inner, clock)
    first = await tokens.authenticate_token("t", ["api"])
    clock.now += SUCCESS_TTL_SECONDS - 0.01
    assert await tokens.authenticate_token("t", ["api"]) == first
    assert len(inner.calls) == 1
    del inner.valid["t"]  # revoked: still accepted until the entry expires, as upstream
    clock.now += 0.02
    assert await tokens.authenticate_token("t", ["api"]) is None
    assert len(inner.calls) == 2


async def test_failures_and_unknown_tokens_are_never_cached(inner: Counting, clock: Clock) -> None:
    inner.invalid.add("bad")
    tokens = cached(inner, clock)
    for _ in range(2):
        with pytest.raises(Unauthorized):
            await tokens.authenticate_token("bad", ["api"])
        assert await tokens.authenticate_token("unknown", ["api"]) is None
    assert len(inner.calls) == 4
    inner.invalid.clear()
    inner.valid["bad"] = "fixed"
    assert (await tokens.authenticate_token("bad", ["api"])).user.name == "fixed"  # type: ignore[union-attr]


async def test_the_audiences_are_part_of_the_key(inner: Counting, clock: Clock) -> None:
    inner.valid["t"] = "alice"
    tokens = cached(inner, clock)
    results = [await tokens.authenticate_token("t", audiences) for audiences in (["a"], ["b"], None, [], ["a", "b"])]
    assert [result.audiences for result in results] == [("a",), ("b",), (), (), ("a", "b")]  # type: ignore[union-attr]
    assert len(inner.calls) == 5
    await tokens.authenticate_token("t", ["a"])
    assert len(inner.calls) == 5


async def test_an_entry_never_outlives_the_tokens_expiry(inner: Counting, clock: Clock) -> None:
    soon = jwt_with({"sub": "x", "exp": int(WALL + clock.now + 3)})
    past = jwt_with({"sub": "x", "exp": int(WALL + clock.now - 5)})  # accepted within a leeway: never cached
    inner.valid.update({soon: "soon", past: "past"})
    tokens = cached(inner, clock)
    await tokens.authenticate_token(soon)
    await tokens.authenticate_token(past)
    clock.now += 2.5
    await tokens.authenticate_token(soon)
    await tokens.authenticate_token(past)
    assert [token for token, _ in inner.calls] == [soon, past, past]
    clock.now += 1
    await tokens.authenticate_token(soon)
    assert [token for token, _ in inner.calls] == [soon, past, past, soon]


async def test_the_oldest_entries_go_first_beyond_the_limit(inner: Counting, clock: Clock) -> None:
    inner.valid.update({f"t{index}": f"u{index}" for index in range(3)})
    tokens = cached(inner, clock, max_entries=2)
    for index in range(3):
        await tokens.authenticate_token(f"t{index}")
    for index in (2, 1, 0):
        await tokens.authenticate_token(f"t{index}")
    assert [token for token, _ in inner.calls] == ["t0", "t1", "t2", "t0"]


def test_no_token_is_kept_in_the_clear(inner: Counting, clock: Clock) -> None:
    tokens = cached(inner, clock)
    key = tokens._key("secret-token", ["api"])
    assert b"secret-token" not in key and len(key) == 32
    assert key != CachedTokenAuthenticator(inner)._key("secret-token", ["api"])  # a key of its own per process
