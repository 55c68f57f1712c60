"""Checks of embedded resources (`x-kubernetes-embedded-resource`), as apiextensions' objectmeta.Validate does.

An embedded object needs `apiVersion` and `kind` (`Required value`), both non-empty
strings; the apiVersion must parse as a group/version and the kind, lower-cased, be a DNS-1035 label (`may have
mixed case, but should otherwise match: ...`). Its metadata passes ObjectMeta validation with the path-segment
name rule (an empty name is allowed). The resource root's own metadata is the generic store's to check.
Values of additionalProperties are addressed with `[key]`, properties with `.name`.
"""
from __future__ import annotations

from typing import Any

from apiserver.meta.validation import (
    FieldError,
    FieldErrors,
    FieldPath,
    is_dns1035_label,
    name_is_path_segment,
    validate_object_meta,
)
from apiserver.registry.schema import Schema
from apiserver.registry.schema_decode import decode_document
from apiserver.registry.structural.nodes import StructuralNode, object_meta_node


def validate_embedded(value: Any, node: Schema | None, path: FieldPath, relevant: frozenset[int], *,
                      is_root: bool = False) -> FieldErrors:
    """Errors of every embedded resource at or below `value`; `relevant`: ids of subtrees holding one."""
    if value is None or not isinstance(node, StructuralNode) or id(node) not in relevant:
        return []
    errors: FieldErrors = []
    if isinstance(value, dict):
        if node.embedded_resource and not is_root:
            errors += _validate_resource(value, path)
        for key, item in value.items():
            if key in node.properties:
                errors += validate_embedded(item, node.properties[key], path.child(key), relevant)
            elif node.additional_properties is not None:
                errors += validate_embedded(item, node.additional_properties, path.key(key), relevant)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            errors += validate_embedded(item, node.items(), path.index(index), relevant)
    return errors


def _validate_resource(value: dict[str, Any], path: FieldPath) -> FieldErrors:
    errors: FieldErrors = []
    for name in ("apiVersion", "kind"):
        if name not in value:
            errors.append(FieldError.required(path.child(name)))
    for key, item in value.items():
        if key == "apiVersion":
            errors += _validate_api_version(item, path.child(key))
        elif key == "kind":
            errors += _validate_kind(item, path.child(key))
        elif key == "metadata":
            errors += _validate_metadata(item, path.child(key))
    return errors


def _validate_api_version(value: Any, path: FieldPath) -> FieldErrors:
    if not isinstance(value, str):
        return [FieldError.invalid(path, value, "must be a string")]
    if not value:
        return [FieldError.invalid(path, value, "must not be empty")]
    if value != "/" and value.count("/") > 1:
        return [FieldError.invalid(path, value, f"unexpected GroupVersion string: {value}")]
    return []


def _validate_kind(value: Any, path: FieldPath) -> FieldErrors:
    if not isinstance(value, str):
        return [FieldError.invalid(path, value, "must be a string")]
    if not value:
        return [FieldError.invalid(path, value, "must not be empty")]
    if messages := is_dns1035_label(value.lower()):
        detail = "may have mixed case, but should otherwise match: " + ",".join(messages)
        return [FieldError.invalid(path, value, detail)]
    return []


def _validate_metadata(value: Any, path: FieldPath) -> FieldErrors:
    if value is None:
        return []
    if not isinstance(value, dict):
        return [FieldError.invalid(path, value, f"invalid metadata: expected an object, got {type(value).__name__}")]
    decoded = decode_document(value, object_meta_node(), strict=False)
    if decoded.error is not None:
        return [FieldError.invalid(path, value, decoded.error)]
    meta = dict(value)
    if not meta.get("name"):
        meta["name"] = "fakename"  # upstream fills one in so that a nameless embedded object passes
    namespaced = bool(meta.get("namespace"))
    return validate_object_meta(meta, namespaced, name_is_path_segment, path)
