"""Timestamps and durations: `timestamp()`, `duration()`, their accessors and string forms (cel-spec)."""
from __future__ import annotations

import datetime
import re
import zoneinfo
from collections.abc import Callable
from typing import Any, Final

from apiserver.cel.errors import EvaluationError
from apiserver.cel.overloads import Library, add, overload
from apiserver.cel.types import DURATION, INT, STRING, TIMESTAMP

_DURATION_PART: Final = re.compile(r"([0-9]*(?:\.[0-9]*)?)(ns|us|µs|μs|ms|s|m|h)")
_UNIT_SECONDS: Final = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_RFC3339: Final = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))"
)
_MIN_TIMESTAMP: Final = datetime.datetime(1, 1, 1, tzinfo=datetime.UTC)
_MAX_DURATION_SECONDS: Final = 315_576_000_000


def parse_date(text: str) -> datetime.datetime:
    """A `format: date` value (`2006-01-02`) as midnight UTC."""
    try:
        return datetime.datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=datetime.UTC)
    except ValueError:
        raise EvaluationError(f'parsing time "{text}" as "2006-01-02": cannot parse "{text}"') from None


def parse_timestamp(text: str) -> datetime.datetime:
    """An RFC 3339 timestamp as an aware UTC datetime (sub-microsecond digits are truncated)."""
    match = _RFC3339.fullmatch(text)
    if match is None:
        raise EvaluationError(f'parsing time "{text}" as "2006-01-02T15:04:05Z07:00": cannot parse "{text}"')
    year, month, day, hour, minute, second = (int(match.group(index)) for index in range(1, 7))
    fraction = (match.group(7) or "").ljust(6, "0")[:6]
    offset = datetime.timedelta(0)
    if match.group(9):
        offset = datetime.timedelta(hours=int(match.group(10)), minutes=int(match.group(11)))
        offset = offset if match.group(9) == "+" else -offset
    try:
        value = datetime.datetime(year, month, day, hour, minute, second, int(fraction),
                                  tzinfo=datetime.timezone(offset))
    except ValueError as error:
        raise EvaluationError(f'parsing time "{text}": {error}') from None
    return value.astimezone(datetime.UTC)


def parse_duration(text: str) -> datetime.timedelta:
    """A Go duration string (`1h30m`, `-1.5s`, `300ms`) as a timedelta."""
    body = text
    sign = 1
    if body[:1] in "+-" and body:
        sign = -1 if body[0] == "-" else 1
        body = body[1:]
    if body == "0":
        return datetime.timedelta(0)
    position, seconds = 0, 0.0
    while position < len(body):
        match = _DURATION_PART.match(body, position)
        if match is None or match.group(1) in ("", "."):
            raise EvaluationError(f'time: invalid duration "{text}"')
        seconds += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        position = match.end()
    if not body:
        raise EvaluationError(f'time: invalid duration "{text}"')
    if seconds > _MAX_DURATION_SECONDS:
        raise EvaluationError(f'time: invalid duration "{text}"')
    return datetime.timedelta(seconds=sign * seconds)


def format_timestamp(value: datetime.datetime) -> str:
    text = value.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += ("." + f"{value.microsecond:06d}").rstrip("0")
    return text + "Z"


def format_duration(value: datetime.timedelta) -> str:
    micros = (value.days * 86400 + value.seconds) * 1_000_000 + value.microseconds
    sign = "-" if micros < 0 else ""
    whole, fraction = divmod(abs(micros), 1_000_000)
    return f"{sign}{whole}" + (f".{fraction:06d}".rstrip("0") if fraction else "") + "s"


def _timestamp(value: Any) -> datetime.datetime:
    if isinstance(value, datetime.datetime):
        return value
    if isinstance(value, int):
        return _MIN_TIMESTAMP + datetime.timedelta(seconds=value + 62135596800)
    return parse_timestamp(value)


def _duration(value: Any) -> datetime.timedelta:
    return value if isinstance(value, datetime.timedelta) else parse_duration(value)


def _in_zone(value: datetime.datetime, zone: str | None) -> datetime.datetime:
    if zone is None:
        return value.astimezone(datetime.UTC)
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
_DURATION_ACCESSORS: Final[dict[str, Callable[[datetime.timedelta], int]]] = {
    "getHours": lambda d: int(d.total_seconds() / 3600),
    "getMinutes": lambda d: int(d.total_seconds() / 60),
    "getSeconds": lambda d: int(d.total_seconds()),
    "getMilliseconds": lambda d: int(d.total_seconds() * 1000),
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
    def access(value: datetime.datetime, zone: str | None = None) -> int:
        return accessor(_in_zone(value, zone))

    return access
