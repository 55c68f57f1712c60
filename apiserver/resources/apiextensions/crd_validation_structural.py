"""The structural-schema rules a CRD's openAPIV3Schema must meet (apiextensions' NewStructural + ValidateStructural).

A structural schema declares the type of every field outside the value validations (`allOf`, `anyOf`, `oneOf`,
`not`); those may only restrict values. The root and embedded resources may restrict `metadata` to `name` and
`generateName` only. Upstream sorts these errors by their text (Go maps have no order), and so does this module.
Messages are upstream v1.32's (pkg/apiserver/schema/convert.go, validation.go, complete.go).
"""
from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from apiserver.meta.validation import FieldError, FieldErrors, FieldPath

from .crd_validation_model import mapping, sequence, text

_UNSUPPORTED: Final = (("id", "id"), ("$schema", "schema"), ("$ref", "$ref"),
                       ("patternProperties", "patternProperties"), ("dependencies", "dependencies"),
                       ("additionalItems", "additionalItems"), ("definitions", "definitions"))
INT_OR_STRING_ANY_OF: Final = [{"type": "integer"}, {"type": "string"}]
_NESTED_FORBIDDEN: Final = (
    ("type", "must be empty to be structural"),
    ("additionalProperties", "must be undefined to be structural"),
    ("default", "must be undefined to be structural"),
    ("title", "must be empty to be structural"),
    ("description", "must be empty to be structural"),
    ("nullable", "must be false to be structural"),
    ("x-kubernetes-preserve-unknown-fields", "must be false to be structural"),
    ("x-kubernetes-embedded-resource", "must be false to be structural"),
    ("x-kubernetes-int-or-string", "must be false to be structural"),
    ("x-kubernetes-list-map-keys", "must be empty to be structural"),
    ("x-kubernetes-list-type", "must be undefined to be structural"),
    ("x-kubernetes-map-type", "must be undefined to be structural"),
    ("x-kubernetes-validations", "must be empty to be structural"),
)
_METADATA_GENERICS: Final = ("type", "description", "title", "nullable", "default", "additionalProperties")


class Level(enum.Enum):
    ROOT = "at the root"
    ITEM = "for specified array items"
    FIELD = "for specified object fields"


def _set(schema: Mapping[str, Any], key: str) -> bool:
    """Whether a field holds a non-zero Go value (absent, null, false, "" and empty collections are zero)."""
    value = schema.get(key)
    return value is not None and value is not False and value != "" and value != [] and value != {}


_POINTER_KEYS: Final = frozenset({
    "maximum", "minimum", "maxLength", "minLength", "maxItems", "minItems", "maxProperties", "minProperties",
    "multipleOf", "not", "items", "additionalProperties", "default", "x-kubernetes-list-type", "x-kubernetes-map-type",
})


def _non_zero(schema: Mapping[str, Any], key: str) -> bool:
    """Whether the Go field behind `key` is set: pointers when not null, other fields when not their zero value."""
    return schema.get(key) is not None if key in _POINTER_KEYS else _set(schema, key)


def properties_of(schema: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in sorted(mapping(schema.get("properties")).items()) if isinstance(value, dict)}


def additional_schema(schema: Mapping[str, Any]) -> dict[str, Any] | None:
    value = schema.get("additionalProperties")
    return value if isinstance(value, dict) else None


def items_schema(schema: Mapping[str, Any]) -> dict[str, Any] | None:
    value = schema.get("items")
    return value if isinstance(value, dict) else None


# --- NewStructural ------------------------------------------------------------------------------------------

def structural_error(schema: Mapping[str, Any] | None) -> str | None:
    """The error NewStructural returns for a schema the OpenAPI rules did not already reject, or None."""
    if not isinstance(schema, dict):
        return None
    for key, name in _UNSUPPORTED:
        if schema.get(key) is not None if key == "additionalItems" else _set(schema, key):
            return f"OpenAPIV3Schema '{name}' is not supported"
    for key in ("not", "allOf", "anyOf", "oneOf"):
        for clause in ([schema.get(key)] if key == "not" else sequence(schema.get(key))):
            if error := structural_error(clause):
                return error
    if error := structural_error(additional_schema(schema)):
        return error
    if schema.get("x-kubernetes-preserve-unknown-fields") is False:
        return "internal error: 'x-kubernetes-preserve-unknown-fields' must be true or undefined"
    if isinstance(schema.get("items"), list) and schema["items"]:
        return "OpenAPIV3Schema 'items' must be a schema, but is an array"
    if error := structural_error(items_schema(schema)):
        return error
    for child in properties_of(schema).values():
        if error := structural_error(child):
            return error
    return None


# --- ValidateStructural -------------------------------------------------------------------------------------

def validate_structural(schema: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    """ValidateStructural: the invariants, then completeness, sorted by message as upstream sorts them."""
    errors = _invariants(schema, Level.ROOT, path) + _completeness(schema, schema, path, path)
    return sorted(errors, key=lambda error: error.error_message())


def _invariants(schema: Mapping[str, Any], level: Level, path: FieldPath) -> FieldErrors:
    errors: FieldErrors = []
    kind = text(schema.get("type"))
    items = items_schema(schema)
    if kind == "array" and items is None:
        errors.append(FieldError.required(path.child("items"), "must be specified"))
    if items is not None:
        errors += _invariants(items, Level.ITEM, path.child("items"))
    for key, child in properties_of(schema).items():
        errors += _invariants(child, Level.FIELD, path.child("properties").key(key))
    if schema.get("additionalProperties") is not None:
        if level is Level.ROOT:
            errors.append(FieldError.forbidden(path.child("additionalProperties"), "must not be used at the root"))
        if (additional := additional_schema(schema)) is not None:
            errors += _invariants(additional, Level.FIELD, path.child("additionalProperties"))
    errors += _extension_errors(schema, path)
    errors += _value_validation(schema, _is_int_or_string_any_of(schema), _is_int_or_string_all_of(schema), level,
                                path)
    errors += _type_errors(schema, kind, level, path)
    embedded = schema.get("x-kubernetes-embedded-resource") is True
    check_metadata = level is Level.ROOT or embedded
    properties = properties_of(schema)
    for key in ("kind", "apiVersion"):
        if key in properties and check_metadata and properties[key].get("type") != "string":
            errors.append(FieldError.invalid(path.child("properties").key(key).child("type"),
                                             text(properties[key].get("type")), "must be string"))
    if "metadata" in properties:
        errors += _metadata_errors(properties["metadata"], check_metadata, level,
                                   path.child("properties").key("metadata"))
    if embedded and schema.get("x-kubernetes-preserve-unknown-fields") is not True and not properties:
        errors.append(FieldError.required(path.child("properties"), "must not be empty if x-kubernetes-embedded-"
                                          "resource is true without x-kubernetes-preserve-unknown-fields"))
    return errors


def _extension_errors(schema: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    if schema.get("x-kubernetes-int-or-string") is not True:
        return []
    errors: FieldErrors = []
    if schema.get("x-kubernetes-preserve-unknown-fields") is True:
        errors.append(FieldError.invalid(path.child("x-kubernetes-preserve-unknown-fields"), True,
                                         "must be false if x-kubernetes-int-or-string is true"))
    if schema.get("x-kubernetes-embedded-resource") is True:
        errors.append(FieldError.invalid(path.child("x-kubernetes-embedded-resource"), True,
                                         "must be false if x-kubernetes-int-or-string is true"))
    return errors


def _type_errors(schema: Mapping[str, Any], kind: str, level: Level, path: FieldPath) -> FieldErrors:
    errors: FieldErrors = []
    embedded = schema.get("x-kubernetes-embedded-resource") is True
    if embedded and kind != "object":
        message = "must be object if x-kubernetes-embedded-resource is true"
        errors.append(FieldError.invalid(path.child("type"), kind, message) if kind
                      else FieldError.required(path.child("type"), message))
    elif not kind and schema.get("x-kubernetes-int-or-string") is not True and (
            schema.get("x-kubernetes-preserve-unknown-fields") is not True):
        errors.append(FieldError.required(path.child("type"), f"must not be empty {level.value}"))
    if embedded and schema.get("additionalProperties") is not None:
        errors.append(FieldError.forbidden(path.child("additionalProperties"),
                                           "must not be used if x-kubernetes-embedded-resource is set"))
    if level is Level.ROOT and kind and kind != "object":
        errors.append(FieldError.invalid(path.child("type"), kind, "must be object at the root"))
    return errors


def _metadata_errors(metadata: Mapping[str, Any], check_metadata: bool, level: Level, path: FieldPath) -> FieldErrors:
    errors: FieldErrors = []
    if check_metadata and metadata.get("type") != "object":
        errors.append(FieldError.invalid(path.child("type"), text(metadata.get("type")), "must be object"))
    if level is not Level.ROOT:
        return errors
    # NewStructural keeps neither example nor externalDocs; upstream clears type, default and a properties map
    # that names only name and generateName before comparing with the empty schema.
    rest = {key: value for key, value in metadata.items() if key not in ("type", "default", "example", "externalDocs")}
    names = set(properties_of(metadata))
    if names and names <= {"name", "generateName"}:
        rest.pop("properties", None)
    if any(_non_zero(rest, key) for key in rest):
        errors.append(FieldError.forbidden(path, "must not specify anything other than name and generateName, but "
                                                 "metadata is implicitly specified"))
    return errors


def _is_int_or_string_any_of(schema: Mapping[str, Any]) -> bool:
    return schema.get("anyOf") == INT_OR_STRING_ANY_OF


def _is_int_or_string_all_of(schema: Mapping[str, Any]) -> bool:
    all_of = sequence(schema.get("allOf"))
    return bool(all_of) and isinstance(all_of[0], dict) and all_of[0].get("anyOf") == INT_OR_STRING_ANY_OF


def _value_validation(schema: Mapping[str, Any], skip_any_of: bool, skip_first_all_of_any_of: bool, level: Level,
                      path: FieldPath) -> FieldErrors:
    errors: FieldErrors = []
    if not skip_any_of:
        for index, clause in enumerate(sequence(schema.get("anyOf"))):
            errors += _nested(mapping(clause), False, level, path.child("anyOf").index(index))
    for index, clause in enumerate(sequence(schema.get("allOf"))):
        errors += _nested(mapping(clause), skip_first_all_of_any_of and index == 0, level,
                          path.child("allOf").index(index))
    for index, clause in enumerate(sequence(schema.get("oneOf"))):
        errors += _nested(mapping(clause), False, level, path.child("oneOf").index(index))
    if isinstance(schema.get("not"), dict):
        errors += _nested(schema["not"], False, level, path.child("not"))
    pattern = text(schema.get("pattern"))
    if pattern and (problem := regexp_error(pattern)):
        errors.append(FieldError.invalid(path.child("pattern"), pattern,
                                         f"must be a valid regular expression, but isn't: {problem}"))
    return errors


def _nested(clause: Mapping[str, Any], skip_any_of: bool, level: Level, path: FieldPath) -> FieldErrors:
    errors = _value_validation(clause, skip_any_of, False, level, path)
    if (items := items_schema(clause)) is not None:
        errors += _nested(items, False, level, path.child("items"))
    for key, child in properties_of(clause).items():
        errors += _nested(child, False, Level.FIELD, path.child("properties").key(key))
    for key, message in _NESTED_FORBIDDEN:
        if _non_zero(clause, key):
            errors.append(FieldError.forbidden(path.child(key), message))
    if "metadata" in properties_of(clause):
        errors.append(FieldError.forbidden(path.child("properties").key("metadata"),
                                           "must not be specified in a nested context"))
    return errors


def regexp_error(pattern: str) -> str | None:
    """Go's regexp.Compile error for a pattern (RE2 syntax), approximated by Python's parser plus RE2's bans."""
    if match := re.search(r"\(\?[=!]|\(\?<[=!]", pattern):
        return f"error parsing regexp: invalid or unsupported Perl syntax: `{match.group(0)}`"
    if match := re.search(r"\\[1-9]", pattern):
        return f"error parsing regexp: invalid escape sequence: `{match.group(0)}`"
    try:
        re.compile(pattern)
    except re.error as error:
        return f"error parsing regexp: {_go_regexp_message(error)}"
    return None


def _go_regexp_message(error: re.error) -> str:
    message, pattern = error.msg, str(error.pattern or "")
    if message.startswith("missing ), unterminated subpattern"):
        return f"missing closing ): `{pattern}`"
    if message.startswith("unterminated character set"):
        return f"missing closing ]: `{pattern[error.pos or 0:]}`"
    if message.startswith("unbalanced parenthesis"):
        return f"unexpected ): `{pattern}`"
    if message.startswith("nothing to repeat") or message.startswith("multiple repeat"):
        return f"missing argument to repetition operator: `{pattern[error.pos or 0:(error.pos or 0) + 1]}`"
    return f"{message}: `{pattern}`"


# --- completeness ------------------------------------------------------------------------------------------

def _completeness(value: Mapping[str, Any], structural: Mapping[str, Any] | None, structural_path: FieldPath,
                  value_path: FieldPath) -> FieldErrors:
    """validateValueValidationCompleteness: what a value validation names must exist in the structure."""
    errors: FieldErrors = []
    clauses: list[tuple[Mapping[str, Any], FieldPath]] = []
    if isinstance(value.get("not"), dict):
        clauses.append((value["not"], value_path.child("not")))
    for key in ("allOf", "anyOf", "oneOf"):
        clauses += [(mapping(clause), value_path.child(key).index(index))
                    for index, clause in enumerate(sequence(value.get(key)))]
    for clause, path in clauses:
        errors += _nested_completeness(clause, structural, structural_path, path)
    return errors


def _nested_completeness(clause: Mapping[str, Any], structural: Mapping[str, Any] | None, structural_path: FieldPath,
                         value_path: FieldPath) -> FieldErrors:
    if structural is None:
        return [FieldError.required(structural_path, f"because it is defined in {value_path}")]
    errors = _completeness(clause, structural, structural_path, value_path)
    if (items := items_schema(clause)) is not None:
        errors += _nested_completeness(items, items_schema(structural), structural_path.child("items"),
                                       value_path.child("items"))
    known = properties_of(structural)
    for key, child in properties_of(clause).items():
        structural_child_path = structural_path.child("properties").key(key)
        child_value_path = value_path.child("properties").key(key)
        if key not in known:
            errors.append(FieldError.required(structural_child_path, f"because it is defined in {child_value_path}"))
        else:
            errors += _nested_completeness(child, known[key], structural_child_path, child_value_path)
    return errors


# --- field paths (cel.ValidFieldPath) ---------------------------------------------------------------------

_PATH_TOKEN: Final = re.compile(r"'(?:[^'\\]|\\.)*'|[.\[\]]|[^.\[\]]+")
_ESCAPES: Final = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "'": "'", "\\": "\\"}


@dataclass(frozen=True, slots=True)
class ResolvedPath:
    """A JSON path checked against a schema: the field names it walks and the schema it ends at."""

    names: tuple[str, ...]
    schema: Mapping[str, Any] | None


def resolve_field_path(schema: Mapping[str, Any], json_path: str, *,
                       allow_array_notation: bool = True) -> ResolvedPath | str:
    """ValidFieldPath: the resolved path, or the error text (`does not refer to a valid field`, ...)."""
    tokens = _PATH_TOKEN.findall(json_path)
    current: Mapping[str, Any] | None = schema
    names: list[str] = []
    position = 0
    while position < len(tokens):
        token = tokens[position]
        if token not in (".", "["):
            return f"expected [ or . but got: {token}"
        if token == "[" and not allow_array_notation:
            return "array notation is not allowed"
        if position + 1 >= len(tokens):
            return "unexpected end of JSON path"
        name = tokens[position + 1]
        if token == "[":
            if len(name) < 2 or not (name.startswith("'") and name.endswith("'")):
                return f"expected single quoted string but got {name}"
            unescaped = _unescape(name[1:-1])
            if unescaped is None:
                return "invalid string literal: invalid escape char"
            name = unescaped
        step = _step(current, name)
        if isinstance(step, str):
            return step
        names.append(name)
        current = step
        position += 2
        if token == "[":
            if position >= len(tokens):
                return "unexpected end of JSON path"
            if tokens[position] != "]":
                return f"expected ] but got {tokens[position]}"
            position += 1
    return ResolvedPath(tuple(names), current)


def _step(current: Mapping[str, Any] | None, name: str) -> Mapping[str, Any] | str | None:
    if current is None:
        return "does not refer to a valid field"
    properties = properties_of(current)
    if properties:
        return properties.get(name, "does not refer to a valid field")
    if current.get("additionalProperties") is not None:
        return additional_schema(current)
    return "does not refer to a valid field"


def _unescape(value: str) -> str | None:
    result, position = [], 0
    while position < len(value):
        character = value[position]
        if character == "\\":
            if position + 1 >= len(value) or value[position + 1] not in _ESCAPES:
                return None
            result.append(_ESCAPES[value[position + 1]])
            position += 2
            continue
        result.append(character)
        position += 1
    return "".join(result)


def structural_schema_walk_path(schema: Mapping[str, Any], json_path: str) -> str | None:
    """pathValid's answer as an error text: None when the path is valid (or the schema is not structural)."""
    if structural_error(schema) is not None:
        return None
    resolved = resolve_field_path(schema, json_path)
    return resolved if isinstance(resolved, str) else None
