"""The contracts of authentication: what an authenticator sees (`AuthRequest`) and what it promises.

Mirrors k8s.io/apiserver/pkg/authentication/authenticator. Authentication sits below HTTP, so it sees a request
through the small `AuthRequest` protocol, which `apiserver.http.request.Request` satisfies structurally.

Error contract, everywhere in this package: an authenticator returns None when the request carries no
credential of its kind and raises `Unauthorized` when it carries one that is invalid. The message of that
`Unauthorized` is upstream's error text; it is meant for the server log. The client only ever sees
`AuthenticationFailed`: a 401 Status whose message is "Unauthorized".
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from apiserver.auth.user import UserInfo
from apiserver.meta.errors import Unauthorized
from apiserver.meta.validation import aggregate_messages


class AuthRequest(Protocol):
    """The parts of one request that authenticators read. Read-only; authenticators never strip headers.

    `headers` maps lower-case header names to every value received, in order. `tls` is the ASGI TLS
    extension (`scope["extensions"]["tls"]`): `client_cert_chain` (PEM strings, leaf first, as the client sent
    them), `client_cert_name` and `client_cert_error`; None on a plain-HTTP connection.
    """

    @property
    def headers(self) -> Mapping[str, Sequence[str]]: ...

    @property
    def tls(self) -> Mapping[str, object] | None: ...

    def header(self, name: str) -> str | None:
        """The first value of header `name` (case-insensitive), or None."""
        ...


class Authenticator(Protocol):
    """Identify the caller of one request.

    Return None when the request carries no credential of this kind.
    Raise Unauthorized when it carries one that is invalid or expired.
    Never return a partial user.
    """

    async def authenticate(self, request: AuthRequest) -> UserInfo | None: ...


@dataclass(frozen=True, slots=True)
class AuthenticatedToken:
    """A token's user and the audiences it was found valid for (empty when the authenticator has no notion of
    audience). The audiences are what TokenReview reports in `status.audiences`."""

    user: UserInfo
    audiences: tuple[str, ...] = ()


class TokenAuthenticator(Protocol):
    """Identify the holder of one bearer token.

    `audiences` are the audiences the caller needs the token to be valid for: the API audiences for a request
    to this server, the review's audiences for a TokenReview; None means the caller has no requirement
    (upstream: no audiences in the context). Return None when the token is not of this kind or not known;
    raise Unauthorized when it is of this kind but invalid. Never log the token.
    """

    async def authenticate_token(
        self, token: str, audiences: Sequence[str] | None = None
    ) -> AuthenticatedToken | None: ...


class AuthenticationFailed(Unauthorized):
    """What the client gets when nobody could authenticate the request: 401 with message "Unauthorized".

    `detail` is upstream's aggregated error text ("" when no authenticator claimed the request), for the log
    line (`Unable to authenticate the request`). It never reaches the client of the failed request.
    """

    def __init__(self, detail: str = "") -> None:
        super().__init__("Unauthorized")
        self.detail = detail


class AggregateUnauthorized(Unauthorized):
    """Several authenticators' errors at once (utilerrors.Aggregate): its message is the aggregate's text and
    `messages` the flat list, so that a union of unions prints `[a, b, c]` as upstream does, not `[[a, b], c]`."""

    def __init__(self, messages: Sequence[str]) -> None:
        super().__init__(aggregate_errors(messages))
        self.messages = tuple(messages)


def error_messages(error: Unauthorized) -> tuple[str, ...]:
    """The individual messages inside `error`: its aggregate's, or its own message alone."""
    return error.messages if isinstance(error, AggregateUnauthorized) else (error.message,)


def aggregate_errors(messages: Sequence[str]) -> str:
    """utilerrors.NewAggregate(...).Error(); "" for no messages (upstream: a nil aggregate)."""
    return aggregate_messages(messages) if messages else ""


def intersect_audiences(first: Sequence[str], second: Sequence[str]) -> tuple[str, ...]:
    """Audiences present in both, in the order of `first` (upstream's Audiences.Intersect)."""
    return tuple(audience for audience in first if audience in second)
