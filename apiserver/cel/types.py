"""CEL types as the checker sees them, named the way cel-go prints them in error messages.

A `CelType` is an immutable value. Parameterised types (`list(int)`, `map(string, dyn)`, `optional_type(T)`) carry
their parameters; object types built from structural schemas carry their fields (already escaped, see
`escaping.py`) and the size bounds the cost estimator uses.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final


@dataclass(frozen=True, slots=True)
class CelType:
    """A CEL type. `kind` is one of the names below; `params` holds element/key/value types."""

    kind: str
    params: tuple[CelType, ...] = ()
    name: str = ""
    # Size bounds for the cost estimator: the most elements (lists, maps) or characters (strings, bytes).
    max_size: int | None = field(default=None, compare=False)

    def __str__(self) -> str:
        return format_type(self)


@dataclass(frozen=True, slots=True, eq=False)
class ObjectType(CelType):
    """A message-like type: an object schema with known properties. Unknown fields are compile errors."""

    fields: dict[str, CelType] = field(default_factory=dict)
    # Escaped CEL field name -> the JSON property name it stands for.
    property_names: dict[str, str] = field(default_factory=dict)

    def __eq__(self, other: object) -> bool:
        """Object types are the same type when built from the same schema (same name and fields)."""
        if self is other:
            return True
        return isinstance(other, ObjectType) and self.name == other.name and self.fields == other.fields

    def __hash__(self) -> int:
        return hash(self.name)


PRIMITIVE_NAMES: Final = {
    "int": "int", "uint": "uint", "double": "double", "bool": "bool", "string": "string", "bytes": "bytes",
    "null": "null", "timestamp": "google.protobuf.Timestamp", "duration": "google.protobuf.Duration",
    "dyn": "dyn", "error": "*error*",
}

INT: Final = CelType("int")
UINT: Final = CelType("uint")
DOUBLE: Final = CelType("double")
BOOL: Final = CelType("bool")
STRING: Final = CelType("string")
BYTES: Final = CelType("bytes")
NULL: Final = CelType("null")
TIMESTAMP: Final = CelType("timestamp")
DURATION: Final = CelType("duration")
DYN: Final = CelType("dyn")
ERROR: Final = CelType("error")


def list_of(element: CelType, max_size: int | None = None) -> CelType:
    return CelType("list", (element,), max_size=max_size)


def map_of(key: CelType, value: CelType, max_size: int | None = None) -> CelType:
    return CelType("map", (key, value), max_size=max_size)


def optional_of(value: CelType) -> CelType:
    return CelType("optional", (value,))


def type_of(value: CelType) -> CelType:
    return CelType("type", (value,))


def opaque(name: str) -> CelType:
    return CelType("opaque", name=name)


def type_param(name: str) -> CelType:
    return CelType("param", name=name)


def sized(cel_type: CelType, max_size: int | None) -> CelType:
    """The same type with a size bound (used for strings and bytes from schemas)."""
    if isinstance(cel_type, ObjectType):
        return cel_type
    return CelType(cel_type.kind, cel_type.params, cel_type.name, max_size)


LIST_DYN: Final = list_of(DYN)
MAP_DYN: Final = map_of(DYN, DYN)
TYPE: Final = type_of(DYN)


def format_type(cel_type: CelType) -> str:
    """cel-go's FormatCelType: `list(int)`, `map(string, dyn)`, `optional_type(string)`, `type(int)`."""
    kind = cel_type.kind
    if kind in PRIMITIVE_NAMES:
        return PRIMITIVE_NAMES[kind]
    if kind in ("opaque", "param", "object"):
        return cel_type.name
    inner = ", ".join(format_type(param) for param in cel_type.params)
    prefix = {"list": "list", "map": "map", "optional": "optional_type", "type": "type"}[kind]
    return f"{prefix}({inner})"


def is_dyn(cel_type: CelType) -> bool:
    return cel_type.kind in ("dyn", "error")


def is_assignable(target: CelType, source: CelType, bindings: dict[str, CelType] | None = None) -> bool:
    """Whether a value of `source` may be passed where `target` is expected, binding type parameters."""
    if target.kind == "param" and bindings is not None:
        bound = bindings.get(target.name)
        if bound is None:
            bindings[target.name] = source
            return True
        if is_assignable(bound, source, bindings):
            if is_dyn(bound) and not is_dyn(source):
                return True
            return True
        if is_assignable(source, bound, bindings):
            bindings[target.name] = source
            return True
        return False
    if is_dyn(target) or is_dyn(source):
        return True
    if source.kind == "null" and target.kind in ("null", "object", "timestamp", "duration"):
        return True
    if target.kind != source.kind:
        return False
    if isinstance(target, ObjectType) or isinstance(source, ObjectType):
        return target == source
    if target.kind == "opaque":
        return target.name == source.name
    if target.kind == "type":
        return True  # every type value is a `type`; comparing two of them is always allowed
    if len(target.params) != len(source.params):
        return False
    return all(is_assignable(t, s, bindings) for t, s in zip(target.params, source.params, strict=True))


def substitute(cel_type: CelType, bindings: dict[str, CelType]) -> CelType:
    """Replace bound type parameters; unbound ones become dyn."""
    if cel_type.kind == "param":
        return substitute(bindings[cel_type.name], bindings) if cel_type.name in bindings else DYN
    if not cel_type.params or isinstance(cel_type, ObjectType):
        return cel_type
    return CelType(cel_type.kind, tuple(substitute(param, bindings) for param in cel_type.params), cel_type.name,
                   cel_type.max_size)


def same_type(first: CelType, second: CelType) -> bool:
    """Structural type equivalence (list semantics and size bounds ignored; object types by identity)."""
    if isinstance(first, ObjectType) or isinstance(second, ObjectType):
        return first == second
    if first.kind != second.kind or (first.name != second.name and first.kind != "list"):
        return False
    return len(first.params) == len(second.params) and all(
        same_type(a, b) for a, b in zip(first.params, second.params, strict=True))


def join_types(first: CelType, second: CelType) -> CelType:
    """The type of an aggregate whose members have these two types (dyn when they differ)."""
    return first if same_type(first, second) else DYN
