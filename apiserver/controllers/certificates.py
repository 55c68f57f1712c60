"""The CSR signing controller: issues certificates for approved CertificateSigningRequests addressed to
`kubernetes.io/kube-apiserver-client` and `kubernetes.io/kube-apiserver-client-kubelet`, with the cluster CA.

As kube-controller-manager's csrsigning controller: only approved (not denied, not failed, not yet issued)
requests are signed; the requested usages are checked for the signer, a request it refuses gets a `Failed`
condition (reason `SignerValidationFailure`); the subject of the CSR is used as is, with its SANs; validity
is `spec.expirationSeconds` when given, capped by the signing duration (1 year by default, upstream's
`--cluster-signing-duration`) and by the CA's own expiry; certificates are backdated 5 minutes for clock skew.
Approval itself is up to clients (`kubectl certificate approve`, through the `approval` subresource).
"""
from __future__ import annotations

import base64
import datetime
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from apiserver.client.client import ApiClient, Resource
from apiserver.client.informer import Informer

logger = logging.getLogger(__name__)

JSONDict = dict[str, Any]
CSRS = Resource("certificates.k8s.io", "v1", "certificatesigningrequests", namespaced=False)
KUBE_APISERVER_CLIENT = "kubernetes.io/kube-apiserver-client"
KUBELET_CLIENT = "kubernetes.io/kube-apiserver-client-kubelet"
DEFAULT_SIGNING_DURATION = datetime.timedelta(days=365)
BACKDATE = datetime.timedelta(minutes=5)
_OPTIONAL_CLIENT_USAGES = frozenset({"digital signature", "key encipherment"})


class SignerValidationError(Exception):
    """The request cannot be signed by its signer; the message goes into the `Failed` condition."""


@dataclass(frozen=True, slots=True)
class SigningAuthority:
    """The CA certificate and key that sign, and the longest validity an issued certificate may have."""

    cert: x509.Certificate
    key: Any
    duration: datetime.timedelta = DEFAULT_SIGNING_DURATION


def validate_client_usages(usages: Sequence[str]) -> None:
    """Upstream's check for client signers: `client auth` required; only digital signature and key
    encipherment besides it."""
    for usage in usages:
        if usage != "client auth" and usage not in _OPTIONAL_CLIENT_USAGES:
            raise SignerValidationError(f"invalid usage for client certificate: {usage}")
    if "client auth" not in usages:
        raise SignerValidationError("missing required usage for client certificate: client auth")


def validate_kubelet_client(request: x509.CertificateSigningRequest, usages: Sequence[str]) -> None:
    """A kubelet client request: O=system:nodes only, CN system:node:<name>, no SANs, client usages."""
    organizations = [attribute.value for attribute in request.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
    if organizations != ["system:nodes"]:
        raise SignerValidationError("subject organization is not system:nodes")
    common_names = request.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if not common_names or not str(common_names[-1].value).startswith("system:node:"):
        raise SignerValidationError('subject common name does not begin with "system:node:"')
    try:
        request.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        pass
    else:
        raise SignerValidationError("subject alternative names are not allowed")
    validate_client_usages(usages)


def sign(authority: SigningAuthority, csr: JSONDict, now: datetime.datetime) -> bytes:
    """The PEM certificate for `csr` (a CertificateSigningRequest object). Raises SignerValidationError."""
    spec = csr.get("spec") or {}
    try:
        request = x509.load_pem_x509_csr(base64.b64decode(spec.get("request") or ""))
    except ValueError as error:
        raise SignerValidationError(f"unable to parse csr: {error}") from None
    if not request.is_signature_valid:
        raise SignerValidationError("csr signature is not valid")
    usages = [str(usage) for usage in spec.get("usages") or ()]
    if spec.get("signerName") == KUBELET_CLIENT:
        validate_kubelet_client(request, usages)
    else:
        validate_client_usages(usages)
    return _certificate(authority, request, usages, _validity(authority, spec, now), now)


def _validity(authority: SigningAuthority, spec: JSONDict, now: datetime.datetime) -> datetime.datetime:
    duration = authority.duration
    if isinstance(seconds := spec.get("expirationSeconds"), int):
        duration = min(duration, datetime.timedelta(seconds=seconds))
    return min(now + duration, authority.cert.not_valid_after_utc)


def _certificate(authority: SigningAuthority, request: x509.CertificateSigningRequest, usages: Sequence[str],
                 not_after: datetime.datetime, now: datetime.datetime) -> bytes:
    public_key = request.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey):
        raise SignerValidationError("unsupported public key type in csr")
    builder = (
        x509.CertificateBuilder()
        .subject_name(request.subject)
        .issuer_name(authority.cert.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(max(now - BACKDATE, authority.cert.not_valid_before_utc))
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(authority.cert.public_key()),  # type: ignore[arg-type]
                       critical=False)
    )
    if "digital signature" in usages or "key encipherment" in usages:
        # As Go's x509: no KeyUsage extension at all when no bit is set (an empty one makes the certificate invalid).
        builder = builder.add_extension(_key_usage(usages), critical=True)
    try:
        sans = request.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        builder = builder.add_extension(sans, critical=False)
    except x509.ExtensionNotFound:
        pass
    return builder.sign(authority.key, hashes.SHA256()).public_bytes(Encoding.PEM)


def _key_usage(usages: Sequence[str]) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature="digital signature" in usages, content_commitment=False,
        key_encipherment="key encipherment" in usages, data_encipherment=False, key_agreement=False,
        key_cert_sign=False, crl_sign=False, encipher_only=False, decipher_only=False,
    )


def _conditions(csr: JSONDict) -> dict[str, JSONDict]:
    return {str(entry.get("type")): entry for entry in (csr.get("status") or {}).get("conditions") or ()
            if isinstance(entry, dict)}


def needs_signing(csr: JSONDict, signers: Sequence[str]) -> bool:
    """Approved, not denied, not failed, not issued, and addressed to one of `signers`."""
    conditions = _conditions(csr)
    approved = (conditions.get("Approved") or {}).get("status") == "True"
    return (approved and "Denied" not in conditions and "Failed" not in conditions
            and not (csr.get("status") or {}).get("certificate")
            and (csr.get("spec") or {}).get("signerName") in signers)


class CSRSigningController:
    """Signs approved client CSRs; runs as `system:controller:certificate-controller`.

    `authority` returns the signing CA, or None when the cluster CA's key is not available (then nothing is
    signed and requests stay approved, as when kube-controller-manager runs without signing files).
    """

    name = "certificate-controller"
    workers = 2
    watches = (CSRS,)
    signers = (KUBE_APISERVER_CLIENT, KUBELET_CLIENT)

    def __init__(self, authority: SigningAuthority | None, *,
                 clock: Any = lambda: datetime.datetime.now(datetime.UTC)) -> None:
        self._authority = authority
        self._clock = clock
        self._client: ApiClient | None = None
        self._informer: Informer | None = None

    def keys_for(self, resource: Resource, event_type: str, obj: JSONDict) -> list[str]:
        if event_type == "DELETED" or not needs_signing(obj, self.signers):
            return []
        return [str((obj.get("metadata") or {}).get("name") or "")]

    async def start(self, client: ApiClient, informers: dict[Resource, Informer]) -> None:
        self._client, self._informer = client, informers[CSRS]
        if self._authority is None:
            logger.warning("csr_signer_disabled", extra={"controller": self.name, "reason": "no CA key"})

    async def reconcile(self, key: str) -> None:
        assert self._client is not None and self._informer is not None
        csr = self._informer.get(key)
        if csr is None or self._authority is None or not needs_signing(csr, self.signers):
            return
        now = self._clock().replace(microsecond=0)
        updated = {**csr, "status": dict(csr.get("status") or {})}
        try:
            certificate = sign(self._authority, csr, now)
        except SignerValidationError as error:
            stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
            updated["status"]["conditions"] = [*(updated["status"].get("conditions") or ()), {
                "type": "Failed", "status": "True", "reason": "SignerValidationFailure", "message": str(error),
                "lastUpdateTime": stamp, "lastTransitionTime": stamp,
            }]
        else:
            updated["status"]["certificate"] = base64.b64encode(certificate).decode()
        await self._client.update(CSRS, updated, subresource="status")
        logger.info("csr_processed", extra={"controller": self.name, "csr": key,
                                            "issued": "certificate" in updated["status"]})
