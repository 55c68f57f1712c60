"""`x-kubernetes-list-type` invariants: unique items of a `set`, unique keys of a `map` (apiextensions' listtype).

A repeated value is `Duplicate value: <item>` at the index of its second appearance, once per distinct value;
for a list-type map the value shown is the item's key fields (`{"name":"a"}`). Items of a list-type map must
be objects (or null): the first other item is `Invalid value: ...: must be an object for an array of list-type
map` and stops that list's checks. Scalars compare with their JSON type (1 and 1.0 differ, as int64 and
float64 do in Go); objects, lists and multi-field keys compare by their JSON text with sorted keys.
"""
from __future__ import annotations

import json
from typing import Any

from apiserver.meta.validation import FieldError, FieldErrors, FieldPath
from apiserver.registry.schema import Schema
from apiserver.registry.structural.nodes import StructuralNode

_UNSPECIFIED = ("unspecified",)


def validate_list_types(value: Any, node: Schema | None, path: FieldPath, relevant: frozenset[int]) -> FieldErrors:
    """Set and map invariants of every list below `value`; `relevant`: ids of subtrees holding such lists."""
    if value is None or not isinstance(node, StructuralNode) or id(node) not in relevant:
        return []
    if isinstance(value, list):
        return _validate_list(value, node, path, relevant)
    errors: FieldErrors = []
    if isinstance(value, dict):
        if (values := node.additional_properties) is not None:
            for key, item in value.items():
                errors += validate_list_types(item, values, path.key(key), relevant)
        for key, item in value.items():
            if (child := node.properties.get(key)) is not None:
                errors += validate_list_types(item, child, path.child(key), relevant)
    return errors


def has_list_type(node: StructuralNode) -> bool:
    return node.list_type in ("set", "map")


def _validate_list(value: list[Any], node: StructuralNode, path: FieldPath, relevant: frozenset[int]) -> FieldErrors:
    errors: FieldErrors = []
    if node.list_type == "set":
        errors += [FieldError.duplicate(path.index(index), value[index]) for index in _repeats(value, _scalar_key)]
    elif node.list_type == "map":
        errors += _validate_map(value, node, path)
    items = node.items()
    for index, item in enumerate(value):
        errors += validate_list_types(item, items, path.index(index), relevant)
    return errors


def _validate_map(value: list[Any], node: StructuralNode, path: FieldPath) -> FieldErrors:
    for index, item in enumerate(value):
        if item is not None and not isinstance(item, dict):
            return [FieldError.invalid(path.index(index), item, "must be an object for an array of list-type map")]
    keys = node.list_map_keys
    # Each item's key fields ({} for an item without them); a repeat is reported with its key fields only.
    key_fields = [{key: item[key] for key in keys if key in item} if isinstance(item, dict) else {} for item in value]

    def key_of(fields: Any) -> Any:
        if len(keys) > 1:
            return _json_key(fields)
        return _scalar_key(fields[keys[0]]) if fields else _UNSPECIFIED

    return [FieldError.duplicate(path.index(index), key_fields[index]) for index in _repeats(key_fields, key_of)]


def _repeats(value: list[Any], key_of: Any) -> list[int]:
    """Indexes of the second appearance of every repeated key."""
    seen: dict[Any, int] = {}
    repeats: list[int] = []
    for index, item in enumerate(value):
        key = key_of(item)
        count = seen.get(key, 0)
        if count == 1:
            repeats.append(index)
        seen[key] = count + 1
    return repeats


def _scalar_key(item: Any) -> Any:
    if isinstance(item, dict | list):
        return ("json", _json_key(item))
    if item is _UNSPECIFIED:
        return item
    return (type(item).__name__, item)


def _json_key(item: Any) -> str:
    return json.dumps(item, sort_keys=True, separators=(",", ":"), default=str)
