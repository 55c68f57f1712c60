"""Request bodies of the resource handlers: decoding objects and validating the write options.

Decoding follows kube-apiserver's create/update handlers: the body's apiVersion and kind default to the URL's,
a body that does not decode is a 400 whose message wraps the decoder's own (Go's) wording exactly as upstream's
transformDecodeError does, and a kind other than the resource's cannot be converted. Responses are written by
`endpoints.answers`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from apiserver.http.negotiation import (
    APPLICATION_PROTOBUF,
    DecodeError,
    MediaType,
    decode_document,
    protobuf_codec,
)
from apiserver.http.request import Request
from apiserver.meta.errors import BadRequest, Invalid, go_quote
from apiserver.meta.gvk import GroupVersion
from apiserver.meta.objects import JSONDict
from apiserver.meta.validation import FieldError, FieldErrors, FieldPath, validate_field_manager
from apiserver.registry.schema import TypeSchemas
from apiserver.registry.schema_normalize import apply_schema_defaults, canonicalize_quantities
from apiserver.registry.schema_validation import check_field_validation
from apiserver.registry.spec import ResourceSpec
from apiserver.resources.apiextensions.custom_resources_fields import check_body, is_custom_resource

if TYPE_CHECKING:
    from apiserver.endpoints.resources import ResourceRequest

META_GROUP = "meta.k8s.io"
DRY_RUN_ALL = "All"
FIELD_VALIDATION_VALUES = ("", "Ignore", "Strict", "Warn")
# The Go type SimpleMetaFactory.Interpret decodes apiVersion and kind into, as encoding/json names it.
_FIND_KIND_TYPE = (
    'struct { APIVersion string "json:\\"apiVersion,omitempty\\""; Kind string "json:\\"kind,omitempty\\"" }'
)
_SUMMARY_LENGTH = 30
# Where kube-apiserver's built-in kinds are registered (named in its "no kind is registered" messages).
_SCHEME_NAME = "k8s.io/kubernetes/pkg/api/legacyscheme/scheme.go:30"


@dataclass(frozen=True, slots=True)
class WriteOptions:
    """The CreateOptions/UpdateOptions/PatchOptions query parameters, validated."""

    dry_run: bool = False
    field_manager: str = ""
    field_validation: str = ""


def write_options(request: Request, kind: str, *, apply: bool = False) -> WriteOptions:
    """Read and validate `dryRun`, `fieldManager`, `fieldValidation` (and `force` for patches).

    Raises Invalid on `<kind>.meta.k8s.io ""` with upstream's field errors (ValidateCreateOptions & co).
    """
    dry_run = list(request.query.get("dryRun", ()))
    field_manager = request.query_value("fieldManager") or ""
    field_validation = request.query_value("fieldValidation") or ""
    errors: FieldErrors = []
    if kind == "PatchOptions":
        errors += _patch_option_errors(request, field_manager, apply=apply)
    errors += validate_field_manager(field_manager, FieldPath("fieldManager"))
    if any(value != DRY_RUN_ALL for value in dry_run):
        errors.append(FieldError.not_supported(FieldPath("dryRun"), dry_run, [DRY_RUN_ALL]))
    if field_validation not in FIELD_VALIDATION_VALUES:
        errors.append(FieldError.not_supported(FieldPath("fieldValidation"), field_validation,
                                               FIELD_VALIDATION_VALUES))
    if errors:
        raise Invalid(kind, "", [error.to_cause() for error in errors], group=META_GROUP)
    return WriteOptions(dry_run=bool(dry_run), field_manager=field_manager, field_validation=field_validation)


def _patch_option_errors(request: Request, field_manager: str, *, apply: bool) -> FieldErrors:
    if apply:
        return [] if field_manager else [FieldError.required(FieldPath("fieldManager"), "is required for apply patch")]
    if "force" in request.query:
        return [FieldError.forbidden(FieldPath("force"), "may not be specified for non-apply patch")]
    return []


def apply_type_schema(
    resource: ResourceRequest, body: bytes, media: MediaType, obj: JSONDict, field_validation: str
) -> list[str]:
    """Field validation (Strict/Warn/Ignore), pruning, quantity canonicalisation and schema defaults of a
    decoded create or update body, as upstream's decoder does them; returns the Warning texts.

    Raises BadRequest with upstream's strict decoding or type error messages. Kinds without a published schema
    pass unchanged. Protobuf bodies cannot carry unknown or duplicate fields, so only their quantities and
    defaults are normalised.
    """
    spec = resource.spec
    if is_custom_resource(spec):
        # Custom resources decode untyped: strict errors are only repeated and pruned fields (defaults follow in
        # the strategy's `default`).
        return check_body(spec, body, resource.request.header("content-type") or "", obj, field_validation)
    schema = TypeSchemas.builtin().for_kind(spec.group, spec.version, spec.kind)
    if schema is None:
        return []
    warnings: list[str] = []
    if media.name != APPLICATION_PROTOBUF:
        content_type = resource.request.header("content-type") or ""
        warnings = check_field_validation(body, content_type, obj, schema, field_validation)
    canonicalize_quantities(obj, schema)
    apply_schema_defaults(obj, schema)
    return warnings


def decode_object(resource: ResourceRequest, body: bytes, media: MediaType) -> JSONDict:
    """The request body as an object of the resource's kind, `kind` and `apiVersion` first.

    Raises BadRequest worded as upstream's decoder and transformDecodeError.
    """
    spec = resource.spec
    if media.name == APPLICATION_PROTOBUF:
        return _decode_protobuf(spec, body)
    try:
        document = decode_document(body, media)
        api_version, kind = interpret_type_meta(document)
        group_version = GroupVersion.parse(api_version)
    except (DecodeError, ValueError) as error:
        raise unrecognized_body(spec, str(error), body) from None
    group, version, kind = _with_defaults(group_version.group, group_version.version, kind, spec)
    check_kind(resource, group, version, kind)
    return with_type_meta(document if isinstance(document, dict) else {}, spec)


def _decode_protobuf(spec: ResourceSpec, body: bytes) -> JSONDict:
    codec = protobuf_codec()
    assert codec is not None  # negotiation offers protobuf only with a codec
    try:
        obj: JSONDict = codec.decode_object(body, default_api_version=spec.group_version, default_kind=spec.kind)
    except codec.UnsupportedProtobufKind as error:
        raise BadRequest(
            f"{error.kind} in version {go_quote(error.api_version)} cannot be handled as a {spec.kind}: "
            f"no kind {go_quote(error.kind)} is registered for version {go_quote(error.api_version)} "
            f"in scheme {go_quote(_SCHEME_NAME)}"
        ) from None
    except ValueError as error:
        raise unrecognized_body(spec, str(error), body) from None
    if obj.get("kind") != spec.kind or obj.get("apiVersion") != spec.group_version:
        group_version = GroupVersion.parse(str(obj.get("apiVersion", "")))
        raise _unconvertible(spec, group_version.group, group_version.version, str(obj.get("kind", "")))
    return with_type_meta(obj, spec)


def interpret_type_meta(document: Any) -> tuple[str, str]:
    """(apiVersion, kind) of a decoded body, as SimpleMetaFactory.Interpret reads them with encoding/json.

    Raises DecodeError with Go's unmarshal message (`json: cannot unmarshal ...`), wrapped as upstream wraps it.
    """
    if document is None:
        return "", ""
    if not isinstance(document, dict):
        raise DecodeError(f"couldn't get version/kind; json parse error: json: cannot unmarshal "
                          f"{_json_kind(document)} into Go value of type {_FIND_KIND_TYPE}")
    fields = {"apiVersion": "", "kind": ""}
    for key, value in document.items():
        field = next((name for name in fields if key == name), None) or next(
            (name for name in fields if key.lower() == name.lower()), None
        )
        if field is None or value is None:
            continue
        if not isinstance(value, str):
            raise DecodeError(f"couldn't get version/kind; json parse error: json: cannot unmarshal "
                              f"{_json_kind(value)} into Go struct field .{key} of type string")
        fields[field] = value
    return fields["apiVersion"], fields["kind"]


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _with_defaults(group: str, version: str, kind: str, spec: ResourceSpec) -> tuple[str, str, str]:
    """gvkWithDefaults: a missing kind, or a missing group and version, come from the URL."""
    kind = kind or spec.kind
    if not version and not group:
        group, version = spec.group, spec.version
    if not version and group == spec.group:
        version = spec.version
    return group, version, kind


def check_kind(resource: ResourceRequest, group: str, version: str, kind: str) -> None:
    """The body must be the resource's own kind and version, or one its store accepts (`accepted_kinds`, a set of
    (group, version, kind): upstream's AcceptsGroupVersion); anything else cannot be converted to it."""
    spec = resource.spec
    if (group, version, kind) == (spec.group, spec.version, spec.kind):
        return
    if (group, version, kind) in getattr(resource.store, "accepted_kinds", ()):
        return
    if resource.server.current_catalog().by_kind(group, version, kind) is None:
        api_version = f"{group}/{version}" if group else version
        raise BadRequest(
            f"{kind} in version {go_quote(version)} cannot be handled as a {spec.kind}: no kind {go_quote(kind)} "
            f"is registered for version {go_quote(api_version)} in scheme {go_quote(_SCHEME_NAME)}"
        )
    if kind == spec.kind and group == spec.group:
        raise BadRequest(
            f"the API version in the data ({group}/{version}) does not match the expected API version "
            f"({spec.group_version})"
        )
    raise _unconvertible(spec, group, version, kind)


def _unconvertible(spec: ResourceSpec, group: str, version: str, kind: str) -> BadRequest:
    source = f"{version}.{kind}"
    target = f"{internal_package(spec.group)}.{spec.kind}"
    return BadRequest(
        f"{kind} in version {go_quote(version)} cannot be handled as a {spec.kind}: "
        f"converting ({source}) to ({target}): unknown conversion"
    )


def internal_package(group: str) -> str:
    """The Go package of a group's internal types, as `%T` prints them: `core`, `apps`, `rbac`, ..."""
    return group.split(".")[0] if group else "core"


def unrecognized_body(spec: ResourceSpec, message: str, body: bytes) -> BadRequest:
    """transformDecodeError for a body whose kind could not be read."""
    return BadRequest(
        f"the object provided is unrecognized (must be of type {spec.kind}): {message} ({summarize(body)})"
    )


def summarize(data: bytes) -> str:
    """summarizeData: JSON-looking bodies as text, anything else in hex, cut after 30 bytes."""
    if not data:
        return "<empty>"
    head = data[:_SUMMARY_LENGTH]
    suffix = " ..." if len(data) > _SUMMARY_LENGTH else ""
    if data[:1] == b"{":
        return head.decode("utf-8", "replace") + suffix
    return head.hex() + suffix


def with_type_meta(obj: JSONDict, spec: ResourceSpec) -> JSONDict:
    """`obj` with the resource's kind and apiVersion first (the order upstream writes them)."""
    rest = {key: value for key, value in obj.items() if key not in ("kind", "apiVersion")}
    return {"kind": spec.kind, "apiVersion": spec.group_version, **rest}


def ensure_namespace(obj: JSONDict, namespace: str, spec: ResourceSpec) -> None:
    """EnsureObjectNamespaceMatchesRequestNamespace: fill in or clear the body's namespace; 400 on a mismatch."""
    metadata = obj.get("metadata")
    if not isinstance(metadata, dict):
        return
    expected = "" if (spec.group == "" and spec.plural == "namespaces") or not spec.namespaced else namespace
    current = metadata.get("namespace") or ""
    if current == expected:
        return
    if not current:
        metadata["namespace"] = expected
    elif not expected:
        metadata.pop("namespace", None)
    else:
        raise BadRequest("the namespace of the provided object does not match the namespace sent on the request")


def check_name(obj: JSONDict, name: str) -> None:
    """checkName: the body's name must equal the URL's."""
    metadata = obj.get("metadata")
    object_name = metadata.get("name", "") if isinstance(metadata, dict) else ""
    if object_name != name:
        raise BadRequest(f"the name of the object ({object_name}) does not match the name on the URL ({name})")
