"""Protobuf wire primitives: base-128 varints, field keys, length-delimited values.

Written here rather than taken from the `protobuf` package because the package has no public API for
schema-less wire encoding (its encoder and decoder modules are internal), and the codec needs exactly this much:
proto2 as Kubernetes writes it, with varint (0), 64-bit (1), length-delimited (2) and 32-bit (5) wire types.
Groups (3, 4) are not used by any Kubernetes message and are rejected.
"""
from __future__ import annotations

from collections.abc import Iterator

VARINT, FIXED64, DELIMITED, FIXED32 = 0, 1, 2, 5

_UINT64_MASK = (1 << 64) - 1
_INT64_MAX = (1 << 63) - 1


class ProtobufError(ValueError):
    """Bytes that are not a well-formed Kubernetes protobuf message, or a value that cannot be encoded as one."""


def read_varint(data: bytes, pos: int) -> tuple[int, int]:
    """The varint starting at `pos` and the position after it. Raises ProtobufError when it is cut short."""
    result = 0
    shift = 0
    while True:
        if pos >= len(data):
            raise ProtobufError("unexpected EOF")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7
        if shift >= 70:
            raise ProtobufError("integer overflow")


def encode_varint(value: int) -> bytes:
    """The varint of `value`; negative values are written as their 64-bit two's complement, as Go does."""
    value &= _UINT64_MASK
    if value < 0x80:
        return bytes((value,))
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def as_int64(value: int) -> int:
    """A decoded varint read as Go's int64."""
    return value - (1 << 64) if value > _INT64_MAX else value


def as_int32(value: int) -> int:
    """A decoded varint read as Go's int32 (the low 32 bits, signed)."""
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value >= 1 << 31 else value


def scan(data: bytes, start: int, stop: int) -> Iterator[tuple[int, int, int, int]]:
    """Yield (field number, wire type, value or start, end) for each field of the message in `data[start:stop]`.

    For varint fields the third item is the value; for length-delimited ones it is where the bytes start and the
    fourth item where they end. Fixed-width fields are skipped over and yielded with their span.
    """
    pos = start
    while pos < stop:
        key, pos = read_varint(data, pos)
        wire_type = key & 7
        if wire_type == VARINT:
            value, pos = read_varint(data, pos)
            yield key >> 3, wire_type, value, pos
            continue
        if wire_type == DELIMITED:
            length, pos = read_varint(data, pos)
        elif wire_type in (FIXED64, FIXED32):
            length = 8 if wire_type == FIXED64 else 4
        else:
            raise ProtobufError(f"illegal wire type {wire_type} for field {key >> 3}")
        end = pos + length
        if end > stop:
            raise ProtobufError("unexpected EOF")
        yield key >> 3, wire_type, pos, end
        pos = end
    if pos != stop:
        raise ProtobufError("unexpected EOF")


def append_delimited(out: bytearray, tag: bytes, payload: bytes | bytearray) -> None:
    """Append a length-delimited field: its key, the payload's length and the payload."""
    out += tag
    out += encode_varint(len(payload))
    out += payload
