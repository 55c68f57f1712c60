"""A ValidatingAdmissionPolicy's expressions, compiled once per policy generation and evaluated per request.

Upstream's policy/validating validator.go and plugin/cel filter.go (v1.32): matchConditions first (any false: the
policy does not apply; errors: the failure policy decides), then every validation (not true: denied with the
messageExpression's result, else the message, else `failed expression: <expression>`; an error: the failure
policy decides), then the audit annotations (a string is published, null or blank is left out).

Variables are evaluated once per evaluation in their order, before the expressions that use them (upstream
evaluates them lazily); an expression naming a variable whose evaluation failed fails with that error. Each
expression has the per-call cost limit; variables and validations share one runtime budget, match conditions and
audit annotations have their own, as upstream.
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from apiserver.cel import DYN, CompileError, EvaluationError, compile_expression
from apiserver.cel.limits import (
    MAX_EVALUATED_MESSAGE_EXPRESSION_SIZE_BYTES,
    PER_CALL_LIMIT,
    RUNTIME_CEL_COST_BUDGET,
    RUNTIME_CEL_COST_BUDGET_MATCH_CONDITIONS,
)

Action = Literal["admit", "deny"]
Evaluation = Literal["admit", "deny", "error"]

BASE_VARIABLES: Final = ("object", "oldObject", "request", "namespaceObject")
AUTHORIZER_VARIABLES: Final = ("authorizer", "authorizer.requestResource")
OUT_OF_BUDGET: Final = "validation failed due to running out of cost budget, no further validation rules will be run"


@dataclass(frozen=True, slots=True)
class Expression:
    """One compiled expression: a program, or the compile error text upstream reports at admission time."""

    source: str
    program: Any = None
    error: str = ""

    def run(self, activation: Mapping[str, Any], failed_variables: Mapping[str, str],
            budget: Budget | None = None) -> tuple[Any, str]:
        """(result, "") or (None, upstream's error text); the cost is charged to `budget`."""
        if self.error:
            return None, f"compilation error: {self.error}"
        for name, problem in failed_variables.items():
            if re.search(rf"\bvariables\s*\.\s*{re.escape(name)}\b", self.source):
                return None, f"expression '{self.source}' resulted in error: {problem}"
        try:
            value, cost = self.program.evaluate_with_cost(activation, cost_limit=PER_CALL_LIMIT)
        except EvaluationError as error:
            return None, f"expression '{self.source}' resulted in error: {error}"
        if budget is not None:
            budget.charge(cost)
        return value, ""


class OutOfBudget(Exception):
    """The expressions of one binding evaluation cost more than the runtime budget."""


class Budget:
    """What is left of one evaluation's runtime cost budget (upstream's RuntimeCELCostBudget)."""

    def __init__(self, total: int = RUNTIME_CEL_COST_BUDGET) -> None:
        self.remaining = total

    def charge(self, cost: int) -> None:
        if cost > self.remaining:
            raise OutOfBudget(OUT_OF_BUDGET)
        self.remaining -= cost


@dataclass(frozen=True, slots=True)
class Decision:
    """One validation's outcome (upstream's PolicyDecision)."""

    action: Action
    evaluation: Evaluation
    message: str = ""
    reason: str = ""


@dataclass(frozen=True, slots=True)
class AuditAnnotation:
    """One audit annotation's outcome: publish `value`, leave it out, or fail with `error`."""

    key: str
    action: Literal["publish", "exclude", "error"]
    value: str = ""
    error: str = ""


@dataclass(frozen=True, slots=True)
class Result:
    decisions: tuple[Decision, ...] = ()
    annotations: tuple[AuditAnnotation, ...] = ()


@dataclass(frozen=True, slots=True)
class CompiledPolicy:
    """Every expression of one policy generation."""

    failure_policy: str
    match_conditions: tuple[tuple[str, Expression], ...] = ()
    variables: tuple[tuple[str, Expression], ...] = ()
    validations: tuple[tuple[Mapping[str, Any], Expression, Expression | None], ...] = ()
    audit_annotations: tuple[tuple[str, Expression], ...] = ()
    uses_authorizer: bool = field(default=False)


def _compile(source: str, names: Sequence[str]) -> Expression:
    try:
        return Expression(source, compile_expression(source, dict.fromkeys(names, DYN)))
    except CompileError as error:
        return Expression(source, error=str(error))


def compile_policy(spec: Mapping[str, Any]) -> CompiledPolicy:
    """Compile the policy's expressions with upstream's declarations for each kind of expression."""
    params = ("params",) if isinstance(spec.get("paramKind"), Mapping) else ()
    variables = ("variables",) if spec.get("variables") else ()
    full = (*BASE_VARIABLES, *params, *AUTHORIZER_VARIABLES, *variables)
    without_authorizer = (*BASE_VARIABLES, *params, *variables)
    conditions = tuple((str(item.get("name") or ""), _compile(str(item.get("expression") or ""),
                                                              (*BASE_VARIABLES, *params, *AUTHORIZER_VARIABLES)))
                       for item in _items(spec.get("matchConditions")))
    declared = tuple((str(item.get("name") or ""), _compile(str(item.get("expression") or ""), full))
                     for item in _items(spec.get("variables")))
    validations = tuple(
        (item, _compile(str(item.get("expression") or ""), full),
         _compile(str(item["messageExpression"]), without_authorizer) if item.get("messageExpression") else None)
        for item in _items(spec.get("validations")))
    annotations = tuple((str(item.get("key") or ""), _compile(str(item.get("valueExpression") or "").strip(), full))
                        for item in _items(spec.get("auditAnnotations")))
    return CompiledPolicy(
        failure_policy=str(spec.get("failurePolicy") or "Fail"), match_conditions=conditions, variables=declared,
        validations=validations, audit_annotations=annotations,
        uses_authorizer="authorizer" in repr(spec),
    )


def _items(value: object) -> list[Mapping[str, Any]]:
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []


def _error_action(policy: CompiledPolicy) -> Action:
    return "admit" if policy.failure_policy == "Ignore" else "deny"


def evaluate(policy: CompiledPolicy, activation: dict[str, Any]) -> Result:
    """Upstream's validator.Validate for one binding and one parameter object (blocking: may call the
    authorizer; run it off the event loop when `policy.uses_authorizer`)."""
    failed: dict[str, str] = {}
    values: dict[str, Any] = {}
    activation = {**activation, "variables": values}
    budget = Budget()
    try:
        for name, expression in policy.variables:
            value, problem = expression.run(activation, failed, budget)
            if problem:
                failed[name] = problem.split("resulted in error: ", 1)[-1]
            else:
                values[name] = value
        if not _conditions_match(policy, activation, failed):
            return Result()
        decisions = tuple(_validate(policy, validation, expression, message, activation, failed, budget)
                          for validation, expression, message in policy.validations)
    except OutOfBudget as error:
        return Result(decisions=(Decision(_error_action(policy), "error", str(error)),))
    except _ConditionsFailed as error:
        return Result(decisions=(Decision(_error_action(policy), "error", str(error)),))
    annotation_budget = Budget()
    try:
        annotations = tuple(_annotate(policy, key, expression, activation, failed, annotation_budget)
                            for key, expression in policy.audit_annotations)
    except OutOfBudget as error:
        return Result(decisions=(*decisions, Decision(_error_action(policy), "error", str(error))))
    return Result(decisions, annotations)


class _ConditionsFailed(Exception):
    """A match condition could not be evaluated (the aggregate of the errors)."""


def _conditions_match(policy: CompiledPolicy, activation: Mapping[str, Any], failed: Mapping[str, str]) -> bool:
    """Upstream's matchconditions Matcher: any false skips the policy, else errors fail it."""
    budget = Budget(RUNTIME_CEL_COST_BUDGET_MATCH_CONDITIONS)
    errors: list[str] = []
    for _, expression in policy.match_conditions:
        value, problem = expression.run(activation, failed, budget)
        if problem:
            errors.append(problem)
        elif value is False:
            return False
    if errors:
        raise _ConditionsFailed(_aggregate(errors))
    return True


def _validate(policy: CompiledPolicy, validation: Mapping[str, Any], expression: Expression,
              message_expression: Expression | None, activation: Mapping[str, Any],
              failed: Mapping[str, str], budget: Budget) -> Decision:
    value, problem = expression.run(activation, failed, budget)
    if problem:
        return Decision(_error_action(policy), "error", problem)
    if value is True:
        return Decision("admit", "admit")
    message = ""
    if message_expression is not None:
        without_authorizer = {key: item for key, item in activation.items() if key not in AUTHORIZER_VARIABLES}
        result, message_problem = message_expression.run(without_authorizer, failed)
        if not message_problem and isinstance(result, str):
            message = result.strip()
            if len(message.encode()) > MAX_EVALUATED_MESSAGE_EXPRESSION_SIZE_BYTES or "\n" in message:
                message = ""
    if not message:
        message = str(validation.get("message") or "").strip()
    if not message:
        message = f"failed expression: {expression.source.strip()}"
    return Decision("deny", "deny", message, str(validation.get("reason") or "Invalid"))


def _annotate(policy: CompiledPolicy, key: str, expression: Expression, activation: Mapping[str, Any],
              failed: Mapping[str, str], budget: Budget) -> AuditAnnotation:
    error_action: Literal["exclude", "error"] = "exclude" if policy.failure_policy == "Ignore" else "error"
    value, problem = expression.run(activation, failed, budget)
    if problem:
        return AuditAnnotation(key, error_action, error=problem)
    if value is None:
        return AuditAnnotation(key, "exclude")
    if isinstance(value, str):
        return AuditAnnotation(key, "publish", value.strip()) if value.strip() else AuditAnnotation(key, "exclude")
    return AuditAnnotation(key, "error", error=(
        f"valueExpression '{expression.source}' resulted in unsupported return type: {_cel_type_name(value)}. "
        "Return type must be either string or null."))


def _cel_type_name(value: object) -> str:
    for python_type, name in ((bool, "bool"), (int, "int"), (float, "double"), (bytes, "bytes"), (list, "list"),
                              (dict, "map")):
        if isinstance(value, python_type):
            return name
    return type(value).__name__


def _aggregate(messages: Sequence[str]) -> str:
    distinct = list(dict.fromkeys(messages))
    return distinct[0] if len(distinct) == 1 else "[" + ", ".join(distinct) + "]"
