"""CertificateSigningRequests (certificates.k8s.io/v1): cluster-scoped; `approval` is its own subresource."""
from __future__ import annotations

from datetime import datetime, timedelta

from apiserver.registry.columns import NONE, dig, human_duration, integer, mapping, sequence, text
from apiserver.registry.spec import AGE, NAME, Column, JSONObject, ResourceSpec, SelectableField, Subresource


def csr_condition(obj: JSONObject, now: datetime | None = None) -> str:
    """Denied, Approved or Pending (denial wins), then `,Failed` and `,Issued` when they apply."""
    seen = {text(mapping(entry).get("type")) for entry in sequence(dig(obj, "status", "conditions"))}
    status = "Denied" if "Denied" in seen else "Approved" if "Approved" in seen else "Pending"
    if "Failed" in seen:
        status += ",Failed"
    if text(dig(obj, "status", "certificate")):
        status += ",Issued"
    return status


def _requested_duration(obj: JSONObject, now: datetime) -> str:
    seconds = dig(obj, "spec", "expirationSeconds")
    return human_duration(timedelta(seconds=integer(seconds))) if seconds is not None else NONE


COLUMNS = (
    NAME,
    AGE,
    Column("SignerName", "string", description="The signer the request is addressed to.",
           value=lambda obj, now: text(dig(obj, "spec", "signerName")) or NONE),
    Column("Requestor", "string", description="The user that created the request.",
           value=lambda obj, now: text(dig(obj, "spec", "username"))),
    Column("RequestedDuration", "string", description="The requested validity of the issued certificate.",
           value=_requested_duration),
    Column("Condition", "string", description="The approval and issuance state.", value=csr_condition),
)

SPEC = ResourceSpec(
    group="certificates.k8s.io", version="v1", kind="CertificateSigningRequest",
    plural="certificatesigningrequests", namespaced=False, short_names=("csr",),
    subresources=(
        Subresource("approval", "CertificateSigningRequest"),
        Subresource("status", "CertificateSigningRequest"),
    ),
    columns=COLUMNS,
    selectable_fields=(SelectableField("spec.signerName", lambda obj: text(dig(obj, "spec", "signerName"))),),
)
