"""CRD names, versions' side fields, subresources, printer columns and selectable fields (apiextensions validation).

Messages and paths are upstream v1.32's (pkg/apis/apiextensions/validation/validation.go).
"""
from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Any, Final

from apiserver.meta.validation import FieldError, FieldErrors, FieldPath, is_dns1035_label

from .crd_validation_model import mapping, sequence, text

PRINTER_COLUMN_TYPES: Final = ("boolean", "date", "integer", "number", "string")
PRINTER_COLUMN_FORMATS: Final = ("byte", "date", "date-time", "double", "float", "int32", "int64", "password")
DEPRECATION_WARNING_MAX_LENGTH: Final = 256


def _dns1035(value: str) -> str:
    return ",".join(is_dns1035_label(value))


def validate_names(names: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    """ValidateCustomResourceDefinitionNames: spec.names and status.acceptedNames."""
    errors: FieldErrors = []
    for key in ("plural", "singular"):
        value = text(names.get(key))
        if value and (problems := _dns1035(value)):
            errors.append(FieldError.invalid(path.child(key), value, problems))
    for key in ("kind", "listKind"):
        value = text(names.get(key))
        if value and (problems := _dns1035(value.lower())):
            errors.append(FieldError.invalid(path.child(key), value,
                                             "may have mixed case, but should otherwise match: " + problems))
    for index, short_name in enumerate(sequence(names.get("shortNames"))):
        if problems := _dns1035(text(short_name)):
            errors.append(FieldError.invalid(path.child("shortNames").index(index), short_name, problems))
    kind = text(names.get("kind"))
    if kind and kind == names.get("listKind"):
        errors.append(FieldError.invalid(path.child("listKind"), kind, "kind and listKind may not be the same"))
    for index, category in enumerate(sequence(names.get("categories"))):
        if problems := _dns1035(text(category)):
            errors.append(FieldError.invalid(path.child("categories").index(index), category, problems))
    return errors


def required_names(names: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    return [FieldError.required(path.child(key)) for key in ("plural", "singular", "kind", "listKind")
            if not text(names.get(key))]


def deprecation_warning_problems(deprecated: bool, warning: object) -> list[str]:
    """validateDeprecationWarning."""
    if not deprecated and warning is not None:
        return ["can only be set for deprecated versions"]
    if not isinstance(warning, str):
        return []
    problems = []
    if len(warning.encode()) > DEPRECATION_WARNING_MAX_LENGTH:
        problems.append("must be <= 256 characters long")
    if not warning:
        problems.append("must not be an empty string")
    offset = 0
    for character in warning:
        if not _is_go_printable(character):
            problems.append("must only contain printable UTF-8 characters; non-printable character found at index "
                            f"{offset}")
            break
        offset += len(character.encode("utf-8", "surrogateescape"))
    return problems


def _is_go_printable(character: str) -> bool:
    """unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space."""
    return character == " " or unicodedata.category(character)[0] in "LMNPS"


def validate_simple_json_path(value: str, path: FieldPath) -> FieldErrors:
    """validateSimpleJSONPath."""
    if not value:
        return [FieldError.invalid(path, value, "must not be empty")]
    if not value.startswith("."):
        return [FieldError.invalid(path, value, "must be a simple json path starting with .")]
    return []


def validate_subresources(subresources: object, path: FieldPath) -> FieldErrors:
    """ValidateCustomResourceDefinitionSubresources: the scale subresource's JSON paths."""
    scale = mapping(subresources).get("scale")
    if not isinstance(scale, dict):
        return []
    errors: FieldErrors = []
    for key, prefix, under in (("specReplicasPath", ".spec.", ".spec"), ("statusReplicasPath", ".status.", ".status")):
        value, child = text(scale.get(key)), path.child(f"scale.{key}")
        if not value:
            errors.append(FieldError.required(child))
        elif problems := validate_simple_json_path(value, child):
            errors += problems
        elif not value.startswith(prefix):
            errors.append(FieldError.invalid(child, value, f"should be a json path under {under}"))
    selector, child = text(scale.get("labelSelectorPath")), path.child("scale.labelSelectorPath")
    if selector:
        if problems := validate_simple_json_path(selector, child):
            errors += problems
        elif not selector.startswith((".spec.", ".status.")):
            errors.append(FieldError.invalid(child, selector, "should be a json path under either .spec or .status"))
    return errors


def validate_column(column: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    """ValidateCustomResourceColumnDefinition (the internal field is `JSONPath`, v1's `jsonPath`)."""
    errors: FieldErrors = []
    if not text(column.get("name")):
        errors.append(FieldError.required(path.child("name")))
    kind, types = text(column.get("type")), ",".join(PRINTER_COLUMN_TYPES)
    if not kind:
        errors.append(FieldError.required(path.child("type"), f"must be one of {types}"))
    elif kind not in PRINTER_COLUMN_TYPES:
        errors.append(FieldError.invalid(path.child("type"), kind, f"must be one of {types}"))
    column_format = text(column.get("format"))
    if column_format and column_format not in PRINTER_COLUMN_FORMATS:
        errors.append(FieldError.invalid(path.child("format"), column_format,
                                         f"must be one of {','.join(PRINTER_COLUMN_FORMATS)}"))
    json_path = text(column.get("jsonPath"))
    if not json_path:
        errors.append(FieldError.required(path.child("JSONPath")))
    else:
        errors += validate_simple_json_path(json_path, path.child("JSONPath"))
    return errors


def validate_columns(columns: list[Any], path: FieldPath) -> FieldErrors:
    errors: FieldErrors = []
    for index, column in enumerate(columns):
        errors += validate_column(mapping(column), path.index(index))
    return errors
