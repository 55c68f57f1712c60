"""The Kubernetes protobuf wire format (`application/vnd.kubernetes.protobuf`) ⇄ the dicts our JSON path holds.

An object travels as the 4-byte magic `k8s\\x00` followed by a `runtime.Unknown` envelope: {1: TypeMeta
{1: apiVersion, 2: kind}, 2: raw (the object's own message), 3: contentEncoding, 4: contentType}
(k8s.io/apimachinery pkg/runtime/serializer/protobuf). A watch stream is a sequence of frames, each a 4-byte
big-endian length and a bare `metav1.WatchEvent` {1: type, 2: object RawExtension} whose `raw` holds the object's
full envelope (the stream serializer is the raw one, the embedded one is not).

Messages are decoded into the dicts Go's JSON encoding would produce: JSON field names, zero values of
non-pointer fields left out as `omitempty` leaves them (Go writes them all to protobuf), pointer fields kept even
when zero (`replicas: 0`), `[]byte` as base64 strings, times as RFC 3339. Encoding goes the other way and writes
only what the dict holds, in field-number order with sorted map keys; a Go client reads the same object as from
Go's own encoding, though the bytes are shorter (Go also writes every zero non-pointer field).

The field tables are `protobuf_messages` and its group modules; kinds without a table (custom resources,
apiextensions, beta versions) raise `UnsupportedProtobufKind`, which the HTTP layer answers with 415 for a request
body and 406 for a response, as upstream does for types that have no protobuf form.
"""
from __future__ import annotations

import base64
import binascii
import struct
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from apiserver.meta.objects import JSONDict
from apiserver.meta.protobuf_schema import (
    BOOL,
    BYTES,
    INT32,
    INT64,
    MESSAGE,
    SPECIAL,
    STRING,
    Field,
    Message,
    kind_message_name,
    message,
)
from apiserver.meta.protobuf_types import DECODERS, ENCODERS
from apiserver.meta.protobuf_wire import (
    DELIMITED,
    FIXED32,
    FIXED64,
    VARINT,
    ProtobufError,
    append_delimited,
    as_int32,
    as_int64,
    encode_varint,
    read_varint,
    scan,
)

__all__ = [
    "MAGIC", "MEDIA_TYPE", "WATCH_MEDIA_TYPE", "ProtobufError", "UnsupportedProtobufKind", "decode_envelope",
    "decode_object", "decode_raw", "decode_watch_event", "encode_list", "encode_object", "encode_status",
    "encode_watch_event", "supports_protobuf",
]

MAGIC = b"k8s\x00"
MEDIA_TYPE = "application/vnd.kubernetes.protobuf"
WATCH_MEDIA_TYPE = "application/vnd.kubernetes.protobuf;stream=watch"

_FRAME_LENGTH = struct.Struct(">I")
_INT_RANGES = {INT32: range(-(1 << 31), 1 << 31), INT64: range(-(1 << 63), 1 << 63)}


class UnsupportedProtobufKind(Exception):
    """The kind has no protobuf form here (custom resources, apiextensions, beta versions, meta.k8s.io Table)."""

    def __init__(self, api_version: str, kind: str) -> None:
        super().__init__(f"{kind} in {api_version or '<no apiVersion>'} has no protobuf encoding")
        self.api_version = api_version
        self.kind = kind


def supports_protobuf(api_version: str, kind: str) -> bool:
    """Whether objects of `kind` in `api_version` can be decoded from and encoded to protobuf."""
    return kind_message_name(api_version, kind) is not None


def _kind_message(api_version: str, kind: str) -> Message:
    name = kind_message_name(api_version, kind)
    if name is None:
        raise UnsupportedProtobufKind(api_version, kind)
    return message(name)


# ---------------------------------------------------------------------------------------------------------- decode


def decode_envelope(body: bytes) -> tuple[str, str, bytes]:
    """Split a protobuf body into (apiVersion, kind, raw message bytes).

    apiVersion or kind may be "" when the client left them out (upstream then takes them from the endpoint).
    Raises ProtobufError, with upstream's texts, for an empty body, a missing magic or a malformed envelope.
    """
    if not body:
        raise ProtobufError("empty data")
    if not body.startswith(MAGIC):
        raise ProtobufError("provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]")
    if len(body) == len(MAGIC):
        raise ProtobufError("empty body")
    api_version = kind = ""
    raw = b""
    for number, wire_type, start, end in scan(body, len(MAGIC), len(body)):
        if wire_type != DELIMITED:
            continue
        if number == 1:
            for inner, inner_wire, begin, stop in scan(body, start, end):
                if inner_wire == DELIMITED and inner in (1, 2):
                    text = body[begin:stop].decode("utf-8", "replace")
                    api_version, kind = (text, kind) if inner == 1 else (api_version, text)
        elif number == 2:
            raw = body[start:end]
    return api_version, kind, raw


def decode_object(body: bytes, *, default_api_version: str = "", default_kind: str = "") -> JSONDict:
    """Decode a protobuf body (magic + envelope) into the object's dict, `apiVersion` and `kind` first.

    The defaults fill an envelope without apiVersion or kind, as upstream fills them from the endpoint.
    Raises ProtobufError for malformed bytes and UnsupportedProtobufKind for a kind without a table.
    """
    api_version, kind, raw = decode_envelope(body)
    api_version = api_version or default_api_version
    kind = kind or default_kind
    if not kind:
        raise ProtobufError("Object 'Kind' is missing in the protobuf envelope")
    if not api_version:
        raise ProtobufError("Object 'apiVersion' is missing in the protobuf envelope")
    return decode_raw(api_version, kind, raw)


def decode_raw(api_version: str, kind: str, raw: bytes) -> JSONDict:
    """Decode the bare message bytes of an object of `kind` in `api_version` (no magic, no envelope)."""
    compiled = _kind_message(api_version, kind)
    obj: JSONDict = {"apiVersion": api_version, "kind": kind}
    _decode_message(raw, 0, len(raw), compiled, obj)
    return obj


def decode_watch_event(frame: bytes) -> tuple[str, JSONDict | None]:
    """Decode one watch frame (4-byte length + WatchEvent) into (type, object)."""
    if len(frame) < _FRAME_LENGTH.size or _FRAME_LENGTH.unpack_from(frame)[0] != len(frame) - _FRAME_LENGTH.size:
        raise ProtobufError("watch frame length does not match its content")
    event = _decode_message(frame, _FRAME_LENGTH.size, len(frame), message("meta.v1.WatchEvent"), {})
    return event.get("type", ""), event.get("object")


def _decode_message(data: bytes, start: int, stop: int, compiled: Message, out: JSONDict) -> JSONDict:
    try:
        _decode_into(data, start, stop, compiled, out)
    except IndexError:
        raise ProtobufError("unexpected EOF") from None
    return out


def _decode_into(data: bytes, pos: int, stop: int, compiled: Message, out: JSONDict) -> None:
    # The hot loop: one-byte varints (nearly every key and length) are read inline.
    by_number = compiled.by_number
    while pos < stop:
        key = data[pos]
        if key < 0x80:
            pos += 1
        else:
            key, pos = read_varint(data, pos)
        wire_type = key & 7
        field = by_number.get(key >> 3)
        if wire_type == DELIMITED:
            length = data[pos]
            if length < 0x80:
                pos += 1
            else:
                length, pos = read_varint(data, pos)
            start = pos
            pos += length
            if pos > stop:
                raise ProtobufError("unexpected EOF")
            if field is not None:
                _decode_delimited(data, start, pos, field, out)
        elif wire_type == VARINT:
            value = data[pos]
            if value < 0x80:
                pos += 1
            else:
                value, pos = read_varint(data, pos)
            if field is not None:
                if not field.is_varint or field.is_map:
                    raise ProtobufError(f"{field.owner}.{field.name}: wrong wire type {wire_type}")
                _store(field, _varint_value(field.kind, value), out)
        elif wire_type in (FIXED64, FIXED32):
            pos += 8 if wire_type == FIXED64 else 4
        else:
            raise ProtobufError(f"{compiled.name}: illegal wire type {wire_type}")
    if pos != stop:
        raise ProtobufError("unexpected EOF")
    for field in compiled.always:
        if field.name not in out:
            out[field.name] = _zero(field)


def _zero(field: Field) -> Any:
    if field.repeated:
        return []
    return {STRING: "", BOOL: False}.get(field.kind, 0)


def _varint_value(kind: int, value: int) -> int | bool:
    if kind == BOOL:
        return value != 0
    return as_int32(value) if kind == INT32 else as_int64(value)


def _store(field: Field, value: Any, out: JSONDict) -> None:
    if field.repeated:
        values = out.get(field.name)
        if values is None:
            out[field.name] = [value]
        else:
            values.append(value)
    elif field.pointer or field.always or (value != 0 and value != "" and value != {} and value != []):
        out[field.name] = value
    else:
        # A zero non-pointer field is what omitempty leaves out; proto2's last value wins, so drop an earlier one.
        out.pop(field.name, None)


def _decode_delimited(data: bytes, start: int, stop: int, field: Field, out: JSONDict) -> None:
    kind = field.kind
    if field.is_map:
        key, value = _decode_entry(data, start, stop, field)
        entries = out.get(field.name)
        if entries is None:
            out[field.name] = {key: value}
        else:
            entries[key] = value
    elif kind == STRING:
        _store(field, data[start:stop].decode("utf-8", "replace"), out)
    elif kind == MESSAGE:
        _decode_submessage(data, start, stop, field, out)
    elif kind == SPECIAL:
        value = _decode_special(field.type_name, data, start, stop)
        if value is not None:
            _store(field, value, out)
        elif not field.repeated:
            out.pop(field.name, None)
    elif kind == BYTES:
        _store(field, base64.b64encode(data[start:stop]).decode("ascii"), out)
    elif field.repeated:
        # Packed repeated varints: proto2 writers may pack, and readers must accept both forms.
        pos = start
        while pos < stop:
            value, pos = read_varint(data, pos)
            _store(field, _varint_value(kind, value), out)
    else:
        raise ProtobufError(f"{field.owner}.{field.name}: wrong wire type {DELIMITED}")


def _decode_submessage(data: bytes, start: int, stop: int, field: Field, out: JSONDict) -> None:
    compiled = message(field.type_name)
    if field.inline:
        _decode_into(data, start, stop, compiled, out)
    elif field.repeated:
        child: JSONDict = {}
        _decode_into(data, start, stop, compiled, child)
        _store(field, child, out)
    else:
        # A message field seen twice is merged, as proto2 requires.
        existing = out.get(field.name)
        child = existing if isinstance(existing, dict) else {}
        _decode_into(data, start, stop, compiled, child)
        _store(field, child, out)


def _decode_entry(data: bytes, start: int, stop: int, field: Field) -> tuple[str, Any]:
    key = ""
    value: Any = None
    for number, wire_type, begin, end in scan(data, start, stop):
        if number == 1 and wire_type == DELIMITED:
            key = data[begin:end].decode("utf-8", "replace")
        elif number == 2:
            value = _varint_value(field.kind, begin) if wire_type == VARINT else _entry_value(data, begin, end, field)
    if value is None:
        value = _entry_value(data, 0, 0, field)
    return key, value


def _entry_value(data: bytes, start: int, stop: int, field: Field) -> Any:
    kind = field.kind
    if kind == STRING:
        return data[start:stop].decode("utf-8", "replace")
    if kind == BYTES:
        return base64.b64encode(data[start:stop]).decode("ascii")
    if kind == MESSAGE:
        child: JSONDict = {}
        _decode_into(data, start, stop, message(field.type_name), child)
        return child
    if kind == SPECIAL:
        return _decode_special(field.type_name, data, start, stop)
    return False if kind == BOOL else 0


def _decode_special(type_name: str, data: bytes, start: int, stop: int) -> Any:
    if type_name == "runtime.RawExtension":
        return _decode_raw_extension(data, start, stop)
    return DECODERS[type_name](data, start, stop)


def _decode_raw_extension(data: bytes, start: int, stop: int) -> Any:
    spans = [(begin, end) for number, wire_type, begin, end in scan(data, start, stop) if number == 1]
    raw = data[spans[-1][0]:spans[-1][1]] if spans else b""
    if not raw:
        return None
    if raw.startswith(MAGIC):
        return decode_object(raw)
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise ProtobufError(f"RawExtension holds neither JSON nor a protobuf object: {error}") from None


# ---------------------------------------------------------------------------------------------------------- encode


def encode_object(obj: Mapping[str, Any], *, api_version: str | None = None, kind: str | None = None) -> bytes:
    """Encode an object's dict as a protobuf body (magic + envelope).

    `api_version` and `kind` override the dict's own (list items and stored objects may lack them). Keys the
    table does not know are ignored, as Go ignores unknown JSON fields. Raises UnsupportedProtobufKind for a
    kind without a table and ProtobufError for a value of the wrong type.
    """
    api_version = api_version if api_version is not None else obj.get("apiVersion", "")
    kind = kind if kind is not None else obj.get("kind", "")
    if not isinstance(api_version, str) or not isinstance(kind, str):
        raise ProtobufError("apiVersion and kind must be strings")
    raw = bytearray()
    _encode_message(obj, _kind_message(api_version, kind), raw)
    return _envelope(api_version, kind, raw)


def encode_list(
    api_version: str, kind: str, metadata: Mapping[str, Any], items: Sequence[Mapping[str, Any]]
) -> bytes:
    """Encode a list (`PodList`, …) from its ListMeta and items without building the list dict first."""
    return encode_object({"metadata": metadata, "items": items}, api_version=api_version, kind=kind)


def encode_status(status: Mapping[str, Any]) -> bytes:
    """Encode a `Status` body (as `ApiError.to_status()` renders it); Status is always `v1`, in every group."""
    return encode_object(status, api_version="v1", kind="Status")


def encode_watch_event(
    event_type: str, obj: Mapping[str, Any], *, api_version: str | None = None, kind: str | None = None
) -> bytes:
    """One watch frame: 4-byte big-endian length, then a WatchEvent whose object is the object's envelope.

    For `ERROR` events `obj` is a Status (pass `api_version="v1", kind="Status"` if the dict lacks them).
    """
    embedded = encode_object(obj, api_version=api_version, kind=kind)
    event = bytearray()
    append_delimited(event, b"\x0a", event_type.encode())
    append_delimited(event, b"\x12", _delimited(1, embedded))
    return _FRAME_LENGTH.pack(len(event)) + bytes(event)


def _envelope(api_version: str, kind: str, raw: bytes | bytearray) -> bytes:
    type_meta = _delimited(1, api_version.encode()) + _delimited(2, kind.encode())
    out = bytearray(MAGIC)
    append_delimited(out, b"\x0a", type_meta)
    append_delimited(out, b"\x12", raw)
    # Go writes the empty contentEncoding and contentType too.
    out += b"\x1a\x00\x22\x00"
    return bytes(out)


def _delimited(number: int, payload: bytes) -> bytes:
    return encode_varint(number << 3 | DELIMITED) + encode_varint(len(payload)) + payload


def _encode_message(obj: Mapping[str, Any], compiled: Message, out: bytearray) -> None:
    for field in compiled.fields:
        if field.inline:
            # An embedded struct is never a pointer, so Go always writes it.
            child = bytearray()
            _encode_message(obj, message(field.type_name), child)
            append_delimited(out, field.tag, child)
            continue
        value = obj.get(field.name)
        if value is None:
            continue
        if field.is_map:
            _encode_map(field, value, out)
        elif field.repeated:
            if not isinstance(value, list | tuple):
                raise _type_error(field, "a list", value)
            for item in value:
                if item is not None:
                    _encode_value(field, field.tag, item, out)
        else:
            _encode_value(field, field.tag, value, out)


def _encode_map(field: Field, value: Any, out: bytearray) -> None:
    if not isinstance(value, Mapping):
        raise _type_error(field, "an object", value)
    value_tag = b"\x10" if field.is_varint else b"\x12"
    for key in sorted(value):
        entry = bytearray()
        append_delimited(entry, b"\x0a", str(key).encode())
        item = value[key]
        if item is not None:
            _encode_value(field, value_tag, item, entry)
        append_delimited(out, field.tag, entry)


def _encode_value(field: Field, tag: bytes, value: Any, out: bytearray) -> None:
    kind = field.kind
    if kind == STRING:
        if not isinstance(value, str):
            raise _type_error(field, "a string", value)
        append_delimited(out, tag, value.encode())
    elif kind == MESSAGE:
        if not isinstance(value, Mapping):
            raise _type_error(field, "an object", value)
        child = bytearray()
        _encode_message(value, message(field.type_name), child)
        append_delimited(out, tag, child)
    elif kind == SPECIAL:
        append_delimited(out, tag, _encode_special(field, value))
    elif kind == BYTES:
        append_delimited(out, tag, _decode_base64(field, value))
    elif kind == BOOL:
        if not isinstance(value, bool):
            raise _type_error(field, "a boolean", value)
        out += tag
        out.append(1 if value else 0)
    else:
        out += tag
        out += encode_varint(_integer(field, value))


def _integer(field: Field, value: Any) -> int:
    # JSON numbers may arrive as integral floats (`3.0`); anything else is not an integer.
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _type_error(field, "an integer", value)
    if value not in _INT_RANGES[field.kind]:
        bits = "int32" if field.kind == INT32 else "int64"
        raise ProtobufError(f"{field.owner}.{field.name}: {value} overflows {bits}")
    return value


def _decode_base64(field: Field, value: Any) -> bytes:
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if not isinstance(value, str):
        raise _type_error(field, "a base64 string", value)
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error:
        raise ProtobufError(f"{field.owner}.{field.name}: illegal base64 data") from None


def _encode_special(field: Field, value: Any) -> bytes:
    try:
        if field.type_name == "runtime.RawExtension":
            raw = bytes(value) if isinstance(value, bytes | bytearray) else orjson.dumps(value)
            return _delimited(1, raw)
        return ENCODERS[field.type_name](value)
    except (ProtobufError, TypeError) as error:
        raise ProtobufError(f"{field.owner}.{field.name}: {error}") from None


def _type_error(field: Field, expected: str, value: Any) -> ProtobufError:
    return ProtobufError(f"{field.owner}.{field.name}: expected {expected}, got {type(value).__name__}")

