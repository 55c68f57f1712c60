"""Caching of successful token authentications, as kube-apiserver wraps its token authenticators.

Upstream wraps the union of its token authenticators (token file, ServiceAccount tokens, bootstrap tokens) in
k8s.io/apiserver's token cache: a token that authenticated is not checked again for 10 s
(TokenSuccessCacheTTL), failures are not cached (TokenFailureCacheTTL 0), and no flag changes either. So, as
upstream, a ServiceAccount deleted, or a bootstrap token Secret removed, stops authenticating within those 10 s
rather than at once. Here an entry also never outlives the token's own `exp` claim.

Entries are keyed by an HMAC of the audiences and the token under a key drawn at start-up, so the cache holds no
token in the clear. The key includes the audiences because the result (the audiences the token matched) depends
on them. At most `max_entries` are kept; the oldest goes first.

Verifying a ServiceAccount token costs about 0.2 ms of the event loop (the RSA signature check and base64
decoding of the JWT): a quarter of the loop's time in the overload benchmark, where every create carries one.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence

from apiserver.auth.authn.interface import AuthenticatedToken, TokenAuthenticator
from apiserver.auth.jwt import unverified_payload

SUCCESS_TTL_SECONDS = 10.0
# Upstream keeps 32 stripes of 1024 entries.
MAX_ENTRIES = 32_768


class CachedTokenAuthenticator:
    """`inner` with its successful results remembered for `success_ttl` seconds (see the module docstring)."""

    def __init__(self, inner: TokenAuthenticator, *, success_ttl: float = SUCCESS_TTL_SECONDS,
                 max_entries: int = MAX_ENTRIES, clock: Callable[[], float] = time.monotonic,
                 wall_clock: Callable[[], float] = time.time) -> None:
        self._inner = inner
        self._ttl = success_ttl
        self._max_entries = max_entries
        self._clock = clock
        self._wall_clock = wall_clock
        self._secret = os.urandom(32)
        self._entries: OrderedDict[bytes, tuple[float, AuthenticatedToken]] = OrderedDict()

    async def authenticate_token(
        self, token: str, audiences: Sequence[str] | None = None
    ) -> AuthenticatedToken | None:
        key = self._key(token, audiences)
        now = self._clock()
        cached = self._entries.get(key)
        if cached is not None:
            if cached[0] > now:
                return cached[1]
            del self._entries[key]
        result = await self._inner.authenticate_token(token, audiences)
        if result is not None and self._ttl > 0:
            ttl = min(self._ttl, _seconds_to_expiry(token, self._wall_clock()))
            if ttl > 0:
                self._entries[key] = (self._clock() + ttl, result)
                while len(self._entries) > self._max_entries:
                    self._entries.popitem(last=False)
        return result

    def _key(self, token: str, audiences: Sequence[str] | None) -> bytes:
        # None (no requirement) and an empty list are different requests; so are the audiences' order and content.
        scope = b"\x01" if audiences is None else b"\x00" + b"\x00".join(a.encode() + b"\x00" for a in audiences)
        return hmac.digest(self._secret, scope + b"\x02" + token.encode(), hashlib.sha256)


def _seconds_to_expiry(token: str, now: float) -> float:
    """Seconds until the `exp` of a JWT (already verified by the authenticator that accepted it); infinity for
    a token that is not a JWT or has no `exp`."""
    payload = unverified_payload(token)
    expiry = payload.get("exp") if payload is not None else None
    if isinstance(expiry, bool) or not isinstance(expiry, int | float):
        return float("inf")
    return float(expiry) - now
