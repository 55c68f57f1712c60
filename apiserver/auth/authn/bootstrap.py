"""Bootstrap tokens (`--enable-bootstrap-token-auth`): `<id>.<secret>` bearer tokens backed by
`bootstrap-token-<id>` Secrets in kube-system, used by kubeadm to join nodes.

Mirrors k8s.io/kubernetes/plugin/pkg/auth/authenticator/token/bootstrap. Every failure, from an unknown id to
an expired token, is "not mine" (None), never an error of its own: the bearer-token authenticator then reports
"invalid bearer token". Why a token was refused is logged, without the token.
"""
from __future__ import annotations

import base64
import binascii
import hmac
import logging
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from apiserver.auth.authn.interface import AuthenticatedToken
from apiserver.auth.user import UserInfo
from apiserver.meta.errors import go_quote
from apiserver.meta.objects import Clock, JSONDict, parse_time, utc_now

logger = logging.getLogger(__name__)

SECRET_NAMESPACE = "kube-system"
SECRET_NAME_PREFIX = "bootstrap-token-"
SECRET_TYPE = "bootstrap.kubernetes.io/token"
USER_PREFIX = "system:bootstrap:"
DEFAULT_GROUP = "system:bootstrappers"
TOKEN_ID_KEY = "token-id"
TOKEN_SECRET_KEY = "token-secret"
EXPIRATION_KEY = "expiration"
USAGE_AUTHENTICATION_KEY = "usage-bootstrap-authentication"
EXTRA_GROUPS_KEY = "auth-extra-groups"

_TOKEN = re.compile(r"([a-z0-9]{6})\.([a-z0-9]{16})")
_GROUP_PATTERN = r"^system:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]$"
_GROUP = re.compile(_GROUP_PATTERN)


class SecretGetter(Protocol):
    """Read one Secret as a plain (shared, never mutated) dict; None when it does not exist."""

    async def get_secret(self, namespace: str, name: str) -> JSONDict | None: ...


def parse_bootstrap_token(token: str) -> tuple[str, str] | None:
    """(token id, token secret) of `<6 chars>.<16 chars>` in `[a-z0-9]`, or None."""
    match = _TOKEN.fullmatch(token)
    return (match.group(1), match.group(2)) if match else None


class BootstrapTokenAuthenticator:
    """Authenticates bootstrap tokens as `system:bootstrap:<id>` in `system:bootstrappers` plus the Secret's
    `auth-extra-groups` (sorted, de-duplicated, as upstream returns them). Token files and this authenticator
    know no audiences: wrap it in AudienceAgnosticTokenAuthenticator."""

    def __init__(self, secrets: SecretGetter, *, clock: Clock = utc_now) -> None:
        self._secrets = secrets
        self._clock = clock

    async def authenticate_token(
        self, token: str, audiences: Sequence[str] | None = None
    ) -> AuthenticatedToken | None:
        parsed = parse_bootstrap_token(token)
        if parsed is None:
            return None
        token_id, token_secret = parsed
        secret = await self._secrets.get_secret(SECRET_NAMESPACE, SECRET_NAME_PREFIX + token_id)
        if secret is None:
            logger.debug("bootstrap_token_secret_not_found", extra={"secret": SECRET_NAME_PREFIX + token_id})
            return None
        groups = self._check(secret, token_id, token_secret)
        if groups is None:
            return None
        return AuthenticatedToken(UserInfo(name=USER_PREFIX + token_id, groups=tuple(groups)))

    def _check(self, secret: Mapping[str, Any], token_id: str, token_secret: str) -> list[str] | None:
        """The user's groups, or None (logged) when the Secret does not vouch for this token."""
        data = _decoded_data(secret)
        problem: str | None = None
        if (secret.get("metadata") or {}).get("deletionTimestamp"):
            problem = "is deleted and awaiting removal"
        elif secret.get("type") != SECRET_TYPE or data is None:
            problem = f"has invalid type, expected {SECRET_TYPE}."
        elif not hmac.compare_digest(data.get(TOKEN_SECRET_KEY, "").encode(), token_secret.encode()):
            problem = f"has invalid value for key {TOKEN_SECRET_KEY}."
        elif data.get(TOKEN_ID_KEY, "") != token_id:
            problem = f"has invalid value for key {TOKEN_ID_KEY}."
        elif _has_expired(data.get(EXPIRATION_KEY, ""), self._clock()):
            problem = "has expired."
        elif data.get(USAGE_AUTHENTICATION_KEY, "") != "true":
            problem = f"not marked {USAGE_AUTHENTICATION_KEY}=true."
        if problem is None:
            groups, problem = _groups(data.get(EXTRA_GROUPS_KEY, "") if data else "")
            if problem is None:
                return groups
        logger.info("bootstrap_token_rejected", extra={"secret": (secret.get("metadata") or {}).get("name"),
                                                       "problem": problem})
        return None


def _decoded_data(secret: Mapping[str, Any]) -> dict[str, str] | None:
    """The Secret's `data` as text; None when it has no data. Values that are not valid base64 read as ""."""
    data = secret.get("data")
    if not isinstance(data, dict):
        return None
    decoded = {}
    for key, value in data.items():
        try:
            decoded[key] = base64.b64decode(value or "", validate=True).decode("utf-8", "surrogateescape")
        except (binascii.Error, ValueError, TypeError):
            decoded[key] = ""
    return decoded


def _has_expired(expiration: str, now: datetime) -> bool:
    # An unparsable expiration counts as expired, as upstream's HasExpired treats it.
    if not expiration:
        return False
    try:
        return parse_time(expiration) <= now
    except ValueError:
        return True


def _groups(extra: str) -> tuple[list[str], str | None]:
    groups = {DEFAULT_GROUP}
    if extra:
        for group in extra.split(","):
            if not _GROUP.fullmatch(group):
                invalid = f"bootstrap group {go_quote(group)} is invalid (must match {_GROUP_PATTERN})"
                return [], f"has invalid value for key {EXTRA_GROUPS_KEY}: {invalid}."
            groups.add(group)
    return sorted(groups), None
