"""Compiling expressions against a Kubernetes environment and evaluating the compiled programs."""
from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any, Final

from apiserver.cel.callcost import estimate_call, runtime_cost_of
from apiserver.cel.checker import Checker
from apiserver.cel.cost import estimate_cost
from apiserver.cel.errors import CompileError, EvaluationError, Issue, display_issues
from apiserver.cel.interpreter import Evaluator, Meter, compile_node
from apiserver.cel.overloads import Library
from apiserver.cel.parser import ParseError, parse
from apiserver.cel.types import CelType
from apiserver.cel.validators import InstantiationError, validate
from apiserver.cel.values import to_plain


def _standard() -> Library:
    from apiserver.cel.optionals import optional_library
    from apiserver.cel.stdlib import standard_library

    library = standard_library()
    optional_library(library)
    return library


def _kubernetes() -> Library:
    from apiserver.cel.libraries import kubernetes_libraries

    library = _standard()
    kubernetes_libraries(library)
    return library


LIBRARIES: Final[dict[str, Callable[[], Library]]] = {"standard": _standard, "kubernetes": _kubernetes}


@functools.cache
def library_named(name: str) -> Library:
    """The functions of an environment, each overload carrying its runtime cost and static estimate."""
    library = LIBRARIES[name]()
    for function, overloads in library.items():
        runtime = runtime_cost_of(function, name)
        estimate = functools.partial(estimate_call, function, library=name)
        library[function] = [replace(candidate, cost=runtime, estimate=estimate) for candidate in overloads]
    return library


class Program:
    """A checked, compiled expression. Evaluate it as often as needed; it keeps no state between calls."""

    __slots__ = ("_evaluator", "estimated_cost", "expression", "output_type")

    def __init__(self, expression: str, output_type: CelType, estimated_cost: int, evaluator: Evaluator) -> None:
        self.expression = expression
        self.output_type = output_type
        self.estimated_cost: int | None = estimated_cost
        self._evaluator = evaluator

    def evaluate(self, activation: Mapping[str, Any], *, cost_limit: int | None = None) -> Any:
        """The value of the expression for these variables, as plain Python.

        Raises EvaluationError with cel-go's message, CostLimitExceeded past `cost_limit`.
        """
        return self.evaluate_with_cost(activation, cost_limit=cost_limit)[0]

    def evaluate_with_cost(self, activation: Mapping[str, Any], *, cost_limit: int | None = None) -> tuple[Any, int]:
        """The value and the runtime cost of this evaluation (to charge against a per-request budget)."""
        meter = Meter(cost_limit)
        try:
            result = self._evaluator(dict(activation), meter)
        except RecursionError:
            raise EvaluationError("max recursion depth exceeded") from None
        return to_plain(result), meter.cost


def compile_expression(expression: str, variables: Mapping[str, CelType], *, library: str = "kubernetes") -> Program:
    """Parse, type-check and compile an expression; raise CompileError with upstream's text."""
    try:
        tree = parse(expression)
    except ParseError as error:
        raise CompileError(display_issues(expression, [error.issue])) from None
    except RecursionError:
        issue = Issue(0, "expression recursion limit exceeded: 250")
        raise CompileError(display_issues(expression, [issue])) from None
    checker = Checker(variables, library_named(library))
    output_type = checker.check(tree)
    if checker.issues:
        raise CompileError(display_issues(expression, checker.issues))
    try:
        issues = validate(tree)
    except InstantiationError as error:
        message = f"program instantiation failed: {error}"
        raise CompileError([message], message) from None
    if issues:
        raise CompileError(display_issues(expression, issues))
    return Program(expression, output_type, estimate_cost(tree), compile_node(tree))
