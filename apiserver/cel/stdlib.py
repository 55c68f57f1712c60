"""CEL's standard definitions: operators, size, string tests, type conversions (cel-spec's standard library)."""
from __future__ import annotations

import math
import operator
import re
from collections.abc import Mapping
from typing import Any, Final

from apiserver.cel.errors import EvaluationError
from apiserver.cel.overloads import Library, add, overload
from apiserver.cel.regexes import compile_regex
from apiserver.cel.types import (
    BOOL,
    BYTES,
    DOUBLE,
    DURATION,
    DYN,
    INT,
    STRING,
    TIMESTAMP,
    UINT,
    CelType,
    list_of,
    map_of,
    optional_of,
    type_of,
    type_param,
)
from apiserver.cel.values import (
    INT64_MAX,
    INT64_MIN,
    UINT64_MAX,
    UInt,
    check_int,
    check_uint,
    compare,
    concatenate,
    equal,
    kind_of,
    lookup_key,
    missing,
)

A: Final = type_param("A")
B: Final = type_param("B")
LIST_A: Final = list_of(A)
MAP_AB: Final = map_of(A, B)
_ORDERED: Final = (INT, UINT, DOUBLE, STRING, BYTES, BOOL, TIMESTAMP, DURATION)
_NUMBERS: Final = (INT, UINT, DOUBLE)


def add_values(left: Any, right: Any) -> Any:
    kind = kind_of(left)
    if kind == "int":
        return check_int(left + right)
    if kind == "uint":
        return check_uint(left + right)
    if kind == "list":
        return concatenate(left, right)
    return left + right


def _subtract(left: Any, right: Any) -> Any:
    kind = kind_of(left)
    if kind == "int":
        return check_int(left - right)
    if kind == "uint":
        return check_uint(left - right)
    return left - right


def _multiply(left: Any, right: Any) -> Any:
    kind = kind_of(left)
    if kind == "int":
        return check_int(left * right)
    if kind == "uint":
        return check_uint(left * right)
    return left * right


def _divide(left: Any, right: Any) -> Any:
    kind = kind_of(left)
    if kind == "double":
        if right == 0:
            if not left or math.isnan(left):
                return math.nan
            return math.copysign(math.inf, left) * math.copysign(1, right)
        return left / right
    if right == 0:
        raise EvaluationError("division by zero")
    quotient = abs(left) // abs(right)
    quotient = quotient if (left < 0) == (right < 0) else -quotient
    return check_int(quotient) if kind == "int" else UInt(quotient)


def _modulo(left: Any, right: Any) -> Any:
    if right == 0:
        raise EvaluationError("modulus by zero")
    if left == INT64_MIN and right == -1 and kind_of(left) == "int":
        raise EvaluationError("integer overflow")  # as cel-go: the quotient would not fit
    remainder = abs(left) % abs(right)
    result = -remainder if left < 0 else remainder
    return UInt(result) if kind_of(left) == "uint" else result


def _negate(value: Any) -> Any:
    return check_int(-value) if kind_of(value) == "int" else -value


def _index(container: Any, index: Any) -> Any:
    if isinstance(container, Mapping):
        value = lookup_key(container, index)
        if missing(value):
            raise EvaluationError(f"no such key: {_format_key(index)}")
        return value
    kind = kind_of(index)
    if kind == "double":
        if not index.is_integer():
            raise EvaluationError(f"unsupported index value {_format_double(index)} in list")
        index = int(index)
    elif kind not in ("int", "uint"):
        raise EvaluationError(f"unsupported index type '{kind}' in list")
    if index < 0 or index >= len(container):
        raise EvaluationError(f"index '{index}' out of range in list size '{len(container)}'")
    return container[index]


def index_schema_list(container: Any, index: Any) -> Any:
    """Indexing a list of a schema: kube-apiserver's own list value words the range error differently."""
    if isinstance(container, (list, tuple)) and type(index) is int and not 0 <= index < len(container):
        raise EvaluationError(f"index out of bounds: {index}")
    return _index(container, index)


def _format_key(key: Any) -> str:
    return str(key).lower() if isinstance(key, bool) else str(key)


def _contains(element: Any, container: Any) -> bool:
    if isinstance(container, Mapping):
        return not missing(lookup_key(container, element))
    return any(equal(element, candidate) for candidate in container)


def _matches(text: str, pattern: str) -> bool:
    return compile_regex(pattern).search(text) is not None


def _size(value: Any) -> int:
    if isinstance(value, str):
        return len(value)
    return len(value)


def _relation(predicate: Any) -> Any:
    return lambda left, right: _ordered(predicate, compare(left, right))


def _ordered(predicate: Any, order: int) -> bool:
    return False if order == 2 else bool(predicate(order))








def arithmetic(library: Library) -> None:
    add(library, "_+_",
        *(overload(f"add_{t}", (t, t), t, add_values) for t in (INT, UINT, DOUBLE)),
        overload("add_string", (STRING, STRING), STRING, add_values),
        overload("add_bytes", (BYTES, BYTES), BYTES, add_values),
        overload("add_list", (LIST_A, LIST_A), LIST_A, add_values),
        overload("add_timestamp_duration", (TIMESTAMP, DURATION), TIMESTAMP, add_values),
        overload("add_duration_timestamp", (DURATION, TIMESTAMP), TIMESTAMP, add_values),
        overload("add_duration_duration", (DURATION, DURATION), DURATION, add_values))
    add(library, "_-_",
        *(overload(f"subtract_{t}", (t, t), t, _subtract) for t in (INT, UINT, DOUBLE)),
        overload("subtract_timestamp_timestamp", (TIMESTAMP, TIMESTAMP), DURATION, _subtract),
        overload("subtract_timestamp_duration", (TIMESTAMP, DURATION), TIMESTAMP, _subtract),
        overload("subtract_duration_duration", (DURATION, DURATION), DURATION, _subtract))
    add(library, "_*_", *(overload(f"multiply_{t}", (t, t), t, _multiply) for t in _NUMBERS))
    add(library, "_/_", *(overload(f"divide_{t}", (t, t), t, _divide) for t in _NUMBERS))
    add(library, "_%_", *(overload(f"modulo_{t}", (t, t), t, _modulo) for t in (INT, UINT)))
    add(library, "-_", *(overload(f"negate_{t}", (t,), t, _negate) for t in (INT, DOUBLE)))


def comparisons(library: Library) -> None:
    add(library, "!_", overload("logical_not", (BOOL,), BOOL, lambda value: not value))
    add(library, "_==_", overload("equals", (A, A), BOOL, equal))
    add(library, "_!=_", overload("not_equals", (A, A), BOOL, lambda a, b: not equal(a, b)))
    predicates = {"_<_": lambda o: o < 0, "_<=_": lambda o: o <= 0, "_>_": lambda o: o > 0, "_>=_": lambda o: o >= 0}
    # Values of one kind compare with Python's operators (NaN compares false, as in CEL).
    operators = {"_<_": operator.lt, "_<=_": operator.le, "_>_": operator.gt, "_>=_": operator.ge}
    for name, predicate in predicates.items():
        same = [overload(f"{name}_{t}", (t, t), BOOL, operators[name]) for t in _ORDERED]
        cross = [overload(f"{name}_{a}_{b}", (a, b), BOOL, _relation(predicate))
                 for a in _NUMBERS for b in _NUMBERS if a != b]
        add(library, name, *same, *cross)


def collections(library: Library) -> None:
    add(library, "_[_]",
        overload("index_list", (LIST_A, INT), A, _index, kinds=(frozenset({"list"}), None)),
        overload("index_map", (MAP_AB, A), B, _index))
    add(library, "@in",
        overload("in_list", (A, LIST_A), BOOL, _contains),
        overload("in_map", (A, MAP_AB), BOOL, _contains))
    for kind in (STRING, BYTES, LIST_A, MAP_AB):
        add(library, "size",
            overload(f"size_{kind.kind}", (kind,), INT, _size),
            overload(f"{kind.kind}_size", (kind,), INT, _size, member=True))


def strings(library: Library) -> None:
    tests = {"contains": lambda s, t: t in s, "startsWith": str.startswith, "endsWith": str.endswith}
    for name, impl in tests.items():
        add(library, name, overload(f"{name}_string", (STRING, STRING), BOOL, impl, member=True))
    add(library, "matches",
        overload("matches", (STRING, STRING), BOOL, _matches),
        overload("matches_string", (STRING, STRING), BOOL, _matches, member=True))


def _to_int(value: Any) -> int:
    kind = kind_of(value)
    if kind == "double":
        # As cel-go's doubleToInt64Checked: both bounds exclusive once converted to double (-2^63 overflows too).
        if math.isnan(value) or value <= float(INT64_MIN) or value >= float(INT64_MAX):
            raise EvaluationError("integer overflow")
        return int(value)
    if kind == "string":
        if not re.fullmatch(r"[+-]?[0-9]+", value):
            raise EvaluationError(f"cannot convert string '{value}' to int")
        return check_int(int(value))
    if kind == "timestamp":
        return value.seconds  # type: ignore[no-any-return]
    return check_int(int(value))


def _to_uint(value: Any) -> UInt:
    kind = kind_of(value)
    if kind == "double":
        if math.isnan(value) or value < 0 or value >= UINT64_MAX + 1:
            raise EvaluationError("unsigned integer overflow")
        return UInt(int(value))
    if kind == "string":
        if not re.fullmatch(r"\+?[0-9]+", value):
            raise EvaluationError(f"cannot convert string '{value}' to uint")
        return check_uint(int(value))
    return check_uint(int(value))


def _to_double(value: Any) -> float:
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            raise EvaluationError(f"cannot convert string '{value}' to double") from None
    return float(value)


def _to_string(value: Any) -> str:
    from apiserver.cel.timelib import format_duration, format_timestamp

    kind = kind_of(value)
    if kind == "bool":
        return "true" if value else "false"
    if kind == "double":
        return _format_double(value)
    if kind == "bytes":
        try:
            return value.decode("utf-8")  # type: ignore[no-any-return]
        except UnicodeDecodeError:
            raise EvaluationError("invalid UTF-8 in bytes, cannot convert to string") from None
    if kind == "timestamp":
        return format_timestamp(value)
    if kind == "duration":
        return format_duration(value)
    return str(int(value)) if kind in ("int", "uint") else str(value)


def _format_double(value: float) -> str:
    """Go's `%g` (what cel-go's string(double) prints): shortest digits, exponent form below 1e-4 or from 1e6."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    digits, exponent = _shortest_digits(abs(value))
    sign = "-" if math.copysign(1, value) < 0 else ""
    if exponent < -4 or exponent >= 6:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{mantissa}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"
    if exponent < 0:
        return f"{sign}0.{'0' * (-exponent - 1)}{digits}"
    whole = digits[:exponent + 1].ljust(exponent + 1, "0")
    fraction = digits[exponent + 1:]
    return f"{sign}{whole}" + (f".{fraction}" if fraction else "")


def _shortest_digits(value: float) -> tuple[str, int]:
    """The shortest round-tripping decimal digits of a non-negative float and the exponent of the first one."""
    if value == 0:
        return "0", 0
    text = repr(value)
    if "e" in text:
        mantissa, _, exponent = text.partition("e")
        digits = mantissa.replace(".", "").rstrip("0") or "0"
        return digits, int(exponent)
    whole, _, fraction = text.partition(".")
    joined = (whole + fraction).lstrip("0")
    position = len(whole) - 1 if whole != "0" else -(len(fraction) - len(fraction.lstrip("0")) + 1)
    return joined.rstrip("0") or "0", position


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if value in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    raise EvaluationError("type conversion error from 'string' to 'bool'")


_RUNTIME_TYPES: Final = {"list": list_of(DYN), "map": map_of(DYN, DYN), "type": type_of(DYN),
                         "optional": optional_of(DYN)}


def _type_of_value(value: Any) -> CelType:
    kind = kind_of(value)
    if kind.startswith("opaque:"):
        return value.cel_type  # type: ignore[no-any-return]
    return _RUNTIME_TYPES.get(kind) or CelType(kind)


def conversions(library: Library) -> None:
    add(library, "int", *(overload(f"{t}_to_int", (t,), INT, _to_int)
                          for t in (INT, UINT, DOUBLE, STRING, TIMESTAMP)))
    add(library, "uint", *(overload(f"{t}_to_uint", (t,), UINT, _to_uint) for t in (UINT, INT, DOUBLE, STRING)))
    add(library, "double", *(overload(f"{t}_to_double", (t,), DOUBLE, _to_double)
                             for t in (DOUBLE, INT, UINT, STRING)))
    add(library, "string", *(overload(f"{t}_to_string", (t,), STRING, _to_string)
                             for t in (STRING, INT, UINT, DOUBLE, BOOL, BYTES, TIMESTAMP, DURATION)))
    add(library, "bytes", overload("bytes_to_bytes", (BYTES,), BYTES, lambda value: value),
        overload("string_to_bytes", (STRING,), BYTES, lambda value: value.encode("utf-8")))
    add(library, "bool", *(overload(f"{t}_to_bool", (t,), BOOL, _to_bool) for t in (BOOL, STRING)))
    add(library, "dyn", overload("to_dyn", (A,), DYN, lambda value: value))
    add(library, "type", overload("type", (A,), type_of(A), _type_of_value))


def standard_library() -> Library:
    from apiserver.cel.timelib import time_functions

    library: Library = {}
    for install in (arithmetic, comparisons, collections, strings, conversions, time_functions):
        install(library)
    return library
