"""The cluster PKI, laid out as kubeadm does in `<data-dir>/pki/`, generated on first start.

Files: `ca.crt`/`ca.key` (CN kubernetes), `apiserver.crt`/`apiserver.key` (the serving certificate),
`sa.key`/`sa.pub` (ServiceAccount token signing), `front-proxy-ca.crt`/`front-proxy-ca.key` and
`front-proxy-client.crt`/`front-proxy-client.key` (CN front-proxy-client, signed by the front-proxy CA: the
aggregator's client certificate towards extension API servers).

Existing files are always reused and never overwritten: an operator may have replaced any of them, and a
replica sharing the directory must not rotate the CA under the others. A pair where only one half exists is an
error rather than a silent regeneration.

Key types: certificate keys are ECDSA P-256, not kubeadm's RSA-2048 default. Every TLS handshake signs with the
serving key, and one P-256 signature costs about 0.02 ms against 0.27 ms for RSA-2048 (measured,
reference/daphne-tls-and-lifecycle.md §1.5); kubectl, client-go and OpenSSL all accept P-256 chains. The
ServiceAccount key stays RSA-2048, as kubeadm's, because RS256 is what every token verifier supports and signing
a token is off the handshake path.
"""
from __future__ import annotations

import datetime
import ipaddress
import logging
import os
import re
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

logger = logging.getLogger(__name__)

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey

CA_VALIDITY = datetime.timedelta(days=3650)  # kubeadm: ten years for CAs
LEAF_VALIDITY = datetime.timedelta(days=365)  # kubeadm: one year for everything they sign
FIRST_SERVICE_IP = "10.96.0.1"  # the `kubernetes` Service in kubeadm's default 10.96.0.0/12
SERVICE_DNS_NAMES = (
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
    "localhost",
)
_DNS_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


class PKIError(Exception):
    """The PKI directory is inconsistent (half a pair, or a certificate that cannot be signed)."""


@dataclass(frozen=True, slots=True)
class CertKeyPair:
    """A certificate and its private key (None for a CA whose key is kept elsewhere)."""

    cert: x509.Certificate
    key: PrivateKey | None


@dataclass(frozen=True, slots=True)
class PKI:
    """What `ensure_pki` found or made. `generated` names the files written by this call."""

    directory: Path
    ca: CertKeyPair
    generated: tuple[str, ...]

    @property
    def ca_file(self) -> Path:
        return self.directory / "ca.crt"

    def describe(self) -> str:
        if not self.generated:
            return "existing"
        if len(self.generated) == len(PKI_FILES):
            return "generated"
        return "generated " + ", ".join(self.generated)


PKI_FILES = (
    "ca.crt", "ca.key", "front-proxy-ca.crt", "front-proxy-ca.key", "apiserver.crt", "apiserver.key",
    "sa.key", "sa.pub", "front-proxy-client.crt", "front-proxy-client.key",
)
# kubeadm's front-proxy client certificate: what the aggregator presents to extension API servers (the default of
# --proxy-client-cert-file and --proxy-client-key-file).
FRONT_PROXY_CLIENT = "front-proxy-client"


def ensure_pki(directory: Path, *, advertise_address: str, hostname: str | None = None) -> PKI:
    """Create whatever is missing in `directory`, reuse everything present. Raises PKIError or OSError."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    now = _now()
    generated: list[str] = []
    ca = _ensure_ca(directory, "ca", "kubernetes", now, generated)
    front_proxy_ca = _ensure_ca(directory, "front-proxy-ca", "front-proxy-ca", now, generated)
    if front_proxy_ca.key is not None or (directory / f"{FRONT_PROXY_CLIENT}.crt").exists():
        _ensure_pair(directory, FRONT_PROXY_CLIENT, generated,
                     lambda: issue_client_certificate(front_proxy_ca, FRONT_PROXY_CLIENT, now=now))
    sans = serving_sans(advertise_address, hostname if hostname is not None else socket.gethostname())
    serving = _ensure_pair(directory, "apiserver", generated, lambda: issue_serving_certificate(ca, sans, now))
    _warn_about_missing_address(serving.cert, advertise_address)
    if serving.cert.not_valid_after_utc < now:
        logger.warning("serving certificate apiserver.crt expired on %s", serving.cert.not_valid_after_utc.date())
    _ensure_service_account_key(directory, generated)
    return PKI(directory, ca, tuple(generated))


def serving_sans(advertise_address: str, hostname: str) -> list[x509.GeneralName]:
    names = [*SERVICE_DNS_NAMES]
    if _DNS_NAME.match(hostname.lower()) and hostname.lower() not in names:
        names.append(hostname.lower())
    addresses: list[str] = []
    for address in ("127.0.0.1", advertise_address, FIRST_SERVICE_IP):
        if address not in addresses:
            addresses.append(address)
    return [*(x509.DNSName(name) for name in names), *(x509.IPAddress(ipaddress.ip_address(a)) for a in addresses)]


def _ensure_ca(
    directory: Path, stem: str, common_name: str, now: datetime.datetime, generated: list[str]
) -> CertKeyPair:
    return _ensure_pair(directory, stem, generated, lambda: issue_ca(common_name, now), key_optional=True)


def _ensure_pair(
    directory: Path, stem: str, generated: list[str], issue: Callable[[], CertKeyPair], *, key_optional: bool = False
) -> CertKeyPair:
    cert_path, key_path = directory / f"{stem}.crt", directory / f"{stem}.key"
    has_cert, has_key = cert_path.exists(), key_path.exists()
    if has_cert and (has_key or key_optional):
        key = load_private_key(key_path) if has_key else None
        return CertKeyPair(load_certificates(cert_path)[0], key)
    if has_cert or has_key:
        present, missing = (cert_path, key_path) if has_cert else (key_path, cert_path)
        raise PKIError(f"found {present} but not {missing}: restore it or remove both to regenerate them")
    pair = issue()
    assert pair.key is not None
    write_private_key(key_path, pair.key)
    write_file(cert_path, pair.cert.public_bytes(serialization.Encoding.PEM), mode=0o644)
    generated.extend((cert_path.name, key_path.name))
    return pair


def _ensure_service_account_key(directory: Path, generated: list[str]) -> None:
    key_path, public_path = directory / "sa.key", directory / "sa.pub"
    if key_path.exists():
        if not public_path.exists():
            public = load_private_key(key_path).public_key()
            write_file(public_path, _public_pem(public), mode=0o644)
            generated.append(public_path.name)
        return
    if public_path.exists():
        raise PKIError(f"found {public_path} but not {key_path}: restore it or remove both to regenerate them")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    write_private_key(key_path, key)
    write_file(public_path, _public_pem(key.public_key()), mode=0o644)
    generated.extend((key_path.name, public_path.name))


def _public_pem(public: object) -> bytes:
    assert isinstance(public, rsa.RSAPublicKey | ec.EllipticCurvePublicKey)
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def _warn_about_missing_address(cert: x509.Certificate, address: str) -> None:
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return
    if ipaddress.ip_address(address) not in sans.get_values_for_type(x509.IPAddress):
        logger.warning(
            "serving certificate apiserver.crt does not name the advertise address %s; it is kept as it is "
            "(remove apiserver.crt and apiserver.key to regenerate it)", address,
        )


# --- issuing ------------------------------------------------------------------------------------------------


def issue_ca(common_name: str, now: datetime.datetime | None = None) -> CertKeyPair:
    """A self-signed CA certificate with a new P-256 key."""
    now = now or _now()
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    builder = (
        _base_builder(name, name, key.public_key(), now, now + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    return CertKeyPair(builder.sign(key, hashes.SHA256()), key)


def issue_serving_certificate(
    ca: CertKeyPair, sans: Sequence[x509.GeneralName], now: datetime.datetime | None = None
) -> CertKeyPair:
    """The API server's serving certificate (CN kube-apiserver, EKU serverAuth), signed by `ca`."""
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")])
    extra = [(x509.SubjectAlternativeName(list(sans)), False)]
    return _issue_leaf(ca, subject, ExtendedKeyUsageOID.SERVER_AUTH, extra, now)


def issue_client_certificate(
    ca: CertKeyPair, common_name: str, organizations: Sequence[str] = (), now: datetime.datetime | None = None
) -> CertKeyPair:
    """A client certificate (EKU clientAuth): the user is `common_name`, the groups `organizations`."""
    attributes = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, group) for group in organizations]
    subject = x509.Name([*attributes, x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    return _issue_leaf(ca, subject, ExtendedKeyUsageOID.CLIENT_AUTH, [], now)


def _issue_leaf(
    ca: CertKeyPair,
    subject: x509.Name,
    usage: x509.ObjectIdentifier,
    extra: list[tuple[x509.ExtensionType, bool]],
    now: datetime.datetime | None,
) -> CertKeyPair:
    if ca.key is None:
        raise PKIError(f"cannot sign a certificate for {subject.rfc4514_string()}: the CA's private key is missing")
    now = now or _now()
    key = ec.generate_private_key(ec.SECP256R1())
    not_after = min(now + LEAF_VALIDITY, ca.cert.not_valid_after_utc)
    builder = (
        _base_builder(subject, ca.cert.subject, key.public_key(), ca.cert.not_valid_before_utc, not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(_authority_key_identifier(ca.cert), critical=False)
    )
    for extension, critical in extra:
        builder = builder.add_extension(extension, critical=critical)
    return CertKeyPair(builder.sign(ca.key, hashes.SHA256()), key)


def _base_builder(
    subject: x509.Name, issuer: x509.Name, public: object, not_before: datetime.datetime, not_after: datetime.datetime
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public)  # type: ignore[arg-type]
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
    )


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True, content_commitment=False, key_encipherment=False, data_encipherment=False,
        key_agreement=False, key_cert_sign=cert_sign, crl_sign=cert_sign, encipher_only=False, decipher_only=False,
    )


def _authority_key_identifier(ca: x509.Certificate) -> x509.AuthorityKeyIdentifier:
    try:
        ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    except x509.ExtensionNotFound:
        return x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.public_key())  # type: ignore[arg-type]
    return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC).replace(microsecond=0)


# --- files --------------------------------------------------------------------------------------------------


def load_certificates(path: Path) -> list[x509.Certificate]:
    """Every certificate of a PEM file, in order. Raises OSError, or ValueError when there is none."""
    content = path.read_bytes()
    try:
        return x509.load_pem_x509_certificates(content)
    except ValueError:
        raise ValueError(f"{path}: no valid PEM certificate") from None


def load_private_key(path: Path) -> PrivateKey:
    """The unencrypted PEM private key in `path`. Raises OSError, or ValueError when there is none."""
    content = path.read_bytes()
    try:
        key = serialization.load_pem_private_key(content, password=None)
    except (ValueError, TypeError):
        raise ValueError(f"{path}: no valid unencrypted PEM private key") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise ValueError(f"{path}: unsupported private key type {type(key).__name__}")
    return key


def private_key_pem(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )


def write_private_key(path: Path, key: PrivateKey) -> None:
    write_file(path, private_key_pem(key), mode=0o600)


def write_file(path: Path, content: bytes, *, mode: int) -> None:
    """Write `content` to a new file at `path` with `mode`; fails with FileExistsError rather than overwrite."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(descriptor, "wb") as file:
        file.write(content)
    os.chmod(path, mode)  # the umask may have narrowed the mode given to open()
