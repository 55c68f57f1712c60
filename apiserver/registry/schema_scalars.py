"""Go's own errors for two scalar wire formats a typed decode parses: base64 `[]byte` and RFC 3339 times.

kube-apiserver reports a malformed Secret value as `illegal base64 data at input byte 4` (encoding/base64) and
a malformed timestamp as `parsing time "x" as "2006-01-02T15:04:05Z07:00": cannot parse "x" as "2006"`
(time.Parse, through metav1.Time's UnmarshalJSON). Clients show these texts, so both parsers are replayed here
step by step, only far enough to find the first error and its position.
"""
from __future__ import annotations

import re
from typing import Final

RFC3339: Final = "2006-01-02T15:04:05Z07:00"
RFC3339_MICRO: Final = "2006-01-02T15:04:05.000000Z07:00"

_BASE64_ALPHABET: Final = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
_CANONICAL_BASE64: Final = re.compile(rb"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")
_NEWLINES: Final = b"\r\n"
_PAD: Final = ord("=")


def go_base64_error(text: str) -> str | None:
    """base64.StdEncoding.Decode's error for `text` (`illegal base64 data at input byte N`), or None if valid."""
    data = text.encode("utf-8", "surrogateescape")
    if _CANONICAL_BASE64.fullmatch(data):
        return None
    position = 0
    while position < len(data):
        position, offset = _decode_quantum(data, position)
        if offset is not None:
            return f"illegal base64 data at input byte {offset}"
    return None


def _decode_quantum(data: bytes, position: int) -> tuple[int, int | None]:
    """One 4-character quantum from `position`: (next position, offset of the error or None)."""
    length = len(data)
    read = 0
    while read < 4:
        if position == length:
            return position, (None if read == 0 else position - read)
        byte = data[position]
        position += 1
        if byte in _BASE64_ALPHABET:
            read += 1
            continue
        if byte in _NEWLINES:
            continue
        if byte != _PAD or read < 2:
            return position, position - 1
        return _padding(data, position, read)
    return position, None


def _padding(data: bytes, position: int, read: int) -> tuple[int, int | None]:
    """After the first `=` of a quantum with `read` characters: the rest of the padding, then the end."""
    length = len(data)
    if read == 2:
        position = _skip_newlines(data, position)
        if position == length:
            return position, length
        if data[position] != _PAD:
            return position, position - 1
        position += 1
    position = _skip_newlines(data, position)
    return position, (position if position < length else None)


def _skip_newlines(data: bytes, position: int) -> int:
    while position < len(data) and data[position] in _NEWLINES:
        position += 1
    return position


class _ParseError(Exception):
    pass


def go_time_error(text: str, layout: str = RFC3339) -> str | None:
    """time.Parse(layout, text)'s error for the RFC 3339 layouts metav1.Time and MicroTime use, or None."""
    try:
        _TimeParser(text, layout).parse()
    except _ParseError as error:
        return str(error)
    return None


# The layouts as Go's nextStdChunk splits them: (literal prefix, standard element).
_CHUNKS: Final = {
    RFC3339: (("", "2006"), ("-", "01"), ("-", "02"), ("T", "15"), (":", "04"), (":", "05"), ("", "Z07:00")),
    RFC3339_MICRO: (
        ("", "2006"), ("-", "01"), ("-", "02"), ("T", "15"), (":", "04"), (":", "05"), ("", ".000000"),
        ("", "Z07:00"),
    ),
}
_DAYS: Final = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


class _TimeParser:
    """Go's time.parse over one of the RFC 3339 layouts: each element consumes the front of `rest`."""

    def __init__(self, text: str, layout: str) -> None:
        self.text = text
        self.layout = layout
        self.rest = text
        self.year = self.month = self.day = 0

    def fail(self, layout_element: str, value_element: str, message: str = "") -> _ParseError:
        if message:
            return _ParseError(f"parsing time {_time_quote(self.text)}{message}")
        return _ParseError(
            f"parsing time {_time_quote(self.text)} as {_time_quote(self.layout)}: cannot parse "
            f"{_time_quote(value_element)} as {_time_quote(layout_element)}"
        )

    def parse(self) -> None:
        for prefix, element in _CHUNKS[self.layout]:
            for char in prefix:
                if not self.rest or self.rest[0] != char:
                    raise self.fail(prefix, self.rest)
                self.rest = self.rest[1:]
            hold = self.rest
            range_error = self._element(element)
            if range_error:
                raise self.fail(element, self.rest, f": {range_error} out of range")
            if range_error is None:
                raise self.fail(element, hold)
        if self.rest:
            raise self.fail("", self.rest, f": extra text: {_time_quote(self.rest)}")
        if not 1 <= self.day <= _days_in(self.month, self.year):
            raise self.fail("", self.rest, ": day out of range")

    def _element(self, element: str) -> str | None:
        """Consume one element: "" when fine, the range-error name, or None for a syntax error."""
        handler = {
            "2006": self._year, "01": self._month, "02": self._day, "15": self._hour, "04": self._minute,
            "05": self._second, ".000000": self._micros, "Z07:00": self._zone,
        }[element]
        return handler()

    def _number(self, fixed: bool) -> int | None:
        rest = self.rest
        if not rest[:1].isdigit() or not rest[:1].isascii():
            return None
        if not (rest[1:2].isdigit() and rest[1:2].isascii()):
            if fixed:
                return None
            self.rest = rest[1:]
            return int(rest[0])
        self.rest = rest[2:]
        return int(rest[:2])

    def _year(self) -> str | None:
        digits = self.rest[:4]
        if len(self.rest) < 4 or not (digits[0].isdigit() and digits[0].isascii()):
            return None
        self.rest = self.rest[4:]
        if not (digits.isascii() and digits.isdigit()):
            return None
        self.year = int(digits)
        return ""

    def _month(self) -> str | None:
        month = self._number(fixed=True)
        if month is None:
            return None
        self.month = month
        return "" if 1 <= month <= 12 else "month"

    def _day(self) -> str | None:
        day = self._number(fixed=True)
        if day is None:
            return None
        self.day = day
        return ""

    def _hour(self) -> str | None:
        hour = self._number(fixed=False)
        return None if hour is None else ("" if hour < 24 else "hour")

    def _minute(self) -> str | None:
        minute = self._number(fixed=True)
        return None if minute is None else ("" if minute < 60 else "minute")

    def _second(self) -> str | None:
        second = self._number(fixed=True)
        if second is None:
            return None
        if second >= 60:
            return "second"
        if self.layout == RFC3339 and len(self.rest) >= 2 and self.rest[0] in ".," and self.rest[1].isdigit():
            # A fraction the layout does not mention is accepted (and kept) by Go's parser.
            end = 2
            while end < len(self.rest) and self.rest[end].isascii() and self.rest[end].isdigit():
                end += 1
            self.rest = self.rest[end:]
        return ""

    def _micros(self) -> str | None:
        fraction = self.rest[:7]
        if len(fraction) < 7 or fraction[0] not in ".," or not (fraction[1:].isascii() and fraction[1:].isdigit()):
            return None
        self.rest = self.rest[7:]
        return ""

    def _zone(self) -> str | None:
        rest = self.rest
        if rest[:1] == "Z":
            self.rest = rest[1:]
            return ""
        if len(rest) < 6 or rest[3] != ":":
            return None
        hours, minutes = rest[1:3], rest[4:6]
        self.rest = rest[6:]
        if not all(part.isascii() and part.isdigit() for part in (hours, minutes)):
            return None
        if int(hours) > 24:
            return "time zone offset hour"
        if int(minutes) > 60:
            return "time zone offset minute"
        return "" if rest[0] in "+-" else None


def _days_in(month: int, year: int) -> int:
    if month == 2 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0):
        return 29
    return _DAYS[month - 1] if 1 <= month <= 12 else 0


def _time_quote(text: str) -> str:
    """The time package's quote(): double quotes, `\\"` and `\\\\`, and `\\xNN` for every non-ASCII byte."""
    out = ['"']
    for char in text:
        if char >= "\x80" or char < " ":
            out.extend(f"\\x{byte:02x}" for byte in char.encode("utf-8", "surrogateescape"))
        else:
            out.append("\\" + char if char in '"\\' else char)
    return "".join(out) + '"'
