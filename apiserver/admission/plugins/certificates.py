"""CertificateApproval and CertificateSigning: approving or signing a CSR needs a grant on its signer.

Upstream's plugin/pkg/admission/certificates/{approval,signing}: an UPDATE of a CertificateSigningRequest's
`approval` subresource needs the verb `approve`, and an UPDATE of its `status` that changes
`status.certificate` needs the verb `sign`, on the resource `signers` of `certificates.k8s.io` named after the
CSR's signerName, or after the wildcard `<domain>/*` of that name. Both only validate.

Admission cannot import authorization, so the plugins ask through the context's `access_review` (the server's
SubjectAccessReview answer for a user and a spec). A context without one leaves the plugins inactive (logged
at INFO, since the server's stderr must stay quiet): the server assembly must supply it for the checks to run.
"""
from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from apiserver.admission.interface import AdmissionAttributes, Operation, PluginContext
from apiserver.meta.errors import Forbidden, go_quote
from apiserver.meta.objects import JSONDict

logger = logging.getLogger(__name__)

CERTIFICATES_GROUP = "certificates.k8s.io"
CSR_RESOURCE = "certificatesigningrequests"
SIGNERS_RESOURCE = "signers"

AccessReview = Callable[[object, Mapping[str, Any]], Awaitable[JSONDict]]
"""(user, SubjectAccessReview spec) → its status; `allowed` is True only when an authorizer allowed."""


class AuthorizingContext(PluginContext, Protocol):
    """A plugin context that can also answer access reviews (what upstream's WantsAuthorizer receives)."""

    @property
    def access_review(self) -> AccessReview:
        """The server's SubjectAccessReview answer: `Security.access_review`."""
        ...


def access_review_of(context: PluginContext, plugin: str) -> AccessReview | None:
    """The context's access review, or None (logged) when the assembly supplied none."""
    review: AccessReview | None = getattr(context, "access_review", None)
    if review is None:
        logger.info("admission plugin %s has no authorizer in its context and checks nothing", plugin)
    return review


async def is_authorized_for_signer_name(review: AccessReview, user: object, verb: str, signer_name: str) -> bool:
    """Whether `user` may `verb` the signer: by its exact name first, then by the wildcard of its domain."""
    for name in (signer_name, wildcard_signer_name(signer_name)):
        spec = {"resourceAttributes": {"verb": verb, "group": CERTIFICATES_GROUP, "resource": SIGNERS_RESOURCE,
                                       "name": name}}
        if (await review(user, spec)).get("allowed") is True:
            return True
    return False


def wildcard_signer_name(signer_name: str) -> str:
    """`example.com/*` for `example.com/foo`: everything before the first slash, then `/*`."""
    return signer_name.split("/", 1)[0] + "/*"


def is_csr_subresource(attributes: AdmissionAttributes, subresource: str) -> bool:
    return (attributes.group == CERTIFICATES_GROUP and attributes.resource == CSR_RESOURCE
            and attributes.subresource == subresource)


def signer_name_of(csr: JSONDict) -> str:
    spec = csr.get("spec")
    name = spec.get("signerName") if isinstance(spec, dict) else None
    return name if isinstance(name, str) else ""


def forbidden(attributes: AdmissionAttributes, reason: str) -> Forbidden:
    """admission.NewForbidden for a CSR request (updates always name the CSR)."""
    return Forbidden(attributes.resource, attributes.name, reason, group=attributes.group)


class CertificateApproval:
    """Approving or denying a CSR (the `approval` subresource) needs `approve` on its signer."""

    name = "CertificateApproval"

    def __init__(self, context: PluginContext) -> None:
        self._review = access_review_of(context, self.name)

    def handles(self, operation: Operation) -> bool:
        return operation is Operation.UPDATE

    async def validate(self, attributes: AdmissionAttributes) -> None:
        if self._review is None or not is_csr_subresource(attributes, "approval"):
            return
        if attributes.object is None:
            raise forbidden(attributes, "expected type CertificateSigningRequest, got: <nil>")
        signer_name = signer_name_of(attributes.object)
        if not await is_authorized_for_signer_name(self._review, attributes.user, "approve", signer_name):
            raise forbidden(attributes, not_permitted("approve", signer_name))


class CertificateSigning:
    """Setting or changing a CSR's `status.certificate` (the `status` subresource) needs `sign` on its signer."""

    name = "CertificateSigning"

    def __init__(self, context: PluginContext) -> None:
        self._review = access_review_of(context, self.name)

    def handles(self, operation: Operation) -> bool:
        return operation is Operation.UPDATE

    async def validate(self, attributes: AdmissionAttributes) -> None:
        if self._review is None or not is_csr_subresource(attributes, "status"):
            return
        if attributes.object is None or attributes.old_object is None:
            raise forbidden(attributes, "expected type CertificateSigningRequest, got: <nil>")
        if certificate_of(attributes.object) == certificate_of(attributes.old_object):
            return
        signer_name = signer_name_of(attributes.old_object)  # upstream reads the stored CSR's signer
        if not await is_authorized_for_signer_name(self._review, attributes.user, "sign", signer_name):
            raise forbidden(attributes, not_permitted("sign", signer_name))


def not_permitted(verb: str, signer_name: str) -> str:
    """Upstream's Forbidden reason, word for word."""
    return f"user not permitted to {verb} requests with signerName {go_quote(signer_name)}"


def certificate_of(csr: JSONDict) -> bytes:
    """The bytes of `status.certificate` (b"" when unset), so that two encodings of one value compare equal."""
    status = csr.get("status")
    encoded = status.get("certificate") if isinstance(status, dict) else None
    if not isinstance(encoded, str):
        return b""
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return encoded.encode()

