"""Constant folding as cel-go's optimizing planner does it (interpreter/decorators.go `decOptimize`), which
kube-apiserver enables: list and map literals of constants and type conversions of constants are computed once
at compile time and cost nothing at runtime; `x in [constants]` becomes a set membership test."""
from __future__ import annotations

from typing import Any, Final

from apiserver.cel.errors import EvaluationError
from apiserver.cel.nodes import Call, Const, ListExpr, MapExpr, Node
from apiserver.cel.values import kind_of

CONVERSIONS: Final = frozenset({"bool", "bytes", "double", "duration", "dyn", "int", "string", "timestamp", "type",
                                "uint"})
_NOT_CONSTANT: Final = object()
_SET_KINDS: Final = frozenset({"bool", "int", "uint", "double", "string"})


def constant_value(node: Node) -> Any:
    """The value of a node that folds to a constant, or `NOT_CONSTANT`."""
    if isinstance(node, Const):
        return node.value
    if isinstance(node, ListExpr) and not node.optional_indices:
        values = [constant_value(element) for element in node.elements]
        return _NOT_CONSTANT if any(value is _NOT_CONSTANT for value in values) else values
    if isinstance(node, MapExpr) and not any(entry.optional for entry in node.entries):
        return _constant_map(node)
    if isinstance(node, Call) and node.function in CONVERSIONS and node.target is None and len(node.args) == 1:
        return _constant_conversion(node)
    return _NOT_CONSTANT


def is_constant(value: Any) -> bool:
    return value is not _NOT_CONSTANT


def _constant_map(node: MapExpr) -> Any:
    result: dict[Any, Any] = {}
    for entry in node.entries:
        key, value = constant_value(entry.key), constant_value(entry.value)
        if key is _NOT_CONSTANT or value is _NOT_CONSTANT or not isinstance(key, (str, int)):
            return _NOT_CONSTANT  # an unsupported key type (double, null, ...) fails at runtime
        try:
            if key in result:
                return _NOT_CONSTANT  # a repeated key fails at runtime
            result[key] = value
        except TypeError:
            return _NOT_CONSTANT
    return result


def _constant_conversion(node: Call) -> Any:
    argument = constant_value(node.args[0])
    if argument is _NOT_CONSTANT:
        return _NOT_CONSTANT
    for candidate in node.overloads:
        if candidate.accepts([argument]):
            try:
                return candidate.impl(argument)
            except (EvaluationError, ValueError, TypeError, OverflowError):
                return _NOT_CONSTANT
    return _NOT_CONSTANT


def constant_set(node: Node) -> frozenset[Any] | None:
    """The members of a constant list of primitives (for `x in [...]`), or None."""
    values = constant_value(node)
    if not isinstance(values, list) or not values:
        return None
    try:
        kinds = {kind_of(value) for value in values}
    except EvaluationError:
        return None
    if len(kinds) != 1 or not kinds <= _SET_KINDS:
        return None
    return frozenset((kind_of(value), value) for value in values)
