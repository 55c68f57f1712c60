"""Schema-aware operations on object values for server-side apply (structured-merge-diff's typed package):
merging an applied configuration into a live object, comparing two objects into added/modified/removed field
sets, and removing the items of a field set from an object.

The rules are upstream's: values of an applied configuration win over live ones; granular maps and structs
merge key by key; lists of type map merge item by item by key and sets by value, shared items taking the
order of the configuration and live-only items keeping their places; atomic lists and maps, and containers
that are empty on both sides, are replaced whole. A comparison counts a leaf added, removed or modified, and a
container added or removed along with its fields. Inputs are never mutated.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Final

from apiserver.registry.fieldpaths import FIELD, KEY, Path, PathElement, field_element
from apiserver.registry.fieldsets import EMPTY, FieldSet, FieldSetBuilder, build_set
from apiserver.registry.fieldtypes import (
    ATOMIC,
    child_of,
    effective,
    element_path,
    items_of,
    list_type,
    map_is_atomic,
    node_kind,
)

MISSING: Final[Any] = type("Missing", (), {"__repr__": lambda self: "MISSING"})()
"""An absent value (as opposed to JSON null)."""
_DUPLICATE: Final[Any] = object()


def json_equal(left: Any, right: Any) -> bool:
    """value.Equals: numbers compare numerically (1 == 1.0), booleans never equal numbers, maps ignore order."""
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    if isinstance(left, int | float) and isinstance(right, int | float):
        return left == right
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(json_equal(left[key], right[key]) for key in left)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(json_equal(a, b) for a, b in zip(left, right, strict=True))
    return type(left) is type(right) and left == right


def _category(value: Any) -> str:
    if isinstance(value, dict):
        return "map"
    if isinstance(value, list):
        return "list"
    return "null" if value is None else "scalar"


def _is_granular_map(schema: Any) -> bool:
    return node_kind(schema) in ("map", "any") and not map_is_atomic(schema)


def _is_granular_list(schema: Any) -> bool:
    return node_kind(schema) == "list" and list_type(schema)[0] != ATOMIC


# --- merge ---------------------------------------------------------------------------------------------------


def merge(live: Any, config: Any, schema: Any) -> Any:
    """The applied configuration merged into the live value (Merge with "keep the configuration's value")."""
    return _merge(live, config, effective(schema), ())


def _merge(live: Any, config: Any, schema: Any, path: Path) -> Any:
    if config is MISSING:
        return copy.deepcopy(live)
    if live is MISSING or live is None:
        return copy.deepcopy(config)
    if config is None:
        return _merge_null(live, schema)
    if isinstance(live, dict) and isinstance(config, dict):
        if map_is_atomic(schema) or not _is_granular_map(schema) or not (live or config):
            return copy.deepcopy(config)
        return _merge_map(live, config, schema, path)
    if isinstance(live, list) and isinstance(config, list):
        if not _is_granular_list(schema) or not (live or config):
            return copy.deepcopy(config)
        return _merge_list(live, config, schema, path)
    return copy.deepcopy(config)


def _merge_null(live: Any, schema: Any) -> Any:
    """A null in the configuration replaces leaves, but leaves granular containers with items as they are."""
    if isinstance(live, dict) and live and _is_granular_map(schema):
        return copy.deepcopy(live)
    if isinstance(live, list) and live and _is_granular_list(schema):
        return copy.deepcopy(live)
    return None


def _merge_map(live: dict[str, Any], config: dict[str, Any], schema: Any, path: Path) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for key, value in live.items():
        child = effective(child_of(schema, key)[0])
        merged[key] = _merge(value, config.get(key, MISSING), child, (*path, field_element(key)))
    for key, value in config.items():
        if key not in live:
            merged[key] = copy.deepcopy(value)
    return merged


def _index(schema: Any, items: list[Any], path: Path, *, allow_duplicates: bool) -> tuple[
        list[PathElement], dict[PathElement, Any]]:
    """The element of each item, in order, and the item of each element (_DUPLICATE when it repeats)."""
    order: list[PathElement] = []
    observed: dict[PathElement, Any] = {}
    for index, item in enumerate(items):
        element = element_path(schema, index, item, path)
        if element in observed and not allow_duplicates:
            continue
        observed[element] = _DUPLICATE if element in observed else item
        order.append(element)
    return order, observed


def _merge_list(live: list[Any], config: list[Any], schema: Any, path: Path) -> list[Any]:
    """The list merge of typed/merge.go: shared items in the configuration's order, live-only items in place."""
    element_schema = items_of(schema)
    config_order, config_items = _index(schema, config, path, allow_duplicates=False)
    live_order, live_items = _index(schema, live, path, allow_duplicates=True)
    shared = iter([element for element in config_order if element in live_items])
    next_shared = next(shared, None)
    merged_config: set[PathElement] = set()
    out: list[Any] = []

    def merge_item(live_item: Any, element: PathElement) -> None:
        config_item = config_items.get(element, MISSING)
        live_value = MISSING if live_item is _DUPLICATE else live_item
        out.append(_merge(live_value, config_item, element_schema, (*path, element)))

    live_index = config_index = 0
    while live_index < len(live_order) or config_index < len(config_order):
        if live_index < len(live_order) and config_index < len(config_order):
            element = live_order[live_index]
            if element == config_order[config_index]:
                merged_config.add(element)
                merge_item(live_items[element], element)
                live_index += 1
                config_index += 1
                next_shared = next(shared, None)
                continue
            if element in config_items and next_shared is not None and next_shared != element:
                live_index += 1
                continue
        if live_index < len(live_order):
            element = live_order[live_index]
            if element not in config_items:
                out.append(copy.deepcopy(live[live_index]))
                live_index += 1
                continue
            if element in merged_config:
                live_index += 1
                continue
        if config_index < len(config_order):
            element = config_order[config_index]
            merged_config.add(element)
            merge_item(live_items.get(element, MISSING), element)
            config_index += 1
            if next_shared == element:
                next_shared = next(shared, None)
    return out


# --- compare -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Comparison:
    """The fields of `new` that `old` lacked, the leaves whose values differ, and the fields `new` lacks."""

    added: FieldSet = EMPTY
    modified: FieldSet = EMPTY
    removed: FieldSet = EMPTY

    def excluding(self, ignored: FieldSet | None) -> Comparison:
        """ExcludeFields: drop the ignored fields (and everything below them) from all three sets."""
        if ignored is None or not ignored:
            return self
        return Comparison(self.added.recursive_difference(ignored), self.modified.recursive_difference(ignored),
                          self.removed.recursive_difference(ignored))


class _Comparer:
    def __init__(self) -> None:
        self.added = FieldSetBuilder()
        self.modified = FieldSetBuilder()
        self.removed = FieldSetBuilder()

    def leaf(self, old: Any, new: Any, path: Path) -> None:
        if old is MISSING:
            self.added.insert(path)
        elif new is MISSING:
            self.removed.insert(path)
        elif not json_equal(old, new):
            self.modified.insert(path)

    def walk(self, old: Any, new: Any, schema: Any, path: Path) -> None:
        # A null takes the shape of the other side; values of different shapes compare as one leaf.
        shapes = {_category(value) for value in (old, new) if value is not MISSING} - {"null"}
        if len(shapes) > 1:
            self.leaf(old, new, path)
            return
        shape = shapes.pop() if shapes else "null"
        if shape == "map" and _is_granular_map(schema) and (_size(old) or _size(new)):
            self._walk_map(old, new, schema, path)
        elif shape == "list" and _is_granular_list(schema) and (_size(old) or _size(new)):
            self._walk_list(old, new, schema, path)
        else:
            self.leaf(old, new, path)
            return
        if old is MISSING:
            self.added.insert(path)
        elif new is MISSING:
            self.removed.insert(path)

    def walk_added(self, new: Any, schema: Any, path: Path) -> None:
        """`walk(MISSING, new, ...)` without the comparisons: everything in `new`, containers included, is added."""
        category = _category(new)
        if category == "map" and new and _is_granular_map(schema):
            for key, item in new.items():
                self.walk_added(item, effective(child_of(schema, key)[0]), (*path, field_element(key)))
        elif category == "list" and new and _is_granular_list(schema):
            element_schema = items_of(schema)
            for element, item in _index(schema, new, path, allow_duplicates=False)[1].items():
                self.walk_added(item, element_schema, (*path, element))
        self.added.insert(path)

    def _walk_map(self, old: Any, new: Any, schema: Any, path: Path) -> None:
        old_map = old if isinstance(old, dict) else {}
        new_map = new if isinstance(new, dict) else {}
        for key in {**old_map, **new_map}:
            child = effective(child_of(schema, key)[0])
            self.walk(old_map.get(key, MISSING), new_map.get(key, MISSING), child, (*path, field_element(key)))

    def _walk_list(self, old: Any, new: Any, schema: Any, path: Path) -> None:
        element_schema = items_of(schema)
        _, old_items = _index(schema, old if isinstance(old, list) else [], path, allow_duplicates=False)
        _, new_items = _index(schema, new if isinstance(new, list) else [], path, allow_duplicates=False)
        for element in {**old_items, **new_items}:
            self.walk(old_items.get(element, MISSING), new_items.get(element, MISSING), element_schema,
                      (*path, element))


def _size(value: Any) -> int:
    return len(value) if isinstance(value, dict | list) else 0


def compare(old: Any, new: Any, schema: Any) -> Comparison:
    """TypedValue.Compare(old, new). Raises TypedError for list items that cannot be named."""
    comparer = _Comparer()
    root = effective(schema)
    if old is None and isinstance(new, dict) and new and _is_granular_map(root):
        # A create: nothing to compare, every field of `new` is added (the root itself is never a member).
        for key, item in new.items():
            comparer.walk_added(item, effective(child_of(root, key)[0]), (field_element(key),))
    else:
        comparer.walk(old, new, root, ())
    return Comparison(comparer.added.build(), comparer.modified.build(), comparer.removed.build())


# --- remove --------------------------------------------------------------------------------------------------


def remove_items(value: Any, to_remove: FieldSet, schema: Any) -> Any:
    """RemoveItems: `value` without the members of `to_remove` (map entries, list items, fields).

    A container left with nothing is dropped from its parent (upstream leaves a null, which the typed
    round trip drops); the result for a whole object left empty is `{}`.
    """
    result = _remove(value, to_remove, effective(schema))
    return {} if result is MISSING else result


def _remove(value: Any, to_remove: FieldSet, schema: Any) -> Any:
    if isinstance(value, dict):
        if not value or map_is_atomic(schema):
            return MISSING
        kept: dict[str, Any] = {}
        for key, item in value.items():
            element = field_element(key)
            if element in to_remove.members:
                continue
            below = to_remove.child(element)
            if below:
                item = _remove(item, below, effective(child_of(schema, key)[0]))
                if item is MISSING:
                    continue
            kept[key] = item
        return kept if kept else MISSING
    if isinstance(value, list):
        if not value or not _is_granular_list(schema):
            return MISSING
        kept_items: list[Any] = []
        for index, item in enumerate(value):
            element = element_path(schema, index, item, ())
            if element in to_remove.members:
                continue
            below = to_remove.child(element)
            if below:
                item = _remove(item, below, items_of(schema))
                if item is MISSING:
                    item = {}
            kept_items.append(item)
        return kept_items if kept_items else MISSING
    return value


# --- named fields --------------------------------------------------------------------------------------------


def ensure_named_fields_are_members(fields: FieldSet, schema: Any) -> FieldSet:
    """EnsureNamedFieldsAreMembers: a declared struct field with owned fields below it is owned itself too."""
    return _ensure(fields, effective(schema))


def _ensure(fields: FieldSet, schema: Any) -> FieldSet:
    if not fields.children:
        return fields
    members = set(fields.members)
    children: dict[PathElement, FieldSet] = {}
    for element, child in fields.children.items():
        child_schema = None
        if element.kind == FIELD and schema is not None:
            child_schema, declared = child_of(schema, element.name)
            if declared:
                members.add(element)
        elif element.kind == KEY and schema is not None:
            child_schema = items_of(schema)
        children[element] = _ensure(child, effective(child_schema))
    return build_set(frozenset(members), children)


# --- nulls ---------------------------------------------------------------------------------------------------


def drop_new_nulls(value: Any, live: Any) -> Any:
    """`value` without the null map entries the live value did not have: the typed round trip upstream makes
    after a merge drops them (an applied `replicas: null` unsets the field). Nulls already stored stay, except
    inside list items, which are not matched with their live counterparts."""
    if isinstance(value, list):
        return [drop_new_nulls(item, MISSING) for item in value]
    if not isinstance(value, dict):
        return value
    live_map = live if isinstance(live, dict) else {}
    cleaned: dict[str, Any] = {}
    for key, item in value.items():
        previous = live_map.get(key, MISSING)
        if item is None and previous is not None:
            continue
        cleaned[key] = drop_new_nulls(item, previous)
    return cleaned
