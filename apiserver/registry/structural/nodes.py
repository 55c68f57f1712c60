"""The `Schema` tree of a structural schema: what decoding, pruning, merge patch and server-side apply navigate.

Every node is a `StructuralNode`, a `registry.schema.Schema` that also keeps its OpenAPI source (`openapi`) and
its `x-kubernetes-validations` rules. The resource root and every `x-kubernetes-embedded-resource` object know
`apiVersion` and `kind` (strings) and `metadata`, whose node is the built-in ObjectMeta type: custom resources
carry a real ObjectMeta there, and upstream prunes it to ObjectMeta's fields.

`unstructured = True` tells the typed decode (`schema_decode`) that values of the wrong JSON type are not decode
errors: custom resources decode into unstructured JSON, and the schema validation reports them. Metadata is
the exception upstream (it round-trips through ObjectMeta): `StructuralSchema.decode_error` reports that.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any, Final

from apiserver.registry.schema import Schema, TypeSchemas, shape_of

OBJECT_META: Final = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
META_FIELDS: Final = ("apiVersion", "kind", "metadata")


class StructuralNode(Schema):
    """One node of a custom resource's schema (read-only once built)."""

    __slots__ = ("openapi", "rules")
    unstructured: Final = True

    def __init__(self, openapi: Mapping[str, Any]) -> None:
        super().__init__()
        self.openapi = openapi
        self.rules: tuple[Mapping[str, Any], ...] = tuple(openapi.get("x-kubernetes-validations") or ())

    def __repr__(self) -> str:
        return f"StructuralNode({self.type or self.shape.value!r})"


def build_tree(openapi: Mapping[str, Any]) -> StructuralNode:
    """The node tree of a version's `openAPIV3Schema`, the root treated as a resource (embedded) root."""
    return _build(openapi, is_resource=True)


def object_meta_node() -> Schema:
    """The built-in ObjectMeta node (typed decoding of metadata, as upstream's ObjectMeta round trip)."""
    node = TypeSchemas.builtin().definition(OBJECT_META)
    if node is None:
        raise RuntimeError("the built-in schemas have no ObjectMeta definition")
    return node


class UnstructuredSchema(Schema):
    """A built-in node seen inside a custom resource: navigated alike, but never a typed decode error."""

    __slots__ = ()
    unstructured: Final = True


def unstructured_object_meta() -> Schema:
    """ObjectMeta's tree for custom resources (shared, read-only, built once)."""
    with _meta_lock:
        if not _meta_tree:
            _meta_tree.append(_unstructured_copy(object_meta_node(), {}))
        return _meta_tree[0]


_meta_tree: list[Schema] = []
_meta_lock = threading.Lock()


def _unstructured_copy(node: Schema, copies: dict[int, Schema]) -> Schema:
    if id(node) in copies:
        return copies[id(node)]
    twin = UnstructuredSchema(node.definition)
    copies[id(node)] = twin
    for slot in Schema.__slots__:
        setattr(twin, slot, getattr(node, slot))
    twin.properties = {name: _unstructured_copy(child, copies) for name, child in node.properties.items()}
    if (items := node.items()) is not None:
        twin._items = _unstructured_copy(items, copies)
    if node.additional_properties is not None:
        twin.additional_properties = _unstructured_copy(node.additional_properties, copies)
    return twin


def _build(openapi: Mapping[str, Any], *, is_resource: bool = False) -> StructuralNode:
    node = StructuralNode(openapi)
    node.type = str(openapi.get("type", ""))
    node.format = str(openapi.get("format", ""))
    node.description = str(openapi.get("description", ""))
    node.required = tuple(openapi.get("required") or ())
    node.properties = {name: _build(prop) for name, prop in (openapi.get("properties") or {}).items()}
    if isinstance(items := openapi.get("items"), Mapping):
        node._items = _build(items)
    additional = openapi.get("additionalProperties")
    if isinstance(additional, Mapping):
        node.additional_properties = _build(additional)
    elif additional is True:
        node.additional_properties = _build({"x-kubernetes-preserve-unknown-fields": True})
    _fill_markers(node, openapi)
    if is_resource or node.embedded_resource:
        _add_type_meta(node)
    node.shape = shape_of(node)
    return node


def _fill_markers(node: StructuralNode, openapi: Mapping[str, Any]) -> None:
    node.int_or_string = bool(openapi.get("x-kubernetes-int-or-string", False))
    node.preserve_unknown_fields = bool(openapi.get("x-kubernetes-preserve-unknown-fields", False))
    node.embedded_resource = bool(openapi.get("x-kubernetes-embedded-resource", False))
    node.nullable = bool(openapi.get("nullable", False))
    node.list_type = str(openapi.get("x-kubernetes-list-type") or "")
    node.list_map_keys = tuple(openapi.get("x-kubernetes-list-map-keys") or ())
    node.map_type = str(openapi.get("x-kubernetes-map-type") or "")
    if "enum" in openapi and openapi["enum"] is not None:
        node.enum = tuple(openapi["enum"])
    if "default" in openapi:
        node.default = openapi["default"]


def _add_type_meta(node: StructuralNode) -> None:
    """apiVersion, kind (strings) and metadata (ObjectMeta) of a resource, declared or not."""
    properties = dict(node.properties)
    for name in ("apiVersion", "kind"):
        if name not in properties:
            properties[name] = _build({"type": "string"})
    properties["metadata"] = unstructured_object_meta()  # type: ignore[assignment]
    node.properties = properties
    if node.type == "" and not node.int_or_string:
        node.type = "object"


def subtrees_with(root: StructuralNode, predicate: Callable[[StructuralNode], bool]) -> frozenset[int]:
    """Ids of the nodes at or below which some node satisfies `predicate` (walks skip every other subtree)."""
    marked: set[int] = set()

    def mark(node: Schema | None) -> bool:
        if not isinstance(node, StructuralNode):
            return False
        below = [mark(child) for child in (*node.properties.values(), node.items(), node.additional_properties)]
        if predicate(node) or any(below):
            marked.add(id(node))
            return True
        return False

    mark(root)
    return frozenset(marked)
