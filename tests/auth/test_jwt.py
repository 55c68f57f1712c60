"""ServiceAccount token keys: key ids, signing, signature checks, key files and the OIDC discovery documents."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from apiserver.auth.jwt import (
    Claims,
    InvalidSignature,
    KeyFileError,
    PublicKeySet,
    TimeError,
    TokenIssuer,
    discovery_jwks_uri,
    jwks,
    key_id_for,
    load_public_keys,
    load_signing_key,
    openid_configuration,
    unverified_payload,
    verify_signature,
)
from apiserver.server.pki import issue_ca

# Upstream's key-id stability vector (pkg/serviceaccount/keyid_test.go): this public key must have this kid.
STABILITY_KEY = b"""-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA249XwEo9k4tM8fMxV7zx
OhcrP+WvXn917koM5Qr2ZXs4vo26e4ytdlrV0bQ9SlcLpQVSYjIxNfhTZdDt+ecI
zshKuv1gKIxbbLQMOuK1eA/4HALyEkFgmS/tleLJrhc65tKPMGD+pKQ/xhmzRuCG
51RoiMgbQxaCyYxGfNLpLAZK9L0Tctv9a0mJmGIYnIOQM4kC1A1I1n3EsXMWmeJU
j7OTh/AjjCnMnkgvKT2tpKxYQ59PgDgU8Ssc7RDSmSkLxnrv+OrN80j6xrw0OjEi
B4Ycr0PqfzZcvy8efTtFQ/Jnc4Bp1zUtFXt7+QeevePtQ2EcyELXE0i63T1CujRM
WwIDAQAB
-----END PUBLIC KEY-----
"""
STABILITY_KID = "JHJehTTTZlsspKHT-GaJxK7Kd1NQgZJu3fyK6K_QDYU"
ISSUER = "https://kubernetes.default.svc.cluster.local"


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def other_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_json(value: object) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def decode_part(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def test_key_id_matches_upstream_stability_vector() -> None:
    key = serialization.load_pem_public_key(STABILITY_KEY)
    assert isinstance(key, rsa.RSAPublicKey)
    assert key_id_for(key) == STABILITY_KID


def test_rsa_token_has_upstream_header_and_sorted_payload(rsa_key: rsa.RSAPrivateKey) -> None:
    issuer = TokenIssuer(rsa_key, ISSUER)
    token = issuer.issue({"sub": "system:serviceaccount:ns:sa", "aud": ["a"], "exp": 2, "iat": 1, "nbf": 1})
    header, payload, _ = token.split(".")
    assert decode_part(header) == b'{"alg":"RS256","kid":"' + key_id_for(rsa_key.public_key()).encode() + b'"}'
    assert decode_part(payload) == (
        b'{"aud":["a"],"exp":2,"iat":1,"iss":"https://kubernetes.default.svc.cluster.local","nbf":1,'
        b'"sub":"system:serviceaccount:ns:sa"}'
    )


@pytest.mark.parametrize(
    ("curve", "algorithm"),
    [(ec.SECP256R1(), "ES256"), (ec.SECP384R1(), "ES384"), (ec.SECP521R1(), "ES512")],
    ids=["p256", "p384", "p521"],
)
def test_ec_tokens_use_the_algorithm_of_the_curve_and_verify(curve: ec.EllipticCurve, algorithm: str) -> None:
    key = ec.generate_private_key(curve)
    token = TokenIssuer(key, ISSUER).issue({"sub": "x"})
    assert json.loads(decode_part(token.split(".")[0]))["alg"] == algorithm
    payload = verify_signature(token, PublicKeySet([key.public_key()]))
    assert payload is not None and json.loads(payload)["sub"] == "x"


def test_unsupported_curve_cannot_sign() -> None:
    with pytest.raises(ValueError, match="unknown private key curve, must be 256, 384, or 521"):
        TokenIssuer(ec.generate_private_key(ec.SECP256K1()), ISSUER)


def test_signature_verifies_with_any_of_several_keys_when_the_token_has_no_kid(
    rsa_key: rsa.RSAPrivateKey, other_rsa_key: rsa.RSAPrivateKey
) -> None:
    token = TokenIssuer(rsa_key, ISSUER, key_id="").issue({"sub": "x"})
    keys = PublicKeySet([other_rsa_key.public_key(), rsa_key.public_key()])
    assert verify_signature(token, keys) is not None


def test_signature_with_unknown_kid_finds_no_keys(rsa_key: rsa.RSAPrivateKey, other_rsa_key: rsa.RSAPrivateKey) -> None:
    token = TokenIssuer(other_rsa_key, ISSUER).issue({"sub": "x"})
    with pytest.raises(InvalidSignature, match=r"^invalid signature, no keys found$"):
        verify_signature(token, PublicKeySet([rsa_key.public_key()]))


def test_signature_from_another_key_under_the_right_kid_fails(
    rsa_key: rsa.RSAPrivateKey, other_rsa_key: rsa.RSAPrivateKey
) -> None:
    token = TokenIssuer(other_rsa_key, ISSUER, key_id=key_id_for(rsa_key.public_key())).issue({"sub": "x"})
    with pytest.raises(InvalidSignature, match="error in cryptographic primitive"):
        verify_signature(token, PublicKeySet([rsa_key.public_key()]))


def test_tampered_payload_fails(rsa_key: rsa.RSAPrivateKey) -> None:
    header, _, signature = TokenIssuer(rsa_key, ISSUER).issue({"sub": "system:serviceaccount:ns:a"}).split(".")
    forged = f"{header}.{b64url_json({'sub': 'system:serviceaccount:ns:admin', 'iss': ISSUER})}.{signature}"
    with pytest.raises(InvalidSignature):
        verify_signature(forged, PublicKeySet([rsa_key.public_key()]))


def test_alg_none_is_refused(rsa_key: rsa.RSAPrivateKey) -> None:
    kid = key_id_for(rsa_key.public_key())
    token = f"{b64url_json({'alg': 'none', 'kid': kid})}.{b64url_json({'sub': 'x', 'iss': ISSUER})}."
    with pytest.raises(InvalidSignature, match="unsupported algorithm"):
        verify_signature(token, PublicKeySet([rsa_key.public_key()]))


def test_hs256_signed_with_the_public_key_as_secret_is_refused(rsa_key: rsa.RSAPrivateKey) -> None:
    public_pem = rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    kid = key_id_for(rsa_key.public_key())
    signing_input = f"{b64url_json({'alg': 'HS256', 'kid': kid})}.{b64url_json({'sub': 'x', 'iss': ISSUER})}"
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    with pytest.raises(InvalidSignature, match="unsupported algorithm"):
        verify_signature(f"{signing_input}.{b64url(signature)}", PublicKeySet([rsa_key.public_key()]))


def test_es256_header_on_an_rsa_key_is_refused(rsa_key: rsa.RSAPrivateKey) -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    kid = key_id_for(rsa_key.public_key())
    signing_input = f"{b64url_json({'alg': 'ES256', 'kid': kid})}.{b64url_json({'sub': 'x'})}"
    r, s = decode_dss_signature(ec_key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    with pytest.raises(InvalidSignature, match="unsupported algorithm"):
        verify_signature(f"{signing_input}.{b64url(signature)}", PublicKeySet([rsa_key.public_key()]))


def test_ps256_from_the_same_rsa_key_verifies(rsa_key: rsa.RSAPrivateKey) -> None:
    # go-jose verifies any RSA signature algorithm with an RSA key; only the signer is fixed to RS256.
    kid = key_id_for(rsa_key.public_key())
    signing_input = f"{b64url_json({'alg': 'PS256', 'kid': kid})}.{b64url_json({'sub': 'x'})}"
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
    signature = rsa_key.sign(signing_input.encode(), pss, hashes.SHA256())
    assert verify_signature(f"{signing_input}.{b64url(signature)}", PublicKeySet([rsa_key.public_key()])) is not None


@pytest.mark.parametrize(
    "token",
    ["", "abc", "a.b", "a.b.c.d", "{}.e30.x", "!!!.e30.sig"],
    ids=["empty", "one-part", "two-parts", "four-parts", "json-header", "bad-base64"],
)
def test_malformed_tokens_are_not_jws(token: str, rsa_key: rsa.RSAPrivateKey) -> None:
    assert verify_signature(token, PublicKeySet([rsa_key.public_key()])) is None


@pytest.mark.parametrize(
    ("token", "payload"),
    [
        (f"x.{b64url_json({'iss': 'a'})}.y", {"iss": "a"}),
        (f"x.{b64url_json([1])}.y", None),
        ("x.e30=.y", None),
        (' {"a":1}.e30.y', None),
        ("x.e30", None),
    ],
    ids=["payload", "not-an-object", "padded", "json-serialization", "two-parts"],
)
def test_unverified_payload_only_reads_compact_jws(token: str, payload: dict[str, str] | None) -> None:
    assert unverified_payload(token) == payload


@pytest.mark.parametrize(
    ("claims", "now", "error"),
    [
        ({"exp": 1000}, 1060, None),
        ({"exp": 1000}, 1060.5, TimeError.EXPIRED),
        ({"nbf": 1000}, 940, None),
        ({"nbf": 1000}, 939.5, TimeError.NOT_VALID_YET),
        ({"iat": 1000}, 939.5, TimeError.ISSUED_IN_THE_FUTURE),
        ({"nbf": 2000, "exp": 1000}, 1500, TimeError.NOT_VALID_YET),
        ({}, 0, None),
    ],
    ids=["exp-within-leeway", "expired", "nbf-within-leeway", "not-yet-valid", "issued-in-future", "nbf-first",
         "no-times"],
)
def test_time_validation_has_sixty_seconds_of_leeway(
    claims: dict[str, int], now: float, error: TimeError | None
) -> None:
    assert Claims.parse(json.dumps(claims).encode()).time_error(now) is error


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"aud": 5}, "expected string or array value to unmarshal to Audience"),
        ({"exp": "soon"}, "expected number value to unmarshal NumericDate"),
        ({"iss": ["a"]}, "cannot unmarshal list"),
    ],
    ids=["audience", "numeric-date", "issuer"],
)
def test_claims_of_the_wrong_type_are_rejected(payload: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Claims.parse(json.dumps(payload).encode())


def test_single_audience_string_is_read_as_a_list() -> None:
    assert Claims.parse(b'{"aud":"api","exp":1.9}').audience == ("api",)
    assert Claims.parse(b'{"aud":"api","exp":1.9}').expiry == 1


# --- key files ----------------------------------------------------------------------------------------------------


def write(path: Path, *chunks: bytes) -> Path:
    path.write_bytes(b"".join(chunks))
    return path


def private_pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, encoding: serialization.PrivateFormat) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, encoding, serialization.NoEncryption())


def test_public_key_file_accepts_public_keys_private_keys_and_certificates(
    tmp_path: Path, rsa_key: rsa.RSAPrivateKey
) -> None:
    ca = issue_ca("ca")
    assert ca.key is not None
    ec_key = ec.generate_private_key(ec.SECP256R1())
    path = write(
        tmp_path / "sa.pub",
        rsa_key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
        private_pem(ec_key, serialization.PrivateFormat.TraditionalOpenSSL),
        b"-----BEGIN SOMETHING-----\nAAAA\n-----END SOMETHING-----\n",
        ca.cert.public_bytes(serialization.Encoding.PEM),
    )
    keys = load_public_keys(path)
    assert [key_id_for(key) for key in keys] == [
        key_id_for(rsa_key.public_key()), key_id_for(ec_key.public_key()), key_id_for(ca.key.public_key()),
    ]


def test_public_key_file_without_keys_is_a_start_up_error(tmp_path: Path) -> None:
    path = write(tmp_path / "empty.pem", b"nothing here\n")
    with pytest.raises(KeyFileError) as caught:
        load_public_keys(path)
    assert str(caught.value) == (
        f"error reading public key file {path}: data does not contain any valid RSA or ECDSA public keys"
    )


def test_missing_key_file_reports_the_open_error(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError) as caught:
        load_signing_key(tmp_path / "absent.key")
    assert str(caught.value) == f"open {tmp_path / 'absent.key'}: no such file or directory"


@pytest.mark.parametrize(
    "encoding", [serialization.PrivateFormat.TraditionalOpenSSL, serialization.PrivateFormat.PKCS8],
    ids=["pkcs1", "pkcs8"],
)
def test_signing_key_file_reads_rsa_keys(
    tmp_path: Path, rsa_key: rsa.RSAPrivateKey, encoding: serialization.PrivateFormat
) -> None:
    key = load_signing_key(write(tmp_path / "sa.key", private_pem(rsa_key, encoding)))
    assert key_id_for(key.public_key()) == key_id_for(rsa_key.public_key())


def test_signing_key_file_without_private_key_is_a_start_up_error(tmp_path: Path, rsa_key: rsa.RSAPrivateKey) -> None:
    path = write(tmp_path / "sa.pub", rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    with pytest.raises(KeyFileError) as caught:
        load_signing_key(path)
    assert str(caught.value) == (
        f"error reading private key file {path}: data does not contain a valid RSA or ECDSA private key"
    )


# --- OIDC discovery -----------------------------------------------------------------------------------------------


def test_openid_configuration_lists_the_algorithms_of_the_keys(rsa_key: rsa.RSAPrivateKey) -> None:
    keys = PublicKeySet([rsa_key.public_key(), ec.generate_private_key(ec.SECP256R1()).public_key()])
    document = openid_configuration(ISSUER, "https://10.0.0.1:6443/openid/v1/jwks", keys)
    assert json.dumps(document, separators=(",", ":")) == (
        '{"issuer":"https://kubernetes.default.svc.cluster.local",'
        '"jwks_uri":"https://10.0.0.1:6443/openid/v1/jwks","response_types_supported":["id_token"],'
        '"subject_types_supported":["public"],"id_token_signing_alg_values_supported":["ES256","RS256"]}'
    )


def test_jwks_has_go_jose_members_in_order(rsa_key: rsa.RSAPrivateKey) -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    document = jwks(PublicKeySet([rsa_key.public_key(), ec_key.public_key()]))
    rsa_jwk, ec_jwk = document["keys"]
    numbers = rsa_key.public_key().public_numbers()
    assert list(rsa_jwk) == ["use", "kty", "kid", "alg", "n", "e"]
    assert rsa_jwk["e"] == "AQAB"
    assert int.from_bytes(decode_part(rsa_jwk["n"]), "big") == numbers.n
    assert rsa_jwk["kid"] == key_id_for(rsa_key.public_key())
    assert list(ec_jwk) == ["use", "kty", "kid", "crv", "alg", "x", "y"]
    assert (ec_jwk["kty"], ec_jwk["crv"], ec_jwk["alg"]) == ("EC", "P-256", "ES256")
    assert len(decode_part(ec_jwk["x"])) == len(decode_part(ec_jwk["y"])) == 32


def test_jwks_verifies_a_token_with_a_standard_jwk_library(rsa_key: rsa.RSAPrivateKey) -> None:
    import jwt as pyjwt

    token = TokenIssuer(rsa_key, ISSUER).issue({"sub": "x", "aud": ["api"]})
    key_set = pyjwt.PyJWKSet.from_dict(jwks(PublicKeySet([rsa_key.public_key()])))
    header = pyjwt.get_unverified_header(token)
    key = next(key for key in key_set.keys if key.key_id == header["kid"])
    assert pyjwt.decode(token, key, algorithms=["RS256"], audience="api")["iss"] == ISSUER


@pytest.mark.parametrize(
    ("issuer", "jwks_uri", "address", "expected"),
    [
        (ISSUER, "", "10.0.0.1:6443", "https://10.0.0.1:6443/openid/v1/jwks"),
        (ISSUER, "https://keys.example/jwks", "", "https://keys.example/jwks"),
        ("", "", "a", "empty issuer URL"),
        (ISSUER, "", "", "either the JWKS URI or the default external address, or both, must be set"),
        ("http://x", "", "a", "issuer URL must use https scheme, got: http://x"),
        ("https://x?a=b", "", "a", "issuer URL may not include a query, got: https://x?a=b"),
        ("https://x#f", "", "a", "issuer URL may not include a fragment, got: https://x#f"),
        (ISSUER, "http://keys", "", "jwksURI requires https scheme, parsed as: http://keys"),
    ],
    ids=["from-address", "explicit", "no-issuer", "nothing", "http-issuer", "query", "fragment", "http-jwks"],
)
def test_discovery_jwks_uri(issuer: str, jwks_uri: str, address: str, expected: str) -> None:
    if expected.startswith("https://"):
        assert discovery_jwks_uri(issuer, jwks_uri, address) == expected
    else:
        with pytest.raises(ValueError) as caught:
            discovery_jwks_uri(issuer, jwks_uri, address)
        assert str(caught.value) == expected


def test_certificate_public_key_is_accepted_for_verification(tmp_path: Path) -> None:
    ca = issue_ca("signer")
    assert ca.key is not None
    path = write(tmp_path / "cert.pem", ca.cert.public_bytes(serialization.Encoding.PEM))
    token = TokenIssuer(ca.key, ISSUER).issue({"sub": "x"})
    assert verify_signature(token, PublicKeySet(load_public_keys(path))) is not None
    assert isinstance(x509.load_pem_x509_certificate(path.read_bytes()), x509.Certificate)
