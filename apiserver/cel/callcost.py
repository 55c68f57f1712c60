"""The cost of one function call: at runtime from the argument values, statically from their size bounds.

Two tables, as upstream has two estimators: Kubernetes' library costs are keyed by function name
(apiserver/pkg/cel/library/cost.go), cel-go's standard ones by overload (interpreter/runtimecost.go,
checker/cost.go). Calls in neither table cost 1. A string's size is its length in code points, a list's or map's
its number of entries, any other value's 1.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from apiserver.cel.limits import MAX_REQUEST_SIZE_BYTES
from apiserver.cel.types import CelType

RuntimeCost = Callable[[Sequence[Any], Any], int]
StaticCost = Callable[[Sequence[CelType]], int]

STRING_TRAVERSAL_COST_FACTOR: Final = 0.1
REGEX_STRING_LENGTH_COST_FACTOR: Final = 0.25
AUTHZ_CHECK_COST: Final = 350_000


def actual_size(value: Any) -> int:
    if isinstance(value, (str, bytes, list, tuple, dict)):
        return len(value)
    packed = getattr(value, "packed_size", None)
    return packed if isinstance(packed, int) else 1


def traversal_cost(value: Any) -> int:
    """Kubernetes' cost of walking a value as a data tree (strings by their UTF-8 length)."""
    if isinstance(value, str):
        return int(len(value.encode("utf-8")) * STRING_TRAVERSAL_COST_FACTOR)
    if isinstance(value, bytes):
        return int(len(value) * STRING_TRAVERSAL_COST_FACTOR)
    if isinstance(value, (list, tuple)):
        return sum(traversal_cost(item) for item in value)
    if isinstance(value, Mapping):
        return sum(traversal_cost(key) + traversal_cost(item) for key, item in value.items())
    return 1


def _scaled(size: int, factor: float) -> int:
    return math.ceil(size * factor)


def _string_arg(index: int, factor: float = STRING_TRAVERSAL_COST_FACTOR) -> RuntimeCost:
    return lambda args, result: _scaled(actual_size(args[index]), factor)


def _regex(args: Sequence[Any], result: Any) -> int:
    text = _scaled(1 + actual_size(args[0]), STRING_TRAVERSAL_COST_FACTOR)
    return text * _scaled(actual_size(args[1]), REGEX_STRING_LENGTH_COST_FACTOR)


def _min_size(args: Sequence[Any], result: Any) -> int:
    return _scaled(min(actual_size(args[0]), actual_size(args[1])), STRING_TRAVERSAL_COST_FACTOR)


def _contains(args: Sequence[Any], result: Any) -> int:
    return (_scaled(actual_size(args[0]), STRING_TRAVERSAL_COST_FACTOR)
            * _scaled(actual_size(args[1]), STRING_TRAVERSAL_COST_FACTOR))


def _contains_ip(args: Sequence[Any], result: Any) -> int:
    cidr = actual_size(args[0])
    cost = _scaled(2 * cidr, STRING_TRAVERSAL_COST_FACTOR)
    return cost + (_scaled(actual_size(args[1]), STRING_TRAVERSAL_COST_FACTOR) if isinstance(args[1], str) else 0)


def _contains_cidr(args: Sequence[Any], result: Any) -> int:
    cidr = actual_size(args[0])
    return _contains_ip(args, result) + _scaled(cidr, STRING_TRAVERSAL_COST_FACTOR) + 1


def _nominal(args: Sequence[Any], result: Any) -> int:
    return 1


_NOMINAL_FUNCTIONS: Final = (
    "serviceAccount", "path", "group", "resource", "subresource", "namespace", "name", "allowed", "reason", "error",
    "errored", "masked", "prefixLength", "family", "isUnspecified", "isLoopback", "isLinkLocalMulticast",
    "isLinkLocalUnicast", "sign", "asInteger", "isInteger", "asApproximateFloat", "isGreaterThan", "isLessThan",
    "compareTo", "add", "sub",
)
KUBERNETES_COSTS: Final[dict[str, RuntimeCost]] = {
    "check": lambda args, result: AUTHZ_CHECK_COST,
    **dict.fromkeys(_NOMINAL_FUNCTIONS, _nominal),
    **dict.fromkeys(("isSorted", "sum", "max", "min", "indexOf", "lastIndexOf"),
                    lambda args, result: traversal_cost(args[0])),
    **dict.fromkeys(("url", "lowerAscii", "upperAscii", "substring", "trim", "cidr", "isIP", "isCIDR", "quantity",
                     "isQuantity"), _string_arg(0)),
    **dict.fromkeys(("replace", "split"), _string_arg(0, 2 * STRING_TRAVERSAL_COST_FACTOR)),
    "join": lambda args, result: _scaled(actual_size(result), 2 * STRING_TRAVERSAL_COST_FACTOR),
    "find": _regex, "findAll": _regex,
    "ip": lambda args, result: 1 if not isinstance(args[0], str) else _scaled(len(args[0]), 0.1),
    "ip.isCanonical": _string_arg(0, 2 * STRING_TRAVERSAL_COST_FACTOR),
    "containsIP": _contains_ip, "containsCIDR": _contains_cidr,
    # cel-go's sets extension: one comparison per pair of elements (two ways for equivalent), plus the call.
    "sets.contains": lambda args, result: actual_size(args[0]) * actual_size(args[1]) + 1,
    "sets.intersects": lambda args, result: actual_size(args[0]) * actual_size(args[1]) + 1,
    "sets.equivalent": lambda args, result: 2 * actual_size(args[0]) * actual_size(args[1]) + 1,
}
# cel-go's standard overloads whose cost depends on their arguments, by function and argument kind.
_STRING_COMPARISONS: Final = ("_<_", "_<=_", "_>_", "_>=_")
STANDARD_COSTS: Final[dict[str, RuntimeCost]] = {
    "startsWith": _string_arg(0), "endsWith": _string_arg(0), "contains": _contains, "matches": _regex,
    "format": _string_arg(0), "strings.quote": _string_arg(0),
    "_==_": _min_size, "_!=_": _min_size,
    "@in": lambda args, result: actual_size(args[1]) if isinstance(args[1], (list, tuple)) else 1,
    "_+_": lambda args, result: (_scaled(actual_size(args[0]) + actual_size(args[1]), STRING_TRAVERSAL_COST_FACTOR)
                                 if isinstance(args[0], (str, bytes)) else 1),
    **dict.fromkeys(_STRING_COMPARISONS, lambda args, result: _min_size(args, result)
                    if isinstance(args[0], (str, bytes)) else 1),
    "bytes": lambda args, result: _scaled(actual_size(args[0]), STRING_TRAVERSAL_COST_FACTOR)
    if isinstance(args[0], str) else 1,
    "string": lambda args, result: _scaled(actual_size(args[0]), STRING_TRAVERSAL_COST_FACTOR)
    if isinstance(args[0], bytes) else 1,
}


def runtime_cost_of(function: str, library: str) -> RuntimeCost | None:
    """The runtime cost function of calls to `function`, or None when every call costs 1."""
    if library == "kubernetes" and function in KUBERNETES_COSTS:
        return KUBERNETES_COSTS[function]
    return STANDARD_COSTS.get(function)


def type_size(cel_type: CelType) -> int:
    """The largest size of a value of this type: its bound, 1 for scalars, else the request size limit."""
    if cel_type.max_size is not None:
        return cel_type.max_size
    return 1 if cel_type.kind in ("bool", "int", "uint", "double", "timestamp", "duration", "null") else \
        MAX_REQUEST_SIZE_BYTES


def estimate_call(function: str, types: Sequence[CelType], library: str) -> int:
    """The most a call can cost given the size bounds of its argument types (receiver first)."""
    sizes = [type_size(cel_type) for cel_type in types]
    if library == "kubernetes" and function in KUBERNETES_COSTS:
        return _estimate_kubernetes(function, types, sizes)
    if function in ("startsWith", "endsWith"):
        return _scaled(sizes[-1], STRING_TRAVERSAL_COST_FACTOR)  # cel-go estimates from the prefix/suffix
    if function in ("format", "strings.quote"):
        return _scaled(sizes[0], STRING_TRAVERSAL_COST_FACTOR)
    if types and (function, types[0].kind) in (("bytes", "string"), ("string", "bytes")):
        return _scaled(sizes[0], STRING_TRAVERSAL_COST_FACTOR)
    if function == "contains":
        return _scaled(sizes[0], STRING_TRAVERSAL_COST_FACTOR) * _scaled(sizes[1], STRING_TRAVERSAL_COST_FACTOR)
    if function == "matches":
        return _scaled(1 + sizes[0], STRING_TRAVERSAL_COST_FACTOR) * _scaled(sizes[1], REGEX_STRING_LENGTH_COST_FACTOR)
    if function in ("_==_", "_!=_") or (function in _STRING_COMPARISONS and types[0].kind in ("string", "bytes")):
        return _scaled(min(sizes), STRING_TRAVERSAL_COST_FACTOR)
    if function == "@in" and types[1].kind == "list":
        return sizes[1]
    if function == "_+_" and types[0].kind in ("string", "bytes"):
        return _scaled(sizes[0] + sizes[1], STRING_TRAVERSAL_COST_FACTOR)
    return 1


def _estimate_kubernetes(function: str, types: Sequence[CelType], sizes: list[int]) -> int:
    if function == "check":
        return AUTHZ_CHECK_COST
    if function.startswith("sets."):
        return (2 if function == "sets.equivalent" else 1) * sizes[0] * sizes[1] + 1
    if function in ("isSorted", "sum", "max", "min", "indexOf", "lastIndexOf"):
        if types[0].kind != "list":
            return _scaled(sizes[0], STRING_TRAVERSAL_COST_FACTOR)
        element = types[0].params[0]
        per_element = 1 + (_scaled(type_size(element), STRING_TRAVERSAL_COST_FACTOR)
                           if element.kind in ("string", "bytes") else 0)
        return sizes[0] * per_element
    if function in ("replace", "split", "ip.isCanonical"):
        return _scaled(sizes[0], 2 * STRING_TRAVERSAL_COST_FACTOR)
    if function == "join":
        element_size = type_size(types[0].params[0]) if types[0].params else MAX_REQUEST_SIZE_BYTES
        separators = (max(sizes[0] - 1, 0) * sizes[1]) if len(sizes) > 1 else 0
        return _scaled(sizes[0] * element_size + separators, STRING_TRAVERSAL_COST_FACTOR)
    if function in ("find", "findAll"):
        return _scaled(1 + sizes[0], STRING_TRAVERSAL_COST_FACTOR) * _scaled(sizes[1], REGEX_STRING_LENGTH_COST_FACTOR)
    if function == "ip" and types[0].kind == "opaque":
        return 1
    if function in ("containsIP", "containsCIDR"):
        cost = _scaled(32, STRING_TRAVERSAL_COST_FACTOR)
        if function == "containsCIDR":
            cost += _scaled(16, STRING_TRAVERSAL_COST_FACTOR) + 1
        return cost + (_scaled(sizes[1], STRING_TRAVERSAL_COST_FACTOR) if types[1].kind == "string" else 0)
    if function in _NOMINAL_FUNCTIONS:
        return 1
    return _scaled(sizes[0], STRING_TRAVERSAL_COST_FACTOR)
