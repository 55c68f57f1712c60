"""The AdmissionReview a webhook is sent, what its answer must look like, and the errors a call ends in.

Upstream's webhook/request/admissionreview.go (CreateAdmissionObjects, VerifyAdmissionResponse),
webhook/errors (ToStatusErr, NewDryRunUnsupportedErr) and util/webhook's ErrCallingWebhook, in their words.
"""
from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from apiserver.admission.interface import AdmissionAttributes, Operation
from apiserver.admission.plugins.webhooks_matching import Invocation
from apiserver.meta.errors import ApiError, BadRequest, StatusCause, StatusDetails
from apiserver.meta.objects import JSONDict
from apiserver.registry.conversion import convert

ADMISSION_GROUP = "admission.k8s.io"
SUPPORTED_REVIEW_VERSIONS = ("v1", "v1beta1")
_OPTIONS_KINDS = {Operation.CREATE: "CreateOptions", Operation.UPDATE: "UpdateOptions",
                  Operation.DELETE: "DeleteOptions", Operation.CONNECT: ""}


class CallError(Exception):
    """util/webhook.ErrCallingWebhook: the call failed (failurePolicy decides); str is upstream's text."""

    def __init__(self, webhook: str, reason: str, *, code: int = 400) -> None:
        super().__init__(f'failed calling webhook "{webhook}": {reason}')
        self.webhook = webhook
        self.reason = reason
        self.code = code


@dataclass(frozen=True, slots=True)
class ReviewResult:
    """A verified answer."""

    allowed: bool
    status: Mapping[str, Any] | None = None
    patch: bytes = b""
    patch_type: str = ""
    audit_annotations: Mapping[str, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()


def review_version(versions: Any) -> str | None:
    """The first AdmissionReview version of the webhook's list that this server speaks."""
    for version in versions or ():
        if version in SUPPORTED_REVIEW_VERSIONS:
            return str(version)
    return None


def versioned_object(obj: JSONDict | None, invocation: Invocation, attributes: AdmissionAttributes) -> JSONDict | None:
    """The object in the version the webhook's rule names (matchPolicy Equivalent); unchanged otherwise."""
    if obj is None or (invocation.group, invocation.version) == (attributes.group, attributes.version):
        return obj
    if invocation.kind != attributes.kind:
        return obj
    return convert(obj, invocation.api_version)


def build_review(invocation: Invocation, attributes: AdmissionAttributes, version: str, *,
                 obj: JSONDict | None, old: JSONDict | None,
                 uid_factory: Callable[[], str] = lambda: str(uuid.uuid4())) -> tuple[str, JSONDict]:
    """(uid, AdmissionReview): a new uid per call, as upstream."""
    uid = uid_factory()
    request: JSONDict = {
        "uid": uid,
        "kind": {"group": invocation.group, "version": invocation.version, "kind": invocation.kind},
        "resource": {"group": invocation.group, "version": invocation.version, "resource": invocation.resource},
    }
    if invocation.subresource:
        request["subResource"] = invocation.subresource
    request["requestKind"] = {"group": attributes.group, "version": attributes.version, "kind": attributes.kind}
    request["requestResource"] = {"group": attributes.group, "version": attributes.version,
                                  "resource": attributes.resource}
    if attributes.subresource:
        request["requestSubResource"] = attributes.subresource
    if attributes.name:
        request["name"] = attributes.name
    if attributes.namespace:
        request["namespace"] = attributes.namespace
    request.update({
        "operation": str(attributes.operation), "userInfo": user_info(attributes.user),
        "object": obj, "oldObject": old, "dryRun": attributes.dry_run, "options": _options(attributes),
    })
    return uid, {"kind": "AdmissionReview", "apiVersion": f"{ADMISSION_GROUP}/{version}", "request": request}


def user_info(user: Any) -> JSONDict:
    """authenticationv1.UserInfo with Go's omitempty."""
    info: JSONDict = {}
    name = getattr(user, "name", "")
    if name:
        info["username"] = name
    if getattr(user, "uid", ""):
        info["uid"] = user.uid
    if getattr(user, "groups", ()):
        info["groups"] = list(user.groups)
    extra = getattr(user, "extra", None) or {}
    if extra:
        info["extra"] = {key: list(values) for key, values in extra.items()}
    return info


def _options(attributes: AdmissionAttributes) -> JSONDict | None:
    if attributes.options is not None:
        return dict(attributes.options)
    kind = _OPTIONS_KINDS.get(attributes.operation, "")
    if not kind:
        return None
    options: JSONDict = {"kind": kind, "apiVersion": "meta.k8s.io/v1"}
    if attributes.dry_run:
        options["dryRun"] = ["All"]
    return options


def verify_response(review: Mapping[str, Any], uid: str, *, mutating: bool, version: str) -> ReviewResult:
    """VerifyAdmissionResponse. Raises ValueError with upstream's text for a malformed answer."""
    response = review.get("response")
    if not isinstance(response, Mapping):
        raise ValueError("webhook response was absent")
    patch = _patch_bytes(response.get("patch")) if mutating else b""
    patch_type = response.get("patchType")
    if version == "v1":
        if response.get("uid") != uid:
            raise ValueError(f'expected response.uid="{uid}", got "{response.get("uid", "")}"')
        group, _, review_api_version = str(review.get("apiVersion") or "").rpartition("/")
        kind = f"{group}/{review_api_version}, Kind={review.get('kind') or ''}"
        if (review.get("apiVersion"), review.get("kind")) != (f"{ADMISSION_GROUP}/v1", "AdmissionReview"):
            raise ValueError(f"expected webhook response of {ADMISSION_GROUP}/v1, Kind=AdmissionReview, got {kind}")
        _check_patch_fields(response, patch, patch_type, mutating=mutating)
    status = response.get("status")
    return ReviewResult(
        allowed=response.get("allowed") is True, status=status if isinstance(status, Mapping) else None,
        patch=patch, patch_type=str(patch_type or ("JSONPatch" if patch and version == "v1beta1" else "")),
        audit_annotations=dict(response.get("auditAnnotations") or {}),
        warnings=tuple(str(warning) for warning in response.get("warnings") or ()),
    )


def _check_patch_fields(response: Mapping[str, Any], patch: bytes, patch_type: Any, *, mutating: bool) -> None:
    if mutating:
        if patch and patch_type is None:
            raise ValueError("webhook returned response.patch but not response.patchType")
        if not patch and patch_type is not None:
            raise ValueError("webhook returned response.patchType but not response.patch")
        if patch_type is not None and not patch_type:
            raise ValueError('webhook returned invalid response.patchType of ""')
        return
    if response.get("patch"):
        raise ValueError("validating webhook may not return response.patch")
    if patch_type is not None:
        raise ValueError("validating webhook may not return response.patchType")


def _patch_bytes(value: Any) -> bytes:
    if not value:
        return b""
    try:
        return base64.b64decode(str(value), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("illegal base64 data in response.patch") from None


def denial(webhook: str, status: Mapping[str, Any] | None) -> ApiError:
    """webhookerrors.ToStatusErr: the webhook's Status, at least 400, with its message after who denied."""
    result = dict(status or {})
    denied_by = f'admission webhook "{webhook}" denied the request'
    if result.get("message"):
        message = f"{denied_by}: {result['message']}"
    elif result.get("reason"):
        message = f"{denied_by}: {result['reason']}"
    else:
        message = f"{denied_by} without explanation"
    code = result.get("code")
    code = code if isinstance(code, int) and code >= 400 else 400
    reason = str(result.get("reason") or "")
    error_class = type("WebhookDenial", (ApiError,), {"code": code, "reason": reason, "from_webhook": True})
    error: ApiError = error_class(message, details=_details(result.get("details")))
    return error


def _details(value: Any) -> StatusDetails | None:
    if not isinstance(value, Mapping):
        return None
    causes = tuple(StatusCause(type=str(cause.get("reason", "")), message=str(cause.get("message", "")),
                               field=str(cause.get("field", ""))) for cause in value.get("causes") or ()
                   if isinstance(cause, Mapping))
    retry = value.get("retryAfterSeconds")
    return StatusDetails(name=str(value.get("name", "")), group=str(value.get("group", "")),
                         kind=str(value.get("kind", "")), uid=str(value.get("uid", "")), causes=causes,
                         retry_after_seconds=retry if isinstance(retry, int) else 0)


def dry_run_unsupported(webhook: str) -> BadRequest:
    return BadRequest(f'admission webhook "{webhook}" does not support dry run')


def check_dry_run(webhook_name: str, side_effects: str | None, attributes: AdmissionAttributes) -> None:
    """A dry-run request may call only webhooks without side effects (None, NoneOnDryRun)."""
    if not attributes.dry_run:
        return
    if side_effects is None:
        raise CallError(webhook_name, "Webhook SideEffects is nil")
    if side_effects not in ("None", "NoneOnDryRun"):
        raise dry_run_unsupported(webhook_name)
