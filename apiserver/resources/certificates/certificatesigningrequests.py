"""CertificateSigningRequests (certificates.k8s.io/v1): cluster-scoped; `approval` is its own subresource."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from apiserver.meta.objects import format_time
from apiserver.meta.validation import FieldError, FieldErrors, FieldPath
from apiserver.registry.columns import NONE, dig, human_duration, integer, mapping, sequence, text
from apiserver.registry.spec import AGE, NAME, Column, JSONObject, ResourceSpec, SelectableField, Subresource
from apiserver.registry.strategy import DefaultStrategy, MutableObject, RequestContext

APPROVAL_TYPES = ("Approved", "Denied")
MIN_EXPIRATION_SECONDS = 600
_CONDITIONS = FieldPath("status", "conditions")


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

class CSRStrategy(DefaultStrategy):
    """Upstream's csr strategies: the requester recorded on create, spec immutable, approval only through
    `approval`, the certificate set once, Approved and Denied mutually exclusive and never removed."""

    def prepare_for_create(self, obj: MutableObject, ctx: RequestContext) -> None:
        spec = obj["spec"] = {key: value for key, value in _dict(obj.get("spec")).items()
                              if key not in ("username", "uid", "groups", "extra")}
        user = ctx.user
        if user is not None:
            spec["username"] = getattr(user, "name", "")
            if getattr(user, "uid", ""):
                spec["uid"] = user.uid  # type: ignore[attr-defined]
            if groups := list(getattr(user, "groups", ())):
                spec["groups"] = groups
            if extra := {key: list(values) for key, values in getattr(user, "extra", {}).items()}:
                spec["extra"] = extra
        obj.pop("status", None)

    def prepare_for_update(self, obj: MutableObject, old: MutableObject, ctx: RequestContext) -> None:
        obj["spec"] = old.get("spec")

    def prepare_for_subresource_update(
        self, subresource: str, obj: MutableObject, old: MutableObject, ctx: RequestContext
    ) -> None:
        if subresource != "approval":
            return
        conditions = _dict(obj.get("status")).get("conditions")
        obj["spec"] = old.get("spec")
        status = {key: value for key, value in _dict(old.get("status")).items() if key != "conditions"}
        if conditions:
            status["conditions"] = conditions
        obj["status"] = status
        _stamp_conditions(status, old, format_time(ctx.now()))

    def validate(self, obj: MutableObject, ctx: RequestContext) -> FieldErrors:
        spec, path = _dict(obj.get("spec")), FieldPath("spec")
        # Upstream also requires spec.request (a parseable CSR), signerName and usages; not checked yet.
        errors: FieldErrors = []
        seconds = spec.get("expirationSeconds")
        if isinstance(seconds, int) and seconds < MIN_EXPIRATION_SECONDS:
            errors.append(FieldError.invalid(path.child("expirationSeconds"), seconds,
                                             "may not specify a duration less than 600 seconds (10 minutes)"))
        return errors

    def validate_update(self, obj: MutableObject, old: MutableObject, ctx: RequestContext) -> FieldErrors:
        errors = _validate_conditions(sequence(dig(obj, "status", "conditions")))
        old_certificate = text(dig(old, "status", "certificate"))
        if old_certificate and text(dig(obj, "status", "certificate")) != old_certificate:
            errors.append(FieldError.invalid(FieldPath("status", "certificate"), "[]byte(nil)",
                                             "updates may not modify existing certificate content"))
        for kind in (*APPROVAL_TYPES, "Failed"):
            if _count(obj, kind) < _count(old, kind):
                errors.append(FieldError.forbidden(_CONDITIONS, f'updates may not remove a condition of type "{kind}"'))
        return errors


def _dict(value: object) -> dict[str, Any]:
    return dict(value) if isinstance(value, dict) else {}


def _count(obj: MutableObject, kind: str) -> int:
    return sum(1 for entry in sequence(dig(obj, "status", "conditions")) if mapping(entry).get("type") == kind)


def _validate_conditions(conditions: Sequence[Any]) -> FieldErrors:
    errors: FieldErrors = []
    seen: set[str] = set()
    for index, entry in enumerate(conditions):
        condition, path = mapping(entry), _CONDITIONS.index(index)
        kind = text(condition.get("type"))
        if not kind:
            errors.append(FieldError.required(path.child("type")))
            continue
        if kind in (*APPROVAL_TYPES, "Failed") and kind in seen:
            errors.append(FieldError.duplicate(path.child("type"), kind))
        if kind in APPROVAL_TYPES and ({*APPROVAL_TYPES} - {kind}) & seen:
            errors.append(FieldError.invalid(path.child("type"), kind,
                                             "Approved and Denied conditions are mutually exclusive"))
        if kind in (*APPROVAL_TYPES, "Failed") and condition.get("status") != "True":
            errors.append(FieldError.not_supported(path.child("status"), condition.get("status"), ["True"]))
        seen.add(kind)
    return errors


def _stamp_conditions(status: dict[str, Any], old: MutableObject, now: str) -> None:
    """Upstream's populateConditionTimestamps: new conditions get lastUpdateTime/lastTransitionTime now."""
    before = {text(mapping(entry).get("type")): mapping(entry) for entry in sequence(dig(old, "status", "conditions"))}
    stamped = []
    for entry in sequence(status.get("conditions")):
        condition = dict(mapping(entry))
        condition.setdefault("lastUpdateTime", now)
        previous = before.get(text(condition.get("type")))
        if not condition.get("lastTransitionTime"):
            same = previous is not None and previous.get("status") == condition.get("status")
            condition["lastTransitionTime"] = (previous or {}).get("lastTransitionTime") if same else now
            if not condition["lastTransitionTime"]:
                condition["lastTransitionTime"] = now
        stamped.append(condition)
    if stamped:
        status["conditions"] = stamped


SPEC = ResourceSpec(
    group="certificates.k8s.io", version="v1", kind="CertificateSigningRequest",
    plural="certificatesigningrequests", namespaced=False, short_names=("csr",),
    subresources=(
        Subresource("approval", "CertificateSigningRequest"),
        Subresource("status", "CertificateSigningRequest"),
    ),
    columns=COLUMNS,
    selectable_fields=(SelectableField("spec.signerName", lambda obj: text(dig(obj, "spec", "signerName"))),),
    strategy=CSRStrategy(),
)
