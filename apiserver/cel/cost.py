"""The static cost estimate of a checked expression, as cel-go's checker/cost.go computes it with kube-apiserver's
size estimator (the most an evaluation can cost given the size bounds of its inputs).

Identifiers cost 1 (type names 0), selections 1 on maps and objects (0 on dyn), presence tests their operand
(kube-apiserver turns `PresenceTestHasCost` off), constants 0, list literals 10 and map literals 30, both sides
of `&&`/`||`, the condition and dearer branch of `?:`, calls their library estimate (`callcost.estimate_call`),
and each macro its expansion: range + accumulator + bound of the range x (loop condition + step) + result.
Sizes come from literals, from the schema bounds carried by the types (`schemasizes.py`), or are 1 for other
scalars; a value reached by selecting a field of a map has no schema bound (upstream's estimator cannot follow
that path). Unknown sizes (dyn) are bounded by the request size, where cel-go would saturate.
"""
from __future__ import annotations

from typing import Final

from apiserver.cel.interpreter import LIST_CREATE_COST, MAP_CREATE_COST
from apiserver.cel.limits import MAX_REQUEST_SIZE_BYTES
from apiserver.cel.nodes import Call, Comprehension, Const, Ident, ListExpr, MapExpr, Node, Select
from apiserver.cel.types import DYN, CelType, ObjectType, sized

MAX_COST: Final = 2**64 - 1
SCALAR_KINDS: Final = frozenset({"bool", "int", "uint", "double", "timestamp", "duration", "null", "type"})
# Per element of the range: loop condition + step beyond the body, as cel-go expands each macro.
_LOOP_COST: Final = {"all": 3, "exists": 4, "exists_one": 2, "map": 12, "filter": 13}
# Calls whose result is no longer than their receiver (cel-go's and Kubernetes' ResultSize).
_SAME_SIZE_RESULTS: Final = frozenset({"lowerAscii", "upperAscii", "substring", "trim", "dyn", "find"})


def estimate_cost(node: Node) -> int:
    return min(MAX_COST, _estimate(node))


def size_of(node: Node) -> int:
    """The largest size (characters, bytes, elements) the value of a node can have."""
    if isinstance(node, Const):
        return len(node.value) if isinstance(node.value, (str, bytes)) else 1
    if isinstance(node, ListExpr):
        return len(node.elements)
    if isinstance(node, MapExpr):
        return len(node.entries)
    cel_type = node.type or DYN
    from_map_field = isinstance(node, Select) and (node.operand.type or DYN).kind == "map"
    if isinstance(cel_type, ObjectType):
        return 0
    if cel_type.max_size is not None and not from_map_field:
        return cel_type.max_size
    return 1 if cel_type.kind in SCALAR_KINDS else MAX_REQUEST_SIZE_BYTES


def _estimate(node: Node) -> int:
    if isinstance(node, Const):
        return 0
    if isinstance(node, Ident):
        return 0 if node.type is not None and node.type.kind == "type" else 1  # type names are constants
    if isinstance(node, Select):
        return _select(node)
    if isinstance(node, ListExpr):
        return LIST_CREATE_COST + sum(_estimate(element) for element in node.elements)
    if isinstance(node, MapExpr):
        return MAP_CREATE_COST + sum(_estimate(entry.key) + _estimate(entry.value) for entry in node.entries)
    if isinstance(node, Call):
        return _call(node)
    assert isinstance(node, Comprehension)
    return _comprehension(node)


def _select(node: Select) -> int:
    if node.qualified_type is not None:
        return 0
    if node.test_only:
        return _estimate(node.operand)  # the presence test itself is free in kube-apiserver
    operand = node.operand.type or DYN
    own = 1 if operand.kind in ("map", "object", "param") else 0
    return own + _estimate(node.operand)


def _call(node: Call) -> int:
    arguments = ([node.target] if node.target is not None else []) + node.args
    costs = [_estimate(argument) for argument in arguments]
    if node.function == "_?_:_":
        return costs[0] + max(costs[1], costs[2])
    if node.function in ("_&&_", "_||_"):
        return sum(costs)
    types = [_sized_type(argument) for argument in arguments]
    own = max((candidate.estimate(types) if candidate.estimate is not None else 1 for candidate in node.overloads),
              default=1)
    _bound_result_size(node, types)
    return sum(costs) + own


def _sized_type(node: Node) -> CelType:
    cel_type = node.type or DYN
    return cel_type if isinstance(cel_type, ObjectType) else sized(cel_type, size_of(node))


def _bound_result_size(node: Call, types: list[CelType]) -> None:
    if node.type is None or not types or node.type.kind not in ("string", "bytes", "list", "map"):
        return
    if node.function in _SAME_SIZE_RESULTS:
        node.type = sized(node.type, types[0].max_size)
    elif node.function == "_+_" and len(types) == 2 and None not in (types[0].max_size, types[1].max_size):
        node.type = sized(node.type, types[0].max_size + types[1].max_size)  # type: ignore[operator]
    elif node.function == "string" and types[0].kind == "bytes":
        node.type = sized(node.type, types[0].max_size)
    elif node.function == "bytes" and types[0].kind == "string" and types[0].max_size is not None:
        node.type = sized(node.type, types[0].max_size * 4)  # a character is up to 4 bytes
    elif node.function == "split" and types[0].max_size is not None:
        node.type = sized(node.type, types[0].max_size)
    elif node.function == "replace" and len(types) == 3:
        node.type = sized(node.type, _replaced_size(*(cel_type.max_size or 0 for cel_type in types)))


def _replaced_size(size: int, replaced: int, replacement: int) -> int:
    """The longest result of replace(): every shortest match (or every gap, for '') becomes the longest text."""
    if replacement <= 0:
        return size
    return (size + 1) * replacement + size


def _comprehension(node: Comprehension) -> int:
    range_cost = _estimate(node.iter_range)
    body = sum(_estimate(part) for part in (node.predicate, node.transform) if part is not None)
    if node.macro in ("optMap", "optFlatMap"):
        return range_cost + body + 1
    accumulator = LIST_CREATE_COST if node.macro in ("map", "filter") else 0
    result = 2 if node.macro == "exists_one" else 1
    return range_cost + accumulator + size_of(node.iter_range) * (_LOOP_COST[node.macro] + body) + result
