"""User impersonation: `Impersonate-User`, `-Group`, `-Uid` and `-Extra-<key>` headers, each authorised.

Mirrors k8s.io/apiserver/pkg/endpoints/filters/impersonation.go. Every requested identity element is checked
with the `impersonate` verb before the request switches user:

| header                      | resource          | API group               | name / subresource      |
|-----------------------------|-------------------|-------------------------|-------------------------|
| Impersonate-User (SA form)  | serviceaccounts   | "" (in the SA's ns)     | the SA's name           |
| Impersonate-User            | users             | ""                      | the user name           |
| Impersonate-Group           | groups            | ""                      | each group              |
| Impersonate-Extra-<key>     | userextras        | authentication.k8s.io   | each value, subresource <key> |
| Impersonate-Uid             | uids              | authentication.k8s.io   | the uid                 |

The first denial ends the request with upstream's 403 (`authz.forbidden.forbidden_error`); groups, extras or
a uid without a user end it with a plain-text 500 (upstream's InternalError), see `ImpersonationRequestError`.
"""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

from apiserver.auth.authn.requestheader import unescape_extra_key
from apiserver.auth.authz.forbidden import forbidden_error
from apiserver.auth.authz.interface import Attributes, AuthorizerError, Decision
from apiserver.auth.user import (
    ALL_AUTHENTICATED,
    ALL_UNAUTHENTICATED,
    ANONYMOUS,
    UserInfo,
    service_account_groups,
    service_account_username,
    split_service_account_username,
)
from apiserver.meta.errors import go_quote

logger = logging.getLogger(__name__)

IMPERSONATE_USER_HEADER = "Impersonate-User"
IMPERSONATE_UID_HEADER = "Impersonate-Uid"
IMPERSONATE_GROUP_HEADER = "Impersonate-Group"
IMPERSONATE_EXTRA_HEADER_PREFIX = "Impersonate-Extra-"
AUTHENTICATION_GROUP = "authentication.k8s.io"

Authorize = Callable[[Attributes], Awaitable[tuple[Decision, str]]]
"""An authorizer's `authorize` method: the decision and its reason for one set of attributes."""

_HTML = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


class ImpersonationRequestError(Exception):
    """The impersonation headers are inconsistent (groups, extras or a uid without a user).

    Upstream answers these with a plain-text 500, not a Status: `body(request_uri)` is that text, to be sent
    with `Content-Type: text/plain; charset=utf-8` and `X-Content-Type-Options: nosniff`.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def body(self, request_uri: str) -> bytes:
        return (f"Internal Server Error: {go_quote(request_uri)}: {self.message}".translate(_HTML) + "\n").encode()


@dataclass(frozen=True, slots=True)
class _Target:
    """One thing to impersonate, as upstream's v1.ObjectReference (whose `%v` form its error message prints)."""

    kind: str
    name: str
    namespace: str = ""
    api_version: str = ""
    field_path: str = ""

    def __str__(self) -> str:
        return "{" + " ".join((self.kind, self.namespace, self.name, "", self.api_version, "", self.field_path)) + "}"


def is_impersonation_header(name: str) -> bool:
    """Whether the impersonation filter removes header `name` once the user has switched."""
    lowered = name.lower()
    return lowered in _SINGLE_HEADERS or lowered.startswith(IMPERSONATE_EXTRA_HEADER_PREFIX.lower())


_SINGLE_HEADERS = frozenset(
    header.lower() for header in (IMPERSONATE_USER_HEADER, IMPERSONATE_UID_HEADER, IMPERSONATE_GROUP_HEADER)
)


def impersonation_targets(headers: Mapping[str, Sequence[str]]) -> list[_Target]:
    """What the headers (lower-case names → values) ask to impersonate, in upstream's order: user, groups,
    extras, uid. Raises ImpersonationRequestError for groups, extras or a uid without a user."""
    targets: list[_Target] = []
    user = _first(headers, IMPERSONATE_USER_HEADER)
    if user:
        account = split_service_account_username(user)
        targets.append(_Target("ServiceAccount", account[1], account[0]) if account else _Target("User", user))
    groups = headers.get(IMPERSONATE_GROUP_HEADER.lower(), ())
    targets += [_Target("Group", group) for group in groups]
    prefix = IMPERSONATE_EXTRA_HEADER_PREFIX.lower()
    extras = [(name, values) for name, values in headers.items() if name.lower().startswith(prefix)]
    for name, values in extras:
        key = unescape_extra_key(name[len(prefix):].lower())
        targets += [_Target("UserExtra", value, api_version=f"{AUTHENTICATION_GROUP}/v1", field_path=key)
                    for value in values]
    uid = _first(headers, IMPERSONATE_UID_HEADER)
    if uid:
        targets.append(_Target("UID", uid, api_version=f"{AUTHENTICATION_GROUP}/v1"))
    if (groups or extras or uid) and not user:
        raise ImpersonationRequestError(f"requested [{' '.join(map(str, targets))}] without impersonating a user")
    return targets


async def impersonate(
    requester: UserInfo, headers: Mapping[str, Sequence[str]], authorize: Authorize
) -> UserInfo | None:
    """The user the request acts as, or None when it asks for no impersonation.

    Raises Forbidden (upstream's message and details) at the first element `requester` may not impersonate,
    and ImpersonationRequestError for inconsistent headers.
    """
    targets = impersonation_targets(headers)
    if not targets:
        return None
    groups_specified = bool(headers.get(IMPERSONATE_GROUP_HEADER.lower()))
    name, uid = "", ""
    groups: list[str] = []
    extra: dict[str, list[str]] = {}
    for target in targets:
        attributes = _attributes(requester, target)
        await _authorize(attributes, authorize)
        if target.kind == "ServiceAccount":
            name = service_account_username(target.namespace, target.name)
            if not groups_specified:
                groups = list(service_account_groups(target.namespace))
        elif target.kind == "User":
            name = target.name
        elif target.kind == "Group":
            groups.append(target.name)
        elif target.kind == "UserExtra":
            extra.setdefault(target.field_path, []).append(target.name)
        else:
            uid = target.name
    return UserInfo(name=name, uid=uid, groups=tuple(_with_default_group(name, groups)), extra=extra)


def _with_default_group(name: str, groups: list[str]) -> list[str]:
    # An impersonated user is authenticated (or, as system:anonymous, unauthenticated) unless the caller
    # named either group itself.
    if name != ANONYMOUS:
        if ALL_AUTHENTICATED not in groups and ALL_UNAUTHENTICATED not in groups:
            return [*groups, ALL_AUTHENTICATED]
    elif ALL_UNAUTHENTICATED not in groups:
        return [*groups, ALL_UNAUTHENTICATED]
    return groups


_RESOURCES = {"ServiceAccount": "serviceaccounts", "User": "users", "Group": "groups",
              "UserExtra": "userextras", "UID": "uids"}


def _attributes(requester: UserInfo, target: _Target) -> Attributes:
    group, _, version = target.api_version.rpartition("/")
    return Attributes(
        user=requester, verb="impersonate", is_resource_request=True, namespace=target.namespace,
        api_group=group, api_version=version, resource=_RESOURCES[target.kind],
        subresource=target.field_path, name=target.name,
    )


async def _authorize(attributes: Attributes, authorize: Authorize) -> None:
    try:
        decision, reason = await authorize(attributes)
    except AuthorizerError as error:
        logger.info("impersonation_authorization_error", extra={"error": str(error)})
        decision, reason = Decision.NO_OPINION, ""
    if decision is not Decision.ALLOW:
        raise forbidden_error(attributes, reason)


def _first(headers: Mapping[str, Sequence[str]], name: str) -> str:
    values = headers.get(name.lower(), ())
    return values[0] if values else ""
