"""CEL timestamps and durations with nanosecond precision, held as cel-go holds them (time.Time, time.Duration).

A `Timestamp` is Unix seconds plus nanoseconds within the second, always UTC, between 0001-01-01T00:00:00Z and
9999-12-31T23:59:59.999999999Z. A `Duration` is int64 nanoseconds (about ±292 years). Arithmetic fails as cel-go's
does (common/types/overflow.go): `timestamp overflow` when a result leaves the timestamp range, `integer overflow`
when a duration leaves int64 nanoseconds. Both are immutable; equal values hash alike.
"""
from __future__ import annotations

import datetime
from typing import Any, Final

from apiserver.cel.errors import EvaluationError

NANOS_PER_SECOND: Final = 1_000_000_000
MIN_UNIX_SECONDS: Final = -62_135_596_800  # 0001-01-01T00:00:00Z
MAX_UNIX_SECONDS: Final = 253_402_300_799  # 9999-12-31T23:59:59Z
_INT64_MIN: Final = -(2**63)
_INT64_MAX: Final = 2**63 - 1
_EPOCH: Final = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


def _checked_nanoseconds(nanoseconds: int) -> int:
    if nanoseconds < _INT64_MIN or nanoseconds > _INT64_MAX:
        raise EvaluationError("integer overflow")
    return nanoseconds


def _truncated_division(dividend: int, divisor: int) -> int:
    """Go's integer division (toward zero)."""
    quotient = abs(dividend) // divisor
    return -quotient if dividend < 0 else quotient


class Duration:
    """A CEL duration: int64 nanoseconds."""

    __slots__ = ("nanoseconds",)
    nanoseconds: int

    def __init__(self, nanoseconds: int) -> None:
        object.__setattr__(self, "nanoseconds", _checked_nanoseconds(nanoseconds))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Duration is immutable")

    @classmethod
    def of_timedelta(cls, value: datetime.timedelta) -> Duration:
        return cls(((value.days * 86400 + value.seconds) * 1_000_000 + value.microseconds) * 1000)

    def to_timedelta(self) -> datetime.timedelta:
        """As a timedelta, truncated toward zero to microseconds."""
        return datetime.timedelta(microseconds=_truncated_division(self.nanoseconds, 1000))

    def in_units(self, unit_nanoseconds: int) -> int:
        """Whole units, truncated toward zero (Go's `int64(d.Hours())`, `d.Milliseconds()`...)."""
        return _truncated_division(self.nanoseconds, unit_nanoseconds)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Duration) and self.nanoseconds == other.nanoseconds

    def __hash__(self) -> int:
        return hash(self.nanoseconds)

    def __lt__(self, other: Duration) -> bool:
        return self.nanoseconds < other.nanoseconds

    def __le__(self, other: Duration) -> bool:
        return self.nanoseconds <= other.nanoseconds

    def __gt__(self, other: Duration) -> bool:
        return self.nanoseconds > other.nanoseconds

    def __ge__(self, other: Duration) -> bool:
        return self.nanoseconds >= other.nanoseconds

    def __bool__(self) -> bool:
        return self.nanoseconds != 0

    def __add__(self, other: Any) -> Any:
        if isinstance(other, Duration):
            return Duration(self.nanoseconds + other.nanoseconds)
        if isinstance(other, Timestamp):
            return other.shifted(self.nanoseconds)
        return NotImplemented

    def __sub__(self, other: Any) -> Any:
        if isinstance(other, Duration):
            return Duration(self.nanoseconds - other.nanoseconds)
        return NotImplemented

    def __neg__(self) -> Duration:
        return Duration(-self.nanoseconds)

    def __repr__(self) -> str:
        return f"Duration({self.nanoseconds})"


class Timestamp:
    """A CEL timestamp: Unix seconds and the nanoseconds within that second, in UTC."""

    __slots__ = ("nanos", "seconds")
    seconds: int
    nanos: int

    def __init__(self, seconds: int, nanos: int = 0) -> None:
        if not 0 <= nanos < NANOS_PER_SECOND:
            seconds, nanos = seconds + nanos // NANOS_PER_SECOND, nanos % NANOS_PER_SECOND
        if seconds < MIN_UNIX_SECONDS or seconds > MAX_UNIX_SECONDS:
            raise EvaluationError("timestamp overflow")
        object.__setattr__(self, "seconds", seconds)
        object.__setattr__(self, "nanos", nanos)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Timestamp is immutable")

    @classmethod
    def of_datetime(cls, value: datetime.datetime, nanos_below_microsecond: int = 0) -> Timestamp:
        delta = value - _EPOCH
        return cls(delta.days * 86400 + delta.seconds, delta.microseconds * 1000 + nanos_below_microsecond)

    def to_datetime(self) -> datetime.datetime:
        """As an aware UTC datetime, truncated to microseconds."""
        return _EPOCH + datetime.timedelta(seconds=self.seconds, microseconds=self.nanos // 1000)

    def shifted(self, nanoseconds: int) -> Timestamp:
        total = self.seconds * NANOS_PER_SECOND + self.nanos + nanoseconds
        seconds, nanos = divmod(total, NANOS_PER_SECOND)
        return Timestamp(seconds, nanos)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Timestamp) and self.seconds == other.seconds and self.nanos == other.nanos

    def __hash__(self) -> int:
        return hash((self.seconds, self.nanos))

    def __lt__(self, other: Timestamp) -> bool:
        return (self.seconds, self.nanos) < (other.seconds, other.nanos)

    def __le__(self, other: Timestamp) -> bool:
        return (self.seconds, self.nanos) <= (other.seconds, other.nanos)

    def __gt__(self, other: Timestamp) -> bool:
        return (self.seconds, self.nanos) > (other.seconds, other.nanos)

    def __ge__(self, other: Timestamp) -> bool:
        return (self.seconds, self.nanos) >= (other.seconds, other.nanos)

    def __add__(self, other: Any) -> Any:
        if isinstance(other, Duration):
            return self.shifted(other.nanoseconds)
        return NotImplemented

    def __sub__(self, other: Any) -> Any:
        if isinstance(other, Duration):
            return self.shifted((-other).nanoseconds)
        if isinstance(other, Timestamp):
            # As cel-go's subtractTimeChecked: the whole seconds must fit in int64 nanoseconds on their own.
            whole = _checked_nanoseconds((self.seconds - other.seconds) * NANOS_PER_SECOND)
            return Duration(whole + self.nanos - other.nanos)
        return NotImplemented

    def __repr__(self) -> str:
        return f"Timestamp({self.seconds}, {self.nanos})"
