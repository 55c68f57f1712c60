"""PATCH with a JSON patch (RFC 6902), a JSON merge patch (RFC 7386) or a strategic merge patch (driven by the
type schemas' patch strategies and merge keys), as kube-apiserver's PatchResource.

The Content-Type is checked first (415 listing what is served; a strategic merge patch on a kind without a type
schema is a 415 too, as upstream's for custom resources). The patch is applied inside the store's guaranteed
update, to the current object each time it is read, so a conflicting writer only causes a retry. Failures are
upstream's: an undecodable JSON patch is a 400 with Go's message, one that does not apply a 422 with
go-restful's generic text, a merge patch that is not JSON a 400 `Invalid JSON Patch`, a result that is not an
object of the resource's kind a 422 on field `patch`, and a changed name or namespace a 400.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import jsonpatch  # type: ignore[import-untyped]
import jsonpointer  # type: ignore[import-untyped, unused-ignore]
import orjson

from apiserver.admission.interface import Operation
from apiserver.endpoints.answers import send_object
from apiserver.endpoints.bodies import (
    WriteOptions,
    check_name,
    ensure_namespace,
    internal_package,
    interpret_type_meta,
    with_type_meta,
    write_options,
)
from apiserver.endpoints.managed import FieldManager
from apiserver.http.jsonsyntax import go_syntax_error
from apiserver.http.negotiation import (
    APPLY_PATCH,
    JSON_PATCH,
    MERGE_PATCH,
    STRATEGIC_MERGE_PATCH,
    DecodeError,
    decode_json,
    negotiate_output,
    yaml_to_json,
)
from apiserver.meta.errors import (
    BadRequest,
    Invalid,
    NotFound,
    RequestEntityTooLarge,
    StatusDetails,
    UnsupportedMediaType,
)
from apiserver.meta.gvk import GroupVersion
from apiserver.meta.objects import JSONDict
from apiserver.meta.patch import strategic_merge_patch
from apiserver.meta.strictjson import duplicate_json_fields
from apiserver.meta.validation import FieldError, FieldPath
from apiserver.registry.apply import applied_object, uid_mismatch
from apiserver.registry.context import RequestContext
from apiserver.registry.schema import Schema, TypeSchemas
from apiserver.registry.schema_normalize import apply_schema_defaults, canonicalize_quantities, prune_unknown_fields
from apiserver.registry.schema_validation import STRICT, check_object, strict_decoding_error
from apiserver.resources.apiextensions.custom_resources_fields import check_patched, is_custom_resource, unknown_fields

if TYPE_CHECKING:
    from apiserver.endpoints.resources import ResourceRequest

PATCH_TYPES = (JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH, APPLY_PATCH)
MAX_JSON_PATCH_OPERATIONS = 10000
_PATCH_REJECTED = "the server rejected our request due to an error in our request"


async def handle(resource: ResourceRequest) -> None:
    request = resource.request
    patch_type = _patch_type(request.header("content-type") or "")
    output = negotiate_output(request, available=resource.serializers)
    patch = await request.body()
    options = write_options(request, "PatchOptions", apply=patch_type == APPLY_PATCH)
    if patch_type == APPLY_PATCH:
        return await _serve_apply(resource, patch, options, output)
    context = RequestContext(
        namespace=resource.namespace, dry_run=options.dry_run, field_manager=options.field_manager,
        now=resource.server.clock,
    )
    patcher = _Patcher(resource, patch_type, patch, dry_run=options.dry_run,
                       field_validation=options.field_validation, warnings=context.warnings,
                       manager=FieldManager(resource, options.field_manager))
    stored = await resource.store.guaranteed_update(
        resource.namespace, resource.name, patcher.apply, context, subresource=resource.subresource,
        validate=resource.admission_hook(Operation.UPDATE, dry_run=options.dry_run),
    )
    await send_object(resource, 200, stored, output, context.warnings)


def _patch_type(content_type: str) -> str:
    """The patch type from the Content-Type (parameters cut off at the first `;`). Raises 415 if unsupported."""
    index = content_type.find(";")
    patch_type = content_type[:index] if index > 0 else content_type
    if patch_type not in PATCH_TYPES:
        raise UnsupportedMediaType(list(PATCH_TYPES))
    return patch_type


class _Patcher:
    """Applies one patch to whatever the store reads as current, then runs mutating admission."""

    def __init__(
        self, resource: ResourceRequest, patch_type: str, patch: bytes, *, dry_run: bool, field_validation: str,
        warnings: list[str], manager: FieldManager,
    ) -> None:
        self._manager = manager
        self._resource = resource
        self._patch_type = patch_type
        self._patch = patch
        self._dry_run = dry_run
        self._field_validation = field_validation
        self._warnings = warnings
        self._duplicates: list[str] | None = None
        spec = resource.spec
        self._custom = is_custom_resource(spec)
        self._schema = spec.schema or TypeSchemas.builtin().for_kind(spec.group, spec.version, spec.kind)
        if patch_type == STRATEGIC_MERGE_PATCH and (self._schema is None or self._custom):
            # Upstream serves strategic merge patch only for types it knows the Go structs of.
            raise UnsupportedMediaType([JSON_PATCH, MERGE_PATCH, APPLY_PATCH])

    async def apply(self, current: JSONDict) -> JSONDict:
        if self._patch_type == JSON_PATCH:
            patched = apply_json_patch(current, self._patch)
        elif self._patch_type == STRATEGIC_MERGE_PATCH:
            patched = strategic_merge_patch(current, _decode_patch_object(self._patch), self._schema)
        else:
            patched = apply_merge_patch(current, self._patch)
        obj = self._as_object(patched)
        if self._custom:
            strict = check_patched(self._resource.spec, obj, self._duplicate_fields(), self._field_validation)
            self._warnings.extend(warning for warning in strict if warning not in self._warnings)
        elif self._schema is not None:
            self._apply_schema(obj, self._schema)
        self._resource.spec.strategy.default(obj)
        obj = self._manager.track(current, obj)
        ensure_namespace(obj, self._resource.namespace, self._resource.spec)
        check_name(obj, self._resource.name)
        attributes = self._resource.attributes(Operation.UPDATE, obj, current, dry_run=self._dry_run)
        await self._resource.server.admission.admit(attributes)
        return obj

    def _apply_schema(self, obj: JSONDict, schema: Schema) -> None:
        """The patched object's typed decode, as upstream re-decodes it: a type error is a 422 on `patch`,
        unknown (and, for merge patches, duplicate) fields follow fieldValidation; then prune and normalise."""
        result = check_object(obj, schema)
        if result.error is not None:
            raise _invalid_patch(obj, result.error)
        strict = self._duplicate_fields() + list(result.strict)
        if strict and self._field_validation == STRICT:
            raise BadRequest(strict_decoding_error(strict))
        if strict and self._field_validation != "Ignore":
            self._warnings.extend(warning for warning in strict if warning not in self._warnings)
        prune_unknown_fields(obj, schema)
        canonicalize_quantities(obj, schema)
        apply_schema_defaults(obj, schema)

    def _duplicate_fields(self) -> list[str]:
        """The patch body's repeated keys (merge-style patches only), found once however often the update retries."""
        if self._duplicates is None:
            self._duplicates = [] if self._patch_type == JSON_PATCH else duplicate_json_fields(self._patch)
        return self._duplicates

    def _as_object(self, patched: Any) -> JSONDict:
        """The patched document decoded as an object of the resource (422 on field `patch` otherwise)."""
        spec = self._resource.spec
        try:
            api_version, kind = interpret_type_meta(patched)
            group_version = GroupVersion.parse(api_version) if api_version else GroupVersion(spec.group, spec.version)
        except (DecodeError, ValueError) as error:
            raise _invalid_patch(patched, str(error)) from None
        kind = kind or spec.kind
        if (group_version.group, group_version.version, kind) != (spec.group, spec.version, spec.kind):
            raise _invalid_patch(patched, _conversion_message(self._resource, group_version, kind))
        return with_type_meta(patched if isinstance(patched, dict) else {}, spec)


async def _serve_apply(resource: ResourceRequest, body: bytes, options: WriteOptions, output: Any) -> None:
    """Server-side apply: update the live object, or create it (201) when there is none, as upstream's
    applyPatcher. A no-op apply hands the live object back unchanged, so nothing is written."""
    try:
        applied = applied_object(yaml_to_json(body))
    except DecodeError as error:
        raise BadRequest(f"error decoding YAML: {error}") from None
    force = _go_bool(resource.request.query_value("force") or "false")
    manager = FieldManager(resource, options.field_manager)
    context = RequestContext(
        namespace=resource.namespace, dry_run=options.dry_run, field_manager=options.field_manager,
        now=resource.server.clock, user=resource.request.user,
    )
    applier = _Applier(resource, applied, manager, force=force, dry_run=options.dry_run)
    try:
        stored = await resource.store.guaranteed_update(
            resource.namespace, resource.name, applier.update, context, subresource=resource.subresource,
            validate=resource.admission_hook(Operation.UPDATE, dry_run=options.dry_run),
        )
    except NotFound:
        if resource.subresource:
            raise
        created = await applier.create_object()
        validate = resource.admission_hook(Operation.CREATE, dry_run=options.dry_run, name=resource.name)
        stored = await resource.store.create(resource.namespace, created, context, validate=validate)
        return await send_object(resource, 201, stored, output, context.warnings)
    await send_object(resource, 200, stored, output, context.warnings)


class _Applier:
    """One server-side apply, run against whatever the store reads as current."""

    def __init__(self, resource: ResourceRequest, applied: JSONDict, manager: FieldManager, *, force: bool,
                 dry_run: bool) -> None:
        self._resource, self._applied, self._manager = resource, applied, manager
        self._force, self._dry_run = force, dry_run
        spec = resource.spec
        self._custom = is_custom_resource(spec)
        self._schema = spec.schema or TypeSchemas.builtin().for_kind(spec.group, spec.version, spec.kind)

    async def update(self, current: JSONDict) -> JSONDict:
        result = self._manager.apply(current, self._applied, force=self._force)
        if not result.changed:
            return current
        obj = self._finish(result.obj)
        attributes = self._resource.attributes(Operation.UPDATE, obj, current, dry_run=self._dry_run)
        await self._resource.server.admission.admit(attributes)
        return obj

    async def create_object(self) -> JSONDict:
        result = self._manager.apply(None, self._applied, force=self._force)
        spec = self._resource.spec
        if (conflict := uid_mismatch(spec.plural, spec.group, result.obj)) is not None:
            raise conflict
        obj = self._finish(result.obj)
        attributes = self._resource.attributes(Operation.CREATE, obj, dry_run=self._dry_run, name=self._resource.name)
        await self._resource.server.admission.admit(attributes)
        return obj

    def _finish(self, obj: JSONDict) -> JSONDict:
        obj = with_type_meta(obj, self._resource.spec)
        if self._custom:
            unknown_fields(self._resource.spec, obj)
        elif self._schema is not None:
            prune_unknown_fields(obj, self._schema)
            canonicalize_quantities(obj, self._schema)
            apply_schema_defaults(obj, self._schema)
        # Upstream defaults the merged object after the apply computed ownership: no applier owns a default.
        self._resource.spec.strategy.default(obj)
        ensure_namespace(obj, self._resource.namespace, self._resource.spec)
        check_name(obj, self._resource.name)
        return obj


def _go_bool(text: str) -> bool:
    """strconv.ParseBool, as the `force` query parameter is read; anything else is a 400."""
    if text in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if text in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    raise BadRequest(f'strconv.ParseBool: parsing "{text}": invalid syntax')


def _conversion_message(resource: ResourceRequest, group_version: GroupVersion, kind: str) -> str:
    spec = resource.spec
    if resource.server.current_catalog().by_kind(group_version.group, group_version.version, kind) is None:
        return (f'no kind "{kind}" is registered for version "{group_version.api_version}" in scheme '
                '"k8s.io/kubernetes/pkg/api/legacyscheme/scheme.go:30"')
    return (f"converting ({group_version.version}.{kind}) to ({internal_package(spec.group)}.{spec.kind}): "
            "unknown conversion")


def _invalid_patch(patched: Any, message: str) -> Invalid:
    document = orjson.dumps(patched, option=orjson.OPT_SORT_KEYS).decode()
    return Invalid("", "", [FieldError.invalid(FieldPath("patch"), document, message).to_cause()])


def apply_json_patch(current: JSONDict, patch: bytes) -> Any:
    """RFC 6902 over the current object, with gopkg.in/evanphx/json-patch.v4's decoding errors."""
    operations = _decode_json_patch(patch)
    if len(operations) > MAX_JSON_PATCH_OPERATIONS:
        raise RequestEntityTooLarge(
            f"The allowed maximum operations in a JSON patch is {MAX_JSON_PATCH_OPERATIONS}, got {len(operations)}"
        )
    try:
        return jsonpatch.apply_patch(current, operations)
    except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException, KeyError, IndexError, TypeError):
        # Upstream wraps the library's error in a generic 422 whose message leaves the reason out.
        raise Invalid.from_message(_PATCH_REJECTED, details=StatusDetails()) from None


def _decode_patch_object(patch: bytes) -> dict[str, Any]:
    """A strategic merge patch body: a JSON object (json.Unmarshal into map[string]interface{})."""
    try:
        document = decode_json(patch)
    except DecodeError as error:
        raise BadRequest(str(error)) from None
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise BadRequest(
            f"json: cannot unmarshal {_json_kind(document)} into Go value of type map[string]interface {{}}"
        )
    return document


def _decode_json_patch(patch: bytes) -> list[Any]:
    """json.Unmarshal into jsonpatch.Patch ([]map[string]*json.RawMessage), with Go's error texts."""
    try:
        document = decode_json(patch)
    except DecodeError as error:
        raise BadRequest(str(error)) from None
    if document is None:
        return []
    if not isinstance(document, list):
        raise BadRequest(f"json: cannot unmarshal {_json_kind(document)} into Go value of type jsonpatch.Patch")
    for operation in document:
        if operation is not None and not isinstance(operation, dict):
            raise BadRequest(
                f"json: cannot unmarshal {_json_kind(operation)} into Go value of type jsonpatch.Operation"
            )
    return [operation if operation is not None else {} for operation in document]


def apply_merge_patch(current: JSONDict, patch: bytes) -> Any:
    """RFC 7386 as evanphx/json-patch's MergePatch: a patch that is not a JSON object or array is a 400."""
    if go_syntax_error(patch) is not None:
        raise BadRequest("Invalid JSON Patch")
    document = decode_json(patch)
    if isinstance(document, list):
        return [_prune_nulls(item) for item in document]
    if not isinstance(document, dict):
        raise BadRequest("Invalid JSON Patch")
    return _merge(current, document)


def _merge(current: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    merged = dict(current)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        elif merged.get(key) is None:
            merged[key] = _prune_nulls(value)
        elif isinstance(merged[key], dict) and isinstance(value, dict):
            merged[key] = _merge(merged[key], value)
        elif isinstance(merged[key], dict):
            merged[key] = value
        else:
            merged[key] = _prune_nulls(value)
    return merged


def _prune_nulls(value: Any) -> Any:
    """Drop null members of objects, at any depth (array elements that are null stay, as upstream)."""
    if isinstance(value, dict):
        return {key: _prune_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_prune_nulls(item) for item in value]
    return value


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return "string" if isinstance(value, str) else "object"
