"""The standard macros at runtime: `all`, `exists`, `exists_one`, `map`, `filter`, and `optMap`/`optFlatMap`.

Errors follow cel-go's expansion: `all` is false if any element is false even when others fail, `exists` true
if any is true; otherwise the first error is raised.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from apiserver.cel.errors import CostLimitExceeded, EvaluationError
from apiserver.cel.interpreter import Evaluator, Meter
from apiserver.cel.nodes import Comprehension, Node
from apiserver.cel.values import OPTIONAL_NONE, OptionalValue

Compiler = Callable[[Node], Evaluator]


# What cel-go's expansion of each macro costs beyond the range and the body (checker and runtime cost models):
# `all`: the loop condition `@not_strictly_false(r)` (2) and the step's read of `r` (1) per element, plus the
# condition that stops the loop early (2); `exists`: the condition `@not_strictly_false(!r)` (3) and the read (1),
# early stop 3; `exists_one`: the step `p ? r + 1 : r` (2 when p holds) and the result `r == 1` (2); `map` and
# `filter`: the initial `[]` (10, folded to a constant at runtime), then `r + [t]` (12, and 13 for filter, which
# reads the element) when the element is kept. The branch that keeps `r` costs nothing at runtime; reading the
# result costs 1. These sums reproduce the costs of apiextensions-apiserver's TestCelCostStability.
PER_ELEMENT: Final = {"all": 3, "exists": 4, "exists_one": 0, "map": 0, "filter": 0}
EARLY_STOP: Final = {"all": 2, "exists": 3}
APPEND: Final = 12


def compile_comprehension(node: Comprehension, compile_node: Compiler) -> Evaluator:
    iter_range = compile_node(node.iter_range)
    predicate = compile_node(node.predicate) if node.predicate is not None else None
    transform = compile_node(node.transform) if node.transform is not None else None
    if node.macro in ("optMap", "optFlatMap"):
        assert transform is not None
        return _optional_map(node.variable, iter_range, transform, flat=node.macro == "optFlatMap")
    loop = _LOOPS[node.macro]
    variable = node.variable
    final = 2 if node.macro == "exists_one" else 1

    def comprehension(frame: dict[str, Any], meter: Meter) -> Any:
        items = _iterable(iter_range(frame, meter))
        saved = frame.get(variable, _UNSET)
        try:
            result = loop(items, variable, predicate, transform, frame, meter)
        finally:
            if saved is _UNSET:
                frame.pop(variable, None)
            else:
                frame[variable] = saved
        meter.add(final)
        return result

    return comprehension


_UNSET = object()


def _iterable(value: Any) -> list[Any]:
    if isinstance(value, (list, tuple, Mapping)):
        return list(value)
    raise EvaluationError("no such overload")


def _test(predicate: Evaluator, frame: dict[str, Any], meter: Meter) -> Any:
    result = predicate(frame, meter)
    if type(result) is not bool:
        raise EvaluationError("no such overload")
    return result


def _quantified(expected: bool) -> Any:
    macro = "all" if expected else "exists"
    per_element, early_stop = PER_ELEMENT[macro], EARLY_STOP[macro]

    def loop(items: list[Any], variable: str, predicate: Evaluator, transform: Any, frame: dict[str, Any],
             meter: Meter) -> bool:
        failure: EvaluationError | None = None
        for index, item in enumerate(items):
            frame[variable] = item
            meter.add(per_element)
            try:
                if _test(predicate, frame, meter) is not expected:
                    if index + 1 < len(items):
                        meter.add(early_stop)
                    return not expected
            except CostLimitExceeded:
                raise
            except EvaluationError as error:
                failure = failure or error
        if failure is not None:
            raise failure
        return expected

    return loop


def _exists_one(items: list[Any], variable: str, predicate: Evaluator, transform: Any, frame: dict[str, Any],
                meter: Meter) -> bool:
    count = 0
    for item in items:
        frame[variable] = item
        if _test(predicate, frame, meter):
            count += 1
            meter.add(2)
    return count == 1


def _map(items: list[Any], variable: str, predicate: Evaluator | None, transform: Evaluator, frame: dict[str, Any],
         meter: Meter) -> list[Any]:
    result = []
    for item in items:
        frame[variable] = item
        if predicate is not None and not _test(predicate, frame, meter):
            continue
        result.append(transform(frame, meter))
        meter.add(APPEND)
    return result


def _filter(items: list[Any], variable: str, predicate: Evaluator, transform: Any, frame: dict[str, Any],
            meter: Meter) -> list[Any]:
    result = []
    for item in items:
        frame[variable] = item
        if _test(predicate, frame, meter):
            meter.add(APPEND + 1)
            result.append(item)
    return result


_LOOPS: dict[str, Any] = {
    "all": _quantified(True), "exists": _quantified(False), "exists_one": _exists_one, "map": _map,
    "filter": _filter,
}


def _optional_map(variable: str, target: Evaluator, transform: Evaluator, *, flat: bool) -> Evaluator:
    def optional_map(frame: dict[str, Any], meter: Meter) -> Any:
        value = target(frame, meter)
        if not isinstance(value, OptionalValue):
            raise EvaluationError("no such overload")
        if not value.has_value:
            return OPTIONAL_NONE
        saved = frame.get(variable, _UNSET)
        frame[variable] = value.value
        try:
            result = transform(frame, meter)
        finally:
            if saved is _UNSET:
                frame.pop(variable, None)
            else:
                frame[variable] = saved
        if flat:
            if not isinstance(result, OptionalValue):
                raise EvaluationError("no such overload")
            return result
        return OptionalValue(result, True)

    return optional_map
