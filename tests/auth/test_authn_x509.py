"""Client-certificate authentication: CN is the user, every O a group, and only verified chains count."""
from __future__ import annotations

import datetime
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from apiserver.auth.authn.x509 import CABundleError, X509Authenticator, certificate_identifier, load_ca_bundle
from apiserver.auth.user import UserInfo
from apiserver.meta.errors import Unauthorized
from apiserver.server.pki import CertKeyPair, issue_ca, issue_client_certificate, issue_serving_certificate


def pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


@dataclass(frozen=True)
class TLSRequest:
    """An AuthRequest over TLS: the chain as the ASGI TLS extension carries it."""

    chain: Sequence[x509.Certificate] = ()
    error: str | None = None
    headers: Mapping[str, Sequence[str]] = field(default_factory=dict)

    @property
    def tls(self) -> Mapping[str, object]:
        return {"client_cert_chain": [pem(cert) for cert in self.chain], "client_cert_error": self.error}

    def header(self, name: str) -> str | None:
        values = self.headers.get(name.lower())
        return values[0] if values else None


@dataclass(frozen=True)
class PlainRequest:
    headers: Mapping[str, Sequence[str]] = field(default_factory=dict)
    tls: Mapping[str, object] | None = None

    def header(self, name: str) -> str | None:
        return None


@pytest.fixture(scope="module")
def ca() -> CertKeyPair:
    return issue_ca("kubernetes")


@pytest.fixture(scope="module")
def rogue_ca() -> CertKeyPair:
    return issue_ca("kubernetes")


@pytest.fixture(scope="module")
def bob(ca: CertKeyPair) -> x509.Certificate:
    return issue_client_certificate(ca, "bob", ["system:masters", "ops"]).cert


async def test_certificate_authenticates_cn_with_every_o_as_groups(bob: x509.Certificate) -> None:
    user = await X509Authenticator().authenticate(TLSRequest([bob]))
    fingerprint = hashlib.sha256(bob.public_bytes(serialization.Encoding.DER)).hexdigest()
    assert user == UserInfo(
        name="bob", groups=("system:masters", "ops"),
        extra={"authentication.kubernetes.io/credential-id": (f"X509SHA256={fingerprint}",)},
    )


async def test_kubectl_certificate_has_no_groups(ca: CertKeyPair) -> None:
    user = await X509Authenticator().authenticate(TLSRequest([issue_client_certificate(ca, "kubectl").cert]))
    assert user is not None and (user.name, user.groups) == ("kubectl", ())


async def test_no_tls_or_no_certificate_is_not_ours() -> None:
    assert await X509Authenticator().authenticate(PlainRequest()) is None
    assert await X509Authenticator().authenticate(TLSRequest()) is None


async def test_certificate_without_cn_is_not_ours(ca: CertKeyPair) -> None:
    cert = sign_leaf(ca, x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "devs")]))
    assert await X509Authenticator().authenticate(TLSRequest([cert])) is None


async def test_chain_with_a_verification_error_is_refused(bob: x509.Certificate) -> None:
    with pytest.raises(Unauthorized) as caught:
        await X509Authenticator().authenticate(TLSRequest([bob], error="candidates exhausted"))
    assert caught.value.message == f"verifying certificate {certificate_identifier(bob)} failed: candidates exhausted"


async def test_own_verification_accepts_the_client_ca(ca: CertKeyPair, bob: x509.Certificate) -> None:
    user = await X509Authenticator([ca.cert]).authenticate(TLSRequest([bob]))
    assert user is not None and user.name == "bob"


async def test_own_verification_refuses_another_ca(ca: CertKeyPair, rogue_ca: CertKeyPair) -> None:
    mallory = issue_client_certificate(rogue_ca, "mallory", ["devs"]).cert
    with pytest.raises(Unauthorized, match=r"^verifying certificate SN=\d+, SKID=, AKID=[0-9A-F:]+ failed: x509: "):
        await X509Authenticator([ca.cert]).authenticate(TLSRequest([mallory]))


async def test_own_verification_refuses_an_expired_certificate(ca: CertKeyPair) -> None:
    long_ago = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=800)
    old_ca = issue_ca("kubernetes", long_ago)
    carol = issue_client_certificate(old_ca, "carol", now=long_ago).cert
    with pytest.raises(Unauthorized, match="failed: x509: "):
        await X509Authenticator([old_ca.cert]).authenticate(TLSRequest([carol]))


async def test_own_verification_requires_the_client_auth_purpose(ca: CertKeyPair) -> None:
    server = issue_serving_certificate(ca, [x509.DNSName("localhost")]).cert
    with pytest.raises(Unauthorized, match="failed: x509: "):
        await X509Authenticator([ca.cert]).authenticate(TLSRequest([server]))


async def test_own_verification_uses_intermediates_sent_by_the_client(ca: CertKeyPair) -> None:
    intermediate = issue_intermediate(ca, "intermediate")
    leaf = issue_client_certificate(intermediate, "dave", ["devs"]).cert
    user = await X509Authenticator([ca.cert]).authenticate(TLSRequest([leaf, intermediate.cert]))
    assert user is not None and user.name == "dave"
    with pytest.raises(Unauthorized):
        await X509Authenticator([ca.cert]).authenticate(TLSRequest([leaf]))


async def test_empty_client_ca_bundle_authenticates_nobody(bob: x509.Certificate) -> None:
    assert await X509Authenticator([]).authenticate(TLSRequest([bob])) is None


async def test_last_common_name_wins(ca: CertKeyPair) -> None:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "first"),
                         x509.NameAttribute(NameOID.COMMON_NAME, "second")])
    user = await X509Authenticator().authenticate(TLSRequest([sign_leaf(ca, subject)]))
    assert user is not None and user.name == "second"


def sign_leaf(ca: CertKeyPair, subject: x509.Name) -> x509.Certificate:
    """A bare certificate with `subject`, signed by `ca` (no extensions: the TLS layer is not in play)."""
    assert ca.key is not None
    return (
        x509.CertificateBuilder().subject_name(subject).issuer_name(ca.cert.subject)
        .public_key(ca.key.public_key()).serial_number(7)  # type: ignore[arg-type]
        .not_valid_before(ca.cert.not_valid_before_utc).not_valid_after(ca.cert.not_valid_after_utc)
        .sign(ca.key, hashes.SHA256())  # type: ignore[arg-type]
    )


def issue_intermediate(ca: CertKeyPair, name: str) -> CertKeyPair:
    from cryptography.hazmat.primitives.asymmetric import ec

    assert ca.key is not None
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca.cert.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(ca.cert.not_valid_before_utc).not_valid_after(ca.cert.not_valid_after_utc)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                     crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()),  # type: ignore[arg-type]
                       critical=False)
        .sign(ca.key, hashes.SHA256())  # type: ignore[arg-type]
    )
    return CertKeyPair(cert, key)


def test_certificate_identifier_is_upstreams(bob: x509.Certificate) -> None:
    identifier = certificate_identifier(bob)
    assert identifier.startswith(f"SN={bob.serial_number}, SKID=, AKID=")
    assert identifier.split("AKID=")[1].count(":") == 19  # 20 bytes, upper-case, colon-separated


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "open {path}: no such file or directory"),
        (b"", 'missing content for CA bundle "request-header::{path}"'),
        (b"garbage", "data does not contain any valid RSA or ECDSA certificates"),
    ],
    ids=["missing", "empty", "garbage"],
)
def test_ca_bundle_errors_are_upstreams(tmp_path: Path, content: bytes | None, message: str) -> None:
    path = tmp_path / "front-proxy-ca.crt"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(CABundleError) as caught:
        load_ca_bundle(path, "request-header")
    assert str(caught.value) == message.format(path=path)


def test_ca_bundle_reads_every_certificate(tmp_path: Path, ca: CertKeyPair, rogue_ca: CertKeyPair) -> None:
    path = tmp_path / "bundle.crt"
    path.write_text(pem(ca.cert) + pem(rogue_ca.cert))
    assert load_ca_bundle(path, "client-ca-bundle") == [ca.cert, rogue_ca.cert]
