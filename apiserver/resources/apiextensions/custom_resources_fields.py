"""Field validation of custom resource bodies (fieldValidation=Strict|Warn|Ignore), as upstream's CR decoder.

Custom resources decode into unstructured JSON, so there are no Go type errors (a value of the wrong type is a
schema validation error, 422, later). The strict errors are, in order: repeated keys (`duplicate field "a.b"`,
go-yaml's error for YAML bodies), then the fields pruning removes, ObjectMeta's unknown fields first
(`unknown field "metadata.foo"`, `unknown field "spec.foo"`). Strict fails the request with 400
`<Kind> in version "<v>" cannot be handled as a <Kind>: strict decoding error: <errors>`; Warn (the default)
returns them as warnings; Ignore says nothing. Unknown fields are pruned in every case.
"""
from __future__ import annotations

from typing import Any, Final

from apiserver.meta.errors import BadRequest, go_quote
from apiserver.meta.objects import JSONDict
from apiserver.meta.strictjson import duplicate_json_fields, yaml_duplicate_keys
from apiserver.registry.schema import Schema
from apiserver.registry.schema_normalize import prune_unknown_fields
from apiserver.registry.schema_validation import IGNORE, STRICT, strict_decoding_error
from apiserver.registry.spec import ResourceSpec

_YAML_TYPE: Final = "application/yaml"


def is_custom_resource(spec: ResourceSpec) -> bool:
    """Whether a spec serves a custom resource (its schema comes from a CRD)."""
    return spec.schema is not None and hasattr(spec.strategy, "prune")


def unknown_fields(spec: ResourceSpec, obj: JSONDict) -> list[str]:
    """Prune `obj` (in place) by ObjectMeta and the version's schema; returns the strict errors of what went."""
    paths: list[str] = []
    metadata = obj.get("metadata")
    meta_node = _metadata_node(spec.schema)
    if isinstance(metadata, dict) and meta_node is not None:
        paths += [f"metadata.{path}" for path in prune_unknown_fields(metadata, meta_node)]
    strategy: Any = spec.strategy
    for path in strategy.prune(obj):
        if path not in paths:
            paths.append(path)
    return [path if path.startswith("unknown field ") else f"unknown field {go_quote(path)}" for path in paths]


def _metadata_node(schema: Any) -> Schema | None:
    field = getattr(schema, "field", None)
    node = field("metadata") if field is not None else None
    return node if isinstance(node, Schema) else None


def check_body(spec: ResourceSpec, body: bytes, content_type: str, obj: JSONDict, directive: str) -> list[str]:
    """Apply `directive` to a decoded create or update body of a custom resource; returns the warnings.

    Raises BadRequest under Strict when there are strict errors; `obj` is pruned whatever the directive.
    """
    duplicates: list[str] = []
    if directive != IGNORE:
        if content_type.partition(";")[0].strip().lower() == _YAML_TYPE:
            yaml_error = yaml_duplicate_keys(body)
            duplicates = [yaml_error] if yaml_error else []
        else:
            duplicates = _json_duplicates(body)
    return _decide(obj, [*duplicates, *unknown_fields(spec, obj)], directive)


def check_patched(spec: ResourceSpec, obj: JSONDict, duplicates: list[str], directive: str) -> list[str]:
    """The same for a patched object (`duplicates`: the patch body's repeated keys); the message has no prefix,
    as upstream's patcher reports strict errors of the patched object."""
    errors = [*duplicates, *unknown_fields(spec, obj)] if directive != IGNORE else []
    if directive == IGNORE:
        unknown_fields(spec, obj)
    if errors and directive == STRICT:
        raise BadRequest(strict_decoding_error(errors))
    return errors


def _json_duplicates(body: bytes) -> list[str]:
    try:
        return duplicate_json_fields(body)
    except ValueError:
        return []


def _decide(obj: JSONDict, errors: list[str], directive: str) -> list[str]:
    if directive == IGNORE:
        return []
    if errors and directive == STRICT:
        kind = str(obj.get("kind", ""))
        version = str(obj.get("apiVersion", "")).rpartition("/")[2]
        prefix = f"{kind} in version {go_quote(version)} cannot be handled as a {kind}: "
        raise BadRequest(prefix + strict_decoding_error(errors))
    return errors
