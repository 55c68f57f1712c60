"""audit.k8s.io/v1 Events: what one request looked like at one stage, with Secret data and tokens redacted.

`AuditContext` accumulates what is known about a request while it is served (metadata, the impersonated user,
annotations, the response code, the captured request and response bodies) and takes an immutable `AuditEvent`
snapshot at each stage. `event_to_dict` renders a snapshot as upstream's Event (pkg/apis/audit/v1/types.go,
fields in Go's order, empty ones omitted): it decodes the captured bodies (JSON, YAML or Kubernetes protobuf),
so that work can happen off the event loop, in the backend's writer thread.

Levels, as upstream's audit/request.go: Metadata records who, what, when and the outcome (`responseStatus` with
the code, and for a Status response its status, message, reason and details); Request adds `requestObject` (the
decoded body; a patch as sent); RequestResponse adds `responseObject`. The name, namespace, uid and
resourceVersion a create or update body carries fill in `objectRef` at every level.

Request and response objects are redacted by `audit.redaction` whatever the level: Secret data and tokens never
reach the log.
"""
from __future__ import annotations

import ipaddress
import logging
import uuid
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

import orjson
import yaml  # type: ignore[import-untyped, unused-ignore]

from apiserver.audit.policy import Level, RequestAuditConfig, Stage, UserInfo
from apiserver.audit.redaction import redact, with_row_object
from apiserver.meta.objects import format_micro_time
from apiserver.meta.protobuf import UnsupportedProtobufKind, decode_object
from apiserver.meta.protobuf_wire import ProtobufError
from apiserver.meta.requestinfo import RequestInfo

logger = logging.getLogger(__name__)

API_VERSION: Final = "audit.k8s.io/v1"
MAX_USER_AGENT: Final = 1024
_SCOPE_KEY: Final = "pilothouse.audit"
_ID_KEY: Final = "pilothouse.audit_id"
_STATUS_FIELDS: Final = ("status", "message", "reason", "details", "code")


def new_audit_id() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True, slots=True)
class CapturedBody:
    """A request or response body as sent, decoded only when the event is rendered."""

    data: bytes
    content_type: str


@dataclass(frozen=True, slots=True)
class ObjectReference:
    resource: str = ""
    namespace: str = ""
    name: str = ""
    uid: str = ""
    api_group: str = ""
    api_version: str = ""
    resource_version: str = ""
    subresource: str = ""


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One request at one stage; everything in it is immutable or owned by it."""

    level: Level
    audit_id: str
    stage: Stage
    request_uri: str
    verb: str
    user: Mapping[str, Any]
    impersonated_user: Mapping[str, Any] | None
    source_ips: tuple[str, ...]
    user_agent: str
    object_ref: ObjectReference | None
    request_received: datetime
    stage_timestamp: datetime
    annotations: Mapping[str, str]
    response_code: int = 0
    response_status: Mapping[str, Any] | None = None
    request_body: CapturedBody | None = None
    response_body: CapturedBody | None = None
    omit_managed_fields: bool = False


def user_info_dict(user: UserInfo | None) -> dict[str, Any]:
    """authentication/v1 UserInfo as JSON: username, uid, groups, extra (empty ones omitted)."""
    if user is None:
        return {}
    info: dict[str, Any] = {"username": user.name} if user.name else {}
    if user.uid:
        info["uid"] = user.uid
    if user.groups:
        info["groups"] = list(user.groups)
    if user.extra:
        info["extra"] = {key: list(values) for key, values in user.extra.items()}
    return info


def object_reference(info: RequestInfo) -> ObjectReference | None:
    if not info.is_resource_request:
        return None
    return ObjectReference(info.resource, info.namespace, info.name, "", info.api_group, info.api_version, "",
                           info.subresource)


def truncate_user_agent(user_agent: str) -> str:
    return user_agent[:MAX_USER_AGENT] + "...TRUNCATED" if len(user_agent) > MAX_USER_AGENT else user_agent


def source_ips(forwarded_for: str, real_ip: str, remote: str) -> tuple[str, ...]:
    """utilnet.SourceIPs: the X-Forwarded-For chain, then X-Real-Ip, then the peer address (not repeated)."""
    ips = [ip for part in forwarded_for.split(",") if forwarded_for and (ip := _ip(part.strip()))]
    if (real := _ip(real_ip)) and real not in ips:
        ips.append(real)
    if (peer := _ip(remote)) and (not ips or ips[-1] != peer):
        ips.append(peer)
    return tuple(ips)


def _ip(text: str) -> str:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return ""
    mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
    return str(mapped or address)


@dataclass(frozen=True, slots=True)
class RequestMetadata:
    """What the filter reads from the request before it is served."""

    audit_id: str
    request_uri: str
    verb: str
    user_agent: str
    source_ips: tuple[str, ...]
    received: datetime


@dataclass(slots=True)
class AuditContext:
    """The audit state of one request, shared with the filters and handlers inside the audit filter."""

    config: RequestAuditConfig
    metadata: RequestMetadata
    user: Mapping[str, Any]
    object_ref: ObjectReference | None
    impersonated_user: Mapping[str, Any] | None = None
    annotations: dict[str, str] = field(default_factory=dict)
    response_code: int = 0
    response_status: Mapping[str, Any] | None = None
    request_body: CapturedBody | None = None
    response_body: CapturedBody | None = None

    @property
    def level(self) -> Level:
        return self.config.level

    def add_annotation(self, key: str, value: str) -> None:
        """Record an annotation; the first value of a key wins, as upstream's AddAuditAnnotation."""
        if (existing := self.annotations.get(key)) is not None and existing != value:
            logger.warning("audit_annotation_conflict", extra={"key": key, "audit_id": self.metadata.audit_id})
            return
        self.annotations[key] = value

    def log_impersonated_user(self, user: UserInfo) -> None:
        self.impersonated_user = user_info_dict(user)

    def event(self, stage: Stage, now: datetime) -> AuditEvent:
        """A snapshot for `stage`. RequestReceived is stamped with the time the request arrived, as upstream."""
        stamp = self.metadata.received if stage is Stage.REQUEST_RECEIVED else now
        meta = self.metadata
        return AuditEvent(
            self.level, meta.audit_id, stage, meta.request_uri, meta.verb, self.user, self.impersonated_user,
            meta.source_ips, meta.user_agent, self.object_ref, meta.received, stamp, dict(self.annotations),
            self.response_code, self.response_status, self.request_body, self.response_body,
            self.config.omit_managed_fields,
        )


def audit_context_of(scope: MutableMapping[str, Any]) -> AuditContext | None:
    """The request's audit context, or None when it is not audited (no policy, or level None)."""
    context: AuditContext | None = scope.get("state", {}).get(_SCOPE_KEY)
    return context


def set_audit_context(scope: MutableMapping[str, Any], context: AuditContext | None) -> None:
    """Record the policy's decision for the request: its context, or None when it is not audited."""
    scope.setdefault("state", {})[_SCOPE_KEY] = context


def is_audit_evaluated(scope: MutableMapping[str, Any]) -> bool:
    """Whether the audit filter has decided about this request (it got past authentication)."""
    return _SCOPE_KEY in scope.get("state", {})


def audit_id_of(scope: MutableMapping[str, Any]) -> str:
    """The request's audit ID, or "" before the audit ID filter ran."""
    audit_id: str = scope.get("state", {}).get(_ID_KEY, "")
    return audit_id


def set_audit_id(scope: MutableMapping[str, Any], audit_id: str) -> None:
    scope.setdefault("state", {})[_ID_KEY] = audit_id


def add_annotation(scope: MutableMapping[str, Any], key: str, value: str) -> None:
    """Annotate the request's audit event (e.g. `authorization.k8s.io/decision`); a no-op when not audited."""
    if (context := audit_context_of(scope)) is not None:
        context.add_annotation(key, value)


def log_impersonated_user(scope: MutableMapping[str, Any], user: UserInfo) -> None:
    """Record the user a request impersonates; the impersonation filter calls this."""
    if (context := audit_context_of(scope)) is not None:
        context.log_impersonated_user(user)


# Rendering


def encode_event(event: AuditEvent) -> bytes:
    """One JSON line (newline-terminated), as the log backend writes it."""
    return orjson.dumps(event_to_dict(event), option=orjson.OPT_APPEND_NEWLINE)


def event_to_dict(event: AuditEvent) -> dict[str, Any]:
    """The audit.k8s.io/v1 Event, keys in Go's order, empty optional fields omitted."""
    hint = (event.object_ref.resource, event.object_ref.subresource) if event.object_ref else ("", "")
    request = _decoded(event.request_body, hint, event.omit_managed_fields)
    response = _decoded(event.response_body, hint, event.omit_managed_fields)
    rendered: dict[str, Any] = {
        "kind": "Event", "apiVersion": API_VERSION, "level": str(event.level), "auditID": event.audit_id,
        "stage": str(event.stage), "requestURI": event.request_uri, "verb": event.verb, "user": dict(event.user),
    }
    optional: dict[str, Any] = {
        "impersonatedUser": dict(event.impersonated_user) if event.impersonated_user is not None else None,
        "sourceIPs": list(event.source_ips) or None,
        "userAgent": event.user_agent or None,
        "objectRef": _object_ref(event, request),
        "responseStatus": _response_status(event, response),
        "requestObject": request if event.level.at_least(Level.REQUEST) else None,
        "responseObject": response if event.level.at_least(Level.REQUEST_RESPONSE) else None,
    }
    rendered.update((key, value) for key, value in optional.items() if value is not None)
    rendered["requestReceivedTimestamp"] = format_micro_time(event.request_received)
    rendered["stageTimestamp"] = format_micro_time(event.stage_timestamp)
    if event.annotations:
        rendered["annotations"] = dict(event.annotations)
    return rendered


_OBJECT_REF_FIELDS: Final = (
    ("resource", "resource"), ("namespace", "namespace"), ("name", "name"), ("uid", "uid"),
    ("api_group", "apiGroup"), ("api_version", "apiVersion"), ("resource_version", "resourceVersion"),
    ("subresource", "subresource"),
)
_OBJECT_VERBS: Final = frozenset({"create", "update"})


def _object_ref(event: AuditEvent, request: object) -> dict[str, str] | None:
    if event.object_ref is None:
        return None
    ref = {wire: getattr(event.object_ref, name) for name, wire in _OBJECT_REF_FIELDS}
    # Upstream's LogRequestObject fills the blanks from the object a create or update sends.
    if event.verb in _OBJECT_VERBS and isinstance(request, dict) and isinstance(request.get("metadata"), dict):
        metadata = request["metadata"]
        for wire in ("namespace", "name", "uid", "resourceVersion"):
            if not ref[wire] and isinstance(metadata.get(wire), str):
                ref[wire] = metadata[wire]
    return {key: value for key, value in ref.items() if value}


def _response_status(event: AuditEvent, response: object) -> dict[str, Any] | None:
    if isinstance(response, dict) and response.get("kind") == "Status":
        status: dict[str, Any] = {"metadata": {}}
        status.update((key, response[key]) for key in _STATUS_FIELDS if response.get(key))
        if event.response_code:
            status["code"] = event.response_code
        return status
    if event.response_status is not None:
        return dict(event.response_status)
    return {"metadata": {}, "code": event.response_code} if event.response_code else None


def _decoded(body: CapturedBody | None, hint: tuple[str, str], omit_managed_fields: bool) -> Any:
    if body is None or not body.data:
        return None
    decoded = decode_body(body)
    if decoded is None:
        return None
    if omit_managed_fields:
        decoded = _without_managed_fields(decoded)
    return redact(decoded, *hint)


class _JSONishLoader(yaml.SafeLoader):  # type: ignore[misc, unused-ignore]
    """YAML as a JSON decoder reads it: timestamps stay strings."""


_JSONishLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}

_DECODE_ERRORS: Final = (orjson.JSONDecodeError, yaml.YAMLError, ProtobufError, UnsupportedProtobufKind,
                         UnicodeDecodeError)


def _load_yaml(data: bytes) -> Any:
    return yaml.load(data, Loader=_JSONishLoader)


# Media types other than JSON ones (application/json, application/merge-patch+json, ...) that bodies come in.
_DECODERS: Final[dict[str, Callable[[bytes], Any]]] = {
    "application/vnd.kubernetes.protobuf": decode_object,
    "application/yaml": _load_yaml,
    "application/apply-patch+yaml": _load_yaml,
}


def decode_body(body: CapturedBody) -> Any:
    """The body as JSON data, or None when its type is unknown or it does not decode."""
    media_type = body.content_type.split(";")[0].strip().lower()
    decoder = _DECODERS.get(media_type, orjson.loads if media_type.endswith("json") else None)
    if decoder is None:
        return None
    try:
        return decoder(body.data)
    except _DECODE_ERRORS:
        logger.info("audit_body_undecodable", extra={"content_type": media_type})
        return None


def _without_managed_fields(data: Any) -> Any:
    if not isinstance(data, dict):
        return data
    copied = dict(data)
    if isinstance(copied.get("metadata"), dict) and "managedFields" in copied["metadata"]:
        copied["metadata"] = {k: v for k, v in copied["metadata"].items() if k != "managedFields"}
    if isinstance(copied.get("items"), list):
        copied["items"] = [_without_managed_fields(item) for item in copied["items"]]
    if isinstance(copied.get("rows"), list):
        copied["rows"] = [with_row_object(row, _without_managed_fields) for row in copied["rows"]]
    return copied
