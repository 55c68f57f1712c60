"""What a decode and re-encode through the Go types does to an accepted object, applied to plain dicts.

kube-apiserver never stores a field its types do not have (unknown fields vanish in the decode, whatever the
`fieldValidation` directive said), writes quantities back in canonical form (`cpu: 1000m` is stored and
returned as `1`), and fills in the defaults its published schema declares (custom resources; the built-in
v1.32 definitions declare none, their defaults are Go code). Each function mutates the object in place and is
idempotent; none looks inside raw JSON (RawExtension, FieldsV1, JSON) or inside values of the wrong type,
which the decode check rejects before these run.
"""
from __future__ import annotations

import copy
from typing import Any

from apiserver.meta.quantity import QuantityError, canonical_quantity
from apiserver.registry.schema import NO_DEFAULT, Schema, Shape
from apiserver.registry.schema_decode import strict_path


def find_unknown_fields(obj: Any, schema: Schema) -> list[str]:
    """Paths of fields the schema does not know, as strict decoding names them (`spec.containers[0].bogus`).

    Values of unknown fields are not searched: their own fields are not reported.
    """
    found: list[str] = []
    _unknown(obj, schema, [], found, remove=False)
    return found


def prune_unknown_fields(obj: Any, schema: Schema) -> list[str]:
    """Remove every field the schema does not know (in place); returns the removed paths."""
    found: list[str] = []
    _unknown(obj, schema, [], found, remove=True)
    return found


def _unknown(value: Any, schema: Schema, path: list[str | int], found: list[str], *, remove: bool) -> None:
    shape = schema.shape
    if shape is Shape.STRUCT and isinstance(value, dict):
        for key in list(value):
            child = schema.field(key)
            if child is None and not schema.preserve_unknown_fields:
                found.append(strict_path(path, key))
                if remove:
                    del value[key]
            elif child is not None:
                _unknown(value[key], child, [*path, key], found, remove=remove)
    elif shape is Shape.MAP and isinstance(value, dict) and (values := schema.values()) is not None:
        for key, item in value.items():
            _unknown(item, values, [*path, key], found, remove=remove)
    elif shape is Shape.LIST and isinstance(value, list) and (items := schema.items()) is not None:
        for index, item in enumerate(value):
            _unknown(item, items, [*path, index], found, remove=remove)


def canonicalize_quantities(obj: Any, schema: Schema) -> None:
    """Rewrite every quantity (string or number) as upstream's canonical string; unparsable ones are left."""
    _walk_quantities(obj, schema)


def _walk_quantities(value: Any, schema: Schema) -> Any:
    """The canonical replacement for a quantity value; containers are rewritten in place and returned."""
    shape = schema.shape
    if shape is Shape.QUANTITY and isinstance(value, str | int | float) and not isinstance(value, bool):
        try:
            return canonical_quantity(value.strip() if isinstance(value, str) else _number_text(value))
        except QuantityError:
            return value
    for key, item, child in _children(value, schema):
        replaced = _walk_quantities(item, child)
        if replaced is not item:
            value[key] = replaced
    return value


def _number_text(value: int | float) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def apply_schema_defaults(obj: Any, schema: Schema) -> None:
    """Set every absent field whose schema publishes a `default` (also a null one that is not nullable).

    Defaults are applied top-down, and a default value is itself defaulted, as upstream's structural
    defaulting does; applying twice changes nothing.
    """
    if schema.shape is Shape.STRUCT and isinstance(obj, dict):
        for name, child in schema.properties.items():
            if child.default is not NO_DEFAULT and (name not in obj or (obj[name] is None and not child.nullable)):
                obj[name] = copy.deepcopy(child.default)
    for _, item, child in _children(obj, schema):
        apply_schema_defaults(item, child)


def _children(value: Any, schema: Schema) -> list[tuple[Any, Any, Schema]]:
    """(key or index, item, item schema) for the values of a struct, map or list that has a schema."""
    shape = schema.shape
    if shape is Shape.STRUCT and isinstance(value, dict):
        return [(key, item, child) for key, item in value.items() if (child := schema.field(key)) is not None]
    if shape is Shape.MAP and isinstance(value, dict) and (values := schema.values()) is not None:
        return [(key, item, values) for key, item in value.items()]
    if shape is Shape.LIST and isinstance(value, list) and (items := schema.items()) is not None:
        return [(index, item, items) for index, item in enumerate(value)]
    return []
