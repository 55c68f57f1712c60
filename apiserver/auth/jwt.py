"""ServiceAccount token keys: loading them, signing and verifying JWTs, and the OIDC discovery documents.

Mirrors k8s.io/kubernetes/pkg/serviceaccount/jwt.go and openidmetadata.go, with PyJWT for the JWS work:
- the key id (`kid`) is upstream's: unpadded base64url of the SHA-256 of the DER SubjectPublicKeyInfo, so
  tokens and JWKS entries name keys exactly as kube-apiserver does;
- tokens are signed RS256 (RSA) or ES256/ES384/ES512 (by curve) with header `{"alg","kid"}` and a payload
  whose keys are sorted, byte for byte what go-jose produces;
- a token is verified only with an algorithm its key can make (RS*/PS* for RSA, the curve's ES* for EC):
  `none`, HS* and any mismatch fail, so a public key can never be used as an HMAC secret.
Time and audience policy belong to the callers (authn/serviceaccount.py); this module only checks signatures.
"""
from __future__ import annotations

import asyncio
import base64
import enum
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt import PyJWS
from jwt.exceptions import InvalidAlgorithmError, InvalidSignatureError, InvalidTokenError

PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

DEFAULT_LEEWAY_SECONDS = 60  # go-jose's jwt.DefaultLeeway
OPENID_CONFIG_PATH = "/.well-known/openid-configuration"
JWKS_PATH = "/openid/v1/jwks"
DISCOVERY_CACHE_CONTROL = "public, max-age=3600"
JWKS_CONTENT_TYPE = "application/jwk-set+json"

_CURVE_ALGORITHMS = {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}
_RSA_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512")
_PEM_BLOCK = re.compile(rb"-----BEGIN ([^-\r\n]*)-----\r?\n(.*?)-----END \1-----", re.S)


class KeyFileError(Exception):
    """A key file cannot be used; the message is kube-apiserver's start-up error."""


class InvalidSignature(Exception):
    """No verification key accepted the token's signature; the message is upstream's error text (for logs)."""


def key_id_for(public_key: PublicKey) -> str:
    """Upstream's keyIDFromPublicKey: base64url (unpadded) of SHA-256 over the DER SubjectPublicKeyInfo."""
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return _b64url(hashlib.sha256(der).digest())


def signing_algorithm(key: PublicKey | PrivateKey) -> str:
    """RS256 for RSA; ES256, ES384 or ES512 for P-256, P-384 or P-521. Raises ValueError for other curves."""
    if isinstance(key, rsa.RSAPublicKey | rsa.RSAPrivateKey):
        return "RS256"
    algorithm = _CURVE_ALGORITHMS.get(key.curve.name)
    if algorithm is None:
        raise ValueError("unknown private key curve, must be 256, 384, or 521")
    return algorithm


def _verification_algorithms(key: PublicKey) -> list[str]:
    return list(_RSA_ALGORITHMS) if isinstance(key, rsa.RSAPublicKey) else [signing_algorithm(key)]


# --- key files ------------------------------------------------------------------------------------------------


def load_signing_key(path: Path) -> PrivateKey:
    """The first RSA or ECDSA private key of a PEM file (`--service-account-signing-key-file`).

    Raises KeyFileError (`open …: …` or `error reading private key file …: …`).
    """
    data = _read(path)
    for label, der in _pem_blocks(data):
        if label in ("RSA PRIVATE KEY", "EC PRIVATE KEY", "PRIVATE KEY"):
            key = _private_key(der)
            if key is None:
                raise KeyFileError(f"error reading private key file {path}: private key is not an RSA or ECDSA key")
            return key
    reason = "data does not contain a valid RSA or ECDSA private key"
    raise KeyFileError(f"error reading private key file {path}: {reason}")


def load_public_keys(path: Path) -> list[PublicKey]:
    """Every RSA or ECDSA key of a PEM file (`--service-account-key-file`, which may be repeated): public keys,
    certificates and private keys all count, by their public half; other blocks are ignored.

    Raises KeyFileError when the file cannot be read or holds no usable key.
    """
    keys = [key for _, der in _pem_blocks(_read(path)) if (key := _public_key(der)) is not None]
    if not keys:
        reason = "data does not contain any valid RSA or ECDSA public keys"
        raise KeyFileError(f"error reading public key file {path}: {reason}")
    return keys


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise KeyFileError(f"open {path}: {(error.strerror or str(error)).lower()}") from None


def _pem_blocks(data: bytes) -> list[tuple[str, bytes]]:
    blocks = []
    for match in _PEM_BLOCK.finditer(data):
        body = b"".join(line for line in match.group(2).splitlines() if b":" not in line)  # skip PEM headers
        try:
            blocks.append((match.group(1).decode("ascii", "replace"), base64.b64decode(body, validate=False)))
        except ValueError:
            continue
    return blocks


def _private_key(der: bytes) -> PrivateKey | None:
    try:
        key = serialization.load_der_private_key(der, password=None)
    except (ValueError, TypeError):
        return None
    return key if isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) else None


def _public_key(der: bytes) -> PublicKey | None:
    if (private := _private_key(der)) is not None:
        return private.public_key()
    for load in (serialization.load_der_public_key, lambda data: x509.load_der_x509_certificate(data).public_key()):
        try:
            key = load(der)
        except ValueError:
            continue
        if isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
            return key
    return None


# --- signing ----------------------------------------------------------------------------------------------------


class TokenIssuer:
    """Signs tokens for one issuer (`--service-account-issuer`, the first value) with one private key.

    `issue` adds `iss` to the claims and returns the compact JWS. Signing an RSA token takes about a
    millisecond: call `issue_async` on the event loop.
    """

    def __init__(self, signing_key: PrivateKey, issuer: str, *, key_id: str | None = None) -> None:
        self.algorithm = signing_algorithm(signing_key)
        self.key_id = key_id if key_id is not None else key_id_for(signing_key.public_key())
        self.issuer = issuer
        self._key = signing_key

    def issue(self, claims: Mapping[str, Any]) -> str:
        payload = _canonical_json({**claims, "iss": self.issuer})
        return PyJWS().encode(payload, self._key, algorithm=self.algorithm, headers={"typ": None, "kid": self.key_id})

    async def issue_async(self, claims: Mapping[str, Any]) -> str:
        return await asyncio.to_thread(self.issue, claims)


def _canonical_json(value: Mapping[str, Any]) -> bytes:
    # go-jose builds the payload from Go maps, and encoding/json writes map keys sorted.
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


# --- verification ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VerificationKey:
    key_id: str
    public_key: PublicKey


class PublicKeySet:
    """The keys tokens are verified with (every `--service-account-key-file`), each with its key id."""

    def __init__(self, keys: Sequence[PublicKey]) -> None:
        self.keys = tuple(VerificationKey(key_id_for(key), key) for key in keys)

    def matching(self, kid: str) -> tuple[VerificationKey, ...]:
        """The keys with this key id, or all keys for a token without one (upstream's StaticPublicKeysGetter)."""
        return self.keys if not kid else tuple(key for key in self.keys if key.key_id == kid)


def unverified_payload(token: str) -> dict[str, Any] | None:
    """The claims of a compact JWS *before* any verification, or None when `token` is not one.

    Only for routing a token to the authenticator of its issuer (upstream's hasCorrectIssuer); never trust it.
    """
    parts = token.split(".")
    if token.strip().startswith("{") or len(parts) != 3:
        return None
    try:
        payload = json.loads(_b64url_decode(parts[1]))
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


def verify_signature(token: str, keys: PublicKeySet) -> bytes | None:
    """The verified payload bytes of `token`, trying each matching key in order.

    Returns None when the token is not a well-formed JWS (upstream treats it as "not mine"). Raises
    InvalidSignature when no key is found for its `kid` or none verifies it.
    """
    try:
        header = PyJWS().get_unverified_header(token)
    except InvalidTokenError:
        return None
    kid = header.get("kid", "")
    if not isinstance(kid, str):
        return None
    candidates = keys.matching(kid)
    if not candidates:
        raise InvalidSignature("invalid signature, no keys found")
    errors: list[str] = []
    for candidate in candidates:
        algorithms = _verification_algorithms(candidate.public_key)
        try:
            decoded = PyJWS().decode_complete(token, candidate.public_key, algorithms=algorithms)
        except InvalidAlgorithmError:
            errors.append("go-jose/go-jose: unknown/unsupported algorithm")
        except InvalidSignatureError:
            errors.append("go-jose/go-jose: error in cryptographic primitive")
        except InvalidTokenError as error:
            errors.append(f"go-jose/go-jose: {error}")
        else:
            payload: bytes = decoded["payload"]
            return payload
    raise InvalidSignature(_aggregate(errors))


def _aggregate(messages: list[str]) -> str:
    distinct = list(dict.fromkeys(messages))
    return distinct[0] if len(distinct) == 1 else "[" + ", ".join(distinct) + "]"


class TimeError(enum.Enum):
    """go-jose's time validation failures, in the order it checks them."""

    NOT_VALID_YET = "not valid yet"
    EXPIRED = "expired"
    ISSUED_IN_THE_FUTURE = "issued in the future"


@dataclass(frozen=True, slots=True)
class Claims:
    """The registered claims of a verified token (go-jose's jwt.Claims); `payload` is the whole JSON object."""

    payload: Mapping[str, Any]
    issuer: str = ""
    subject: str = ""
    audience: tuple[str, ...] = ()
    expiry: int | None = None
    not_before: int | None = None
    issued_at: int | None = None
    jwt_id: str = ""

    @classmethod
    def parse(cls, payload: bytes) -> Claims:
        """Read a verified payload. Raises ValueError when a registered claim has the wrong JSON type."""
        claims = json.loads(payload)
        if not isinstance(claims, dict):
            raise ValueError("json: cannot unmarshal non-object into Go value of type jwt.Claims")
        return cls(
            payload=claims, issuer=_string_claim(claims, "iss"), subject=_string_claim(claims, "sub"),
            audience=_audience(claims.get("aud")), expiry=_numeric_date(claims.get("exp")),
            not_before=_numeric_date(claims.get("nbf")), issued_at=_numeric_date(claims.get("iat")),
            jwt_id=_string_claim(claims, "jti"),
        )

    def time_error(self, now: float, leeway: int = DEFAULT_LEEWAY_SECONDS) -> TimeError | None:
        """go-jose's ValidateWithLeeway: not-before, expiry and issued-at, each with `leeway` seconds of slack."""
        if self.not_before is not None and now + leeway < self.not_before:
            return TimeError.NOT_VALID_YET
        if self.expiry is not None and now - leeway > self.expiry:
            return TimeError.EXPIRED
        if self.issued_at is not None and now + leeway < self.issued_at:
            return TimeError.ISSUED_IN_THE_FUTURE
        return None


def _string_claim(claims: Mapping[str, Any], name: str) -> str:
    value = claims.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError(f"json: cannot unmarshal {type(value).__name__} into Go struct field Claims.{name}")
    return value


def _audience(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise ValueError("go-jose/go-jose/jwt: expected string or array value to unmarshal to Audience")


def _numeric_date(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("go-jose/go-jose/jwt: expected number value to unmarshal NumericDate")
    return int(value)


# --- OIDC discovery -------------------------------------------------------------------------------------------


def openid_configuration(issuer: str, jwks_uri: str, keys: PublicKeySet) -> dict[str, Any]:
    """The document served at `/.well-known/openid-configuration`, keys in upstream's order."""
    return {
        "issuer": issuer,
        "jwks_uri": jwks_uri,
        "response_types_supported": ["id_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": sorted({signing_algorithm(key.public_key) for key in keys.keys}),
    }


def jwks(keys: PublicKeySet) -> dict[str, Any]:
    """The key set served at `/openid/v1/jwks`: one JWK per key, members in go-jose's order."""
    return {"keys": [_jwk(key) for key in keys.keys]}


def _jwk(key: VerificationKey) -> dict[str, str]:
    public = key.public_key
    algorithm = signing_algorithm(public)
    if isinstance(public, rsa.RSAPublicKey):
        numbers = public.public_numbers()
        return {"use": "sig", "kty": "RSA", "kid": key.key_id, "alg": algorithm,
                "n": _b64url(_unsigned(numbers.n)), "e": _b64url(_unsigned(numbers.e))}
    size = (public.curve.key_size + 7) // 8
    point = public.public_numbers()
    return {"use": "sig", "kty": "EC", "kid": key.key_id, "crv": f"P-{public.curve.key_size}", "alg": algorithm,
            "x": _b64url(point.x.to_bytes(size, "big")), "y": _b64url(point.y.to_bytes(size, "big"))}


def discovery_jwks_uri(issuer: str, jwks_uri: str = "", external_address: str = "") -> str:
    """The `jwks_uri` to publish, checking what upstream's NewOpenIDMetadataProvider checks.

    `jwks_uri` is `--service-account-jwks-uri`; without it the URI is `https://<external address>/openid/v1/jwks`.
    Raises ValueError with upstream's message; kube-apiserver then logs it and serves no discovery documents.
    """
    if not issuer:
        raise ValueError("empty issuer URL")
    if not jwks_uri and not external_address:
        raise ValueError("either the JWKS URI or the default external address, or both, must be set")
    parsed = urlsplit(issuer)
    if parsed.scheme != "https":
        raise ValueError(f"issuer URL must use https scheme, got: {issuer}")
    if parsed.query:
        raise ValueError(f"issuer URL may not include a query, got: {issuer}")
    if parsed.fragment:
        raise ValueError(f"issuer URL may not include a fragment, got: {issuer}")
    if not jwks_uri:
        return f"https://{external_address}{JWKS_PATH}"
    if urlsplit(jwks_uri).scheme != "https":
        raise ValueError(f"jwksURI requires https scheme, parsed as: {jwks_uri}")
    return jwks_uri


def _unsigned(number: int) -> bytes:
    return number.to_bytes(max(1, (number.bit_length() + 7) // 8), "big")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    # Go's RawURLEncoding: the URL alphabet, no padding allowed.
    if "=" in text:
        raise ValueError("padding in raw base64url")
    return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
