"""Bootstrap tokens: `<id>.<secret>` checked against the kube-system `bootstrap-token-<id>` Secret."""
from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from apiserver.auth.authn.bootstrap import BootstrapTokenAuthenticator, parse_bootstrap_token
from apiserver.auth.authn.interface import AuthenticatedToken
from apiserver.auth.user import UserInfo
from apiserver.meta.objects import JSONDict

NOW = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)
TOKEN = "abcdef.0123456789abcdef"


def bootstrap_secret(**data: str) -> JSONDict:
    values = {
        "token-id": "abcdef", "token-secret": "0123456789abcdef", "usage-bootstrap-authentication": "true",
        **data,
    }
    return {
        "metadata": {"name": "bootstrap-token-abcdef", "namespace": "kube-system"},
        "type": "bootstrap.kubernetes.io/token",
        "data": {key: base64.b64encode(value.encode()).decode() for key, value in values.items()},
    }


@dataclass
class FakeSecrets:
    secrets: dict[tuple[str, str], JSONDict] = field(default_factory=dict)
    asked: list[tuple[str, str]] = field(default_factory=list)

    async def get_secret(self, namespace: str, name: str) -> JSONDict | None:
        self.asked.append((namespace, name))
        return self.secrets.get((namespace, name))


async def authenticate(secret: JSONDict | None, token: str = TOKEN) -> AuthenticatedToken | None:
    secrets = FakeSecrets({("kube-system", "bootstrap-token-abcdef"): secret} if secret is not None else {})
    return await BootstrapTokenAuthenticator(secrets, clock=lambda: NOW).authenticate_token(token)


@pytest.mark.parametrize(
    ("token", "parts"),
    [
        (TOKEN, ("abcdef", "0123456789abcdef")),
        ("ABCDEF.0123456789abcdef", None),
        ("abcdef.0123456789abcde", None),
        ("abcdefg.0123456789abcdef", None),
        ("abcdef:0123456789abcdef", None),
        ("abcdef.0123456789abcdef\n", None),
    ],
    ids=["valid", "upper-case", "short-secret", "long-id", "wrong-separator", "trailing-newline"],
)
def test_token_format(token: str, parts: tuple[str, str] | None) -> None:
    assert parse_bootstrap_token(token) == parts


async def test_bootstrap_token_authenticates_with_sorted_groups() -> None:
    secret = bootstrap_secret(**{"auth-extra-groups": "system:bootstrappers:kubeadm:default-node-token,"
                                                      "system:bootstrappers:a", "expiration": "2025-01-02T00:00:00Z"})
    assert await authenticate(secret) == AuthenticatedToken(UserInfo(
        "system:bootstrap:abcdef",
        groups=("system:bootstrappers", "system:bootstrappers:a", "system:bootstrappers:kubeadm:default-node-token"),
    ))


async def test_lookup_uses_the_kube_system_secret_named_after_the_token_id() -> None:
    secrets = FakeSecrets()
    await BootstrapTokenAuthenticator(secrets).authenticate_token(TOKEN)
    assert secrets.asked == [("kube-system", "bootstrap-token-abcdef")]


async def test_other_tokens_are_not_looked_up() -> None:
    secrets = FakeSecrets()
    assert await BootstrapTokenAuthenticator(secrets).authenticate_token("eyJhbGciOi.x.y") is None
    assert secrets.asked == []


@pytest.mark.parametrize(
    ("secret", "token"),
    [
        (None, TOKEN),
        (bootstrap_secret(), "abcdef.ffffffffffffffff"),
        (bootstrap_secret(**{"token-id": "zzzzzz"}), TOKEN),
        (bootstrap_secret(expiration="2025-01-01T11:59:59Z"), TOKEN),
        (bootstrap_secret(expiration="2025-01-01T12:00:00Z"), TOKEN),
        (bootstrap_secret(expiration="tomorrow"), TOKEN),
        (bootstrap_secret(**{"usage-bootstrap-authentication": "false"}), TOKEN),
        (bootstrap_secret(**{"usage-bootstrap-authentication": ""}), TOKEN),
        ({**bootstrap_secret(), "type": "Opaque"}, TOKEN),
        ({**bootstrap_secret(), "data": None}, TOKEN),
        ({**bootstrap_secret(), "metadata": {"name": "x", "deletionTimestamp": "2025-01-01T00:00:00Z"}}, TOKEN),
        (bootstrap_secret(**{"auth-extra-groups": "system:nodes"}), TOKEN),
        (bootstrap_secret(**{"auth-extra-groups": "system:bootstrappers:ok,"}), TOKEN),
    ],
    ids=["no-secret", "wrong-secret", "wrong-id", "expired", "expiring-now", "bad-expiration", "usage-false",
         "usage-missing", "wrong-type", "no-data", "being-deleted", "foreign-group", "empty-group"],
)
async def test_refused_tokens_are_not_ours(secret: JSONDict | None, token: str) -> None:
    assert await authenticate(secret, token) is None


async def test_expiration_with_an_offset_is_understood() -> None:
    assert await authenticate(bootstrap_secret(expiration="2025-01-01T13:30:00+01:00")) is not None
    assert await authenticate(bootstrap_secret(expiration="2025-01-01T12:30:00+01:00")) is None
