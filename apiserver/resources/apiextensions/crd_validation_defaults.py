"""Default values of a CRD schema must be pruned and valid (apiextensions' defaulting.ValidateDefaults).

Each `default` must survive pruning against its own node unchanged (`must not have unknown fields`) and must
validate against that node. Value validation uses the structural schema engine (`apiserver.registry.structural`)
when it is available; pruning is checked here. additionalProperties are not followed (defaults are forbidden
there), and the root counts as an embedded resource, so its apiVersion, kind and metadata are kept.
"""
from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from typing import Any, Final

from apiserver.meta.validation import FieldError, FieldErrors, FieldPath

from .crd_validation_structural import items_schema, properties_of

_TYPE_META: Final = ("apiVersion", "kind", "metadata")


def prune(value: Any, schema: Mapping[str, Any] | None, is_resource_root: bool) -> Any:
    """A copy of `value` without the fields `schema` does not specify (structural pruning)."""
    if schema is None:
        return value
    if isinstance(value, dict):
        embedded = is_resource_root or schema.get("x-kubernetes-embedded-resource") is True
        preserve = schema.get("x-kubernetes-preserve-unknown-fields") is True
        properties, additional = properties_of(schema), schema.get("additionalProperties")
        pruned: dict[str, Any] = {}
        for key, item in value.items():
            if key in properties:
                pruned[key] = prune(item, properties[key], False)
            elif isinstance(additional, dict):
                pruned[key] = prune(item, additional, False)
            elif additional is True or preserve or (embedded and key in _TYPE_META):
                pruned[key] = item
        return pruned
    if isinstance(value, list):
        return [prune(item, items_schema(schema), False) for item in value]
    return value


def validate_defaults(schema: Mapping[str, Any], path: FieldPath, require_pruned: bool) -> FieldErrors:
    """The errors of every default below `schema` (the root of a resource)."""
    return _validate(schema, path, True, False, require_pruned)


def _validate(schema: Mapping[str, Any], path: FieldPath, embedded: bool, inside_meta: bool,
              require_pruned: bool) -> FieldErrors:
    embedded = embedded or schema.get("x-kubernetes-embedded-resource") is True
    if embedded:
        inside_meta = False
    errors: FieldErrors = []
    default = schema.get("default")
    if default is not None and not inside_meta:
        if require_pruned and prune(copy.deepcopy(default), schema, embedded) != default:
            errors.append(FieldError.invalid(path.child("default"), default, "must not have unknown fields"))
        errors += _value_errors(schema, default, path.child("default"))
    if (items := items_schema(schema)) is not None:
        errors += _validate(items, path.child("items"), False, inside_meta, require_pruned)
    for key, child in properties_of(schema).items():
        errors += _validate(child, path.child("properties").key(key), False,
                            inside_meta or (embedded and key in _TYPE_META), require_pruned)
    return errors


def _value_errors(schema: Mapping[str, Any], value: Any, path: FieldPath) -> FieldErrors:
    """The default against its node: value validation, then (when that passes) the node's CEL rules."""
    try:
        from apiserver.registry.structural import StructuralSchema
    except ImportError:
        return []
    compiled = StructuralSchema.from_openapi(schema)
    errors = compiled.validate(copy.deepcopy(value))
    if not errors and compiled.has_rules:
        errors = compiled.validate_rules(copy.deepcopy(value), None)
    prefix = str(path)
    return [dataclasses.replace(error, field=_join(prefix, error.field)) for error in errors]


def _join(prefix: str, field: str) -> str:
    if not field or field == "<nil>":
        return prefix
    return prefix + field if field.startswith("[") else f"{prefix}.{field}"
