"""ServiceAccount tokens: upstream's claims, the user they authenticate as, and every way they stop working."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from apiserver.auth.authn.interface import AuthenticatedToken, AuthenticationFailed
from apiserver.auth.authn.serviceaccount import (
    LEGACY_ISSUER,
    LegacyServiceAccountAuthenticator,
    ServiceAccountAuthenticator,
    ServiceAccountInfo,
    bound_claims,
    legacy_claims,
)
from apiserver.auth.authn.tokens import BearerTokenAuthenticator
from apiserver.auth.authn.union import RequestAuthenticator, TokenAuthenticatorUnion
from apiserver.auth.jwt import PublicKeySet, TokenIssuer, key_id_for
from apiserver.auth.user import UserInfo
from apiserver.meta.errors import Unauthorized
from apiserver.meta.objects import JSONDict, format_time

ISSUER = "https://kubernetes.default.svc.cluster.local"
API_AUDIENCES = (ISSUER,)
NOW = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)
JTI = "6b2b0b7c-2f5b-4b39-9c1f-51d6a3e6d3d1"
SA_UID = "11111111-1111-1111-1111-111111111111"
POD_UID = "22222222-2222-2222-2222-222222222222"
NODE_UID = "33333333-3333-3333-3333-333333333333"
SECRET_UID = "44444444-4444-4444-4444-444444444444"


def obj(name: str, uid: str, namespace: str = "", **extra_metadata: str) -> JSONDict:
    metadata: JSONDict = {"name": name, "uid": uid, **extra_metadata}
    if namespace:
        metadata["namespace"] = namespace
    return {"metadata": metadata}


SERVICE_ACCOUNT = obj("builder", SA_UID, "ci")
POD = obj("runner", POD_UID, "ci")
NODE = obj("worker-1", NODE_UID)
SECRET = obj("builder-token", SECRET_UID, "ci")


@dataclass
class FakeLookup:
    """The cluster as the authenticator sees it; tests delete and replace objects in it."""

    service_accounts: dict[tuple[str, str], JSONDict] = field(default_factory=dict)
    pods: dict[tuple[str, str], JSONDict] = field(default_factory=dict)
    secrets: dict[tuple[str, str], JSONDict] = field(default_factory=dict)
    nodes: dict[str, JSONDict] = field(default_factory=dict)

    async def get_service_account(self, namespace: str, name: str) -> JSONDict | None:
        return self.service_accounts.get((namespace, name))

    async def get_pod(self, namespace: str, name: str) -> JSONDict | None:
        return self.pods.get((namespace, name))

    async def get_secret(self, namespace: str, name: str) -> JSONDict | None:
        return self.secrets.get((namespace, name))

    async def get_node(self, name: str) -> JSONDict | None:
        return self.nodes.get(name)


@pytest.fixture(scope="module")
def signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def forger_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def lookup() -> FakeLookup:
    return FakeLookup(
        service_accounts={("ci", "builder"): SERVICE_ACCOUNT}, pods={("ci", "runner"): POD},
        secrets={("ci", "builder-token"): SECRET}, nodes={"worker-1": NODE},
    )


@pytest.fixture
def authenticator(signing_key: rsa.RSAPrivateKey, lookup: FakeLookup) -> ServiceAccountAuthenticator:
    return ServiceAccountAuthenticator(
        PublicKeySet([signing_key.public_key()]), [ISSUER, "https://old-issuer"], API_AUDIENCES, lookup,
        clock=lambda: NOW,
    )


def issue(key: rsa.RSAPrivateKey, *, issuer: str = ISSUER, now: datetime = NOW, **changes: Any) -> str:
    claims = bound_claims(SERVICE_ACCOUNT, audiences=changes.pop("audiences", API_AUDIENCES),
                          expiration_seconds=changes.pop("expiration_seconds", 3600), now=now, jti=JTI,
                          pod=changes.pop("pod", None), secret=changes.pop("secret", None),
                          node=changes.pop("node", None))
    return TokenIssuer(key, issuer).issue({**claims, **changes})


async def rejection(authenticator: ServiceAccountAuthenticator, token: str) -> str:
    with pytest.raises(Unauthorized) as caught:
        await authenticator.authenticate_token(token, API_AUDIENCES)
    return caught.value.message


# --- claims ---------------------------------------------------------------------------------------------------------


def test_bound_claims_are_upstreams() -> None:
    claims = bound_claims(SERVICE_ACCOUNT, audiences=["api"], expiration_seconds=3600, now=NOW, jti=JTI,
                          pod=POD, node=NODE, warn_after_seconds=3607)
    issued = int(NOW.timestamp())
    assert claims == {
        "aud": ["api"], "exp": issued + 3600, "iat": issued, "nbf": issued, "jti": JTI,
        "sub": "system:serviceaccount:ci:builder",
        "kubernetes.io": {
            "namespace": "ci", "serviceaccount": {"name": "builder", "uid": SA_UID},
            "pod": {"name": "runner", "uid": POD_UID}, "node": {"name": "worker-1", "uid": NODE_UID},
            "warnafter": issued + 3607,
        },
    }


def test_bound_token_payload_is_byte_for_byte_what_kube_apiserver_signs(signing_key: rsa.RSAPrivateKey) -> None:
    token = issue(signing_key, secret=SECRET)
    payload = base64.urlsafe_b64decode(token.split(".")[1] + "==")
    issued = int(NOW.timestamp())
    assert payload == (
        f'{{"aud":["{ISSUER}"],"exp":{issued + 3600},"iat":{issued},"iss":"{ISSUER}","jti":"{JTI}",'
        f'"kubernetes.io":{{"namespace":"ci","secret":{{"name":"builder-token","uid":"{SECRET_UID}"}},'
        f'"serviceaccount":{{"name":"builder","uid":"{SA_UID}"}}}},"nbf":{issued},'
        f'"sub":"system:serviceaccount:ci:builder"}}'
    ).encode()


def test_a_token_binds_to_one_kind_of_object() -> None:
    with pytest.raises(ValueError, match="internal error, token can only be bound to one object type"):
        bound_claims(SERVICE_ACCOUNT, audiences=[], expiration_seconds=600, now=NOW, jti=JTI, secret=SECRET, pod=POD)


def test_legacy_claims_are_upstreams() -> None:
    assert legacy_claims(SERVICE_ACCOUNT, SECRET) == {
        "kubernetes.io/serviceaccount/namespace": "ci",
        "kubernetes.io/serviceaccount/secret.name": "builder-token",
        "kubernetes.io/serviceaccount/service-account.name": "builder",
        "kubernetes.io/serviceaccount/service-account.uid": SA_UID,
        "sub": "system:serviceaccount:ci:builder",
    }


# --- bound tokens: success ------------------------------------------------------------------------------------------


async def test_bound_token_authenticates_as_the_service_account(
    authenticator: ServiceAccountAuthenticator, signing_key: rsa.RSAPrivateKey
) -> None:
    result = await authenticator.authenticate_token(issue(signing_key), API_AUDIENCES)
    assert result == AuthenticatedToken(
        UserInfo(name="system:serviceaccount:ci:builder", uid=SA_UID,
                 groups=("system:serviceaccounts", "system:serviceaccounts:ci"),
                 extra={"authentication.kubernetes.io/credential-id": (f"JTI={JTI}",)}),
        API_AUDIENCES,
    )


async def test_pod_bound_token_carries_pod_and_node_extras(
    authenticator: ServiceAccountAuthenticator, signing_key: rsa.RSAPrivateKey, lookup: FakeLookup
) -> None:
    del lookup.nodes["worker-1"]  # a pod-bound token records its node without checking it
    result = await authenticator.authenticate_token(issue(signing_key, pod=POD, node=NODE), API_AUDIENCES)
    assert result is not None
    assert dict(result.user.extra) == {
        "authentication.kubernetes.io/pod-name": ("runner",),
        "authentication.kubernetes.io/pod-uid": (POD_UID,),
        "authentication.kubernetes.io/credential-id": (f"JTI={JTI}",),
        "authentication.kubernetes.io/node-name": ("worker-1",),
        "authentication.kubernetes.io/node-uid": (NODE_UID,),
    }


async def test_token_from_an_older_issuer_is_still_accepted(
    authenticator: ServiceAccountAuthenticator, signing_key: rsa.RSAPrivateKey
) -> None:
    assert await authenticator.authenticate_token(issue(signing_key, issuer="https://old-issuer")) is not None


async def test_requested_audiences_select_the_matching_ones(
    authenticator: ServiceAccountAuthenticator, signing_key: rsa.RSAPrivateKey
) -> None:
    token = issue(signing_key, audiences=["vault", ISSUER])
    result = await authenticator.authenticate_token(token, ["vault"])
    assert result is not None and result.audiences == ("vault",)


# --- bound tokens: the negative suite ------------------------------------------------------------------------------


async def test_token_of_another_issuer_is_not_ours(
    authenticator: ServiceAccountAuthenticator, signing_key: rsa.RSAPrivateKey
) -> None:
    assert await authenticator.authenticate_token(issue(signing_key, issuer="https://evil"), API_AUDIENCES) is None


async def test_token_signed_by_another_key_is_rejected(
    authenticator: ServiceAccountAuthenticator, forger_key: rsa.RSAPrivateKey
) -> None:
    assert await rejection(authenticator, issue(forger_key)) == "invalid signature, no keys found"


async def test_token_signed_by_another_key_under_our_kid_is_rejected(
    authenticator: ServiceAccountAuthenticator, signing_key: rsa.RSAPrivateKey, forger_key: rsa.RSAPrivateKey
) -> None:
    claims = bound_claims(SERVICE_ACCOUNT, audiences=API_AUDIENCES, expiration_seconds=3600, now=NOW, jti=JTI)
    token = TokenIssuer(forger_key, ISSUER, key_id=key_id_for(signing_key.public_key())).issue(claims)
    assert await rejection(authenticator, token) == "go-jose/go-jose: error in cryptographic primitive"


def unsigned(header: Mapping[str, str], payload: Mapping[str, object]) -> str:
    def part(value: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part(header)}.{part(payload)}"


def valid_payload() -> dict[str, object]:
    claims = bound_claims(SERVICE_ACCOUNT, audiences=API_AUDIENCES, expiration_seconds=3600, now=NOW, jti=JTI)
    return {**claims, "iss": ISSUER}


async def test_alg_none_token_is_rejected(
    authenticator: ServiceAccountAuthenticator, signing_key: rsa.RSAPrivateKey
) -> None:
    token = unsigned({"alg": "none", "kid": key_id_for(signing_key.public_key())}, valid_payload()) + "."
    assert await rejection(authenticator, token) == "go-jose/go-jose: unknown/unsupported algorithm"


async def test_hs256_token_keyed_with_the_public_key_is_rejected(
    authenticator: ServiceAccountAuthenticator, signing_key: rsa.RSAPrivateKey
) -> None:
    public_pem = signing_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signing_input = unsigned({"alg": "HS256", "kid": key_id_for(signing_key.public_key())}, valid_payload())
    mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    token = f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"
    assert await rejection(authenticator, token) == "go-jose/go-jose: unknown/unsupported algorithm"


async def test_tampered_payload_is_rejected(
    authenticator: ServiceAccountAuthenticator, signing_key: rsa.RSAPrivateKey
) -> None:
    header, _, signature = issue(signing_key).split(".")
    forged = unsigned({}, {**valid_payload(), "sub": "system:serviceaccount:kube-system:admin"}).split(".")[1]
    rejected = await rejection(authenticator, f"{header}.{forged}.{signature}")
    assert rejected == "go-jose/go-jose: error in cryptographic primitive"


@pytest.mark.parametrize(
    ("issued_at", "message"),
    [
        (NOW - timedelta(seconds=3661), "service account token has expired"),
        (NOW + timedelta(seconds=61), "service account token is not valid yet"),
    ],
    ids=["expired", "not-yet-valid"],
)
async def test_token_outside_its_validity_window_is_rejected(
    authenticator: ServiceAccountAuthenticator, signing_key: rsa.RSAPrivateKey, issued_at: datetime, message: str
) -> None:
    assert await rejection(authenticator, issue(signing_key, now=issued_at)) == message


async def test_token_just_past_expiry_is_accepted_within_the_leeway(
    authenticator: ServiceAccountAuthenticator, signing_key: rsa.RSAPrivateKey
) -> None:
    token = issue(signing_key, now=NOW - timedelta(seconds=3659))
    assert await authenticator.authenticate_token(token, API_AUDIENCES) is not None


async def test_token_issued_in_the_future_is_rejected(
    authenticator: ServiceAccountAuthenticator, signing_key: rsa.RSAPrivateKey
) -> None:
    token = issue(signing_key, iat=int(NOW.timestamp()) + 120)
    assert await rejection(authenticator, token) == "service account token is issued in the future"


async def test_token_for_another_audience_is_rejected(
    authenticator: ServiceAccountAuthenticator, signing_key: rsa.RSAPrivateKey
) -> None:
    rejected = await rejection(authenticator, issue(signing_key, audiences=["vault"]))
    assert rejected == f'token audiences ["vault"] is invalid for the target audiences ["{ISSUER}"]'


async def test_token_of_a_deleted_service_account_is_rejected(
    authenticator: ServiceAccountAuthenticator, signing_key: rsa.RSAPrivateKey, lookup: FakeLookup
) -> None:
    token = issue(signing_key)
    del lookup.service_accounts[("ci", "builder")]
    assert await rejection(authenticator, token) == 'serviceaccounts "builder" not found'


async def test_token_of_a_recreated_service_account_is_rejected(
    authenticator: ServiceAccountAuthenticator, signing_key: rsa.RSAPrivateKey, lookup: FakeLookup
) -> None:
    token = issue(signing_key)
    lookup.service_accounts[("ci", "builder")] = obj("builder", "99999999-new", "ci")
    rejected = await rejection(authenticator, token)
    assert rejected == f"service account UID (99999999-new) does not match claim ({SA_UID})"


@pytest.mark.parametrize(
    ("deleted_seconds_ago", "valid"), [(59, True), (61, False)], ids=["within-leeway", "past-leeway"],
)
async def test_service_account_being_deleted_revokes_after_the_leeway(
    authenticator: ServiceAccountAuthenticator, signing_key: rsa.RSAPrivateKey, lookup: FakeLookup,
    deleted_seconds_ago: int, valid: bool,
) -> None:
    deleted = format_time(NOW - timedelta(seconds=deleted_seconds_ago))
    lookup.service_accounts[("ci", "builder")] = obj("builder", SA_UID, "ci", deletionTimestamp=deleted)
    if valid:
        assert await authenticator.authenticate_token(issue(signing_key), API_AUDIENCES) is not None
    else:
        assert await rejection(authenticator, issue(signing_key)) == "service account ci/builder has been deleted"


@pytest.mark.parametrize(
    ("binding", "replace", "message"),
    [
        ("pod", None, "service account token has been invalidated"),
        ("pod", obj("runner", "new-pod-uid", "ci"),
         f"pod UID (new-pod-uid) does not match service account pod ref claim ({POD_UID})"),
        ("pod", obj("runner", POD_UID, "ci", deletionTimestamp=format_time(NOW - timedelta(minutes=5))),
         "service account token has been invalidated"),
        ("secret", None, "service account token has been invalidated"),
        ("secret", obj("builder-token", "new-secret-uid", "ci"),
         f"secret UID (new-secret-uid) does not match service account secret ref claim ({SECRET_UID})"),
        ("node", None, "service account token has been invalidated"),
        ("node", obj("worker-1", "new-node-uid"),
         f"node UID (new-node-uid) does not match service account node ref claim ({NODE_UID})"),
    ],
    ids=["pod-deleted", "pod-recreated", "pod-terminating", "secret-deleted", "secret-recreated", "node-deleted",
         "node-recreated"],
)
async def test_token_bound_to_a_gone_object_is_rejected(
    authenticator: ServiceAccountAuthenticator, signing_key: rsa.RSAPrivateKey, lookup: FakeLookup,
    binding: str, replace: JSONDict | None, message: str,
) -> None:
    bindings: dict[str, Any] = {binding: {"pod": POD, "secret": SECRET, "node": NODE}[binding]}
    token = issue(signing_key, **bindings)
    assert await authenticator.authenticate_token(token, API_AUDIENCES) is not None
    stores: dict[str, dict[Any, JSONDict]] = {"pod": lookup.pods, "secret": lookup.secrets, "node": lookup.nodes}
    store = stores[binding]
    key = next(iter(store))
    if replace is None:
        del store[key]
    else:
        store[key] = replace
    assert await rejection(authenticator, token) == message


async def test_request_with_a_revoked_token_gets_upstreams_401(
    authenticator: ServiceAccountAuthenticator, signing_key: rsa.RSAPrivateKey, lookup: FakeLookup
) -> None:
    token = issue(signing_key, pod=POD)
    del lookup.pods[("ci", "runner")]
    chain = RequestAuthenticator([BearerTokenAuthenticator(TokenAuthenticatorUnion([authenticator]),
                                                           api_audiences=API_AUDIENCES)])
    with pytest.raises(AuthenticationFailed) as caught:
        await chain.authenticate(BearerRequest(token))
    assert caught.value.to_status() == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": "Unauthorized",
        "reason": "Unauthorized", "code": 401,
    }
    assert caught.value.detail == "service account token has been invalidated"


@dataclass(frozen=True)
class BearerRequest:
    token: str
    tls: Mapping[str, object] | None = None

    @property
    def headers(self) -> Mapping[str, list[str]]:
        return {"authorization": [f"Bearer {self.token}"]}

    def header(self, name: str) -> str | None:
        values = self.headers.get(name.lower())
        return values[0] if values else None


# --- legacy tokens --------------------------------------------------------------------------------------------------


def legacy_token(key: rsa.RSAPrivateKey, **changes: object) -> str:
    return TokenIssuer(key, LEGACY_ISSUER).issue({**legacy_claims(SERVICE_ACCOUNT, SECRET), **changes})


def token_secret(token: str, **metadata: object) -> JSONDict:
    secret = obj("builder-token", SECRET_UID, "ci")
    secret["metadata"].update(metadata)
    secret["data"] = {"token": base64.b64encode(token.encode()).decode()}
    return secret


@pytest.fixture
def legacy(signing_key: rsa.RSAPrivateKey, lookup: FakeLookup) -> LegacyServiceAccountAuthenticator:
    return LegacyServiceAccountAuthenticator(PublicKeySet([signing_key.public_key()]), API_AUDIENCES, lookup)


async def test_legacy_token_authenticates_without_pod_or_credential_extras(
    legacy: LegacyServiceAccountAuthenticator, signing_key: rsa.RSAPrivateKey, lookup: FakeLookup
) -> None:
    token = legacy_token(signing_key)
    lookup.secrets[("ci", "builder-token")] = token_secret(token)
    result = await legacy.authenticate_token(token, API_AUDIENCES)
    assert result == AuthenticatedToken(
        ServiceAccountInfo("ci", "builder", SA_UID).user(), API_AUDIENCES
    )
    assert result.user.groups == ("system:serviceaccounts", "system:serviceaccounts:ci")
    assert not result.user.extra


async def test_legacy_authenticator_ignores_bound_tokens(
    legacy: LegacyServiceAccountAuthenticator, signing_key: rsa.RSAPrivateKey
) -> None:
    assert await legacy.authenticate_token(issue(signing_key), API_AUDIENCES) is None


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("secret-deleted", "Token has been invalidated"),
        ("secret-terminating", "Token has been invalidated"),
        ("secret-rotated", "Token does not match server's copy"),
        ("account-deleted", 'serviceaccounts "builder" not found'),
        ("account-recreated", f"ServiceAccount UID (new-uid) does not match claim ({SA_UID})"),
        ("marked-invalid",
         "the token in secret ci/builder-token for service account ci/builder has been marked invalid. Use tokens "
         "from the TokenRequest API or manually created secret-based tokens, or remove the "
         "'kubernetes.io/legacy-token-invalid-since' label from the secret to temporarily allow use of this token"),
    ],
)
async def test_legacy_token_stops_working(
    legacy: LegacyServiceAccountAuthenticator, signing_key: rsa.RSAPrivateKey, lookup: FakeLookup,
    setup: str, message: str,
) -> None:
    token = legacy_token(signing_key)
    secrets = {
        "secret-terminating": token_secret(token, deletionTimestamp=format_time(NOW)),
        "secret-rotated": token_secret("another-token"),
        "marked-invalid": token_secret(token, labels={"kubernetes.io/legacy-token-invalid-since": "2024-01-01"}),
    }
    lookup.secrets[("ci", "builder-token")] = secrets.get(setup, token_secret(token))
    if setup == "secret-deleted":
        del lookup.secrets[("ci", "builder-token")]
    if setup == "account-deleted":
        del lookup.service_accounts[("ci", "builder")]
    if setup == "account-recreated":
        lookup.service_accounts[("ci", "builder")] = obj("builder", "new-uid", "ci")
    with pytest.raises(Unauthorized) as caught:
        await legacy.authenticate_token(token, API_AUDIENCES)
    assert caught.value.message == message


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"sub": None}, "sub claim is missing"),
        ({"kubernetes.io/serviceaccount/namespace": ""}, "namespace claim is missing"),
        ({"kubernetes.io/serviceaccount/secret.name": None}, "secretName claim is missing"),
        ({"sub": "system:serviceaccount:other:builder"}, "sub claim is invalid"),
    ],
    ids=["no-sub", "no-namespace", "no-secret", "sub-mismatch"],
)
async def test_legacy_token_with_bad_claims_is_rejected(
    legacy: LegacyServiceAccountAuthenticator, signing_key: rsa.RSAPrivateKey, changes: dict[str, object],
    message: str,
) -> None:
    with pytest.raises(Unauthorized) as caught:
        await legacy.authenticate_token(legacy_token(signing_key, **changes), API_AUDIENCES)
    assert caught.value.message == message


async def test_legacy_token_without_lookup_trusts_the_signature(signing_key: rsa.RSAPrivateKey) -> None:
    authenticator = LegacyServiceAccountAuthenticator(
        PublicKeySet([signing_key.public_key()]), API_AUDIENCES, FakeLookup(), lookup_enabled=False
    )
    assert await authenticator.authenticate_token(legacy_token(signing_key), API_AUDIENCES) is not None


async def test_legacy_token_use_is_recorded(
    signing_key: rsa.RSAPrivateKey, lookup: FakeLookup
) -> None:
    used: list[JSONDict] = []

    async def record(secret: JSONDict) -> None:
        used.append(secret)

    authenticator = LegacyServiceAccountAuthenticator(
        PublicKeySet([signing_key.public_key()]), API_AUDIENCES, lookup, record_last_used=record
    )
    token = legacy_token(signing_key)
    lookup.secrets[("ci", "builder-token")] = token_secret(token)
    await authenticator.authenticate_token(token)
    assert [secret["metadata"]["name"] for secret in used] == ["builder-token"]
