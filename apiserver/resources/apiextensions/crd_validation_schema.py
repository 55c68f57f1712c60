"""The OpenAPI v3 rules of a CRD schema (apiextensions' ValidateCustomResourceDefinitionOpenAPISchema).

Walks every node of an openAPIV3Schema: unsupported JSON-schema features, defaults where they cannot be pruned,
`x-kubernetes-*` combinations (map/list types, list-map keys), and the static checks of x-kubernetes-validations
rules, whose CEL compilation (crd_validation_cel) runs only where the node and everything below it has no schema
error, as upstream. Schema errors come first, CEL errors after them. Properties are walked in sorted order (Go map
order is random upstream). Messages are upstream v1.32's.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final

from apiserver.meta.validation import FieldError, FieldErrors, FieldPath

from .crd_validation_cel import CelContext, TotalCost, compile_rules, uses_old_self
from .crd_validation_model import mapping, sequence, text
from .crd_validation_structural import additional_schema, items_schema, properties_of, structural_schema_walk_path

OPENAPI_V3_TYPES: Final = ("array", "boolean", "integer", "number", "object", "string")
META_FIELDS: Final = frozenset({"metadata", "kind", "apiVersion"})
RULE_REASONS: Final = ("FieldValueDuplicate", "FieldValueForbidden", "FieldValueInvalid", "FieldValueRequired")
_NEWLINES: Final = re.compile(r"[\n\r]+")
_FORBIDDEN_FEATURES: Final = (("id", "id is not supported"), ("additionalItems", "additionalItems is not supported"),
                              ("patternProperties", "patternProperties is not supported"),
                              ("definitions", "definitions is not supported"),
                              ("dependencies", "dependencies is not supported"), ("$ref", "$ref is not supported"))


@dataclass(frozen=True)
class SchemaOptions:
    """The validationOptions a schema walk needs (ratcheting on update loosens some of them)."""

    allow_defaults: bool = True
    disallow_defaults_reason: str = ""
    require_valid_property_type: bool = True
    require_atomic_set_type: bool = True
    require_map_list_keys_map_set_validation: bool = True
    suppress_per_expression_cost: bool = False


@dataclass(frozen=True)
class _Walk:
    """specStandardValidatorV3's state for one node: defaults allowed, inside resource meta, oldSelf forbidden."""

    options: SchemaOptions
    inside_resource_meta: bool = False
    forbid_old_self: FieldPath | None = None
    total: TotalCost = field(default_factory=TotalCost)

    def without_defaults(self, reason: str) -> _Walk:
        return replace(self, options=replace(self.options, allow_defaults=False, disallow_defaults_reason=reason))

    def forbidding_old_self(self, path: FieldPath) -> _Walk:
        return self if self.forbid_old_self is not None else replace(self, forbid_old_self=path)


@dataclass
class _Errors:
    schema: FieldErrors = field(default_factory=list)
    cel: FieldErrors = field(default_factory=list)

    def add(self, other: _Errors) -> None:
        self.schema += other.schema
        self.cel += other.cel


def validate_openapi_schema(schema: Mapping[str, Any], path: FieldPath, options: SchemaOptions,
                            cel_enabled: bool, total: TotalCost) -> FieldErrors:
    """All errors of one openAPIV3Schema walk: schema errors, then CEL errors (CEL only when `cel_enabled`)."""
    found = _walk(schema, path, _Walk(options, total=total), True, CelContext() if cel_enabled else None)
    return found.schema + found.cel


def _walk(schema: Mapping[str, Any] | None, path: FieldPath, walk: _Walk, is_root: bool,
          cel: CelContext | None) -> _Errors:
    found = _Errors()
    if not isinstance(schema, dict):
        return found
    found.schema += _standard(schema, path, walk)
    if schema.get("uniqueItems") is True:
        found.schema.append(FieldError.forbidden(path.child("uniqueItems"), "uniqueItems cannot be set to true since "
                                                 "the runtime complexity becomes quadratic"))
    _walk_children(schema, path, walk, is_root, cel, found)
    found.schema += _extension_errors(schema, path, walk.options)
    found.schema += _rule_static_errors(schema, path)
    if not found.schema and cel is not None:
        found.cel += compile_rules(schema, cel, path, suppress_cost=walk.options.suppress_per_expression_cost,
                                   forbid_old_self=walk.forbid_old_self, total=walk.total)
    return found


def _walk_children(schema: Mapping[str, Any], path: FieldPath, walk: _Walk, is_root: bool, cel: CelContext | None,
                   found: _Errors) -> None:
    properties = properties_of(schema)
    if schema.get("additionalProperties") is not None:
        if properties and (schema["additionalProperties"] is False or additional_schema(schema) is not None):
            found.schema.append(FieldError.forbidden(path.child("additionalProperties"),
                                                     "additionalProperties and properties are mutual exclusive"))
        sub = walk.without_defaults("inside additionalProperties applying to object metadata") if (
            walk.inside_resource_meta) else walk
        found.add(_walk(additional_schema(schema), path.child("additionalProperties"), sub, False,
                        cel.child_of(schema) if cel else None))
    for key, child in properties.items():
        sub = walk if _map_correlatable(schema) else walk.forbidding_old_self(path)
        if (is_root or schema.get("x-kubernetes-embedded-resource") is True) and key in META_FIELDS:
            sub = replace(sub, inside_resource_meta=True)
            if is_root:
                sub = sub.without_defaults(f"in top-level {key}")
        found.add(_walk(child, path.child("properties").key(key), sub, False, cel.child_of(schema) if cel else None))
    if isinstance(schema.get("not"), dict):
        found.add(_walk(schema["not"], path.child("not"), walk, False, None))
    for key in ("allOf", "oneOf", "anyOf"):
        for index, clause in enumerate(sequence(schema.get(key))):
            found.add(_walk(mapping(clause), path.child(key).index(index), walk, False, None))
    for key, child in sorted(mapping(schema.get("definitions")).items()):
        found.add(_walk(mapping(child), path.child("definitions").key(key), walk, False, None))
    if schema.get("items") is not None:
        sub = walk if schema.get("x-kubernetes-list-type") == "map" else walk.forbidding_old_self(path)
        item_cel = cel.child_of(schema) if cel else None
        found.add(_walk(items_schema(schema), path.child("items"), sub, False, item_cel))
        for index, item in enumerate(sequence(schema.get("items"))):
            found.add(_walk(mapping(item), path.child("items").index(index), sub, False, item_cel))
    for key, child in sorted(mapping(schema.get("dependencies")).items()):
        if isinstance(child, dict):
            found.add(_walk(child, path.child("dependencies").key(key), walk, False, None))


def _map_correlatable(schema: Mapping[str, Any]) -> bool:
    return schema.get("x-kubernetes-map-type") in (None, "granular", "atomic")


def _standard(schema: Mapping[str, Any], path: FieldPath, walk: _Walk) -> FieldErrors:
    """specStandardValidatorV3.validate."""
    errors: FieldErrors = []
    kind = schema.get("type")
    if walk.options.require_valid_property_type and kind and kind not in OPENAPI_V3_TYPES:
        errors.append(FieldError.not_supported(path.child("type"), kind, OPENAPI_V3_TYPES))
    if "default" in schema and schema["default"] is not None and not walk.options.allow_defaults:
        detail = "must not be set"
        if walk.options.disallow_defaults_reason:
            detail += " " + walk.options.disallow_defaults_reason
        errors.append(FieldError.forbidden(path.child("default"), detail))
    for key, message in _FORBIDDEN_FEATURES:
        value = schema.get(key)
        present = value is not None if key in ("additionalItems", "dependencies", "$ref") else bool(value)
        if present:
            errors.append(FieldError.forbidden(path.child(key), message))
    if kind == "null":
        errors.append(FieldError.forbidden(path.child("type"), "type cannot be set to null, use nullable as an "
                                                               "alternative"))
    if isinstance(schema.get("items"), list) and schema["items"]:
        errors.append(FieldError.forbidden(path.child("items"), "items must be a schema object and not an array"))
    if walk.inside_resource_meta and schema.get("x-kubernetes-embedded-resource") is True:
        errors.append(FieldError.forbidden(path.child("x-kubernetes-embedded-resource"),
                                           "must not be used inside of resource meta"))
    return errors


def _type_requirement(schema: Mapping[str, Any], path: FieldPath, wanted: str, message: str) -> FieldErrors:
    kind = text(schema.get("type"))
    if kind == wanted:
        return []
    return [FieldError.invalid(path.child("type"), kind, message) if kind else FieldError.required(path.child("type"),
                                                                                                     message)]


def _extension_errors(schema: Mapping[str, Any], path: FieldPath, options: SchemaOptions) -> FieldErrors:
    errors: FieldErrors = []
    if schema.get("x-kubernetes-preserve-unknown-fields") is False:
        errors.append(FieldError.invalid(path.child("x-kubernetes-preserve-unknown-fields"), False,
                                         "must be true or undefined"))
    map_type = schema.get("x-kubernetes-map-type")
    if map_type is not None:
        errors += _type_requirement(schema, path, "object", "must be object if x-kubernetes-map-type is specified")
        if map_type not in ("atomic", "granular"):
            errors.append(FieldError.not_supported(path.child("x-kubernetes-map-type"), map_type,
                                                   ("atomic", "granular")))
    list_type = schema.get("x-kubernetes-list-type")
    if list_type is not None and schema.get("type") != "array":
        errors += _type_requirement(schema, path, "array", "must be array if x-kubernetes-list-type is specified")
    elif options.require_atomic_set_type and list_type == "set" and (items := items_schema(schema)) is not None:
        errors += _set_item_errors(items, path)
    if list_type is not None and list_type not in ("atomic", "set", "map"):
        errors.append(FieldError.not_supported(path.child("x-kubernetes-list-type"), list_type,
                                               ("atomic", "set", "map")))
    if sequence(schema.get("x-kubernetes-list-map-keys")):
        message = "must be map if x-kubernetes-list-map-keys is non-empty"
        if list_type is None:
            errors.append(FieldError.required(path.child("x-kubernetes-list-type"), message))
        elif list_type != "map":
            errors.append(FieldError.invalid(path.child("x-kubernetes-list-type"), list_type, message))
    if list_type == "map":
        errors += _map_list_errors(schema, path)
    if options.require_map_list_keys_map_set_validation:
        errors += map_list_keys_map_set_errors(schema, path)
    return errors


def _set_item_errors(items: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    message = "must be atomic as item of a list with x-kubernetes-list-type=set"
    item_list_type = items.get("x-kubernetes-list-type")
    if items.get("type") == "array" and item_list_type is not None and item_list_type != "atomic":
        return [FieldError.invalid(path.child("items", "x-kubernetes-list-type"), item_list_type, message)]
    if items.get("type") == "object" and items.get("x-kubernetes-map-type") != "atomic":
        # Upstream reports the items' list type here (nil for an object).
        return [FieldError.invalid(path.child("items", "x-kubernetes-map-type"), item_list_type, message)]
    return []


def _map_list_errors(schema: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    errors: FieldErrors = []
    keys = sequence(schema.get("x-kubernetes-list-map-keys"))
    if not keys:
        errors.append(FieldError.required(path.child("x-kubernetes-list-map-keys"),
                                          "must not be empty if x-kubernetes-list-type is map"))
    items = schema.get("items")
    if items is None:
        errors.append(FieldError.required(path.child("items"), "must have a schema if x-kubernetes-list-type is map"))
        return errors
    if not isinstance(items, dict):
        errors.append(FieldError.invalid(path.child("items"), items,
                                         "must only have a single schema if x-kubernetes-list-type is map"))
        return errors
    if items.get("type") != "object":
        errors.append(FieldError.invalid(path.child("items", "type"), text(items.get("type")),
                                         "must be object if parent array's x-kubernetes-list-type is map"))
        return errors
    seen: set[str] = set()
    properties = properties_of(items)
    for key in keys:
        if key in properties:
            if properties[key].get("type") in ("array", "object"):
                errors.append(FieldError.invalid(path.child("items", "properties").key(key).child("type"), "object",
                                                 "must be a scalar type if parent array's x-kubernetes-list-type "
                                                 "is map"))
        else:
            errors.append(FieldError.invalid(path.child("x-kubernetes-list-map-keys"), keys,
                                             "entries must all be names of item properties"))
        if key in seen:
            errors.append(FieldError.invalid(path.child("x-kubernetes-list-map-keys"), keys,
                                             "must not contain duplicate entries"))
        seen.add(key)
    return errors


def map_list_keys_map_set_errors(schema: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    """validateMapListKeysMapSet: set and map list items are not nullable; map keys are required or defaulted."""
    items, list_type = items_schema(schema), schema.get("x-kubernetes-list-type")
    if items is None or list_type not in ("set", "map"):
        return []
    errors: FieldErrors = []
    if items.get("nullable") is True:
        errors.append(FieldError.forbidden(path.child("items", "nullable"),
                                           f"cannot be nullable when x-kubernetes-list-type is {list_type}"))
    if list_type != "map":
        return errors
    required = set(sequence(items.get("required")))
    properties = properties_of(items)
    for key in sequence(schema.get("x-kubernetes-list-map-keys")):
        if key not in properties:
            continue
        key_path = path.child("items", "properties").key(key)
        if key not in required and properties[key].get("default") is None:
            errors.append(FieldError.required(key_path.child("default"), "this property is in x-kubernetes-list-map-"
                                              "keys, so it must have a default or be a required property"))
        if properties[key].get("nullable") is True:
            errors.append(FieldError.forbidden(key_path.child("nullable"), "this property is in x-kubernetes-list-"
                                               "map-keys, so it cannot be nullable"))
    return errors


def _rule_static_errors(schema: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    errors: FieldErrors = []
    for index, rule in enumerate(sequence(schema.get("x-kubernetes-validations"))):
        rule = mapping(rule)
        errors += _one_rule_errors(schema, rule, path.child("x-kubernetes-validations").index(index))
    return errors


def _one_rule_errors(schema: Mapping[str, Any], rule: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    errors: FieldErrors = []
    expression, message = text(rule.get("rule")), text(rule.get("message"))
    trimmed_rule, trimmed_message = expression.strip(), message.strip()
    if not trimmed_rule:
        errors.append(FieldError.required(path.child("rule"), "rule is not specified"))
    elif message and not trimmed_message:
        errors.append(FieldError.invalid(path.child("message"), message, "must be non-empty if specified"))
    elif _NEWLINES.search(trimmed_message):
        errors.append(FieldError.invalid(path.child("message"), message, "must not contain line breaks"))
    elif _NEWLINES.search(trimmed_rule) and not trimmed_message:
        errors.append(FieldError.required(path.child("message"), "message must be specified if rule contains line "
                                                                 "breaks"))
    message_expression = text(rule.get("messageExpression"))
    if message_expression and not message_expression.strip():
        errors.append(FieldError.required(path.child("messageExpression"),
                                          "messageExpression must be non-empty if specified"))
    reason = rule.get("reason")
    if reason is not None and reason not in RULE_REASONS:
        errors.append(FieldError.not_supported(path.child("reason"), reason, RULE_REASONS))
    field_path = text(rule.get("fieldPath"))
    if field_path and not field_path.strip():
        errors.append(FieldError.invalid(path.child("fieldPath"), field_path, "must be non-empty if specified"))
    if _NEWLINES.search(field_path):
        errors.append(FieldError.invalid(path.child("fieldPath"), field_path, "must not contain line breaks"))
    if field_path and structural_schema_walk_path(schema, field_path) is not None:
        errors.append(FieldError.invalid(path.child("fieldPath"), field_path, "must be a valid path"))
    return errors


__all__ = ["SchemaOptions", "map_list_keys_map_set_errors", "uses_old_self", "validate_openapi_schema"]
