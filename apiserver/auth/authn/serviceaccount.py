"""ServiceAccount tokens: the claims kube-apiserver puts in them, and the two authenticators that accept them.

Mirrors k8s.io/kubernetes/pkg/serviceaccount (jwt.go, claims.go, legacy.go):
- bound tokens (TokenRequest, projected volumes) carry `aud`, `exp`, `iat`, `nbf`, `jti` and a `kubernetes.io`
  object naming the ServiceAccount and the Pod, Secret or Node they are bound to;
- legacy tokens (from `kubernetes.io/service-account-token` Secrets) carry the issuer `kubernetes/serviceaccount`
  and flat `kubernetes.io/serviceaccount/*` claims, and never expire.
A token is accepted only while what it names still exists with the same uid and is not being deleted (more than
the 60-second leeway ago): deleting or re-creating the ServiceAccount, or the bound Pod, Secret or Node, revokes
it. The error texts are upstream's and go to the log; the client sees 401 "Unauthorized".
"""
from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from apiserver.auth.authn.interface import AuthenticatedToken, intersect_audiences
from apiserver.auth.jwt import (
    DEFAULT_LEEWAY_SECONDS,
    Claims,
    InvalidSignature,
    PublicKeySet,
    TimeError,
    unverified_payload,
    verify_signature,
)
from apiserver.auth.user import (
    CREDENTIAL_ID_KEY,
    UserInfo,
    service_account_groups,
    service_account_username,
    split_service_account_username,
)
from apiserver.meta.errors import Unauthorized, go_quote
from apiserver.meta.objects import Clock, JSONDict, labels_of, name_of, namespace_of, parse_time, uid_of, utc_now

LEGACY_ISSUER = "kubernetes/serviceaccount"
POD_NAME_KEY = "authentication.kubernetes.io/pod-name"
POD_UID_KEY = "authentication.kubernetes.io/pod-uid"
NODE_NAME_KEY = "authentication.kubernetes.io/node-name"
NODE_UID_KEY = "authentication.kubernetes.io/node-uid"
LEGACY_TOKEN_INVALID_SINCE_LABEL = "kubernetes.io/legacy-token-invalid-since"
LEGACY_TOKEN_LAST_USED_LABEL = "kubernetes.io/legacy-token-last-used"

_LEGACY_NAMESPACE = "kubernetes.io/serviceaccount/namespace"
_LEGACY_SECRET_NAME = "kubernetes.io/serviceaccount/secret.name"
_LEGACY_SA_NAME = "kubernetes.io/serviceaccount/service-account.name"
_LEGACY_SA_UID = "kubernetes.io/serviceaccount/service-account.uid"
_INVALIDATED = "service account token has been invalidated"
_TIME_ERRORS = {
    TimeError.EXPIRED: "service account token has expired",
    TimeError.NOT_VALID_YET: "service account token is not valid yet",
    TimeError.ISSUED_IN_THE_FUTURE: "service account token is issued in the future",
}


class ServiceAccountLookup(Protocol):
    """Read-only access to the objects a token names, as plain (shared, never mutated) dicts; None when absent.

    Backed by watch caches. Upstream falls back to a live read when its cache misses, so that a token issued a
    moment ago for a new object works at once; an implementation should do the same.
    """

    async def get_service_account(self, namespace: str, name: str) -> JSONDict | None: ...

    async def get_pod(self, namespace: str, name: str) -> JSONDict | None: ...

    async def get_secret(self, namespace: str, name: str) -> JSONDict | None: ...

    async def get_node(self, name: str) -> JSONDict | None: ...


# --- claims ------------------------------------------------------------------------------------------------------


def bound_claims(
    service_account: Mapping[str, Any], *, audiences: Sequence[str], expiration_seconds: int, now: datetime,
    jti: str, pod: Mapping[str, Any] | None = None, secret: Mapping[str, Any] | None = None,
    node: Mapping[str, Any] | None = None, warn_after_seconds: int = 0,
) -> dict[str, Any]:
    """The claims of a bound token (upstream's Claims), without `iss`, which `TokenIssuer.issue` adds.

    A token binds to one object: a Pod (optionally with its Node, recorded but not checked), a Secret, or a
    Node. Raises ValueError for a Secret together with a Pod or Node.
    """
    if secret is not None and (pod is not None or node is not None):
        raise ValueError("internal error, token can only be bound to one object type")
    issued = int(now.timestamp())
    namespace = namespace_of(service_account)
    private: dict[str, Any] = {"namespace": namespace, "serviceaccount": _ref(service_account)}
    for key, bound in (("pod", pod), ("secret", secret), ("node", node)):
        if bound is not None:
            private[key] = _ref(bound)
    if warn_after_seconds:
        private["warnafter"] = issued + warn_after_seconds
    return {
        "aud": list(audiences), "exp": issued + expiration_seconds, "iat": issued, "jti": jti,
        "kubernetes.io": private, "nbf": issued, "sub": service_account_username(namespace, name_of(service_account)),
    }


def legacy_claims(service_account: Mapping[str, Any], secret: Mapping[str, Any]) -> dict[str, Any]:
    """The claims of a token stored in a `kubernetes.io/service-account-token` Secret (issue it with a
    `TokenIssuer` whose issuer is LEGACY_ISSUER)."""
    namespace, name = namespace_of(service_account), name_of(service_account)
    return {
        _LEGACY_NAMESPACE: namespace, _LEGACY_SECRET_NAME: name_of(secret), _LEGACY_SA_NAME: name,
        _LEGACY_SA_UID: uid_of(service_account), "sub": service_account_username(namespace, name),
    }


def _ref(obj: Mapping[str, Any]) -> dict[str, str]:
    ref = {"name": name_of(obj), "uid": uid_of(obj)}
    return {key: value for key, value in ref.items() if value}  # omitempty


@dataclass(frozen=True, slots=True)
class ServiceAccountInfo:
    """Who a valid token speaks for (upstream's ServiceAccountInfo)."""

    namespace: str
    name: str
    uid: str
    pod_name: str = ""
    pod_uid: str = ""
    node_name: str = ""
    node_uid: str = ""
    credential_id: str = ""

    def user(self) -> UserInfo:
        """`system:serviceaccount:<ns>:<name>`, its groups, and the pod, node and credential id as extras."""
        extra: dict[str, tuple[str, ...]] = {}
        if self.pod_name and self.pod_uid:
            extra[POD_NAME_KEY], extra[POD_UID_KEY] = (self.pod_name,), (self.pod_uid,)
        if self.credential_id:
            extra[CREDENTIAL_ID_KEY] = (self.credential_id,)
        if self.node_name:
            extra[NODE_NAME_KEY] = (self.node_name,)
            if self.node_uid:
                extra[NODE_UID_KEY] = (self.node_uid,)
        return UserInfo(
            name=service_account_username(self.namespace, self.name), uid=self.uid,
            groups=service_account_groups(self.namespace), extra=extra,
        )


# --- authentication ----------------------------------------------------------------------------------------------


class _ServiceAccountTokens:
    """What both token kinds share (upstream's jwtTokenAuthenticator): route by issuer, verify the signature,
    re-check the issuer, check the audience, then let the subclass validate the claims."""

    def __init__(self, keys: PublicKeySet, issuers: Sequence[str], api_audiences: Sequence[str]) -> None:
        self._keys = keys
        self._issuers = frozenset(issuers)
        self._api_audiences = tuple(api_audiences)

    async def authenticate_token(
        self, token: str, audiences: Sequence[str] | None = None
    ) -> AuthenticatedToken | None:
        unverified = unverified_payload(token)
        if unverified is None or not self._is_ours(unverified.get("iss")):
            return None
        try:
            payload = verify_signature(token, self._keys)
            if payload is None:
                return None
            claims = Claims.parse(payload)
        except (InvalidSignature, ValueError) as error:
            raise Unauthorized(str(error)) from None
        if claims.issuer not in self._issuers:
            raise Unauthorized(f"token issuer {go_quote(claims.issuer)} is invalid")
        matching = self._check_audiences(claims, audiences)
        info = await self._validate(token, claims)
        return AuthenticatedToken(info.user(), matching)

    def _is_ours(self, issuer: object) -> bool:
        return isinstance(issuer, str) and issuer in self._issuers

    def _check_audiences(self, claims: Claims, audiences: Sequence[str] | None) -> tuple[str, ...]:
        token_audiences = claims.audience or self._api_audiences  # legacy tokens carry none
        requested = tuple(audiences) if audiences is not None else self._api_audiences
        matching = intersect_audiences(token_audiences, requested)
        if not matching and self._api_audiences:
            raise Unauthorized(
                f"token audiences {_go_list(token_audiences)} is invalid for the target audiences {_go_list(requested)}"
            )
        return matching

    async def _validate(self, token: str, claims: Claims) -> ServiceAccountInfo:
        raise NotImplementedError


class ServiceAccountAuthenticator(_ServiceAccountTokens):
    """Bound ServiceAccount tokens: `issuers` are every `--service-account-issuer`, `keys` every
    `--service-account-key-file`, `api_audiences` `--api-audiences`. Raises Unauthorized for a token of one of
    these issuers that fails any check; returns None for other tokens."""

    def __init__(
        self, keys: PublicKeySet, issuers: Sequence[str], api_audiences: Sequence[str], lookup: ServiceAccountLookup,
        *, clock: Clock = utc_now,
    ) -> None:
        super().__init__(keys, issuers, api_audiences)
        self._lookup = lookup
        self._clock = clock

    async def _validate(self, token: str, claims: Claims) -> ServiceAccountInfo:
        now = self._clock().timestamp()
        if (time_error := claims.time_error(now)) is not None:
            raise Unauthorized(_TIME_ERRORS[time_error])
        bound = _BoundClaims.parse(claims.payload.get("kubernetes.io"))
        deleted_before = now - DEFAULT_LEEWAY_SECONDS
        await self._check_service_account(bound, deleted_before)
        if bound.secret is not None:
            secret = await self._lookup.get_secret(bound.namespace, bound.secret.name)
            _check_bound(secret, bound.secret, "secret", deleted_before)
        if bound.pod is not None:
            _check_bound(await self._lookup.get_pod(bound.namespace, bound.pod.name), bound.pod, "pod", deleted_before)
        elif bound.node is not None:  # a pod-bound token records its node without checking it
            _check_bound(await self._lookup.get_node(bound.node.name), bound.node, "node", deleted_before)
        return ServiceAccountInfo(
            namespace=bound.namespace, name=bound.service_account.name, uid=bound.service_account.uid,
            pod_name=bound.pod.name if bound.pod else "", pod_uid=bound.pod.uid if bound.pod else "",
            node_name=bound.node.name if bound.node else "", node_uid=bound.node.uid if bound.node else "",
            credential_id=f"JTI={claims.jwt_id}" if claims.jwt_id else "",
        )

    async def _check_service_account(self, bound: _BoundClaims, deleted_before: float) -> None:
        reference = bound.service_account
        account = await self._lookup.get_service_account(bound.namespace, reference.name)
        if account is None:
            raise Unauthorized(f"serviceaccounts {go_quote(reference.name)} not found")
        if uid_of(account) != reference.uid:
            raise Unauthorized(f"service account UID ({uid_of(account)}) does not match claim ({reference.uid})")
        if _deleted_before(account, deleted_before):
            raise Unauthorized(f"service account {bound.namespace}/{reference.name} has been deleted")


def _check_bound(obj: JSONDict | None, reference: _Ref, kind: str, deleted_before: float) -> None:
    if obj is None:
        raise Unauthorized(_INVALIDATED)
    if uid_of(obj) != reference.uid:
        claim = reference.uid
        raise Unauthorized(f"{kind} UID ({uid_of(obj)}) does not match service account {kind} ref claim ({claim})")
    if _deleted_before(obj, deleted_before):
        raise Unauthorized(_INVALIDATED)


def _deleted_before(obj: Mapping[str, Any], moment: float) -> bool:
    deletion = (obj.get("metadata") or {}).get("deletionTimestamp")
    return isinstance(deletion, str) and bool(deletion) and parse_time(deletion).timestamp() < moment


@dataclass(frozen=True, slots=True)
class _Ref:
    name: str = ""
    uid: str = ""

    @classmethod
    def parse(cls, value: object) -> _Ref:
        if value is None:
            return cls()
        if not isinstance(value, dict) or not all(isinstance(value.get(k, ""), str) for k in ("name", "uid")):
            raise Unauthorized("json: cannot unmarshal private claims into Go value of type serviceaccount.ref")
        return cls(value.get("name", ""), value.get("uid", ""))


@dataclass(frozen=True, slots=True)
class _BoundClaims:
    namespace: str
    service_account: _Ref
    pod: _Ref | None
    secret: _Ref | None
    node: _Ref | None

    @classmethod
    def parse(cls, value: object) -> _BoundClaims:
        if value is None:
            value = {}
        if not isinstance(value, dict) or not isinstance(value.get("namespace", ""), str):
            raise Unauthorized("json: cannot unmarshal private claims into Go value of type serviceaccount.kubernetes")
        private: dict[str, Any] = value
        optional = {key: _Ref.parse(private[key]) if private.get(key) is not None else None
                    for key in ("pod", "secret", "node")}
        return cls(private.get("namespace", ""), _Ref.parse(private.get("serviceaccount")), **optional)


class LegacyServiceAccountAuthenticator(_ServiceAccountTokens):
    """Secret-based tokens (issuer `kubernetes/serviceaccount`). With `lookup_enabled` (`--service-account-lookup`,
    default true) the Secret must still hold exactly this token and the ServiceAccount must still exist with
    the same uid. `record_last_used`, when given, is awaited with the Secret after a successful use, for the
    `kubernetes.io/legacy-token-last-used` label upstream keeps."""

    def __init__(
        self, keys: PublicKeySet, api_audiences: Sequence[str], lookup: ServiceAccountLookup, *,
        lookup_enabled: bool = True, record_last_used: Callable[[JSONDict], Awaitable[None]] | None = None,
    ) -> None:
        super().__init__(keys, (LEGACY_ISSUER,), api_audiences)
        self._lookup = lookup
        self._lookup_enabled = lookup_enabled
        self._record_last_used = record_last_used

    async def _validate(self, token: str, claims: Claims) -> ServiceAccountInfo:
        namespace, secret_name, name, uid = _legacy_private_claims(claims)
        if split_service_account_username(claims.subject) != (namespace, name):
            raise Unauthorized("sub claim is invalid")
        if self._lookup_enabled:
            secret = await self._check_secret(token, namespace, secret_name)
            await self._check_service_account(namespace, name, uid)
            if labels_of(secret).get(LEGACY_TOKEN_INVALID_SINCE_LABEL):
                raise Unauthorized(_invalid_since_message(namespace, secret_name, name))
            if self._record_last_used is not None:
                await self._record_last_used(secret)
        return ServiceAccountInfo(namespace=namespace, name=name, uid=uid)

    async def _check_secret(self, token: str, namespace: str, secret_name: str) -> JSONDict:
        secret = await self._lookup.get_secret(namespace, secret_name)
        if secret is None or (secret.get("metadata") or {}).get("deletionTimestamp"):
            raise Unauthorized("Token has been invalidated")
        if not hmac.compare_digest(_secret_token(secret), token.encode()):
            raise Unauthorized("Token does not match server's copy")
        return secret

    async def _check_service_account(self, namespace: str, name: str, uid: str) -> None:
        account = await self._lookup.get_service_account(namespace, name)
        if account is None:
            raise Unauthorized(f"serviceaccounts {go_quote(name)} not found")
        if (account.get("metadata") or {}).get("deletionTimestamp"):
            raise Unauthorized(f"ServiceAccount {namespace}/{name} has been deleted")
        if uid_of(account) != uid:
            raise Unauthorized(f"ServiceAccount UID ({uid_of(account)}) does not match claim ({uid})")


def _legacy_private_claims(claims: Claims) -> tuple[str, str, str, str]:
    if not claims.subject:
        raise Unauthorized("sub claim is missing")
    values = []
    for key, label in ((_LEGACY_NAMESPACE, "namespace"), (_LEGACY_SECRET_NAME, "secretName"),
                       (_LEGACY_SA_NAME, "serviceAccountName"), (_LEGACY_SA_UID, "serviceAccountUID")):
        value = claims.payload.get(key)
        if not value or not isinstance(value, str):
            raise Unauthorized(f"{label} claim is missing")
        values.append(value)
    namespace, secret_name, name, uid = values
    return namespace, secret_name, name, uid


def _secret_token(secret: Mapping[str, Any]) -> bytes:
    encoded = (secret.get("data") or {}).get("token") or ""
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return b""


def _invalid_since_message(namespace: str, secret_name: str, name: str) -> str:
    return (
        f"the token in secret {namespace}/{secret_name} for service account {namespace}/{name} has been marked "
        "invalid. Use tokens from the TokenRequest API or manually created secret-based tokens, or remove the "
        f"'{LEGACY_TOKEN_INVALID_SINCE_LABEL}' label from the secret to temporarily allow use of this token"
    )


def _go_list(values: Sequence[str]) -> str:
    """Go's `%q` of a []string: `["a" "b"]`."""
    return "[" + " ".join(go_quote(value) for value in values) + "]"
