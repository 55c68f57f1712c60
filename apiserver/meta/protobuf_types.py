"""Messages with a JSON form of their own: times, durations, quantities, int-or-strings, field sets, string lists.

Each converter maps the message's bytes (`data[start:stop]`) to the value our dicts hold, and back, as the Go
types' Marshal/Unmarshal and MarshalJSON pairs do (k8s.io/apimachinery pkg/apis/meta/v1/time_proto.go,
micro_time_proto.go, duration.go, pkg/api/resource/quantity_proto.go, pkg/util/intstr):

- `Time` {1: seconds, 2: nanos} ⇄ RFC 3339 with whole seconds (the nanos are ignored on decode, as upstream
  does); an empty message is the zero time, JSON `null`, left out of our dicts.
- `MicroTime` {1: seconds, 2: nanos} ⇄ RFC 3339 with six fractional digits.
- `Duration` {1: nanoseconds} ⇄ Go's duration string (`1h0m0s`, `1.5s`, `300ms`).
- `Quantity` {1: string} ⇄ the string, as written (canonicalisation is not the codec's business).
- `IntOrString` {1: type, 2: intVal, 3: strVal} ⇄ an int or a str.
- `FieldsV1` {1: raw JSON} ⇄ the decoded JSON object.
- `Verbs` and the `ExtraValue`s {1: repeated string} ⇄ a list of str.

`runtime.RawExtension` is converted by the codec itself, since it may embed a whole protobuf object.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from apiserver.meta.objects import format_micro_time, format_time, parse_time
from apiserver.meta.protobuf_wire import DELIMITED, VARINT, ProtobufError, as_int32, as_int64, encode_varint, scan

Decoder = Callable[[bytes, int, int], Any]
Encoder = Callable[[Any], bytes]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = timedelta(seconds=1)
_INT32_RANGE = range(-(1 << 31), 1 << 31)
_INT64_RANGE = range(-(1 << 63), 1 << 63)


def _varints(data: bytes, start: int, stop: int) -> dict[int, int]:
    return {number: value for number, wire_type, value, _ in scan(data, start, stop) if wire_type == VARINT}


def _strings(data: bytes, start: int, stop: int, wanted: int) -> list[str]:
    return [
        data[begin:end].decode("utf-8", "replace")
        for number, wire_type, begin, end in scan(data, start, stop)
        if number == wanted and wire_type == DELIMITED
    ]


def _delimited(number: int, payload: bytes) -> bytes:
    return encode_varint(number << 3 | DELIMITED) + encode_varint(len(payload)) + payload


def _moment(seconds: int, microseconds: int = 0) -> datetime:
    try:
        return _EPOCH + timedelta(seconds=seconds, microseconds=microseconds)
    except OverflowError:
        raise ProtobufError(f"timestamp out of range: {seconds}s") from None


def _decode_time(data: bytes, start: int, stop: int) -> str | None:
    if start == stop:
        return None
    return format_time(_moment(as_int64(_varints(data, start, stop).get(1, 0))))


def _decode_micro_time(data: bytes, start: int, stop: int) -> str | None:
    if start == stop:
        return None
    values = _varints(data, start, stop)
    return format_micro_time(_moment(as_int64(values.get(1, 0)), as_int32(values.get(2, 0)) // 1000))


def _encode_time(value: Any) -> bytes:
    if not isinstance(value, str):
        raise ProtobufError(f"a time must be a string, not {type(value).__name__}")
    try:
        moment = parse_time(value)
    except ValueError as error:
        raise ProtobufError(str(error)) from None
    seconds = (moment - _EPOCH) // _SECOND
    # Go writes both fields of the Timestamp, zeros included.
    return b"\x08" + encode_varint(seconds) + b"\x10" + encode_varint(moment.microsecond * 1000)


def _decode_duration(data: bytes, start: int, stop: int) -> str:
    return format_duration(as_int64(_varints(data, start, stop).get(1, 0)))


def _encode_duration(value: Any) -> bytes:
    if not isinstance(value, str):
        raise ProtobufError(f"a duration must be a string, not {type(value).__name__}")
    return b"\x08" + encode_varint(parse_duration(value))


def _decode_quantity(data: bytes, start: int, stop: int) -> str:
    strings = _strings(data, start, stop, 1)
    return strings[-1] if strings else "0"


def _encode_quantity(value: Any) -> bytes:
    # JSON clients may send a bare number; Go's Quantity.UnmarshalJSON reads it as the same text.
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ProtobufError(f"a quantity must be a string or a number, not {type(value).__name__}")
    return _delimited(1, str(value).encode())


def _decode_int_or_string(data: bytes, start: int, stop: int) -> int | str:
    values = _varints(data, start, stop)
    if values.get(1, 0) == 1:
        strings = _strings(data, start, stop, 3)
        return strings[-1] if strings else ""
    return as_int32(values.get(2, 0))


def _encode_int_or_string(value: Any) -> bytes:
    # Go writes all three fields whichever the type.
    if isinstance(value, str):
        return b"\x08\x01\x10\x00" + _delimited(3, value.encode())
    if isinstance(value, int) and not isinstance(value, bool) and value in _INT32_RANGE:
        return b"\x08\x00\x10" + encode_varint(value) + b"\x1a\x00"
    raise ProtobufError(f"an int-or-string must be a string or a 32-bit integer, not {value!r}")


def _decode_fields_v1(data: bytes, start: int, stop: int) -> Any:
    spans = [(begin, end) for number, wire_type, begin, end in scan(data, start, stop) if number == 1]
    raw = data[spans[-1][0]:spans[-1][1]] if spans else b""
    if not raw:
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise ProtobufError(f"FieldsV1 does not hold JSON: {error}") from None


def _encode_fields_v1(value: Any) -> bytes:
    if not isinstance(value, Mapping):
        raise ProtobufError(f"fieldsV1 must be an object, not {type(value).__name__}")
    return _delimited(1, orjson.dumps(value))


def _decode_string_list(data: bytes, start: int, stop: int) -> list[str]:
    return _strings(data, start, stop, 1)


def _encode_string_list(value: Any) -> bytes:
    if not isinstance(value, list | tuple) or not all(isinstance(item, str) for item in value):
        raise ProtobufError(f"expected a list of strings, not {value!r}")
    return b"".join(_delimited(1, item.encode()) for item in value)


DECODERS: dict[str, Decoder] = {
    "meta.v1.Time": _decode_time,
    "meta.v1.MicroTime": _decode_micro_time,
    "meta.v1.Duration": _decode_duration,
    "meta.v1.FieldsV1": _decode_fields_v1,
    "meta.v1.Verbs": _decode_string_list,
    "intstr.IntOrString": _decode_int_or_string,
    "resource.Quantity": _decode_quantity,
    "resource.QuantityValue": _decode_quantity,
    "authentication.v1.ExtraValue": _decode_string_list,
    "authorization.v1.ExtraValue": _decode_string_list,
    "certificates.v1.ExtraValue": _decode_string_list,
}
ENCODERS: dict[str, Encoder] = {
    "meta.v1.Time": _encode_time,
    "meta.v1.MicroTime": _encode_time,
    "meta.v1.Duration": _encode_duration,
    "meta.v1.FieldsV1": _encode_fields_v1,
    "meta.v1.Verbs": _encode_string_list,
    "intstr.IntOrString": _encode_int_or_string,
    "resource.Quantity": _encode_quantity,
    "resource.QuantityValue": _encode_quantity,
    "authentication.v1.ExtraValue": _encode_string_list,
    "authorization.v1.ExtraValue": _encode_string_list,
    "certificates.v1.ExtraValue": _encode_string_list,
}

_UNITS = {"ns": 1, "us": 1_000, "µs": 1_000, "μs": 1_000, "ms": 1_000_000, "s": 10**9, "m": 60 * 10**9,
          "h": 3600 * 10**9}
_DURATION_PART = re.compile(r"(\d*)(?:\.(\d*))?(ns|us|µs|μs|ms|s|m|h)")


def format_duration(nanoseconds: int) -> str:
    """Go's time.Duration.String(): `0s`, `1.5µs`, `300ms`, `1m30s`, `1h0m0s`, `-2s`."""
    if nanoseconds == 0:
        return "0s"
    sign = "-" if nanoseconds < 0 else ""
    value = abs(nanoseconds)
    if value < 1_000:
        return f"{sign}{value}ns"
    if value < 1_000_000_000:
        unit, size = ("µs", 1_000) if value < 1_000_000 else ("ms", 1_000_000)
        return sign + _decimal(value, size) + unit
    hours, rest = divmod(value, 3600 * 10**9)
    minutes, rest = divmod(rest, 60 * 10**9)
    text = _decimal(rest, 10**9) + "s"
    if hours or minutes:
        text = f"{minutes}m{text}"
    if hours:
        text = f"{hours}h{text}"
    return sign + text


def _decimal(value: int, size: int) -> str:
    whole, fraction = divmod(value, size)
    if not fraction:
        return str(whole)
    return f"{whole}." + str(fraction).rjust(len(str(size)) - 1, "0").rstrip("0")


def parse_duration(text: str) -> int:
    """Nanoseconds of a Go duration string (time.ParseDuration). Raises ProtobufError for anything else."""
    sign, body = (-1, text[1:]) if text[:1] == "-" else (1, text.removeprefix("+"))
    if body == "0":
        return 0
    total, pos = 0, 0
    while pos < len(body) or pos == 0:
        match = _DURATION_PART.match(body, pos)
        if match is None or not (match[1] or match[2]):
            raise ProtobufError(f"time: invalid duration {text!r}")
        whole, fraction, unit = match[1] or "0", match[2] or "", match[3]
        total += int(whole) * _UNITS[unit] + int(fraction or "0") * _UNITS[unit] // 10 ** len(fraction)
        pos = match.end()
    if total * sign not in _INT64_RANGE:
        raise ProtobufError(f"time: invalid duration {text!r}")
    return total * sign
