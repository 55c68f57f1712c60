"""x-kubernetes-validations of a CRD schema: compile each rule and messageExpression with `apiserver.cel`.

Upstream v1.32 compiles every rule against `self` (and `oldSelf`) typed by the schema node, and rejects compile
errors, a result that is not a bool, a messageExpression that is not a string, an estimated cost over the per-rule
limit, and `oldSelf` where old and new values cannot be correlated. Static checks of the rule fields (empty rule,
line breaks, reason, fieldPath) are the schema walk's. When `apiserver.cel` is not importable the rules are only
checked statically.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from apiserver.meta.errors import go_quote
from apiserver.meta.validation import FieldError, FieldErrors, FieldPath

from .crd_validation_model import mapping, sequence, text

STATIC_ESTIMATED_COST_LIMIT: Final = 10_000_000
STATIC_ESTIMATED_CRD_COST_LIMIT: Final = 100_000_000
MAX_REQUEST_SIZE_BYTES: Final = 3 * 1024 * 1024
_OLD_SELF: Final = re.compile(r"\boldSelf\b")
_STRING_LITERAL: Final = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")


class GoLiteral(str):
    """A bad value already written the way upstream's `%#v` prints it (a struct, a nil slice)."""


@dataclass(frozen=True, slots=True)
class LiteralFieldError(FieldError):
    """A FieldError whose GoLiteral bad value is printed as it is, not as JSON."""

    def error_body(self) -> str:
        if not isinstance(self.bad_value, GoLiteral):
            return FieldError.error_body(self)
        body = f"{self.type.label}: {self.bad_value}"
        return f"{body}: {self.detail}" if self.detail else body


def go_rule_literal(rule: Mapping[str, Any]) -> GoLiteral:
    """`%#v` of apiextensions.ValidationRule (pointer fields print their address upstream; shown here as set)."""
    reason = "(*apiextensions.FieldValueErrorReason)(nil)" if rule.get("reason") is None else (
        f"(*apiextensions.FieldValueErrorReason)({go_quote(text(rule.get('reason')))})")
    optional_old_self = rule.get("optionalOldSelf")
    optional = "(*bool)(nil)" if optional_old_self is None else f"(*bool)({str(optional_old_self).lower()})"
    return GoLiteral(
        f"apiextensions.ValidationRule{{Rule:{go_quote(text(rule.get('rule')))}, "
        f"Message:{go_quote(text(rule.get('message')))}, "
        f"MessageExpression:{go_quote(text(rule.get('messageExpression')))}, Reason:{reason}, "
        f"FieldPath:{go_quote(text(rule.get('fieldPath')))}, OptionalOldSelf:{optional}}}"
    )


def cost_error_message(cost_name: str, cost: int, limit: int) -> str:
    """getCostErrorMessage."""
    factor = cost / limit
    shown = "more than 100x" if factor > 100.0 else (f"{factor:f}x" if factor < 1.5 else f"{factor:.1f}x")
    return (f"{cost_name} exceeds budget by factor of {shown} (try simplifying the rule, or adding maxItems, "
            "maxProperties, and maxLength where arrays, maps, and strings are declared)")


@dataclass(frozen=True, slots=True)
class CelContext:
    """Where a schema node sits for CEL: how often it can occur in one object (None: unbounded by the schema)."""

    cardinality: int | None = 1

    def child_of(self, parent: Mapping[str, Any]) -> CelContext:
        """The context of any child of `parent` (extractMaxElements: maps and lists multiply, objects do not)."""
        factor = _max_elements(parent)
        if self.cardinality is None or factor is None:
            return CelContext(None)
        return CelContext(self.cardinality * factor)


def _max_elements(schema: Mapping[str, Any]) -> int | None:
    kind = schema.get("type")
    if kind == "object" and schema.get("additionalProperties") is not None:
        bound = schema.get("maxProperties")
    elif kind == "array":
        bound = schema.get("maxItems")
    else:
        return 1
    return max(bound, 0) if isinstance(bound, int) else None


def _min_serialized_size(schema: Mapping[str, Any]) -> int:
    """DeclType.MinSerializedSize of a schema node's CEL type (the shortest JSON a value can have)."""
    kind = schema.get("type")
    if kind in ("object", "array"):
        return 2
    if kind == "boolean":
        return 4
    if kind == "string":
        return {"date-time": 22, "datetime": 22, "duration": 4, "date": 12}.get(text(schema.get("format")), 2)
    return 1


def max_cardinality(schema: Mapping[str, Any]) -> int:
    """The worst-case repetitions of a node under unbounded lists or maps: the request size over its smallest JSON."""
    return MAX_REQUEST_SIZE_BYTES // (_min_serialized_size(schema) + 1)


@dataclass
class TotalCost:
    """The summed estimated cost of every rule of one schema and its most expensive paths."""

    total: int = 0
    expensive: list[tuple[int, FieldPath]] | None = None

    def observe(self, path: FieldPath, cost: int) -> None:
        """ObserveExpressionCost: rules under 1% of the CRD limit count towards the total only."""
        self.total += cost
        if cost < STATIC_ESTIMATED_CRD_COST_LIMIT // 100:
            return
        self.expensive = sorted([*(self.expensive or []), (cost, path)], key=lambda item: -item[0])[:4]


def uses_old_self(expression: str) -> bool:
    """Whether a rule references `oldSelf` outside string literals (a transition rule)."""
    return bool(_OLD_SELF.search(_STRING_LITERAL.sub("''", expression)))


def _cel_library() -> Any:
    try:
        from apiserver import cel
    except ImportError:
        return None
    return cel if hasattr(cel, "compile_expression") and hasattr(cel, "schema_type") else None


@dataclass(frozen=True)
class _RuleScope:
    """What compiling the rules of one schema node needs."""

    cel: Any
    schema: Mapping[str, Any]
    self_type: Any
    context: CelContext
    suppress_cost: bool
    forbid_old_self: FieldPath | None
    total: TotalCost


def compile_rules(schema: Mapping[str, Any], context: CelContext, path: FieldPath, *, suppress_cost: bool,
                  forbid_old_self: FieldPath | None, total: TotalCost) -> FieldErrors:
    """The CEL errors of one schema node's x-kubernetes-validations (empty when `apiserver.cel` is missing)."""
    cel = _cel_library()
    rules = sequence(schema.get("x-kubernetes-validations"))
    if cel is None or not rules:
        return []
    scope = _RuleScope(cel, schema, cel.schema_type(schema), context, suppress_cost, forbid_old_self, total)
    errors: FieldErrors = []
    for index, rule in enumerate(rules):
        errors += _compile_rule(scope, mapping(rule), path.child("x-kubernetes-validations").index(index))
    return errors


def _compile_rule(scope: _RuleScope, rule: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    expression = text(rule.get("rule"))
    if not expression.strip():
        return []
    cel = scope.cel
    old_type = cel.DYN if rule.get("optionalOldSelf") is True else scope.self_type
    errors: FieldErrors = []
    try:
        program = cel.compile_expression(expression, {"self": scope.self_type, "oldSelf": old_type})
    except cel.CompileError as error:
        return [LiteralFieldError.invalid(path.child("rule"), go_rule_literal(rule), str(error))]
    output = getattr(program, "output_type", None)
    if output is not None and output != cel.BOOL:
        return [LiteralFieldError.invalid(path.child("rule"), go_rule_literal(rule),
                                          "cel expression must evaluate to a bool")]
    cost = _scaled_cost(getattr(program, "estimated_cost", None), scope.context, scope.schema)
    if cost is not None:
        if not scope.suppress_cost and cost > STATIC_ESTIMATED_COST_LIMIT:
            errors.append(FieldError.forbidden(path.child("rule"), cost_error_message(
                "estimated rule cost", cost, STATIC_ESTIMATED_COST_LIMIT)))
        scope.total.observe(path.child("rule"), cost)
    errors += _compile_message_expression(scope, rule, old_type, path)
    if uses_old_self(expression):
        if scope.forbid_old_self is not None:
            errors.append(FieldError.invalid(path.child("rule"), expression, "oldSelf cannot be used on the "
                                             f"uncorrelatable portion of the schema within {scope.forbid_old_self}"))
    elif rule.get("optionalOldSelf") is not None:
        errors.append(FieldError.invalid(path.child("optionalOldSelf"), rule["optionalOldSelf"],
                                         "may not be set if oldSelf is not used in rule"))
    return errors


def _compile_message_expression(scope: _RuleScope, rule: Mapping[str, Any], old_type: Any,
                                path: FieldPath) -> FieldErrors:
    expression = text(rule.get("messageExpression"))
    if not expression:
        return []
    cel, child = scope.cel, path.child("messageExpression")
    try:
        program = cel.compile_expression(expression, {"self": scope.self_type, "oldSelf": old_type})
    except cel.CompileError as error:
        return [LiteralFieldError.invalid(child, go_rule_literal(rule), f"messageExpression {error}")]
    output = getattr(program, "output_type", None)
    if output is not None and output != cel.STRING:
        return [LiteralFieldError.invalid(child, go_rule_literal(rule), "messageExpression must evaluate to a string")]
    cost = getattr(program, "estimated_cost", None)  # upstream does not scale it by the node's cardinality
    if not isinstance(cost, int):
        return []
    errors: FieldErrors = []
    if not scope.suppress_cost and cost > STATIC_ESTIMATED_COST_LIMIT:
        errors.append(FieldError.forbidden(child, cost_error_message("estimated messageExpression cost", cost,
                                                                     STATIC_ESTIMATED_COST_LIMIT)))
    scope.total.observe(child, cost)
    return errors


def _scaled_cost(cost: object, context: CelContext, schema: Mapping[str, Any]) -> int | None:
    """getExpressionCost: the estimate times how often the node can occur."""
    if not isinstance(cost, int):
        return None
    cardinality = context.cardinality if context.cardinality is not None else max_cardinality(schema)
    return cost * cardinality


def total_cost_errors(total: TotalCost, schema_path: FieldPath) -> FieldErrors:
    """The errors of a schema whose rules together exceed the per-CRD estimated cost limit."""
    if total.total <= STATIC_ESTIMATED_CRD_COST_LIMIT:
        return []
    errors = [FieldError.forbidden(path, "contributed to estimated rule cost total exceeding cost limit for entire "
                                         "OpenAPIv3 schema") for _, path in total.expensive or []]
    errors.append(FieldError.forbidden(schema_path, cost_error_message(
        "x-kubernetes-validations estimated rule cost total for entire OpenAPIv3 schema", total.total,
        STATIC_ESTIMATED_CRD_COST_LIMIT)))
    return errors
