"""How server-side apply reads a type schema: map and list relationships, list item names, typed-value errors.

The schema is duck-typed (`apiserver.meta.patch_meta.PatchSchema`, plus `values()` or a `values` attribute for
maps and optional `properties`, `shape`, `default`, `definition`), so the registry's type schemas and small test
fakes both work. Upstream converts the OpenAPI definitions into structured-merge-diff types
(kube-openapi's schemaconv); the same decisions are taken here, node by node:

- a list is `atomic` unless `x-kubernetes-list-type` says `set` or `map` (keyed by `x-kubernetes-list-map-keys`),
  or, without a list type, its patch strategy includes `merge` (keyed by the patch merge key, else a set);
- a map or struct is granular unless `x-kubernetes-map-type: atomic`; raw JSON (RawExtension, FieldsV1, JSON)
  is one atomic value;
- no schema at all (`None`) is upstream's "deduced" type: maps are granular, every key is a member, lists are
  atomic.

`TypedError` carries upstream's ValidationErrors text (`.spec.x: field not declared in schema`).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from apiserver.meta.errors import go_quote
from apiserver.registry.fieldpaths import (
    Path,
    PathElement,
    field_element,
    index_element,
    key_element,
    path_string,
    value_element,
)
from apiserver.registry.schema import NO_DEFAULT

ATOMIC: Final = "atomic"
SET: Final = "set"
MAP: Final = "map"
# Key fields whose `+default` upstream's in-process schema carries but the published definitions do not.
_KEY_DEFAULTS: Final = {
    ("io.k8s.api.core.v1.ContainerPort", "protocol"): "TCP",
    ("io.k8s.api.core.v1.ServicePort", "protocol"): "TCP",
    ("io.k8s.api.core.v1.LocalObjectReference", "name"): "",
}


class TypedError(Exception):
    """Values that do not fit their schema; `str()` is upstream's ValidationErrors text."""

    def __init__(self, errors: Sequence[str]) -> None:
        self.errors = tuple(errors)
        if len(self.errors) == 1:
            super().__init__(self.errors[0])
        else:
            super().__init__("\n".join(["errors:", *(f"  {error}" for error in self.errors)]))


def _located(path: Path, message: str) -> str:
    return f"{path_string(path)}: {message}"


def map_values(schema: Any) -> Any:
    """The value schema of a map node (`additionalProperties`), None for anything else."""
    values = getattr(schema, "values", None)
    return values() if callable(values) else values


def child_of(schema: Any, name: str) -> tuple[Any, bool]:
    """The schema of member `name` of a map/struct node and whether it is a declared struct field.

    Map entries get the map's value schema (declared False). An undeclared field of a struct gets None.
    """
    if schema is None:
        return None, False
    values = map_values(schema)
    node = schema.field(name)
    if values is not None and (node is None or node is values):
        return values, False
    return node, node is not None


def is_struct(schema: Any) -> bool:
    """A node with declared fields (upstream's struct: unknown fields are an error unless preserved)."""
    return bool(getattr(schema, "properties", None)) and map_values(schema) is None


def _shape(schema: Any) -> str:
    shape = getattr(schema, "shape", None)
    return str(getattr(shape, "value", "")) if shape is not None else ""


def is_raw(schema: Any) -> bool:
    """Raw JSON (RawExtension, FieldsV1, JSON, untyped): one atomic value whatever it holds."""
    return schema is not None and _shape(schema) == "raw" and not getattr(schema, "preserve_unknown_fields", False)


def effective(schema: Any) -> Any:
    """The node as walked: preserve-unknown-fields raw nodes become the deduced type (None)."""
    if schema is not None and _shape(schema) == "raw" and getattr(schema, "preserve_unknown_fields", False):
        return None
    return schema


def map_is_atomic(schema: Any) -> bool:
    return schema is not None and (getattr(schema, "map_type", None) == ATOMIC or is_raw(schema))


def list_type(schema: Any) -> tuple[str, tuple[str, ...]]:
    """(ATOMIC | SET | MAP, key fields) of a list node."""
    if schema is None or is_raw(schema):
        return ATOMIC, ()
    declared = getattr(schema, "list_type", None) or ""
    if declared == MAP:
        return MAP, tuple(getattr(schema, "list_map_keys", ()) or ())
    if declared in (SET, ATOMIC):
        return declared, ()
    strategies = (getattr(schema, "patch_strategy", None) or "").split(",")
    if "merge" in strategies:
        merge_key = getattr(schema, "patch_merge_key", None) or ""
        return (MAP, (merge_key,)) if merge_key else (SET, ())
    return ATOMIC, ()


def items_of(schema: Any) -> Any:
    return effective(schema.items()) if schema is not None and not is_raw(schema) else None


def node_kind(schema: Any) -> str:
    """What a schema node holds: "map", "list", "scalar", or "any" (no schema, raw)."""
    if schema is None or is_raw(schema):
        return "any"
    if schema.items() is not None or _shape(schema) == "list":
        return "list"
    if map_values(schema) is not None or getattr(schema, "properties", None) or _shape(schema) in ("struct", "map"):
        return "map"
    return "scalar"


def item_element(schema: Any, item: Any) -> PathElement:
    """listItemToPathElement for a non-atomic list: the key or value element of `item`. Raises TypedError
    with the message only (the caller adds `element N:` and the path)."""
    relationship, keys = list_type(schema)
    if relationship == MAP:
        return _keyed_element(schema, keys, item)
    if isinstance(item, dict):
        raise TypedError(["associative list without keys has an element that's a map type"])
    if isinstance(item, list):
        raise TypedError(["associative list without keys has an element that's a list type"])
    if item is None:
        raise TypedError(["associative list without keys has an element that's an explicit null"])
    return value_element(item)


def _keyed_element(schema: Any, keys: tuple[str, ...], item: Any) -> PathElement:
    if not isinstance(item, dict):
        raise TypedError(["associative list with keys may not have non-map elements"])
    fields: dict[str, Any] = {}
    for key in keys:
        if key in item:
            fields[key] = item[key]
            continue
        default = _key_default(schema, key)
        if default is NO_DEFAULT:
            raise TypedError([
                f"associative list with keys has an element that omits key field {go_quote(key)} "
                "(and doesn't have default value)"
            ])
        fields[key] = default
    return key_element(fields)


def _key_default(schema: Any, key: str) -> Any:
    element = schema.items() if schema is not None else None
    node = element.field(key) if element is not None else None
    default = getattr(node, "default", NO_DEFAULT) if node is not None else NO_DEFAULT
    if default is not NO_DEFAULT and default is not None:
        return default
    return _KEY_DEFAULTS.get((getattr(element, "definition", ""), key), NO_DEFAULT)


def element_path(schema: Any, index: int, item: Any, path: Path) -> PathElement:
    """item_element with upstream's error wording: `<list path>: element <i>: <message>`."""
    try:
        return item_element(schema, item)
    except TypedError as error:
        raise TypedError([_located(path, f"element {index}: {error}")]) from None


def typed_errors(value: Any, schema: Any, *, allow_duplicates: bool = False) -> list[str]:
    """Upstream's typed conversion check (ObjectToTyped) of `value`: unknown struct fields, wrong value kinds,
    list items without keys, duplicate keys. Empty when the value fits."""
    errors: list[str] = []
    _check(value, effective(schema), (), errors, allow_duplicates)
    return errors


def _check(value: Any, schema: Any, path: Path, errors: list[str], allow_duplicates: bool) -> None:
    if schema is None or is_raw(schema) or value is None:
        return
    kind = node_kind(schema)
    if kind == "map":
        _check_map(value, schema, path, errors, allow_duplicates)
    elif kind == "list":
        _check_list(value, schema, path, errors, allow_duplicates)
    else:
        _check_scalar(value, schema, path, errors)


def _check_map(value: Any, schema: Any, path: Path, errors: list[str], allow_duplicates: bool) -> None:
    if not isinstance(value, dict):
        errors.append(_located(path, f"expected map, got &{{{_go_plain(value)}}}"))
        return
    for key, item in value.items():
        child, declared = child_of(schema, key)
        if not declared and child is None and is_struct(schema) and not getattr(
            schema, "preserve_unknown_fields", False
        ):
            # Upstream stops at the first unknown field of a struct.
            errors.append(_located((*path, field_element(key)), "field not declared in schema"))
            return
        _check(item, effective(child), (*path, field_element(key)), errors, allow_duplicates)


def _check_list(value: Any, schema: Any, path: Path, errors: list[str], allow_duplicates: bool) -> None:
    if not isinstance(value, list):
        errors.append(_located(path, f"expected list, got &{{{_go_plain(value)}}}"))
        return
    relationship, _ = list_type(schema)
    element_schema = items_of(schema)
    seen: set[PathElement] = set()
    for index, item in enumerate(value):
        if relationship == ATOMIC:
            element = index_element(index)
        else:
            try:
                element = element_path(schema, index, item, path)
            except TypedError as error:
                errors.extend(error.errors)
                return
            if element in seen and not allow_duplicates:
                errors.append(_located(path, f"duplicate entries for key {element}"))
            seen.add(element)
        _check(item, element_schema, (*path, element), errors, allow_duplicates)


def _check_scalar(value: Any, schema: Any, path: Path, errors: list[str]) -> None:
    shape = _shape(schema)
    if shape in ("integer", "number") and (isinstance(value, bool) or not isinstance(value, int | float)):
        errors.append(_located(path, f"expected numeric (int or float), got {_go_type(value)}"))
    elif shape in ("string", "bytes", "time") and not isinstance(value, str):
        errors.append(_located(path, f"expected string, got &value.valueUnstructured{{Value:{_go_syntax(value)}}}"))
    elif shape == "boolean" and not isinstance(value, bool):
        errors.append(_located(path, f"expected boolean, got &{{{_go_plain(value)}}}"))


def _go_type(value: Any) -> str:
    """%T of the Go value an unstructured JSON value decodes to."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int64"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "[]interface {}"
    return "map[string]interface {}"


def _go_plain(value: Any) -> str:
    """%v of the Go value an unstructured JSON value decodes to."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "<nil>"
    if isinstance(value, list):
        return "[" + " ".join(_go_plain(item) for item in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{key}:{_go_plain(value[key])}" for key in sorted(value)) + "]"
    return str(value)


def _go_syntax(value: Any) -> str:
    """%#v of the Go value an unstructured JSON value decodes to."""
    if isinstance(value, str):
        return go_quote(value)
    if isinstance(value, list):
        return "[]interface {}{" + ", ".join(_go_syntax(item) for item in value) + "}"
    if isinstance(value, dict):
        items = ", ".join(f"{go_quote(key)}:{_go_syntax(value[key])}" for key in sorted(value))
        return "map[string]interface {}{" + items + "}"
    return _go_plain(value)
