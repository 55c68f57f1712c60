"""The CEL type of a structural OpenAPI v3 schema, as apiserver/pkg/cel/common's SchemaDeclType builds it.

Objects with properties become object types (unknown fields are compile errors); `additionalProperties` maps;
arrays lists; `x-kubernetes-int-or-string` and schema-less `x-kubernetes-preserve-unknown-fields` dyn; strings
with format date-time, duration or byte timestamps, durations and bytes. Size bounds (maxItems, maxLength,
maxProperties, or what fits in the largest request) feed the cost estimate.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from apiserver.cel.escaping import escape
from apiserver.cel.schemasizes import DATE_SIZE, MAX_STRING_SIZE, MAX_TIME_SIZE, list_size, map_size, string_size
from apiserver.cel.types import (
    BOOL,
    BYTES,
    DOUBLE,
    DURATION,
    DYN,
    INT,
    STRING,
    TIMESTAMP,
    CelType,
    ObjectType,
    map_of,
    sized,
)

_STRING_FORMATS: Final = {"date-time": sized(TIMESTAMP, MAX_TIME_SIZE), "date": sized(TIMESTAMP, DATE_SIZE),
                           "duration": sized(DURATION, MAX_TIME_SIZE)}
# Numbers and booleans of a schema are leaves: nothing to traverse (size 0) in the estimate.
_LEAVES: Final = {"integer": sized(INT, 0), "number": sized(DOUBLE, 0), "boolean": sized(BOOL, 0)}
_TYPE_META: Final = {"apiVersion": {"type": "string"}, "kind": {"type": "string"},
                     "metadata": {"type": "object", "properties": {"name": {"type": "string"},
                                                                   "generateName": {"type": "string"}}}}


def schema_type(schema: Mapping[str, Any], name: str = "object", *, is_resource_root: bool = False) -> CelType:
    """The CEL type of values validated by this structural schema (dyn when it has no CEL type).

    `is_resource_root` adds `apiVersion`, `kind` and `metadata.name`/`metadata.generateName`, as for embedded
    resources: pass it for the root schema of a custom resource.
    """
    found = _declared_type(schema, name, is_resource_root)
    return found if found is not None else DYN


def _declared_type(schema: Mapping[str, Any], name: str, is_resource_root: bool = False) -> CelType | None:
    """Upstream's SchemaDeclType: None for schemas CEL cannot see (no type), which hides the property."""
    if schema.get("x-kubernetes-int-or-string"):
        return sized(DYN, MAX_STRING_SIZE)
    kind = schema.get("type")
    if kind == "object":
        return _object_type(schema, name, is_resource_root or bool(schema.get("x-kubernetes-embedded-resource")))
    if kind == "array":
        items = schema.get("items")
        element = _declared_type(items, f"{name}.@idx", bool(items.get("x-kubernetes-embedded-resource"))) \
            if isinstance(items, Mapping) else None
        if element is None:
            return None
        return CelType("list", (element,), _list_semantics(schema), list_size(schema))
    if kind == "string":
        if schema.get("format") in _STRING_FORMATS:
            return _STRING_FORMATS[schema["format"]]
        return sized(BYTES if schema.get("format") == "byte" else STRING, string_size(schema))
    return _LEAVES.get(str(kind))


def _object_type(schema: Mapping[str, Any], name: str, with_type_meta: bool) -> CelType | None:
    additional = schema.get("additionalProperties")
    if isinstance(additional, Mapping) and not schema.get("properties"):
        value = _declared_type(additional, f"{name}.@elem", bool(additional.get("x-kubernetes-embedded-resource")))
        if value is None:
            return None
        return map_of(STRING, value, map_size(schema))
    properties = dict(schema.get("properties") or {})
    if with_type_meta:
        for property_name, property_schema in _TYPE_META.items():
            properties.setdefault(property_name, property_schema)
    fields: dict[str, CelType] = {}
    property_names: dict[str, str] = {}
    for property_name, property_schema in properties.items():
        escaped = escape(property_name)
        field_type = _declared_type(property_schema, f"{name}.{property_name}",
                                    bool(property_schema.get("x-kubernetes-embedded-resource")))
        if escaped is None or field_type is None:
            continue
        fields[escaped] = field_type
        property_names[escaped] = property_name
    return ObjectType("object", name=name, fields=fields, property_names=property_names)


def _list_semantics(schema: Mapping[str, Any]) -> str:
    """How equality and `+` treat the list: `set`, `map:<keys>` or `atomic` (marks a list of a schema)."""
    list_type = schema.get("x-kubernetes-list-type")
    if list_type == "set":
        return "set"
    keys = schema.get("x-kubernetes-list-map-keys")
    if list_type == "map" and keys:
        return "map:" + ",".join(keys)
    return "atomic"

