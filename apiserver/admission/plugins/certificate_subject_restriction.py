"""CertificateSubjectRestriction: no CSR for the kube-apiserver client signer may ask for `system:masters`.

Upstream's plugin/pkg/admission/certificates/subjectrestriction, on CSR CREATE: when `spec.signerName` is
`kubernetes.io/kube-apiserver-client`, the request's subject may not have the organization `system:masters`
(that group bypasses authorization); a request that does not parse is Forbidden too.
"""
from __future__ import annotations

import base64
import binascii

from cryptography import x509
from cryptography.x509.oid import NameOID

from apiserver.admission.errors import forbidden
from apiserver.admission.interface import AdmissionAttributes, Operation, PluginContext

CLIENT_SIGNER = "kubernetes.io/kube-apiserver-client"
MASTERS = "system:masters"


class CertificateSubjectRestriction:
    name = "CertificateSubjectRestriction"

    def __init__(self, context: PluginContext) -> None:
        self._context = context

    def handles(self, operation: Operation) -> bool:
        return operation is Operation.CREATE

    async def validate(self, attributes: AdmissionAttributes) -> None:
        if (attributes.group, attributes.resource, attributes.subresource) != (
                "certificates.k8s.io", "certificatesigningrequests", ""):
            return
        spec = (attributes.object or {}).get("spec") or {}
        if spec.get("signerName") != CLIENT_SIGNER:
            return
        try:
            request = x509.load_pem_x509_csr(base64.b64decode(str(spec.get("request") or ""), validate=True))
        except (ValueError, binascii.Error):
            raise forbidden(attributes, "failed to parse CSR: PEM block type must be CERTIFICATE REQUEST") from None
        organizations = request.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
        if any(attribute.value == MASTERS for attribute in organizations):
            raise forbidden(attributes, f"use of {CLIENT_SIGNER} signer with {MASTERS} group is not allowed")
