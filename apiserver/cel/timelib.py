"""Timestamps and durations: `timestamp()`, `duration()`, their accessors and string forms, with nanosecond
precision (values are `Timestamp` and `Duration` from timevalues; parsing and printing follow Go's time package)."""
from __future__ import annotations

import datetime
import decimal
import re
import zoneinfo
from collections.abc import Callable
from typing import Any, Final

from apiserver.cel.errors import EvaluationError
from apiserver.cel.overloads import Library, add, overload
from apiserver.cel.timevalues import NANOS_PER_SECOND, Duration, Timestamp
from apiserver.cel.types import DURATION, INT, STRING, TIMESTAMP

_DURATION_PART: Final = re.compile(r"([0-9]*)(?:\.([0-9]*))?([^0-9.]*)")
_UNIT_NANOSECONDS: Final = {
    "ns": 1, "us": 1_000, "\u00b5s": 1_000, "\u03bcs": 1_000, "ms": 1_000_000, "s": NANOS_PER_SECOND,
    "m": 60 * NANOS_PER_SECOND, "h": 3600 * NANOS_PER_SECOND,
}
_RFC3339: Final = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))"
)
_UNIX_EPOCH: Final = datetime.datetime(1970, 1, 1)
_GO_DURATION_LIMIT: Final = 1 << 63


def parse_date(text: str) -> Timestamp:
    """A `format: date` value (`2006-01-02`) as midnight UTC."""
    try:
        day = datetime.datetime.strptime(text, "%Y-%m-%d")
    except ValueError:
        raise EvaluationError(f'parsing time "{text}" as "2006-01-02": cannot parse "{text}"') from None
    return Timestamp(_unix_seconds(day))


def _unix_seconds(naive: datetime.datetime) -> int:
    delta = naive - _UNIX_EPOCH
    return delta.days * 86400 + delta.seconds


def parse_timestamp(text: str) -> Timestamp:
    """An RFC 3339 timestamp, to the nanosecond, as a UTC `Timestamp` (`timestamp overflow` outside years 1-9999)."""
    match = _RFC3339.fullmatch(text)
    if match is None:
        raise EvaluationError(f'parsing time "{text}" as "2006-01-02T15:04:05Z07:00": cannot parse "{text}"')
    year, month, day, hour, minute, second = (int(match.group(index)) for index in range(1, 7))
    nanos = int((match.group(7) or "").ljust(9, "0"))
    offset = 0
    if match.group(9):
        offset = int(match.group(10)) * 3600 + int(match.group(11)) * 60
        offset = offset if match.group(9) == "+" else -offset
    try:
        local = datetime.datetime(year, month, day, hour, minute, second)
    except ValueError as error:
        raise EvaluationError(f'parsing time "{text}": {error}') from None
    return Timestamp(_unix_seconds(local) - offset, nanos)


def parse_duration(text: str) -> Duration:
    """A Go duration string (`1h30m`, `-1.5s`, `300ms`) exactly as Go's time.ParseDuration reads it, including its
    int64-nanosecond limit."""
    body = text
    negative = body[:1] == "-"
    if body[:1] in ("-", "+"):
        body = body[1:]
    if body == "0":
        return Duration(0)
    if not body:
        raise EvaluationError(f'time: invalid duration "{text}"')
    total, position = 0, 0
    while position < len(body):
        match = _DURATION_PART.match(body, position)
        whole, fraction, unit = match.group(1), match.group(2), match.group(3)  # type: ignore[union-attr]
        if (not whole and not fraction) or unit not in _UNIT_NANOSECONDS:
            raise EvaluationError(f'time: invalid duration "{text}"')
        total += _component_nanoseconds(text, whole, fraction or "", _UNIT_NANOSECONDS[unit])
        position = match.end()  # type: ignore[union-attr]
        if total > _GO_DURATION_LIMIT:
            raise EvaluationError(f'time: invalid duration "{text}"')
    if not negative and total > _GO_DURATION_LIMIT - 1:
        raise EvaluationError(f'time: invalid duration "{text}"')
    return Duration(-total if negative else total)


def _component_nanoseconds(text: str, whole: str, fraction: str, unit: int) -> int:
    value = int(whole or "0")
    if value > _GO_DURATION_LIMIT // unit:
        raise EvaluationError(f'time: invalid duration "{text}"')
    value *= unit
    # Go keeps at most the fraction digits that fit in int64 and scales them with float64 arithmetic.
    digits = fraction
    while digits and int(digits) > _GO_DURATION_LIMIT - 1:
        digits = digits[:-1]
    if digits and int(digits):
        value += int(float(int(digits)) * (float(unit) / float(10 ** len(digits))))
    if value > _GO_DURATION_LIMIT:
        raise EvaluationError(f'time: invalid duration "{text}"')
    return value


def format_timestamp(value: Timestamp) -> str:
    """Go's RFC3339Nano in UTC: trailing zeros of the fraction dropped."""
    text = value.to_datetime().strftime("%Y-%m-%dT%H:%M:%S")
    if value.nanos:
        text += f".{value.nanos:09d}".rstrip("0")
    return text + "Z"


def format_duration(value: Duration) -> str:
    """cel-go's string(duration): the seconds as Go's shortest float64 text (`FormatFloat(d.Seconds(), 'f', -1)`)."""
    whole = value.in_units(NANOS_PER_SECOND)
    seconds = float(whole) + float(value.nanoseconds - whole * NANOS_PER_SECOND) / 1e9
    text = format(decimal.Decimal(repr(seconds)), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text + "s"


def _timestamp(value: Any) -> Timestamp:
    if isinstance(value, Timestamp):
        return value
    if isinstance(value, int):
        return Timestamp(value)
    try:
        return parse_timestamp(value)
    except EvaluationError as error:
        if str(error) == "timestamp overflow":
            raise
        raise EvaluationError("type conversion error from 'string' to 'google.protobuf.Timestamp'") from None


def _duration(value: Any) -> Duration:
    if isinstance(value, Duration):
        return value
    try:
        return parse_duration(value)
    except EvaluationError:
        raise EvaluationError("type conversion error from 'string' to 'google.protobuf.Duration'") from None


def _in_zone(timestamp: Timestamp, zone: str | None) -> datetime.datetime:
    value = timestamp.to_datetime()
    if zone is None:
        return value
    match = re.fullmatch(r"([+-]?)(\d{1,2}):(\d{2})", zone)
    if match:
        offset = datetime.timedelta(hours=int(match.group(2)), minutes=int(match.group(3)))
        return value.astimezone(datetime.timezone(-offset if match.group(1) == "-" else offset))
    try:
        return value.astimezone(zoneinfo.ZoneInfo(zone))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise EvaluationError(f"unknown time zone {zone}") from None


_TIMESTAMP_ACCESSORS: Final[dict[str, Callable[[datetime.datetime], int]]] = {
    "getFullYear": lambda t: t.year,
    "getMonth": lambda t: t.month - 1,
    "getDate": lambda t: t.day,
    "getDayOfMonth": lambda t: t.day - 1,
    "getDayOfWeek": lambda t: (t.weekday() + 1) % 7,
    "getDayOfYear": lambda t: t.timetuple().tm_yday - 1,
    "getHours": lambda t: t.hour,
    "getMinutes": lambda t: t.minute,
    "getSeconds": lambda t: t.second,
    "getMilliseconds": lambda t: t.microsecond // 1000,
}
# cel-go returns the whole duration in each unit, truncated toward zero (Go's d.Hours(), d.Milliseconds()...).
_DURATION_ACCESSORS: Final[dict[str, Callable[[Duration], int]]] = {
    "getHours": lambda d: d.in_units(3600 * NANOS_PER_SECOND),
    "getMinutes": lambda d: d.in_units(60 * NANOS_PER_SECOND),
    "getSeconds": lambda d: d.in_units(NANOS_PER_SECOND),
    "getMilliseconds": lambda d: d.in_units(1_000_000),
}


def time_functions(library: Library) -> None:
    add(library, "timestamp",
        overload("string_to_timestamp", (STRING,), TIMESTAMP, _timestamp),
        overload("timestamp_to_timestamp", (TIMESTAMP,), TIMESTAMP, _timestamp),
        overload("int64_to_timestamp", (INT,), TIMESTAMP, _timestamp))
    add(library, "duration",
        overload("string_to_duration", (STRING,), DURATION, _duration),
        overload("duration_to_duration", (DURATION,), DURATION, _duration))
    for name, accessor in _TIMESTAMP_ACCESSORS.items():
        add(library, name,
            overload(f"timestamp_{name}", (TIMESTAMP,), INT, _zoned(accessor), member=True),
            overload(f"timestamp_{name}_with_tz", (TIMESTAMP, STRING), INT, _zoned(accessor), member=True))
    for name, duration_accessor in _DURATION_ACCESSORS.items():
        add(library, name, overload(f"duration_{name}", (DURATION,), INT, duration_accessor, member=True))


def _zoned(accessor: Callable[[datetime.datetime], int]) -> Callable[..., int]:
    def access(value: Timestamp, zone: str | None = None) -> int:
        return accessor(_in_zone(value, zone))

    return access
