"""Compiled protobuf messages: the declarations of the field tables, parsed once on first use, and kind lookup.

The tables (`protobuf_messages` and the per-group modules) are strings; this module turns one message's string
into a `Message` of `Field`s the codec walks, and maps an object's (apiVersion, kind) to its message. It knows the
declaration language and nothing of bytes on the wire beyond each field's tag.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from apiserver.meta import (
    protobuf_apps,
    protobuf_auth,
    protobuf_cluster,
    protobuf_core,
    protobuf_messages,
    protobuf_networking,
)
from apiserver.meta.protobuf_messages import Package
from apiserver.meta.protobuf_wire import encode_varint

# Field kinds. A map field's kind is the kind of its values; its keys are always strings.
STRING, BYTES, BOOL, INT32, INT64, MESSAGE, SPECIAL = range(7)

_SCALARS = {"string": STRING, "bytes": BYTES, "bool": BOOL, "int32": INT32, "int64": INT64}
_VARINT_KINDS = frozenset({BOOL, INT32, INT64})

PACKAGES: tuple[Package, ...] = (
    *protobuf_messages.PACKAGES,
    *protobuf_core.PACKAGES,
    *protobuf_apps.PACKAGES,
    *protobuf_auth.PACKAGES,
    *protobuf_networking.PACKAGES,
    *protobuf_cluster.PACKAGES,
)

SPECIAL_MESSAGES = frozenset({
    "meta.v1.Time", "meta.v1.MicroTime", "meta.v1.Duration", "meta.v1.FieldsV1", "meta.v1.Verbs",
    "runtime.RawExtension", "intstr.IntOrString", "resource.Quantity", "resource.QuantityValue",
    "authentication.v1.ExtraValue", "authorization.v1.ExtraValue", "certificates.v1.ExtraValue",
})
"""Messages whose JSON form is not an object of their fields; the codec converts each of them as a whole."""

# Registered into every group version by metav1.AddToGroupVersion, so they resolve under any apiVersion.
SHARED_META_KINDS = frozenset({
    "WatchEvent", "Status", "APIVersions", "APIGroupList", "APIGroup", "APIResourceList",
    "ListOptions", "GetOptions", "DeleteOptions", "CreateOptions", "UpdateOptions", "PatchOptions",
})

_DECLARATION = re.compile(r"(?P<name>\w+)=(?P<number>\d+):(?P<type>[^!,\s]+)(?P<always>!)?(?P<inline>,inline)?")


class SchemaError(ValueError):
    """A declaration in the field tables is malformed or names a message that does not exist."""


@dataclass(frozen=True, slots=True)
class Field:
    """One field of a compiled message.

    `owner` is the qualified name of the message holding the field; `type_name` the qualified message name of
    the field's values for MESSAGE and SPECIAL, and "" for scalars. `tag` is the encoded key Go writes.
    """

    owner: str
    number: int
    name: str
    kind: int
    type_name: str
    repeated: bool
    is_map: bool
    pointer: bool
    always: bool
    inline: bool
    tag: bytes

    @property
    def is_varint(self) -> bool:
        return self.kind in _VARINT_KINDS


@dataclass(frozen=True, slots=True)
class Message:
    """A compiled message: fields in field-number order (the order Go writes them) and indexed by number.

    `always` names the fields Go's JSON writes even when empty (marked `!`), with the kind of zero they take.
    """

    name: str
    fields: tuple[Field, ...]
    by_number: Mapping[int, Field]
    always: tuple[Field, ...]


_DECLARATIONS: dict[str, str] = {
    f"{package.name}.{name}": declaration
    for package in PACKAGES
    for name, declaration in package.messages.items()
}
_KIND_MESSAGES: dict[tuple[str, str], str] = {
    (package.group_version, kind): f"{package.name}.{kind}"
    for package in PACKAGES
    for kind in package.kinds.split()
}
_COMPILED: dict[str, Message] = {}


def message_names() -> list[str]:
    """Every declared message, qualified (`core.v1.Pod`)."""
    return list(_DECLARATIONS)


def message(name: str) -> Message:
    """The compiled message called `name` (qualified). Raises SchemaError if it is not declared."""
    compiled = _COMPILED.get(name)
    if compiled is None:
        compiled = _COMPILED[name] = _compile(name)
    return compiled


def kind_message_name(api_version: str, kind: str) -> str | None:
    """The qualified message of objects of `kind` in `api_version`, or None when the table has none."""
    name = _KIND_MESSAGES.get((api_version, kind))
    if name is None and kind in SHARED_META_KINDS:
        name = f"meta.v1.{kind}"
    return name


def _compile(name: str) -> Message:
    declaration = _DECLARATIONS.get(name)
    if declaration is None:
        raise SchemaError(f"no protobuf message {name}")
    package = name.rpartition(".")[0]
    fields = tuple(_compile_field(token, package, name) for token in declaration.split())
    return Message(
        name=name, fields=fields, by_number={field.number: field for field in fields},
        always=tuple(field for field in fields if field.always),
    )


def _compile_field(token: str, package: str, message_name: str) -> Field:
    match = _DECLARATION.fullmatch(token)
    if match is None:
        raise SchemaError(f"{message_name}: malformed declaration {token!r}")
    type_text = match["type"]
    repeated = type_text.startswith("[]")
    is_map = type_text.startswith("map[string]")
    pointer = type_text.startswith("*")
    element = type_text.removeprefix("[]").removeprefix("map[string]").removeprefix("*")
    kind, type_name = _resolve(element, package, message_name)
    number = int(match["number"])
    wire_type = 0 if kind in _VARINT_KINDS and not is_map else 2
    return Field(
        owner=message_name, number=number, name=match["name"], kind=kind, type_name=type_name,
        repeated=repeated, is_map=is_map, pointer=pointer, always=bool(match["always"]), inline=bool(match["inline"]),
        tag=encode_varint(number << 3 | wire_type),
    )


def _resolve(element: str, package: str, message_name: str) -> tuple[int, str]:
    if element in _SCALARS:
        return _SCALARS[element], ""
    qualified = element if "." in element else f"{package}.{element}"
    if qualified in SPECIAL_MESSAGES:
        return SPECIAL, qualified
    if qualified not in _DECLARATIONS:
        raise SchemaError(f"{message_name}: unknown type {element}")
    return MESSAGE, qualified

