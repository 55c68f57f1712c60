"""How the rule walk talks to CEL: compile against a node's schema, evaluate with a cost limit and report cost.

`RuleEngine` is the seam (tests may plug in another engine); `CelEngine` is the real one over `apiserver.cel`.
Variables are `self` and, for transition rules, `oldSelf`, both typed by the node's schema (`oldSelf` as an
optional of it with `optionalOldSelf`).
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol

_STRING_LITERALS: Final = re.compile(r"""(?s)[rR]?('''.*?'''|\"\"\".*?\"\"\"|'(?:\\.|[^'\\])*'|"(?:\\.|[^"\\])*")""")
_OLD_SELF: Final = re.compile(r"\boldSelf\b")


@dataclass(frozen=True, slots=True)
class Outcome:
    """One evaluation: its value (plain Python), its runtime cost, and its runtime error text if it failed."""

    value: Any = None
    cost: int = 0
    error: str | None = None
    cost_limited: bool = False


class RuleEngine(Protocol):
    def compile(self, expression: str, openapi: Mapping[str, Any], *, old_self: bool,
                optional_old_self: bool) -> Any:
        """A program for `expression` with `self` (and `oldSelf`) typed by `openapi`.

        Raises ValueError (the CEL CompileError) with upstream's compile message.
        """

    def evaluate(self, program: Any, activation: Mapping[str, Any], cost_limit: int) -> Outcome:
        """Run `program`; never raises for runtime errors or the cost limit (they come back in the Outcome)."""

    def activation(self, value: Any, old: Any) -> Mapping[str, Any]:
        """The variables for `self` = value and `oldSelf` = old (MISSING-free: see rules._cel_old)."""

    def mentions_old_self(self, rule: str) -> bool:
        """Whether the rule refers to `oldSelf` (a transition rule)."""


class CelEngine:
    """The `apiserver.cel` engine (imported on first use, so schemas without rules never load it)."""

    def compile(self, expression: str, openapi: Mapping[str, Any], *, old_self: bool,
                optional_old_self: bool) -> Any:
        from apiserver.cel import compile_expression, schema_type
        from apiserver.cel.types import optional_of

        self_type = schema_type(openapi)
        variables = {"self": self_type}
        if old_self:
            variables["oldSelf"] = optional_of(self_type) if optional_old_self else self_type
        return compile_expression(expression, variables)

    def evaluate(self, program: Any, activation: Mapping[str, Any], cost_limit: int) -> Outcome:
        from apiserver.cel import CostLimitExceeded, EvaluationError

        try:
            value, cost = program.evaluate_with_cost(activation, cost_limit=cost_limit)
        except CostLimitExceeded as error:
            return Outcome(cost=cost_limit, error=str(error), cost_limited=True)
        except EvaluationError as error:
            return Outcome(cost=0, error=str(error))
        return Outcome(value=value, cost=cost)

    def activation(self, value: Any, old: Any) -> Mapping[str, Any]:
        variables: dict[str, Any] = {"self": value}
        if isinstance(old, tuple) and old[:1] == ("optional",):
            from apiserver.cel.values import OPTIONAL_NONE, OptionalValue

            variables["oldSelf"] = OptionalValue(old[1], True) if old[2] else OPTIONAL_NONE
        elif not _is_missing(old):
            variables["oldSelf"] = old
        return variables

    def mentions_old_self(self, rule: str) -> bool:
        return bool(_OLD_SELF.search(_STRING_LITERALS.sub("''", rule)))


def _is_missing(value: Any) -> bool:
    from apiserver.registry.structural.values import MISSING

    return value is MISSING
