"""Adapting JSON values to the CEL type a schema declares: date-time strings to timestamps, duration strings to
durations, base64 strings to bytes, JSON integers to doubles for `number`. Computed once per expression node."""
from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from typing import Any

from apiserver.cel.errors import EvaluationError
from apiserver.cel.timelib import parse_date, parse_duration, parse_timestamp
from apiserver.cel.types import CelType
from apiserver.cel.values import MapList, SetList

Adapter = Callable[[Any], Any]


def adapter_for(cel_type: CelType) -> Adapter | None:
    """A function converting a JSON value to this type's runtime form, or None when no conversion is needed."""
    kind = cel_type.kind
    if kind == "timestamp":
        return _timestamp
    if kind == "duration":
        return _duration
    if kind == "bytes":
        return _bytes
    if kind == "double":
        return _double
    if kind == "list":
        return _list_adapter(cel_type)
    if kind == "map":
        inner = adapter_for(cel_type.params[1])
        return None if inner is None else (lambda value: {key: inner(item) for key, item in value.items()}
                                           if isinstance(value, Mapping) else value)
    return None


def _list_adapter(cel_type: CelType) -> Adapter | None:
    element = adapter_for(cel_type.params[0])
    convert: Adapter = (lambda items: [element(item) for item in items]) if element is not None else list
    if cel_type.name == "set":
        return lambda value: SetList(convert(value)) if isinstance(value, list) else value
    if cel_type.name.startswith("map:"):
        keys = tuple(cel_type.name[4:].split(","))
        return lambda value: MapList(convert(value), keys) if isinstance(value, list) else value
    if element is None:
        return None
    return lambda value: convert(value) if isinstance(value, list) else value


def _timestamp(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    return parse_date(value) if len(value) == 10 else parse_timestamp(value)


def _duration(value: Any) -> Any:
    return parse_duration(value) if isinstance(value, str) else value


def _bytes(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise EvaluationError(f"illegal base64 data: {value}") from None


def _double(value: Any) -> Any:
    return float(value) if type(value) is int else value
