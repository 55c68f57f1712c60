"""Field sets: which fields of an object a manager owns, and their `fieldsV1` encoding (structured-merge-diff's
`fieldpath.Set`).

A set is a tree: at each node, `members` are the elements owned there (leaves, list items, map entries) and
`children` the elements with owned fields below them. An element may be both (a container item owned as a
whole and field by field); the encoding then writes `".": {}` first in its object. The encoding is a JSON
object whose keys are element encodings in upstream's element order, each holding `{}` (a member) or the
encoding of the element's child set; a dict built by `to_fields_v1` keeps that key order, so the stored bytes
equal upstream's. Sets never hold empty children, and are never mutated once built.

`fields_of(obj, schema)` is upstream's ToFieldSet: every leaf, every item of a set or map-list (as a member as
well as through its fields), every entry of a map; atomic lists and maps are single leaves; declared struct
fields are not members themselves (only what is below them), except where their value is a leaf.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from apiserver.registry.fieldpaths import (
    Path,
    PathElement,
    PathElementError,
    UnknownPathElement,
    field_element,
    parse_path_element,
)
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

_NO_CHILDREN: Mapping[PathElement, FieldSet] = MappingProxyType({})
SELF = "."


@dataclass(frozen=True, slots=True, eq=False)
class FieldSet:
    """An immutable set of paths (see the module docstring)."""

    members: frozenset[PathElement] = frozenset()
    children: Mapping[PathElement, FieldSet] = field(default_factory=lambda: _NO_CHILDREN)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FieldSet):
            return NotImplemented
        return self.members == other.members and dict(self.children) == dict(other.children)

    def __hash__(self) -> int:
        return hash((self.members, frozenset(self.children.items())))

    def __bool__(self) -> bool:
        return bool(self.members) or bool(self.children)

    @property
    def is_empty(self) -> bool:
        return not self

    def has(self, path: Path) -> bool:
        """Whether `path` is a member (its last element owned at its parent)."""
        node = self
        for element in path[:-1]:
            child = node.children.get(element)
            if child is None:
                return False
            node = child
        return bool(path) and path[-1] in node.members

    def child(self, element: PathElement) -> FieldSet:
        """WithPrefix: the set below `element` (empty when there is none)."""
        return self.children.get(element, EMPTY)

    def paths(self, prefix: Path = ()) -> Iterator[Path]:
        """Every member path, as upstream iterates: this node's members in order, then each child in order."""
        for element in sorted(self.members):
            yield (*prefix, element)
        for element in sorted(self.children):
            yield from self.children[element].paths((*prefix, element))

    def union(self, other: FieldSet) -> FieldSet:
        if not other:
            return self
        if not self:
            return other
        children = dict(self.children)
        for element, child in other.children.items():
            mine = children.get(element)
            children[element] = child if mine is None else mine.union(child)
        return build_set(self.members | other.members, children)

    def intersection(self, other: FieldSet) -> FieldSet:
        children = {}
        for element, child in self.children.items():
            theirs = other.children.get(element)
            if theirs is not None:
                children[element] = child.intersection(theirs)
        return build_set(self.members & other.members, children)

    def difference(self, other: FieldSet) -> FieldSet:
        """Members of `other` removed at their own level only; children of this set stay unless also removed."""
        if not other or not self:
            return self
        children = {}
        for element, child in self.children.items():
            theirs = other.children.get(element)
            children[element] = child if theirs is None else child.difference(theirs)
        return build_set(self.members - other.members, children)

    def recursive_difference(self, other: FieldSet) -> FieldSet:
        """As `difference`, and everything below a member of `other` goes too."""
        if not other or not self:
            return self
        children = {}
        for element, child in self.children.items():
            if element in other.members:
                continue
            theirs = other.children.get(element)
            children[element] = child if theirs is None else child.recursive_difference(theirs)
        return build_set(self.members - other.members, children)

    def to_fields_v1(self) -> dict[str, Any]:
        """The fieldsV1 object, keys in upstream's order (see the module docstring)."""
        return self._encode(include_self=False)

    def _encode(self, *, include_self: bool) -> dict[str, Any]:
        encoded: dict[str, Any] = {}
        if include_self and self:
            encoded[SELF] = {}
        for element in sorted(self.members | self.children.keys()):
            child = self.children.get(element)
            if child is None:
                encoded[element.text] = {}
            else:
                encoded[element.text] = child._encode(include_self=element in self.members)
        return encoded

    def __repr__(self) -> str:
        from apiserver.registry.fieldpaths import path_string

        return "FieldSet(" + ", ".join(path_string(path) for path in self.paths()) + ")"


EMPTY = FieldSet()


def build_set(members: frozenset[PathElement], children: dict[PathElement, FieldSet]) -> FieldSet:
    """A set from its parts, empty children dropped."""
    kept = {element: child for element, child in children.items() if child}
    if not members and not kept:
        return EMPTY
    return FieldSet(frozenset(members), MappingProxyType(kept) if kept else _NO_CHILDREN)


class FieldSetBuilder:
    """A mutable set for walks that insert many paths; `build()` freezes it."""

    __slots__ = ("_children", "_members")

    def __init__(self) -> None:
        self._members: set[PathElement] = set()
        self._children: dict[PathElement, FieldSetBuilder] = {}

    def insert(self, path: Path) -> None:
        if not path:
            return
        node = self
        for element in path[:-1]:
            node = node.descend(element)
        node._members.add(path[-1])

    def descend(self, element: PathElement) -> FieldSetBuilder:
        child = self._children.get(element)
        if child is None:
            child = self._children[element] = FieldSetBuilder()
        return child

    def build(self) -> FieldSet:
        children = {element: child.build() for element, child in self._children.items()}
        return build_set(frozenset(self._members), children)


def from_paths(*paths: Path) -> FieldSet:
    builder = FieldSetBuilder()
    for path in paths:
        builder.insert(path)
    return builder.build()


def field_path(*names: str) -> Path:
    """A path of field names only: `field_path("spec", "replicas")` is `.spec.replicas`."""
    return tuple(field_element(name) for name in names)


class FieldsV1Error(ValueError):
    """A fieldsV1 value that does not decode (upstream's FieldsToSet errors)."""


def from_fields_v1(encoded: Any) -> FieldSet:
    """Decode a fieldsV1 object. Unknown element prefixes are dropped, as upstream drops them.

    Raises FieldsV1Error for anything else that is not a set.
    """
    if not isinstance(encoded, dict):
        raise FieldsV1Error("expected a JSON object")
    children, _ = _decode(encoded)
    return children if children is not None else EMPTY


def _decode(encoded: dict[str, Any]) -> tuple[FieldSet | None, bool]:
    """readIterV1: (the set below, whether the node itself is a member)."""
    members: set[PathElement] = set()
    children: dict[PathElement, FieldSet] = {}
    is_member = False
    for key, value in encoded.items():
        if key == SELF:
            is_member = True
            continue
        try:
            element = parse_path_element(key)
        except UnknownPathElement:
            continue
        except PathElementError as error:
            raise FieldsV1Error(f"parsing key as path element: {error}") from None
        if not isinstance(value, dict):
            raise FieldsV1Error(f"expected an object for {key}")
        grandchildren, child_is_member = _decode(value)
        if child_is_member:
            members.add(element)
        if grandchildren is not None:
            children[element] = grandchildren
    if not members and not children:
        return None, True
    return build_set(frozenset(members), children), is_member


def fields_of(obj: Any, schema: Any) -> FieldSet:
    """ToFieldSet (see the module docstring). Raises TypedError for list items that cannot be named."""
    builder = FieldSetBuilder()
    _collect(obj, effective(schema), (), builder)
    return builder.build()


def _collect(value: Any, schema: Any, path: Path, out: FieldSetBuilder) -> None:
    if isinstance(value, dict):
        _collect_map(value, schema, path, out)
    elif isinstance(value, list):
        _collect_list(value, schema, path, out)
    elif value is None:
        # A null is a leaf where the schema says scalar or atomic container; nothing for granular ones.
        kind = node_kind(schema)
        if kind == "scalar" or (kind == "list" and list_type(schema)[0] == ATOMIC) or (
            kind == "map" and map_is_atomic(schema)
        ):
            out.insert(path)
    else:
        out.insert(path)


def _collect_map(value: dict[str, Any], schema: Any, path: Path, out: FieldSetBuilder) -> None:
    if map_is_atomic(schema) or node_kind(schema) in ("list", "scalar"):
        out.insert(path)
        return
    for key, item in value.items():
        child, declared = child_of(schema, key)
        child_path = (*path, field_element(key))
        _collect(item, effective(child), child_path, out)
        if not declared:
            out.insert(child_path)


def _collect_list(value: list[Any], schema: Any, path: Path, out: FieldSetBuilder) -> None:
    if node_kind(schema) != "list" or list_type(schema)[0] == ATOMIC:
        out.insert(path)
        return
    element_schema = items_of(schema)
    for index, item in enumerate(value):
        item_path = (*path, element_path(schema, index, item, path))
        _collect(item, element_schema, item_path, out)
        out.insert(item_path)
