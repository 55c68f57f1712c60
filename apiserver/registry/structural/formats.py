"""String formats custom resources are checked against: kube-openapi's strfmt registry, as apiextensions keeps it.

apiextensions-apiserver strips every `format` outside its supported list before building the validator
(`StripUnsupportedFormatsPostProcess`), so `int32`, `int64`, `float`, `double` and unknown names check
nothing. Names compare the way go-openapi normalises them (`date-time` is `datetime`). A failed check is
reported as `<path> in body must be of type <format>: "<value>"`.
"""
from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from collections.abc import Callable
from typing import Final
from urllib.parse import urlsplit

_UUID: Final = re.compile(r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$")
_UUID3: Final = re.compile(r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?3[0-9a-f]{3}-?[0-9a-f]{4}-?[0-9a-f]{12}$")
_UUID4: Final = re.compile(r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?4[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$")
_UUID5: Final = re.compile(r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?5[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$")
_HOSTNAME: Final = re.compile(
    r"^([a-zA-Z0-9](-?[a-zA-Z0-9]{0,62})?|([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]{2,63})$"
)
_DATE_TIME_CLOCK: Final = re.compile(r"^([0-9]{2}):([0-9]{2}):([0-9]{2})(.[0-9]+)?(z|([+-][0-9]{2}:[0-9]{2}))$")
_DATE: Final = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_GO_UNIT: Final = r"(\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)"
_GO_DURATION: Final = re.compile(rf"^[-+]?({_GO_UNIT})+$")
_SCALA_DURATION: Final = re.compile(
    r"^(\d+)\s*(ns|nanos?|nanoseconds?|us|micros?|microseconds?|ms|millis?|milliseconds?|s|secs?|seconds?"
    r"|m|mins?|minutes?|h|hrs?|hours?|d|days?|w|wks?|weeks?)$"
)
_MAC: Final = re.compile(
    r"^([0-9A-Fa-f]{2}([:-])[0-9A-Fa-f]{2}(\2[0-9A-Fa-f]{2}){4}([:-][0-9A-Fa-f]{2}){0,14}"
    r"|[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}(\.[0-9A-Fa-f]{4}){0,4})$"
)
_HEX_COLOR: Final = re.compile(r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
_RGB_COLOR: Final = re.compile(
    r"^rgb\(\s*(0|[1-9]\d?|1\d\d?|2[0-4]\d|25[0-5])\s*,\s*(0|[1-9]\d?|1\d\d?|2[0-4]\d|25[0-5])\s*,"
    r"\s*(0|[1-9]\d?|1\d\d?|2[0-4]\d|25[0-5])\s*\)$"
)
_SSN: Final = re.compile(r"^\d{3}[- ]?\d{2}[- ]?\d{4}$")
_BSON_OBJECT_ID: Final = re.compile(r"^[0-9a-fA-F]{24}$")
_EMAIL: Final = re.compile(r"^[^@\s<>()\[\]\\,;:\"]+@[^@\s<>()\[\]\\,;:\"]+$")
_ISBN10: Final = re.compile(r"^(?:[0-9]{9}X|[0-9]{10})$")
_ISBN13: Final = re.compile(r"^(?:[0-9]{13})$")


def _is_date(text: str) -> bool:
    match = _DATE.match(text)
    if match is None:
        return False
    year, month, day = (int(part) for part in match.groups())
    days = (31, 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28, 31, 30, 31, 30, 31, 31,
            30, 31, 30, 31)
    return 1 <= month <= 12 and 1 <= day <= days[month - 1]


def _is_date_time(text: str) -> bool:
    # strfmt.IsDateTime: a full date, a `t`, then the clock with a zone; hours <= 23, minutes/seconds <= 59.
    if len(text) < 4:
        return False
    parts = text.lower().split("t")
    if len(parts) < 2 or not _is_date(parts[0]):
        return False
    match = _DATE_TIME_CLOCK.match(parts[1])
    return match is not None and match[1] <= "23" and match[2] <= "59" and match[3] <= "59"


def _is_duration(text: str) -> bool:
    return text == "0" or bool(_GO_DURATION.match(text)) or bool(_SCALA_DURATION.match(text))


def _is_ipv4(text: str) -> bool:
    # ParseIPSloppy accepts leading zeros; IPv4-mapped IPv6 text also parses but must contain a dot.
    if "." not in text:
        return False
    parts = text.split(".")
    if len(parts) == 4 and all(part.isdigit() and len(part) <= 3 and int(part) <= 255 for part in parts):
        return True
    return _is_ipv6(text)


def _is_ipv6(text: str) -> bool:
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


def _is_cidr(text: str) -> bool:
    address, slash, prefix = text.partition("/")
    if not slash or not prefix.isdigit():
        return False
    if _is_ipv4(address) and "." in address and ":" not in address:
        return int(prefix) <= 32
    return _is_ipv6(address) and int(prefix) <= 128


def _is_uri(text: str) -> bool:
    # govalidator.IsRequestURI: net/url.ParseRequestURI, an absolute URI or an absolute path.
    if not text or any(char in text for char in " \t\n"):
        return False
    if text.startswith("/"):
        return True
    try:
        parts = urlsplit(text)
    except ValueError:
        return False
    return bool(parts.scheme)


def _is_base64(text: str) -> bool:
    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _is_credit_card(text: str) -> bool:
    digits = "".join(char for char in text if char.isdigit())
    if not 12 <= len(digits) <= 19:
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def _is_isbn(text: str) -> bool:
    plain = text.replace("-", "").replace(" ", "")
    return bool(_ISBN10.match(plain) or _ISBN13.match(plain))


def _matches(pattern: re.Pattern[str]) -> Callable[[str], bool]:
    return lambda text: pattern.match(text) is not None


# Normalised format name -> check; the names apiextensions supports (others are stripped before validation).
FORMAT_CHECKS: Final[dict[str, Callable[[str], bool]]] = {
    "bsonobjectid": _matches(_BSON_OBJECT_ID),
    "uri": _is_uri,
    "email": _matches(_EMAIL),
    "hostname": lambda text: bool(_HOSTNAME.match(text)) and len(text) <= 255,
    "ipv4": _is_ipv4,
    "ipv6": _is_ipv6,
    "cidr": _is_cidr,
    "mac": _matches(_MAC),
    "uuid": _matches(_UUID),
    "uuid3": _matches(_UUID3),
    "uuid4": _matches(_UUID4),
    "uuid5": _matches(_UUID5),
    "isbn": _is_isbn,
    "isbn10": lambda text: bool(_ISBN10.match(text.replace("-", "").replace(" ", ""))),
    "isbn13": lambda text: bool(_ISBN13.match(text.replace("-", "").replace(" ", ""))),
    "creditcard": _is_credit_card,
    "ssn": _matches(_SSN),
    "hexcolor": _matches(_HEX_COLOR),
    "rgbcolor": _matches(_RGB_COLOR),
    "byte": _is_base64,
    "password": lambda text: True,
    "date": _is_date,
    "duration": _is_duration,
    "datetime": _is_date_time,
}


def normalized_format(name: str) -> str:
    """go-openapi's registry name of a format (`date-time` -> `datetime`)."""
    return name.replace("-", "").lower()


def supported_format(name: str) -> str:
    """The format as the validator keeps it: itself when supported, "" when apiextensions strips it."""
    return name if normalized_format(name) in FORMAT_CHECKS else ""
