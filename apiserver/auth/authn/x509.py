"""Client-certificate authentication: the verified leaf's CN is the user, its O values the groups.

Mirrors k8s.io/apiserver/pkg/authentication/request/x509. The TLS layer (apiserver/server/tls.py) already
verified the chain against `--client-ca-file` during the handshake and passes it in the ASGI TLS extension
(reference/daphne-tls-and-lifecycle.md §1.3). This authenticator still refuses a chain that carries a
`client_cert_error`, and can verify the chain again itself (`client_cas`) for servers whose TLS layer trusts
more than the client CA, e.g. also the front-proxy CA; upstream verifies here in every case.
"""
from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from cryptography.x509.verification import Criticality, ExtensionPolicy, PolicyBuilder, Store, VerificationError

from apiserver.auth.authn.interface import AuthRequest
from apiserver.auth.user import CREDENTIAL_ID_KEY, UserInfo
from apiserver.meta.errors import Unauthorized
from apiserver.meta.objects import Clock, utc_now

# Go's verifier, not the Web PKI profile: client certificates need no SAN, and key identifiers are optional.
# The clientAuth extended key usage, validity and CA constraints stay enforced.
_CLIENT_POLICY = (
    ExtensionPolicy.webpki_defaults_ee()
    .may_be_present(x509.SubjectAlternativeName, Criticality.AGNOSTIC, None)
    .may_be_present(x509.AuthorityKeyIdentifier, Criticality.AGNOSTIC, None)
)
_CA_POLICY = (
    ExtensionPolicy.webpki_defaults_ca()
    .may_be_present(x509.AuthorityKeyIdentifier, Criticality.AGNOSTIC, None)
    .may_be_present(x509.SubjectKeyIdentifier, Criticality.AGNOSTIC, None)
)


class CertificateVerifier:
    """Verifies client certificate chains (leaf first) against a fixed set of CA certificates, for the
    clientAuth purpose, at the clock's time."""

    def __init__(self, roots: Sequence[x509.Certificate], *, clock: Clock = utc_now) -> None:
        if not roots:
            raise ValueError("a certificate verifier needs at least one CA certificate")
        self._store = Store(list(roots))
        self._clock = clock

    def verification_error(self, chain: Sequence[x509.Certificate]) -> str | None:
        """None when `chain` verifies, else why not (`x509: …`, for logs)."""
        builder = PolicyBuilder().store(self._store).time(self._clock())
        verifier = builder.extension_policies(ca_policy=_CA_POLICY, ee_policy=_CLIENT_POLICY).build_client_verifier()
        try:
            verifier.verify(chain[0], list(chain[1:]))
        except VerificationError as error:
            return f"x509: {error}"
        return None


class X509Authenticator:
    """Authenticates requests by their TLS client certificate.

    `client_cas`: None trusts the TLS layer's verification (the default, for a server whose handshake checks
    exactly `--client-ca-file`); a sequence of CA certificates verifies the chain again against them; an empty
    sequence authenticates nobody (upstream: an empty CA bundle). Returns None without a certificate or
    without a CN (then other authenticators, or anonymous, decide).
    """

    def __init__(self, client_cas: Sequence[x509.Certificate] | None = None, *, clock: Clock = utc_now) -> None:
        self._verifier = CertificateVerifier(client_cas, clock=clock) if client_cas else None
        self._disabled = client_cas is not None and not client_cas

    async def authenticate(self, request: AuthRequest) -> UserInfo | None:
        chain = client_certificate_chain(request)
        if not chain or self._disabled:
            return None
        error = request.tls.get("client_cert_error") if request.tls is not None else None
        if not error and self._verifier is not None:
            error = self._verifier.verification_error(chain)
        if error:
            raise Unauthorized(f"verifying certificate {certificate_identifier(chain[0])} failed: {error}")
        return user_from_certificate(chain[0])


def user_from_certificate(certificate: x509.Certificate) -> UserInfo | None:
    """CN → name, every O → groups in order, SHA-256 fingerprint → credential id (upstream's
    CommonNameUserConversion). None when the subject has no CN."""
    name = common_name(certificate)
    if not name:
        return None
    organizations = certificate.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    fingerprint = hashlib.sha256(certificate.public_bytes(Encoding.DER)).hexdigest()
    return UserInfo(
        name=name,
        groups=tuple(_text(attribute.value) for attribute in organizations),
        extra={CREDENTIAL_ID_KEY: (f"X509SHA256={fingerprint}",)},
    )


def common_name(certificate: x509.Certificate) -> str:
    """The subject's CN; the last one when there are several, as Go's pkix.Name keeps it."""
    common_names = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return _text(common_names[-1].value) if common_names else ""


def client_certificate_chain(request: AuthRequest) -> list[x509.Certificate]:
    """The client's chain from the TLS extension, leaf first; empty without TLS or without a certificate."""
    if request.tls is None:
        return []
    pems = request.tls.get("client_cert_chain") or ()
    assert isinstance(pems, list | tuple)
    return [_load_pem(pem) for pem in pems]


def certificate_identifier(certificate: x509.Certificate) -> str:
    """`SN=<decimal>, SKID=<AA:BB…>, AKID=<AA:BB…>`, how upstream names a certificate in its errors."""
    return (
        f"SN={certificate.serial_number}, SKID={_column_hex(_subject_key_id(certificate))}, "
        f"AKID={_column_hex(_authority_key_id(certificate))}"
    )


class CABundleError(ValueError):
    """A CA bundle file cannot be used; the message is upstream's start-up error."""


def load_ca_bundle(path: Path, name: str) -> list[x509.Certificate]:
    """Every certificate of the PEM bundle at `path` (upstream's dynamic CA content named `<name>::<path>`).

    Raises CABundleError when the file cannot be read, is empty, or holds no certificate.
    """
    try:
        content = path.read_bytes()
    except OSError as error:
        raise CABundleError(f"open {path}: {(error.strerror or str(error)).lower()}") from None
    if not content:
        raise CABundleError(f'missing content for CA bundle "{name}::{path}"')
    try:
        return x509.load_pem_x509_certificates(content)
    except ValueError:
        raise CABundleError("data does not contain any valid RSA or ECDSA certificates") from None


@functools.lru_cache(maxsize=1024)
def _load_pem(pem: str) -> x509.Certificate:
    # One parse per distinct certificate: keep-alive connections send the same chain with every request.
    return x509.load_pem_x509_certificate(pem.encode())


def _text(value: str | bytes) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _subject_key_id(certificate: x509.Certificate) -> bytes:
    try:
        return certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    except x509.ExtensionNotFound:
        return b""


def _authority_key_id(certificate: x509.Certificate) -> bytes:
    try:
        return certificate.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier or b""
    except x509.ExtensionNotFound:
        return b""


def _column_hex(data: bytes) -> str:
    return ":".join(f"{byte:02X}" for byte in data)
