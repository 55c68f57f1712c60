"""JSON values as Go's unstructured decoding sees them: kinds, equality, and kube-openapi's number checks.

Integers within int64 are Go int64s, every other number a float64. Bounds and multipleOf follow kube-openapi's
native-type paths: an int64 is compared with the bound truncated to int64 (and the message prints that int64),
a float64 with the float bound; multipleOf of a float64 accepts a quotient integral within a relative 1e-9.
"""
from __future__ import annotations

import math
from typing import Any, Final

import orjson

from apiserver.meta.validation import render_bad_value

_INT64_MIN: Final = -(2**63)
_INT64_MAX: Final = 2**63 - 1
_EPSILON: Final = 1e-9
_MAX_JSON_FLOAT: Final = float(2**53)

MISSING: Final[Any] = object()
"""No correlated old value (a create, or a value new in this update)."""


def value_kind(value: Any) -> str:
    """The Go kind an unstructured JSON value decodes to: bool, string, int (int64), float, list, map, null."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, str):
        return "string"
    if isinstance(value, int):
        return "int" if _INT64_MIN <= value <= _INT64_MAX else "float"
    if isinstance(value, float):
        return "float"
    return "list" if isinstance(value, list) else "map"


TYPE_INFO: Final = {
    "bool": ("boolean", ""), "string": ("string", ""), "int": ("integer", "int64"), "float": ("number", "float64"),
    "list": ("array", ""), "map": ("object", ""),
}


def is_json_integer(number: float) -> bool:
    """swag.IsFloat64AJSONInteger: integral within a relative 1e-9, inside ±2^53."""
    if math.isnan(number) or math.isinf(number) or abs(number) > _MAX_JSON_FLOAT:
        return False
    if number == int(number):
        return True
    nearest = float(round(number))
    difference = abs(number - nearest)
    return difference / min(abs(number) + abs(nearest), 1.7976931348623157e308) < _EPSILON


def number_text(value: float | int) -> str:
    """Go's %v of an int64 or float64."""
    return str(value) if isinstance(value, int) else render_bad_value(float(value))


def correlation_key(value: Any) -> Any:
    """A hashable stand-in for a list-map key field's value (values of different JSON types never collide)."""
    if isinstance(value, dict | list):
        try:
            return ("json", orjson.dumps(value, option=orjson.OPT_SORT_KEYS))
        except TypeError:
            return ("repr", repr(value))
    return (type(value).__name__, value)


def deep_equal(left: Any, right: Any) -> bool:
    """reflect.DeepEqual of two unstructured values (ratcheting's test): 1 and 1.0 differ, as int64 and float64."""
    if left is right:
        return True
    if left != right:
        return False
    try:
        return orjson.dumps(left, option=orjson.OPT_SORT_KEYS) == orjson.dumps(right, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # integers beyond 64 bits
        return json_equal(left, right)


def json_equal(left: Any, right: Any) -> bool:
    """reflect.DeepEqual of decoded JSON with numeric conversion (1 == 1.0), never bool == number."""
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(json_equal(left[key], right[key]) for key in left)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(json_equal(a, b) for a, b in zip(left, right, strict=True))
    if isinstance(left, int | float) and isinstance(right, int | float):
        return left == right
    return type(left) is type(right) and left == right


def has_duplicates(items: list[Any]) -> bool:
    return any(json_equal(items[i], items[j]) for i in range(len(items)) for j in range(i))
