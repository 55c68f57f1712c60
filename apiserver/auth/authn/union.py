"""Authenticators combined: unions of request and token authenticators, and the whole request chain.

Upstream's union semantics (authentication/request/union, token/union): authenticators are tried in order, the
first that returns a user wins, errors are collected and reported as one aggregate only when nobody succeeds. A
bad credential of one kind therefore never hides a good one of another kind: a request with a valid client
certificate and a stale bearer token is authenticated by the certificate.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence

from apiserver.auth.authn.interface import (
    AggregateUnauthorized,
    AuthenticatedToken,
    AuthenticationFailed,
    Authenticator,
    AuthRequest,
    TokenAuthenticator,
    aggregate_errors,
    error_messages,
)
from apiserver.auth.user import UserInfo, add_authenticated_group
from apiserver.meta.errors import Unauthorized

logger = logging.getLogger(__name__)


class AuthenticatorUnion:
    """Request authenticators tried in order; the first user wins.

    Raises AggregateUnauthorized with every error when none succeeded and at least one failed; returns None
    when none claimed the request. With `fail_on_error` the first error ends the chain at once (upstream's
    NewFailOnError, used to put anonymous behind the real authenticators).
    """

    def __init__(self, authenticators: Sequence[Authenticator], *, fail_on_error: bool = False) -> None:
        self._authenticators = tuple(authenticators)
        self._fail_on_error = fail_on_error

    async def authenticate(self, request: AuthRequest) -> UserInfo | None:
        errors: list[str] = []
        for authenticator in self._authenticators:
            try:
                user = await authenticator.authenticate(request)
            except Unauthorized as error:
                if self._fail_on_error:
                    raise
                errors.extend(error_messages(error))
                continue
            if user is not None:
                return user
        if errors:
            raise AggregateUnauthorized(errors)
        return None


class TokenAuthenticatorUnion:
    """Token authenticators tried in order, with the same first-success and aggregate-error rules."""

    def __init__(self, authenticators: Sequence[TokenAuthenticator]) -> None:
        self._authenticators = tuple(authenticators)

    async def authenticate_token(
        self, token: str, audiences: Sequence[str] | None = None
    ) -> AuthenticatedToken | None:
        errors: list[str] = []
        for authenticator in self._authenticators:
            try:
                result = await authenticator.authenticate_token(token, audiences)
            except Unauthorized as error:
                errors.extend(error_messages(error))
                continue
            if result is not None:
                return result
        if errors:
            raise AggregateUnauthorized(errors)
        return None


class AuthenticatedGroupAdder:
    """Adds `system:authenticated` to whatever user the wrapped authenticator returns (see
    `add_authenticated_group` for the exceptions)."""

    def __init__(self, authenticator: Authenticator) -> None:
        self._authenticator = authenticator

    async def authenticate(self, request: AuthRequest) -> UserInfo | None:
        user = await self._authenticator.authenticate(request)
        return add_authenticated_group(user) if user is not None else None


class RequestAuthenticator:
    """kube-apiserver's whole authentication chain for one request, as the authentication filter runs it.

    `authenticators` are tried as one union, in order (upstream: request header, x509, bearer token); the user
    they find gets `system:authenticated`. `anonymous`, when given (`--anonymous-auth=true`), answers only if
    no authenticator failed: an invalid credential is a 401 even when anonymous access is on.

    `authenticate` always returns a user or raises AuthenticationFailed (401 "Unauthorized"). Errors are
    logged here, as upstream's filter logs "Unable to authenticate the request", and kept on the exception
    as `detail`.
    """

    def __init__(self, authenticators: Sequence[Authenticator], *, anonymous: Authenticator | None = None) -> None:
        chain: Authenticator = AuthenticatedGroupAdder(AuthenticatorUnion(authenticators))
        if anonymous is not None:
            chain = AuthenticatorUnion((chain, anonymous), fail_on_error=True)
        self._chain = chain

    async def authenticate(self, request: AuthRequest) -> UserInfo:
        try:
            user = await self._chain.authenticate(request)
        except Unauthorized as error:
            detail = aggregate_errors(error_messages(error))
            logger.warning("unable_to_authenticate", extra={"error": detail})
            raise AuthenticationFailed(detail) from None
        if user is None:
            raise AuthenticationFailed()
        return user
