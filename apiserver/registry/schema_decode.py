"""A typed decode of a JSON document against a schema, reporting what kube-apiserver's decoder reports.

Built-in objects are decoded by sigs.k8s.io/json into Go structs. That decode fails on the first value of the
wrong JSON type, with encoding/json's wording:

    json: cannot unmarshal string into Go struct field ContainerPort.spec.containers.ports.containerPort of type int32

(the struct is the innermost Go type holding the field, the path lists field names only, no indexes or map
keys), and with the types' own errors for quantities, IntOrStrings, base64 bytes and timestamps. In strict mode
it also collects, without failing, `unknown field "spec.containers[0].bogus"` and `duplicate field
"metadata.name"` (paths with indexes and map keys), deduplicated and at most 100, in document order.

The walk below replays that decode: `decode_document` returns the fatal error (or None) and the strict errors.
Values of unknown fields, and everything inside raw JSON (RawExtension, FieldsV1, JSON), are never looked at,
as Go skips them. A document read with `strictjson.decode_strict` (repeating objects as `Pairs`) also yields
duplicates.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final

from apiserver.meta.errors import go_quote
from apiserver.meta.quantity import FORMAT_WRONG, QuantityError, parse_quantity
from apiserver.meta.strictjson import Pairs
from apiserver.registry.schema import MICRO_TIME, Schema, Shape
from apiserver.registry.schema_scalars import RFC3339, RFC3339_MICRO, go_base64_error, go_time_error

MAX_STRICT_ERRORS: Final = 100
_INT_RANGES: Final = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}
_SCALAR_GO_TYPES: Final = {
    Shape.STRING: "string", Shape.BYTES: "[]uint8", Shape.NUMBER: "float64", Shape.BOOLEAN: "bool",
    Shape.INT_OR_STRING: "intstr.IntOrString", Shape.QUANTITY: "resource.Quantity",
}


@dataclass(slots=True)
class DecodeResult:
    """`error`: the decode's fatal error text (Go's), None when it decodes. `strict`: strict errors, in order."""

    error: str | None = None
    strict: list[str] = field(default_factory=list)


class _Abort(Exception):
    """An error a Go UnmarshalJSON method returned: decoding stops there."""


def decode_document(document: Any, schema: Schema, *, strict: bool = True) -> DecodeResult:
    """Replay the typed decode of `document` (decoded JSON; objects may be `Pairs`) into `schema`'s Go type."""
    decoder = _Decoder(strict)
    try:
        decoder.value(document, schema)
    except _Abort as abort:
        return DecodeResult(str(abort), [])
    if decoder.saved_error is not None:
        return DecodeResult(decoder.saved_error, [])
    return DecodeResult(None, decoder.strict_errors)


def json_kind(value: Any) -> str:
    """encoding/json's name for the JSON type of a value in its UnmarshalTypeError."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "object" if isinstance(value, dict | Pairs) else "array"


def go_type(schema: Schema) -> str:
    """reflect's `Type.String()` of the Go type behind a schema node (`v1.PodSpec`, `[]v1.Container`, `int32`).

    Named string and integer types (`v1.Protocol`) are not in the schemas and print as their underlying type.
    """
    shape = schema.shape
    if shape in _SCALAR_GO_TYPES:
        return _SCALAR_GO_TYPES[shape]
    if shape is Shape.INTEGER:
        return schema.format if schema.format in _INT_RANGES else "int"
    if shape is Shape.LIST:
        items = schema.items()
        return "[]" + (go_type(items) if items is not None else "interface {}")
    if shape is Shape.MAP:
        values = schema.values()
        if values is not None and values.shape is Shape.QUANTITY:
            return "v1.ResourceList"
        return "map[string]" + (go_type(values) if values is not None else "interface {}")
    if schema.definition:
        package = schema.definition.rsplit(".", 2)[-2]
        return f"{package}.{schema.go_name}"
    return "map[string]interface {}" if shape is Shape.STRUCT else "interface {}"


def strict_path(path: Iterable[str | int], key: str) -> str:
    """sigs.k8s.io/json's field path: names joined by `.`, indexes as `[i]`, then the offending key."""
    text = ""
    for part in (*path, key):
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text = f"{text}.{part}" if text else part
    return text


def _entries(value: Any) -> Iterable[tuple[str, Any]]:
    return value if isinstance(value, Pairs) else value.items()


class _Decoder:
    """The decoder's state: Go's error context (struct, field names) and the strict field path."""

    def __init__(self, strict: bool) -> None:
        self.strict = strict
        self.saved_error: str | None = None
        self.strict_errors: list[str] = []
        self._seen_strict: set[str] = set()
        self.struct = ""
        self.fields: list[str] = []
        self.path: list[str | int] = []  # field names and map keys, and list indexes as ints

    def value(self, value: Any, schema: Schema) -> None:
        if value is None:
            return  # null decodes into any Go type (a nil pointer, map or slice, or no change)
        shape = schema.shape
        if getattr(schema, "unstructured", False) and not _is_container_for(shape, value):
            return  # custom resources decode into unstructured JSON: wrong types are their schema validation's
        if shape is Shape.STRUCT:
            self._struct(value, schema)
        elif shape is Shape.MAP:
            self._map(value, schema)
        elif shape is Shape.LIST:
            self._list(value, schema)
        elif shape is not Shape.RAW:
            self._scalar(value, schema)

    def _struct(self, value: Any, schema: Schema) -> None:
        if not isinstance(value, dict | Pairs):
            return self._type_error(json_kind(value), go_type(schema))
        seen: set[str] = set()
        for key, item in _entries(value):
            child = schema.field(key)
            if child is None:
                if not schema.preserve_unknown_fields:
                    self._strict_error("unknown", key)
                continue
            if key in seen:
                self._strict_error("duplicate", key)
            seen.add(key)
            self._enter_field(schema, key, item, child)
        return None

    def _enter_field(self, owner: Schema, key: str, item: Any, child: Schema) -> None:
        struct, depth = self.struct, len(self.fields)
        self.struct = owner.go_name
        self.fields.append(key)
        self.path.append(key)
        self.value(item, child)
        self.path.pop()
        del self.fields[depth:]
        self.struct = struct

    def _map(self, value: Any, schema: Schema) -> None:
        if not isinstance(value, dict | Pairs):
            return self._type_error(json_kind(value), go_type(schema))
        values = schema.values()
        seen: set[str] = set()
        for key, item in _entries(value):
            if key in seen:
                self._strict_error("duplicate", key)
            seen.add(key)
            if values is not None:
                self.path.append(key)
                self.value(item, values)
                self.path.pop()
        return None

    def _list(self, value: Any, schema: Schema) -> None:
        if isinstance(value, Pairs) or not isinstance(value, list):
            return self._type_error(json_kind(value), go_type(schema))
        items = schema.items()
        if items is None:
            return None
        for index, item in enumerate(value):
            self.path.append(index)
            self.value(item, items)
            self.path.pop()
        return None

    def _scalar(self, value: Any, schema: Schema) -> None:
        check = _SCALAR_CHECKS[schema.shape]
        check(self, value, schema)

    def _string(self, value: Any, schema: Schema) -> None:
        if not isinstance(value, str):
            self._type_error(json_kind(value), "string")

    def _bytes(self, value: Any, schema: Schema) -> None:
        if isinstance(value, list) and not isinstance(value, Pairs):
            return  # encoding/json also fills a []byte from an array of numbers
        if not isinstance(value, str):
            return self._type_error(json_kind(value), "[]uint8")
        message = go_base64_error(value)
        if message is not None:
            self._save(message)
        return None

    def _integer(self, value: Any, schema: Schema) -> None:
        kind = go_type(schema)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return self._type_error(json_kind(value), kind)
        low, high = _INT_RANGES.get(kind, _INT_RANGES["int64"])
        if isinstance(value, float) or not low <= value <= high:
            self._type_error(f"number {_number_text(value)}", kind)
        return None

    def _number(self, value: Any, schema: Schema) -> None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            self._type_error(json_kind(value), "float64")

    def _boolean(self, value: Any, schema: Schema) -> None:
        if not isinstance(value, bool):
            self._type_error(json_kind(value), "bool")

    def _time(self, value: Any, schema: Schema) -> None:
        if not isinstance(value, str):
            raise _Abort(self._type_message(json_kind(value), "string"))
        message = go_time_error(value, RFC3339_MICRO if schema.definition == MICRO_TIME else RFC3339)
        if message is not None:
            raise _Abort(message)

    def _int_or_string(self, value: Any, schema: Schema) -> None:
        if isinstance(value, str):
            return
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _Abort(self._type_message(json_kind(value), "int32"))
        if isinstance(value, float) or not -(2**31) <= value < 2**31:
            raise _Abort(self._type_message(f"number {_number_text(value)}", "int32"))

    def _quantity(self, value: Any, schema: Schema) -> None:
        # Quantity's UnmarshalJSON parses the raw JSON text (unquoted when a string) and returns its own error;
        # `true`, objects and arrays fail its format check.
        if not isinstance(value, str) and not _is_number(value):
            raise _Abort(FORMAT_WRONG)
        try:
            parse_quantity(value.strip() if isinstance(value, str) else _number_text(value))
        except QuantityError as error:
            raise _Abort(str(error)) from None

    def _type_error(self, value_kind: str, target: str) -> None:
        self._save(self._type_message(value_kind, target))

    def _type_message(self, value_kind: str, target: str) -> str:
        if self.struct or self.fields:
            field = f"{self.struct}.{'.'.join(self.fields)}"
            return f"json: cannot unmarshal {value_kind} into Go struct field {field} of type {target}"
        return f"json: cannot unmarshal {value_kind} into Go value of type {target}"

    def _save(self, message: str) -> None:
        if self.saved_error is None:
            self.saved_error = message

    def _strict_error(self, kind: str, key: str) -> None:
        if not self.strict or len(self.strict_errors) >= MAX_STRICT_ERRORS:
            return
        message = f"{kind} field {go_quote(strict_path(self.path, key))}"
        if message not in self._seen_strict:
            self._seen_strict.add(message)
            self.strict_errors.append(message)


_SCALAR_CHECKS: Final = {
    Shape.STRING: _Decoder._string,
    Shape.BYTES: _Decoder._bytes,
    Shape.INTEGER: _Decoder._integer,
    Shape.NUMBER: _Decoder._number,
    Shape.BOOLEAN: _Decoder._boolean,
    Shape.TIME: _Decoder._time,
    Shape.INT_OR_STRING: _Decoder._int_or_string,
    Shape.QUANTITY: _Decoder._quantity,
}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number_text(value: float) -> str:
    """The JSON literal a number was most likely written as (the decoded value is all that is left)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return f"{value:.1f}"
    return repr(value)


def _is_container_for(shape: Shape, value: Any) -> bool:
    """A value an unstructured node walks into: an object for a struct or map, an array for a list."""
    if shape in (Shape.STRUCT, Shape.MAP):
        return isinstance(value, dict | Pairs)
    return shape is Shape.LIST and isinstance(value, list) and not isinstance(value, Pairs)
