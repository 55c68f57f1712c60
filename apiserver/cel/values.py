"""Runtime values: how CEL values are held in Python, CEL equality and ordering, conversion in and out.

int is `int` (never `bool`), uint is `UInt`, double is `float`, string `str`, bytes `bytes`, null `None`, list
`list`/`tuple`, map `dict`, timestamp a `Timestamp`, duration a `Duration` (timevalues: nanoseconds, as cel-go),
optional an `OptionalValue`, type a `CelType`; library types (IP, CIDR, URL, Quantity, authorizer checks) are
objects with a `cel_type`.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final

from apiserver.cel.errors import EvaluationError
from apiserver.cel.timevalues import Duration, Timestamp
from apiserver.cel.types import CelType


class UInt(int):
    """A CEL uint."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"{int(self)}u"


class OptionalValue:
    """A CEL optional: `optional.of(x)` or `optional.none()`."""

    __slots__ = ("has_value", "value")

    def __init__(self, value: Any = None, has_value: bool = False) -> None:
        self.value = value
        self.has_value = has_value

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, OptionalValue):
            return False
        if not self.has_value or not other.has_value:
            return self.has_value == other.has_value
        return equal(self.value, other.value)

    def __hash__(self) -> int:
        return hash(self.has_value)


class SetList(list):  # type: ignore[type-arg]
    """A list with `x-kubernetes-list-type: set`: equality ignores order, `+` appends only new elements."""

    __slots__ = ()


class MapList(list):  # type: ignore[type-arg]
    """A list with `x-kubernetes-list-type: map`: equality and `+` go by the elements' map keys."""

    __slots__ = ("keys",)

    def __init__(self, items: Any, keys: tuple[str, ...]) -> None:
        super().__init__(items)
        self.keys = keys

    def key_of(self, element: Any) -> tuple[Any, ...]:
        return tuple(element.get(key) for key in self.keys) if isinstance(element, Mapping) else (element,)


OPTIONAL_NONE: Final = OptionalValue()
INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1
UINT64_MAX: Final = 2**64 - 1

_KIND_BY_CLASS: Final[dict[type, str]] = {
    bool: "bool", UInt: "uint", int: "int", float: "double", str: "string", bytes: "bytes", type(None): "null",
    list: "list", tuple: "list", dict: "map", Timestamp: "timestamp", Duration: "duration",
    OptionalValue: "optional", CelType: "type",
}


def kind_of(value: Any) -> str:
    """The runtime kind used for overload dispatch: `int`, `string`, `list`, or `opaque:<name>`..."""
    kind = _KIND_BY_CLASS.get(type(value))
    if kind is not None:
        return kind
    cel_type = getattr(value, "cel_type", None)
    if cel_type is not None:
        return "opaque:" + cel_type.name
    if isinstance(value, Mapping):
        return "map"
    if isinstance(value, (list, tuple)):
        return "list"
    if isinstance(value, CelType):
        return "type"
    if callable(getattr(value, "check", None)):
        return "opaque:kubernetes.authorization.Authorizer"
    raise EvaluationError(f"unsupported type conversion from '{type(value).__name__}'")


_NUMERIC: Final = frozenset({"int", "uint", "double"})


def equal(left: Any, right: Any) -> bool:
    """CEL's heterogeneous equality: numbers compare by value, aggregates element-wise, other kinds never."""
    left_kind, right_kind = kind_of(left), kind_of(right)
    if left_kind != right_kind:
        if left_kind in _NUMERIC and right_kind in _NUMERIC:
            return bool(_comparable(left, right, left_kind, right_kind) == _comparable(right, left, right_kind,
                                                                                         left_kind))
        return False
    if left_kind == "list":
        if len(left) != len(right):
            return False
        if isinstance(left, MapList) or isinstance(right, MapList):
            return _map_lists_equal(left if isinstance(left, MapList) else right, right if isinstance(left, MapList)
                                    else left)
        if isinstance(left, SetList) or isinstance(right, SetList):
            return all(any(equal(a, b) for b in right) for a in left) and all(
                any(equal(b, a) for a in left) for b in right)
        return all(equal(a, b) for a, b in zip(left, right, strict=True))
    if left_kind == "map":
        if len(left) != len(right):
            return False
        for key, value in left.items():
            other = lookup_key(right, key)
            if other is _MISSING or not equal(value, other):
                return False
        return True
    return bool(left == right)


def _map_lists_equal(left: MapList, right: list[Any]) -> bool:
    by_key = {_hashable(left.key_of(element)): element for element in left}
    for element in right:
        match = by_key.get(_hashable(left.key_of(element)), _MISSING)
        if match is _MISSING or not equal(match, element):
            return False
    return True


def _hashable(key: tuple[Any, ...]) -> Any:
    try:
        hash(key)
    except TypeError:
        return repr(key)
    return key


def concatenate(left: list[Any], right: list[Any]) -> list[Any]:
    """`+` on lists: set-lists add only new elements, map-lists replace elements with the same keys."""
    if isinstance(left, SetList):
        result = SetList(left)
        for element in right:
            if not any(equal(element, existing) for existing in result):
                result.append(element)
        return result
    if isinstance(left, MapList):
        merged = MapList(left, left.keys)
        positions = {_hashable(left.key_of(element)): index for index, element in enumerate(merged)}
        for element in right:
            key = _hashable(left.key_of(element))
            if key in positions:
                merged[positions[key]] = element
            else:
                positions[key] = len(merged)
                merged.append(element)
        return merged
    return [*left, *right]


_MISSING: Final = object()


def lookup_key(mapping: Mapping[Any, Any], key: Any) -> Any:
    """A map lookup where numeric keys match across int/uint/double, and bool never matches int."""
    if type(key) is str:
        return mapping.get(key, _MISSING)
    kind = kind_of(key)
    if kind == "bool":
        for stored in mapping:
            if type(stored) is bool and stored == key:
                return mapping[stored]
        return _MISSING
    if kind == "double":
        if not key.is_integer():
            return _MISSING
        key = int(key)
    if kind in _NUMERIC:
        for stored in mapping:
            if type(stored) is not bool and kind_of(stored) in _NUMERIC and stored == key:
                return mapping[stored]
        return _MISSING
    try:
        return mapping.get(key, _MISSING)
    except TypeError:
        return _MISSING


def missing(value: Any) -> bool:
    return value is _MISSING


def compare(left: Any, right: Any) -> int:
    """Order two values of comparable kinds (-1, 0, 1); numbers compare across kinds."""
    left_kind, right_kind = kind_of(left), kind_of(right)
    if left_kind != right_kind and not (left_kind in _NUMERIC and right_kind in _NUMERIC):
        raise EvaluationError("no such overload")
    if left_kind in ("list", "map", "null", "optional", "type") or left_kind.startswith("opaque:"):
        raise EvaluationError("no such overload")
    if "double" in (left_kind, right_kind) and (math.isnan(left) or math.isnan(right)):
        return 2  # unordered: every comparison is false
    left, right = _comparable(left, right, left_kind, right_kind), _comparable(right, left, right_kind, left_kind)
    return (left > right) - (left < right)


def _comparable(value: Any, other: Any, kind: str, other_kind: str) -> Any:
    # cel-go v0.22 (common/types/compare.go) compares an int or uint with a double by converting it to double,
    # so 9223372036854775807 == 9223372036854775807.0 holds.
    return float(value) if other_kind == "double" and kind != "double" else value


def check_int(value: int) -> int:
    if value < INT64_MIN or value > INT64_MAX:
        raise EvaluationError("integer overflow")
    return value


def check_uint(value: int) -> UInt:
    if value < 0 or value > UINT64_MAX:
        raise EvaluationError("unsigned integer overflow")
    return UInt(value)


def to_plain(value: Any) -> Any:
    """A result as plain Python: uint becomes int, optionals their value (or None), aggregates recursively.
    Timestamps and durations stay `Timestamp`/`Duration` (nanoseconds; `to_datetime()`/`to_timedelta()` convert)."""
    kind = _KIND_BY_CLASS.get(type(value))
    if kind is None and isinstance(value, (Mapping, list, tuple)):
        kind = "map" if isinstance(value, Mapping) else "list"
    if kind == "uint":
        return int(value)
    if kind == "list":
        return [to_plain(element) for element in value]
    if kind == "map":
        return {to_plain(key): to_plain(element) for key, element in value.items()}
    if kind == "optional":
        return to_plain(value.value) if value.has_value else None
    return value
