"""Kubernetes' format library (apiserver/pkg/cel/library/format.go, in the environment from v1.31):
`format.dns1123Label().validate(s)` and `format.named('dns1123Label').value().validate(s)` answer
`optional.none()` for a valid string and `optional.of([messages])` otherwise, with the apimachinery messages."""
from __future__ import annotations

import base64
import binascii
import re
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, Final

from apiserver.cel.errors import EvaluationError
from apiserver.cel.overloads import Library, add, overload
from apiserver.cel.timelib import parse_date, parse_timestamp
from apiserver.cel.types import STRING, list_of, opaque, optional_of
from apiserver.cel.values import OPTIONAL_NONE, OptionalValue
from apiserver.meta import validation

FORMAT_TYPE: Final = opaque("kubernetes.NamedFormat")
_UUID: Final = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


@dataclass(frozen=True, slots=True)
class NamedFormat:
    name: str
    check: Callable[[str], list[str]]
    cel_type: ClassVar = FORMAT_TYPE


def _uri(value: str) -> list[str]:
    parts = urllib.parse.urlsplit(value) if value else None
    if parts is None or (not parts.scheme and not value.startswith("/")):
        return [f'invalid URI: parse "{value}": invalid URI for request']
    return []


def _uuid(value: str) -> list[str]:
    return [] if _UUID.fullmatch(value) else ["does not match the UUID format"]


def _byte(value: str) -> list[str]:
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return ["invalid base64"]
    return []


def _parses(parse: Callable[[str], object], message: str) -> Callable[[str], list[str]]:
    def check(value: str) -> list[str]:
        try:
            parse(value)
        except EvaluationError:
            return [message]
        return []

    return check


FORMATS: Final = {format_.name: format_ for format_ in (
    NamedFormat("dns1123Label", validation.is_dns1123_label),
    NamedFormat("dns1123Subdomain", validation.is_dns1123_subdomain),
    NamedFormat("dns1035Label", validation.is_dns1035_label),
    NamedFormat("qualifiedName", validation.is_qualified_name),
    NamedFormat("dns1123LabelPrefix", lambda value: validation.name_is_dns_label(value, True)),
    NamedFormat("dns1123SubdomainPrefix", lambda value: validation.name_is_dns_subdomain(value, True)),
    NamedFormat("dns1035LabelPrefix", lambda value: validation.name_is_dns1035_label(value, True)),
    NamedFormat("labelValue", validation.is_valid_label_value),
    NamedFormat("uri", _uri),
    NamedFormat("uuid", _uuid),
    NamedFormat("byte", _byte),
    NamedFormat("date", _parses(parse_date, "invalid date")),
    NamedFormat("datetime", _parses(parse_timestamp, "invalid datetime")),
)}


def _validate(format_: NamedFormat, value: str) -> OptionalValue:
    messages = format_.check(value)
    return OptionalValue(messages, True) if messages else OPTIONAL_NONE


def _named(name: str) -> OptionalValue:
    found = FORMATS.get(name)
    return OptionalValue(found, True) if found is not None else OPTIONAL_NONE


def format_library(library: Library) -> None:
    for name, format_ in FORMATS.items():
        add(library, f"format.{name}", overload(f"format_{name}", (), FORMAT_TYPE, lambda found=format_: found))
    add(library, "format.named", overload("format_named", (STRING,), optional_of(FORMAT_TYPE), _named))
    add(library, "validate", overload("format_validate", (FORMAT_TYPE, STRING), optional_of(list_of(STRING)),
                                      _validate, member=True))
