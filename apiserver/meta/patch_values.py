"""Decoded JSON seen the way apimachinery's patch code sees it: Go's type identity, equality, ordering and text.

strategicpatch works on values decoded by k8s.io/apimachinery/pkg/util/json, which yields int64 for integral
numbers and float64 for the rest: the same split Python's decoders make between `int` and `float`. Go compares
such values by dynamic type and value (`int64(1) != float64(1)`, `true != 1`), sorts scalars and merge keys by
their `%v` text, and prints maps with sorted keys in its error messages. Reproducing those rules keeps merged list
order, conflict detection and error texts identical to kube-apiserver's; plain Python equality would not
(`True == 1`, `1 == 1.0`).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

_GO_TYPES: dict[type, str] = {
    dict: "map[string]interface {}", list: "[]interface {}", str: "string", bool: "bool", int: "int64",
    float: "float64",
}


def go_type_name(value: Any) -> str:
    """`reflect.TypeOf(value)` printed with `%s`; a JSON null has no type, which Go prints as `%!s(<nil>)`."""
    return _GO_TYPES.get(type(value), "%!s(<nil>)")


def go_equal(left: Any, right: Any) -> bool:
    """Go's `==` on two `interface{}` values: same dynamic type and same value (containers compared deeply)."""
    return deep_equal(left, right)


def deep_equal(left: Any, right: Any) -> bool:
    """`reflect.DeepEqual` on decoded JSON: types must match at every level, so `1`, `1.0` and `True` differ."""
    if type(left) is not type(right):
        return False
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(deep_equal(item, right[key]) for key, item in left.items())
    if isinstance(left, list):
        return len(left) == len(right) and all(deep_equal(a, b) for a, b in zip(left, right, strict=True))
    return bool(left == right)


def hash_key(value: Any) -> tuple[type, Any]:
    """A key for a Go `map[interface{}]…`: values of different dynamic types never collide.

    Go panics on a map or slice key ("hash of unhashable type"); here the same input raises TypeError.
    """
    return (type(value), value)


def format_v(value: Any) -> str:
    """Go's `%v`: `map[a:1 b:[x y]]` with sorted keys, `<nil>` for null, floats in `%g` shortest form."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{key}:{format_v(value[key])}" for key in sorted(value)) + "]"
    if isinstance(value, list):
        return "[" + " ".join(format_v(item) for item in value) + "]"
    if isinstance(value, float):
        return format_float(value)
    return str(value)


def format_s(value: Any) -> str:
    """Go's `%s`, which marks every non-string scalar as a bad verb: `%!s(int64=1)`."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return "map[" + " ".join(f"{key}:{format_s(value[key])}" for key in sorted(value)) + "]"
    if isinstance(value, list):
        return "[" + " ".join(format_s(item) for item in value) + "]"
    if value is None:
        return "%!s(<nil>)"
    return f"%!s({go_type_name(value)}={format_v(value)})"


def format_float(number: float) -> str:
    """strconv.FormatFloat(number, 'g', -1, 64): shortest digits, exponent form below 1e-4 or from 1e6."""
    if number == 0:
        return "-0" if str(number).startswith("-") else "0"
    sign, digit_tuple, exponent = Decimal(repr(number)).normalize().as_tuple()
    assert isinstance(exponent, int)
    digits = "".join(map(str, digit_tuple))
    point = len(digits) + exponent
    prefix = "-" if sign else ""
    if point - 1 < -4 or point - 1 >= 6:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        power = point - 1
        return f"{prefix}{mantissa}e{'-' if power < 0 else '+'}{abs(power):02d}"
    if point <= 0:
        return f"{prefix}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return prefix + digits + "0" * (point - len(digits))
    return f"{prefix}{digits[:point]}.{digits[point:]}"


def sort_scalars(values: list[Any]) -> None:
    """sort.Sort on `%v` text, in place, as upstream's sortScalars does to the list it is given.

    Upstream's Less is `<=`, so its insertion sort (every list up to 12 items) moves equal items past each other
    and leaves them in reverse order; sorting the reversed list stably gives the same result.
    """
    values.reverse()
    values.sort(key=format_v)


def sort_maps_by_field(maps: Sequence[dict[str, Any]], field: str) -> list[dict[str, Any]]:
    """sortMapsBasedOnField: a sorted copy by the `%v` text of `field` (`<nil>` when absent), ties reversed."""
    ordered = list(reversed(maps))
    ordered.sort(key=lambda item: format_v(item.get(field)))
    return ordered


def dedupe_scalars(values: list[Any]) -> list[Any]:
    """deduplicateScalars, in place: each later duplicate is overwritten by the current last item.

    The moves change the order of what remains, and callers that do not re-sort keep that order.
    """
    length = len(values) - 1
    i = 0
    while i < length:
        j = i + 1
        while j <= length:
            if go_equal(values[i], values[j]):
                values[j] = values[length]
                del values[length]
                length -= 1
                j -= 1
            j += 1
        i += 1
    return values


def deep_copy(value: Any) -> Any:
    """A private copy of a decoded JSON value, so the patch algorithms can mutate it as upstream's do."""
    if isinstance(value, dict):
        return {key: deep_copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [deep_copy(item) for item in value]
    return value


def format_slices(slices: Iterable[Sequence[Any]]) -> str:
    """fmt.Sprint of a `[][]interface{}`: `[[a b] [c]]`."""
    return "[" + " ".join(format_v(list(items)) for items in slices) + "]"
