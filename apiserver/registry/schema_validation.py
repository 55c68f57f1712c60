"""Field validation of request bodies: the `fieldValidation=Strict|Warn|Ignore` directive, as upstream applies it.

For a create or update of a built-in kind, kube-apiserver decodes the body into the Go type (strictly for
Strict and Warn) and then:

- a type error fails the request whatever the directive: 400 `Pod in version "v1" cannot be handled as a Pod:
  json: cannot unmarshal string into Go struct field ...`;
- Strict with unknown or duplicate fields fails it: 400 `... cannot be handled as a Pod: strict decoding error:
  unknown field "spec.contaners", duplicate field "metadata.name"` (for YAML bodies go-yaml's duplicate-key
  error comes first);
- Warn returns each of those texts as a `Warning` header and succeeds; the default (no directive) is Warn;
- Ignore says nothing.

Unknown fields are never stored: the object is pruned after the checks in every case.
"""
from __future__ import annotations

from typing import Any, Final

from apiserver.meta.errors import BadRequest, go_quote
from apiserver.meta.objects import JSONDict
from apiserver.meta.strictjson import decode_strict, yaml_duplicate_keys
from apiserver.registry.schema import Schema
from apiserver.registry.schema_decode import DecodeResult, decode_document
from apiserver.registry.schema_normalize import prune_unknown_fields

STRICT: Final = "Strict"
WARN: Final = "Warn"
IGNORE: Final = "Ignore"
DIRECTIVES: Final = (IGNORE, WARN, STRICT)
_YAML_TYPE: Final = "application/yaml"


def check_field_validation(
    body: bytes, content_type: str, obj: JSONDict, schema: Schema, directive: str, *, handled_as: str = ""
) -> list[str]:
    """Apply `directive` to a decoded request body; returns the warnings to send (Warn), prunes `obj`.

    `obj` is `body` decoded (its kind and apiVersion already defaulted from the URL); `content_type` is the
    request's Content-Type (YAML bodies are checked for go-yaml's duplicate keys). `handled_as` is the kind
    the server decodes into (default: the body's kind). Raises BadRequest with upstream's message for a type
    error (any directive) and for unknown or duplicate fields under Strict.
    """
    if directive == IGNORE:
        result = decode_document(obj, schema, strict=False)
        strict_errors: list[str] = []
    else:
        is_yaml = _media_type(content_type) == _YAML_TYPE
        result = decode_document(obj if is_yaml else _strict_document(body, obj), schema)
        yaml_error = yaml_duplicate_keys(body) if is_yaml else None
        strict_errors = ([yaml_error] if yaml_error else []) + result.strict
    prefix = _handled_prefix(obj, handled_as)
    if result.error is not None:
        raise BadRequest(prefix + result.error)
    if strict_errors and directive == STRICT:
        raise BadRequest(prefix + strict_decoding_error(strict_errors))
    prune_unknown_fields(obj, schema)
    return strict_errors


def check_object(obj: Any, schema: Schema, *, strict: bool = True) -> DecodeResult:
    """The typed decode of an already-decoded object (a patched one): its type error and unknown fields."""
    return decode_document(obj, schema, strict=strict)


def strict_decoding_error(errors: list[str]) -> str:
    """runtime.NewStrictDecodingError's text: `strict decoding error: <error>, <error>`."""
    return "strict decoding error: " + ", ".join(errors)


def _strict_document(body: bytes, obj: JSONDict) -> Any:
    """The body as the strict decoder sees it: objects that repeat a key as `Pairs`."""
    try:
        return decode_strict(body)
    except ValueError:
        return obj  # a body only Go's decoder accepts (e.g. invalid UTF-8): no duplicate detection


def _handled_prefix(obj: JSONDict, handled_as: str) -> str:
    """transformDecodeError's `<kind> in version "<version>" cannot be handled as a <kind>: `."""
    kind = str(obj.get("kind", ""))
    version = str(obj.get("apiVersion", "")).rpartition("/")[2]
    return f"{kind} in version {go_quote(version)} cannot be handled as a {handled_as or kind}: "


def _media_type(content_type: str) -> str:
    return content_type.partition(";")[0].strip().lower()
