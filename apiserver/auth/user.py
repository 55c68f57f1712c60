"""Who a request acts as: `UserInfo`, the reserved user and group names, and ServiceAccount usernames.

Mirrors k8s.io/apiserver's user.DefaultInfo and authentication/serviceaccount/util.go. Authentication produces a
`UserInfo`; authorization, admission, audit and the review APIs only read it.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from apiserver.meta.objects import JSONDict
from apiserver.meta.validation import is_dns1123_label, is_dns1123_subdomain

ANONYMOUS = "system:anonymous"
ALL_AUTHENTICATED = "system:authenticated"
ALL_UNAUTHENTICATED = "system:unauthenticated"
SYSTEM_MASTERS = "system:masters"

CREDENTIAL_ID_KEY = "authentication.kubernetes.io/credential-id"

SERVICE_ACCOUNT_USERNAME_PREFIX = "system:serviceaccount:"
ALL_SERVICE_ACCOUNTS_GROUP = "system:serviceaccounts"
SERVICE_ACCOUNT_GROUP_PREFIX = "system:serviceaccounts:"

_NO_EXTRA: Mapping[str, Sequence[str]] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class UserInfo:
    """An authenticated (or anonymous) user: name, uid, groups in order, and extra values by key.

    Immutable: `groups` is a tuple and `extra` a read-only mapping of tuples, whatever was passed in, so one
    value can be shared by every layer of a request. Equality compares all four fields; the hash ignores
    `extra`.
    """

    name: str
    uid: str = ""
    groups: tuple[str, ...] = ()
    extra: Mapping[str, Sequence[str]] = field(default_factory=lambda: _NO_EXTRA, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "groups", tuple(self.groups))
        if self.extra is not _NO_EXTRA:
            frozen = {key: tuple(values) for key, values in self.extra.items()}
            object.__setattr__(self, "extra", MappingProxyType(frozen) if frozen else _NO_EXTRA)

    def with_groups(self, groups: Iterable[str]) -> UserInfo:
        return UserInfo(self.name, self.uid, tuple(groups), self.extra)

    def to_dict(self) -> JSONDict:
        """The `authentication.k8s.io/v1` UserInfo object (TokenReview, SelfSubjectReview): empty fields omitted."""
        info: JSONDict = {"username": self.name} if self.name else {}
        if self.uid:
            info["uid"] = self.uid
        if self.groups:
            info["groups"] = list(self.groups)
        if self.extra:
            info["extra"] = {key: list(values) for key, values in self.extra.items()}
        return info


def add_authenticated_group(user: UserInfo) -> UserInfo:
    """Add `system:authenticated`, as upstream's AuthenticatedGroupAdder does after every successful login.

    Left alone: the anonymous user, and users that already carry `system:authenticated` or
    `system:unauthenticated`.
    """
    if user.name == ANONYMOUS or ALL_AUTHENTICATED in user.groups or ALL_UNAUTHENTICATED in user.groups:
        return user
    return user.with_groups((*user.groups, ALL_AUTHENTICATED))


def service_account_username(namespace: str, name: str) -> str:
    """`system:serviceaccount:<namespace>:<name>` (upstream's MakeUsername)."""
    return f"{SERVICE_ACCOUNT_USERNAME_PREFIX}{namespace}:{name}"


def service_account_groups(namespace: str) -> tuple[str, ...]:
    """The groups every ServiceAccount of `namespace` belongs to (upstream's MakeGroupNames)."""
    return ALL_SERVICE_ACCOUNTS_GROUP, SERVICE_ACCOUNT_GROUP_PREFIX + namespace


def split_service_account_username(username: str) -> tuple[str, str] | None:
    """(namespace, name) of a ServiceAccount username, or None when `username` is not one.

    As upstream's SplitUsername: exactly two parts after the prefix, a valid namespace name (DNS-1123 label)
    and a valid ServiceAccount name (DNS-1123 subdomain).
    """
    if not username.startswith(SERVICE_ACCOUNT_USERNAME_PREFIX):
        return None
    parts = username[len(SERVICE_ACCOUNT_USERNAME_PREFIX):].split(":")
    if len(parts) != 2:
        return None
    namespace, name = parts
    if is_dns1123_label(namespace) or is_dns1123_subdomain(name):
        return None
    return namespace, name
