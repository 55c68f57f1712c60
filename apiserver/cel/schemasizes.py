"""Size bounds of schema values for the cost estimate, as kube-apiserver's size estimator derives them
(apiserver/pkg/cel/common/schemas.go and limits.go).

- a string's bound is 4 bytes per character of `maxLength` (a code point takes up to 4 bytes), else the length of
  its longest enum value, else the request size less its quotes (also for int-or-string); date-times and durations
  are at most 32 bytes of JSON, dates 12;
- numbers, booleans and objects are leaves with no traversal size (0);
- a list holds `maxItems` elements, else as many of its smallest items as fit in one request
  (`(3 MiB - 2) / (min + 1)`); a map `maxProperties`, else `(3 MiB - 2) / (min + 6)` entries.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from apiserver.cel.limits import MAX_REQUEST_SIZE_BYTES

MAX_STRING_SIZE: Final = MAX_REQUEST_SIZE_BYTES - 2
MAX_TIME_SIZE: Final = 32
DATE_SIZE: Final = len('"2006-01-02"')
# The smallest JSON serialisation of a value of each kind of schema (upstream's Min*Size constants).
_MIN_STRING_SIZES: Final = {"date": 12, "date-time": 21, "duration": 3}
_MIN_SIZES: Final = {"integer": 1, "number": 1, "boolean": 4, "array": 2, "string": 2}


def string_size(schema: Mapping[str, Any]) -> int:
    bound = schema.get("maxLength")
    if bound is not None:
        return int(bound) * 4
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return max(len(str(value)) for value in enum)
    return MAX_STRING_SIZE


def list_size(schema: Mapping[str, Any]) -> int:
    bound = schema.get("maxItems")
    if bound is not None:
        return int(bound)
    return MAX_STRING_SIZE // (min_size(schema.get("items")) + 1)


def map_size(schema: Mapping[str, Any]) -> int:
    bound = schema.get("maxProperties")
    if bound is not None:
        return int(bound)
    return MAX_STRING_SIZE // (min_size(schema.get("additionalProperties")) + 6)


def min_size(schema: Any) -> int:
    """The length of the shortest JSON value the schema accepts."""
    if not isinstance(schema, Mapping):
        return 1
    if schema.get("x-kubernetes-int-or-string"):
        return 1
    kind = schema.get("type")
    if kind == "string":
        return _MIN_STRING_SIZES.get(str(schema.get("format")), 2)
    if kind == "object":
        return _min_object_size(schema)
    return _MIN_SIZES.get(str(kind), 1)


def _min_object_size(schema: Mapping[str, Any]) -> int:
    properties = schema.get("properties") or {}
    required = [name for name in schema.get("required") or () if name in properties]
    members = sum(len(name) + 3 + min_size(properties[name]) for name in required)
    return 2 + members + max(len(required) - 1, 0)
