"""Type schemas: the v1.32 OpenAPI definitions of every built-in kind, in a compact navigable form.

The definitions come from the `kubernetes-validate` package (`v1.32.0-local/_definitions.json`, read as data,
never copied into this repository). That file is a mechanical rewrite of upstream's swagger `definitions`;
`upstream_definitions()` undoes the rewrite (nullable type lists, `#/$defs/` references, the added
apiVersion/kind enums, IntOrString and Quantity as `oneOf`), so the OpenAPI endpoints can serve the definitions
as upstream serves them. `TypeSchemas` builds one `Schema` node per definition from those, once.

The `Schema` interface, also what strategic merge patch and server-side apply navigate (duck-typed):

- `field(name) -> Schema | None`: the schema of a property of an object (None: not a known field), or of
  any key's value for a map;
- `items() -> Schema | None`: the schema of a list's elements;
- `values() -> Schema | None`: the schema of a map's values (`additionalProperties`);
- `patch_merge_key`, `patch_strategy` (`""`, `merge`, `replace`, `retainKeys`, `merge,retainKeys`),
  `list_type` (`""`, `atomic`, `set`, `map`), `list_map_keys` (tuple), `map_type` (`""`, `atomic`,
  `granular`): the `x-kubernetes-*` markers of the field, as strings ("" when absent);
- `shape`: how upstream's decoder treats the value (struct, map, list, scalar, raw JSON, quantity, ...).

A property that refers to a definition shares that definition's node, unless the property adds markers of its
own (DeploymentSpec.strategy's `retainKeys`), in which case it gets a copy carrying them. Nodes are never
mutated after loading; treat them as read-only.
"""
from __future__ import annotations

import enum
import importlib.util
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final

import orjson

SCHEMA_PACKAGE: Final = "kubernetes_validate"
SCHEMA_DIRECTORY: Final = "v1.32.0-local"
DEFINITIONS_REF: Final = "#/definitions/"
INT_OR_STRING: Final = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
QUANTITY: Final = "io.k8s.apimachinery.pkg.api.resource.Quantity"
TIME: Final = "io.k8s.apimachinery.pkg.apis.meta.v1.Time"
MICRO_TIME: Final = "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime"
# Go types with their own JSON decoding that keep whatever JSON they are given (json.RawMessage-like).
RAW_DEFINITIONS: Final = frozenset({
    "io.k8s.apimachinery.pkg.runtime.RawExtension",
    "io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1",
    "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSON",
    "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrArray",
    "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrBool",
    "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrStringArray",
})
# kubernetes-validate drops these two descriptions when it rewrites the types as oneOf; these are ours.
_SPECIAL_TYPES: Final[Mapping[str, dict[str, Any]]] = {
    INT_OR_STRING: {
        "description": "IntOrString is a type that can hold an int32 or a string. When used in JSON or YAML "
                       "marshalling and unmarshalling, it produces or consumes the inner type.",
        "format": "int-or-string",
        "type": "string",
    },
    QUANTITY: {
        "description": "Quantity is a fixed-point representation of a number, written as a decimal or binary "
                       "SI number (`128974848`, `129e6`, `129M`, `123Mi`, `100m`). Serialized in canonical form.",
        "type": "string",
    },
}
NO_DEFAULT: Final = object()
"""The `default` of a schema that publishes none."""


class Shape(enum.Enum):
    """How upstream's decoder treats a value of a schema (the Go kind behind it)."""

    STRUCT = "struct"  # an object with a fixed set of fields: other keys are unknown
    MAP = "map"  # an object of arbitrary keys and `values()` schemas
    LIST = "list"
    STRING = "string"
    BYTES = "bytes"  # base64 text of a []byte
    INTEGER = "integer"
    NUMBER = "number"
    BOOLEAN = "boolean"
    TIME = "time"  # metav1.Time / MicroTime (not any `date-time` string): RFC 3339 text parsed by Go
    INT_OR_STRING = "int-or-string"
    QUANTITY = "quantity"
    RAW = "raw"  # any JSON, kept verbatim and never checked


class Schema:
    """One node of a type schema. See the module docstring for the navigation interface."""

    __slots__ = (
        "_items", "additional_properties", "default", "definition", "description", "embedded_resource", "enum",
        "format", "group_version_kinds", "int_or_string", "list_map_keys", "list_type", "map_type", "nullable",
        "patch_merge_key", "patch_strategy", "preserve_unknown_fields", "properties", "required", "shape", "type",
    )

    def __init__(self, definition: str = "") -> None:
        self.definition = definition
        self.type = ""
        self.format = ""
        self.description = ""
        self.properties: dict[str, Schema] = {}
        self.required: tuple[str, ...] = ()
        self._items: Schema | None = None
        self.additional_properties: Schema | None = None
        self.int_or_string = False
        self.preserve_unknown_fields = False
        self.embedded_resource = False
        self.nullable = False
        self.list_type = ""
        self.list_map_keys: tuple[str, ...] = ()
        self.map_type = ""
        self.patch_merge_key = ""
        self.patch_strategy = ""
        self.group_version_kinds: tuple[tuple[str, str, str], ...] = ()
        self.enum: tuple[Any, ...] = ()
        self.default: Any = NO_DEFAULT
        self.shape = Shape.RAW

    def field(self, name: str) -> Schema | None:
        """The schema of property `name` (of any key, for a map), or None when the object has no such field."""
        if self.shape is Shape.MAP:
            return self.additional_properties
        return self.properties.get(name)

    def items(self) -> Schema | None:
        """The schema of a list's elements, or None for anything but a list."""
        return self._items

    def values(self) -> Schema | None:
        """The schema of a map's values, or None for anything but a map."""
        return self.additional_properties

    def at(self, *path: str | int) -> Schema | None:
        """The node reached by field names and list indexes (map keys count as names): `at("spec", "containers",
        0, "ports")`. None when the path leaves the schema."""
        node: Schema | None = self
        for step in path:
            if node is None:
                return None
            node = node.items() if isinstance(step, int) else node.field(step)
        return node

    @property
    def go_name(self) -> str:
        """The Go type's name as reflect's `Type.Name()` gives it (`PodSpec`); "" for anonymous types."""
        return self.definition.rsplit(".", 1)[-1]

    def __repr__(self) -> str:
        return f"Schema({self.definition or self.shape.value!r})"


ANY: Final = Schema()
"""A schema that accepts and keeps any JSON value."""


def shape_of(schema: Schema) -> Shape:
    """Classify a node by what upstream's decoder does with its values."""
    if schema.definition == INT_OR_STRING or schema.int_or_string:
        return Shape.INT_OR_STRING
    if schema.definition == QUANTITY:
        return Shape.QUANTITY
    if schema.definition in RAW_DEFINITIONS or (schema.preserve_unknown_fields and not schema.properties):
        return Shape.RAW
    scalar = {"string": Shape.STRING, "integer": Shape.INTEGER, "number": Shape.NUMBER, "boolean": Shape.BOOLEAN}
    if schema.type == "string" and schema.format == "byte":
        return Shape.BYTES
    if schema.definition in (TIME, MICRO_TIME):
        return Shape.TIME
    if schema.type in scalar:
        return scalar[schema.type]
    if schema.type == "array":
        return Shape.LIST
    if schema.additional_properties is not None:
        return Shape.MAP
    if schema.type == "object" or schema.properties:
        return Shape.STRUCT
    return Shape.RAW


class TypeSchemas:
    """Every definition as a `Schema`, with lookups by definition name and by kind.

    Built from definitions in upstream's swagger 2.0 form (`$ref` as `#/definitions/<name>`). Raises
    ValueError when a reference names a definition that does not exist.
    """

    def __init__(self, definitions: Mapping[str, Mapping[str, Any]]) -> None:
        self._definitions = definitions
        self._nodes = _Builder(definitions).build()
        self._by_kind: dict[tuple[str, str, str], str] = {}
        for name, node in self._nodes.items():
            for group_version_kind in node.group_version_kinds:
                self._by_kind.setdefault(group_version_kind, name)

    @classmethod
    def builtin(cls) -> TypeSchemas:
        """The v1.32 built-in schemas, loaded on first use and shared afterwards (safe from any thread)."""
        with _builtin_lock:
            if "schemas" not in _builtin:
                _builtin["schemas"] = cls(upstream_definitions(_read_definitions()))
            return _builtin["schemas"]

    @property
    def definitions(self) -> Mapping[str, Mapping[str, Any]]:
        """The definitions in upstream's swagger 2.0 form (read-only; OpenAPI documents are built from them)."""
        return self._definitions

    def definition(self, name: str) -> Schema | None:
        """The node of definition `name` (`io.k8s.api.core.v1.Pod`), or None."""
        return self._nodes.get(name)

    def definition_name(self, group: str, version: str, kind: str) -> str | None:
        """The name of the definition carrying this group-version-kind, or None."""
        return self._by_kind.get((group, version, kind))

    def for_kind(self, group: str, version: str, kind: str) -> Schema | None:
        """The schema of objects of this group-version-kind, or None when no definition declares it."""
        name = self._by_kind.get((group, version, kind))
        return None if name is None else self._nodes[name]

    def kinds(self) -> Iterable[tuple[str, str, str]]:
        """Every (group, version, kind) some definition declares."""
        return self._by_kind.keys()


_builtin: dict[str, TypeSchemas] = {}
_builtin_lock = threading.Lock()
_MARKERS: Final = frozenset({
    "x-kubernetes-list-type", "x-kubernetes-list-map-keys", "x-kubernetes-map-type",
    "x-kubernetes-patch-merge-key", "x-kubernetes-patch-strategy", "default", "nullable",
})


class _Builder:
    """Builds the nodes of a set of definitions, references resolved to the shared definition nodes.

    A referring property with markers of its own becomes a copy of its target; copies are taken after every
    definition is filled, since the target may come later in the set.
    """

    def __init__(self, definitions: Mapping[str, Mapping[str, Any]]) -> None:
        self._definitions = definitions
        self._nodes = {name: Schema(name) for name in definitions}
        self._copies: list[tuple[Schema, Schema, Mapping[str, Any]]] = []

    def build(self) -> dict[str, Schema]:
        for name, raw in self._definitions.items():
            self._fill(self._nodes[name], raw)
        for twin, target, raw in self._copies:
            for slot in Schema.__slots__:
                setattr(twin, slot, getattr(target, slot))
            _fill_markers(twin, raw)
        return self._nodes

    def _fill(self, node: Schema, raw: Mapping[str, Any]) -> None:
        node.type = str(raw.get("type", ""))
        node.format = str(raw.get("format", ""))
        node.description = str(raw.get("description", ""))
        node.required = tuple(raw.get("required", ()))
        node.properties = {name: self._node(prop) for name, prop in raw.get("properties", {}).items()}
        if "items" in raw:
            node._items = self._node(raw["items"])
        additional = raw.get("additionalProperties")
        if isinstance(additional, Mapping):
            node.additional_properties = self._node(additional)
        elif additional is True:
            node.additional_properties = ANY
        _fill_markers(node, raw)
        node.shape = shape_of(node)

    def _node(self, raw: Mapping[str, Any]) -> Schema:
        """The node of an inline schema: a definition's own node for a plain `$ref`, else a new one."""
        reference = raw.get("$ref")
        if reference is None:
            inline = Schema()
            self._fill(inline, raw)
            return inline
        name = reference[len(DEFINITIONS_REF):]
        if not reference.startswith(DEFINITIONS_REF) or name not in self._nodes:
            raise ValueError(f"unresolvable reference {reference!r}")
        if _MARKERS.isdisjoint(raw):
            return self._nodes[name]
        twin = Schema(name)
        self._copies.append((twin, self._nodes[name], raw))
        return twin


def _fill_markers(node: Schema, raw: Mapping[str, Any]) -> None:
    node.int_or_string = bool(raw.get("x-kubernetes-int-or-string", node.int_or_string))
    node.preserve_unknown_fields = bool(raw.get("x-kubernetes-preserve-unknown-fields", node.preserve_unknown_fields))
    node.embedded_resource = bool(raw.get("x-kubernetes-embedded-resource", node.embedded_resource))
    node.nullable = bool(raw.get("nullable", node.nullable))
    node.list_type = str(raw.get("x-kubernetes-list-type", node.list_type))
    node.list_map_keys = tuple(raw.get("x-kubernetes-list-map-keys", node.list_map_keys))
    node.map_type = str(raw.get("x-kubernetes-map-type", node.map_type))
    node.patch_merge_key = str(raw.get("x-kubernetes-patch-merge-key", node.patch_merge_key))
    node.patch_strategy = str(raw.get("x-kubernetes-patch-strategy", node.patch_strategy))
    if "x-kubernetes-group-version-kind" in raw:
        node.group_version_kinds = tuple(
            (gvk["group"], gvk["version"], gvk["kind"]) for gvk in raw["x-kubernetes-group-version-kind"]
        )
    if "enum" in raw:
        node.enum = tuple(raw["enum"])
    if "default" in raw:
        node.default = raw["default"]


def _read_definitions() -> Mapping[str, Any]:
    # Located without importing the package: its __init__ pulls in jsonschema, which is not needed here.
    spec = importlib.util.find_spec(SCHEMA_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"the {SCHEMA_PACKAGE} package (the built-in type schemas) is not installed")
    path = Path(spec.submodule_search_locations[0]) / "kubernetes-json-schema" / SCHEMA_DIRECTORY
    document = orjson.loads((path / "_definitions.json").read_bytes())
    definitions: Mapping[str, Any] = document.get("$defs") or document["definitions"]
    return definitions


def upstream_definitions(definitions: Mapping[str, Any]) -> dict[str, Any]:
    """kubernetes-validate's definitions turned back into upstream's swagger 2.0 `definitions`."""
    restored: dict[str, Any] = {}
    for name, raw in definitions.items():
        if name in _SPECIAL_TYPES:
            restored[name] = dict(_SPECIAL_TYPES[name])
            continue
        schema = _restore(raw)
        for type_field in ("apiVersion", "kind"):
            schema.get("properties", {}).get(type_field, {}).pop("enum", None)
        restored[name] = schema
    return restored


def _restore(value: Any) -> Any:
    if isinstance(value, list):
        return [_restore(item) for item in value]
    if not isinstance(value, dict):
        return value
    restored: dict[str, Any] = {}
    for key, item in value.items():
        if key == "type" and isinstance(item, list):
            restored[key] = next(kind for kind in item if kind != "null")
        elif key == "$ref" and isinstance(item, str):
            restored[key] = DEFINITIONS_REF + item.rsplit("/", 1)[-1]
        elif key == "properties" and isinstance(item, dict):
            restored[key] = {name: _restore(prop) for name, prop in item.items()}
        else:
            restored[key] = _restore(item)
    return restored
