"""`x-kubernetes-validations`: the CEL rules of a structural schema, run as apiextensions' cel.Validator runs them.

Rules are compiled once per schema (on first use) through `apiserver.cel`, `self` typed by the node's schema
(the resource root and embedded resources also expose apiVersion, kind, metadata.name/generateName). The walk
visits a node's rules before its children: additionalProperties values (`path[key]`), then properties
(`path.name`), then list items (`path[i]`). `oldSelf` is the correlated old value: the same property or map
key, the item with the same `x-kubernetes-list-map-keys` in a list-type map; nothing else correlates. A
transition rule (one that mentions `oldSelf`) runs only with an old value, unless `optionalOldSelf` makes
`oldSelf` an optional.

Errors are upstream's: `Invalid value: "<schema type>": <message>` (`failed rule: <rule>` without a message),
or by `reason` Forbidden/Required/Duplicate; `fieldPath` extends the path. Every evaluation counts against one
budget per write (`RUNTIME_CEL_COST_BUDGET`); each call is limited to `PER_CALL_LIMIT`. With ratcheting
(on update), errors of rules that do not use oldSelf are dropped where the value equals its old value, or, for
a value without correlation (an item of an atomic list), where its nearest correlated ancestor is unchanged
(upstream turns them into warnings).
"""
from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from apiserver.cel.limits import MAX_EVALUATED_MESSAGE_EXPRESSION_SIZE_BYTES, PER_CALL_LIMIT, RUNTIME_CEL_COST_BUDGET
from apiserver.meta.errors import go_quote
from apiserver.meta.validation import FieldError, FieldErrors, FieldPath
from apiserver.registry.schema import Schema
from apiserver.registry.structural.celengine import CelEngine, RuleEngine
from apiserver.registry.structural.fieldpath import normalized_field_path
from apiserver.registry.structural.nodes import StructuralNode, subtrees_with
from apiserver.registry.structural.values import MISSING, correlation_key, deep_equal

BUDGET_MESSAGE: Final = "validation failed due to running out of cost budget, no further validation rules will be run"
MESSAGE_BUDGET_MESSAGE: Final = (
    "messageExpression evaluation failed due to running out of cost budget, no further validation rules will be run"
)


@dataclass(frozen=True, slots=True)
class CompiledRule:
    rule: str
    message: str
    reason: str
    field_path: str
    program: Any
    message_program: Any
    message_expression: str
    compile_error: str
    uses_old_self: bool
    optional_old_self: bool

    @property
    def default_message(self) -> str:
        """ruleMessageOrDefault: the trimmed message, or `failed rule: <trimmed rule>`."""
        return self.message.strip() if self.message else f"failed rule: {self.rule.strip()}"

    @property
    def error_text(self) -> str:
        return self.message.strip() if self.message else self.rule.strip()


class _Stop(Exception):
    """No further rules run (budget exhausted or a per-call limit hit)."""


class RuleSet:
    """The compiled rules of one schema tree (compiled lazily, once; then read-only)."""

    def __init__(self, root: StructuralNode, engine: RuleEngine | None = None) -> None:
        self._root = root
        self._engine = engine
        self._with_rules = subtrees_with(root, lambda node: bool(node.rules))
        self._compiled: dict[int, tuple[CompiledRule, ...]] | None = None

    @property
    def has_rules(self) -> bool:
        return bool(self._with_rules)

    def compile(self) -> dict[int, tuple[CompiledRule, ...]]:
        """Compile every rule (idempotent); compile errors are kept and reported at validation time."""
        if self._compiled is None:
            engine = self._engine or CelEngine()
            self._compiled = {id(node): tuple(_compile(engine, node, raw, node is self._root) for raw in node.rules)
                              for node in _walk_nodes(self._root) if node.rules}
        return self._compiled

    def validate(self, obj: Any, old: Any, warnings: list[str] | None = None) -> FieldErrors:
        if not self._with_rules:
            return []
        run = _Run(self.compile(), self._with_rules, self._engine or CelEngine(), ratcheting=old is not None,
                   warnings=warnings)
        with contextlib.suppress(_Stop):
            run.walk(self._root, obj, MISSING if old is None else old, FieldPath(), UNCORRELATED, is_resource=True)
        return run.errors


class _Run:
    """One validation: the errors so far and the remaining cost budget."""

    def __init__(self, compiled: dict[int, tuple[CompiledRule, ...]], with_rules: frozenset[int], engine: RuleEngine,
                 *, ratcheting: bool, warnings: list[str] | None) -> None:
        self.compiled = compiled
        self.with_rules = with_rules
        self.engine = engine
        self.ratcheting = ratcheting
        self.warnings = warnings if warnings is not None else []
        self.budget = RUNTIME_CEL_COST_BUDGET
        self.errors: FieldErrors = []

    def walk(self, node: Schema | None, value: Any, old: Any, path: FieldPath, parent: _Correlation,
             *, correlated: bool = True, is_resource: bool = False) -> None:
        """Rules at `node`, then below. `parent` is the nearest correlated ancestor (for ratcheting); `correlated`
        says whether `old` was found by correlation (a property, map key or list-map key present in the old)."""
        if value is None or not isinstance(node, StructuralNode) or id(node) not in self.with_rules:
            return
        here = _Correlation(value, old) if correlated and old is not MISSING else parent
        if rules := self.compiled.get(id(node), ()):
            if self.budget <= 0:
                self.errors.append(FieldError.invalid(path, node.type, BUDGET_MESSAGE))
                raise _Stop
            for rule in rules:
                self._run_rule(rule, node, value, old, path, here, is_resource or node.embedded_resource)
        if isinstance(value, dict):
            self._walk_object(node, value, old if isinstance(old, dict) else {}, path, here)
        elif isinstance(value, list):
            self._walk_list(node, value, old, path, here)

    def _walk_object(self, node: StructuralNode, value: dict[str, Any], old: dict[str, Any], path: FieldPath,
                     here: _Correlation) -> None:
        if node.additional_properties is not None:
            for key, item in value.items():
                if key not in node.properties:
                    self.walk(node.additional_properties, item, old.get(key, MISSING), path.key(key), here,
                              correlated=key in old)
        for key, item in value.items():
            if (child := node.properties.get(key)) is not None:
                self.walk(child, item, old.get(key, MISSING), path.child(key), here, correlated=key in old)

    def _walk_list(self, node: StructuralNode, value: list[Any], old: Any, path: FieldPath,
                   here: _Correlation) -> None:
        correlate = _list_correlation(node, old)
        for index, item in enumerate(value):
            old_item = correlate(item)
            self.walk(node.items(), item, old_item, path.index(index), here, correlated=old_item is not MISSING)

    def _run_rule(self, rule: CompiledRule, node: StructuralNode, value: Any, old: Any, path: FieldPath,
                  correlation: _Correlation, is_resource: bool) -> None:
        schema_type = node.type
        if rule.compile_error:
            self.errors.append(FieldError.invalid(path, schema_type, f"rule compile error: {rule.compile_error}"))
            return
        if rule.uses_old_self and old is MISSING and not rule.optional_old_self:
            return
        activation = self.engine.activation(_cel_value(value, is_resource), _cel_old(old, is_resource, rule))
        outcome = self.engine.evaluate(rule.program, activation, PER_CALL_LIMIT)
        if outcome.cost > self.budget:
            self.errors.append(FieldError.invalid(path, schema_type, BUDGET_MESSAGE))
            raise _Stop
        self.budget -= outcome.cost
        if outcome.error is not None:
            self._runtime_error(rule, path, schema_type, outcome.error, outcome.cost_limited)
            return
        if outcome.value is True:
            return
        error_path = path.child(rule.field_path) if rule.field_path else path
        ratcheted = self.ratcheting and not rule.uses_old_self and correlation.unchanged
        detail = self._message(rule, activation, error_path, schema_type, ratcheted)
        self._add(_error_for_reason(error_path, schema_type, detail, rule.reason), ratcheted)

    def _add(self, error: FieldError, ratcheted: bool) -> None:
        """Upstream turns a ratcheted error into a warning (its full text)."""
        if ratcheted:
            self.warnings.append(error.error_message())
        else:
            self.errors.append(error)

    def _runtime_error(self, rule: CompiledRule, path: FieldPath, schema_type: str, error: str,
                       cost_limited: bool) -> None:
        if cost_limited:
            detail = f"'{error}': no further validation rules will be run due to call cost exceeds limit for rule: "
            self.errors.append(FieldError.invalid(path, schema_type, detail + rule.error_text))
            raise _Stop
        if error.startswith("no such overload"):
            detail = (f"'{error}': call arguments did not match a supported operator, function or macro signature "
                      f"for rule: {rule.error_text}")
        else:
            detail = f"{error} evaluating rule: {rule.error_text}"
        self.errors.append(FieldError.invalid(path, schema_type, detail))

    def _message(self, rule: CompiledRule, activation: Any, path: FieldPath, schema_type: str, ratcheted: bool) -> str:
        """The detail of a failed rule: its messageExpression's value when usable, else the message or rule."""
        if rule.message_program is None:
            return rule.default_message
        outcome = self.engine.evaluate(rule.message_program, activation, PER_CALL_LIMIT)
        stop = ""
        if outcome.cost > self.budget:
            stop = MESSAGE_BUDGET_MESSAGE
        elif outcome.cost_limited:
            stop = ("no further validation rules will be run due to call cost exceeds limit for messageExpression: "
                    + go_quote(rule.message_expression))
        if stop:
            self._add(FieldError.invalid(path, schema_type, stop), ratcheted)
            raise _Stop
        self.budget -= outcome.cost
        message = outcome.value.strip() if outcome.error is None and isinstance(outcome.value, str) else ""
        too_long = len(message.encode()) > MAX_EVALUATED_MESSAGE_EXPRESSION_SIZE_BYTES
        if not message or "\n" in message or too_long:
            return rule.default_message
        return message


class _Correlation:
    """A value and its correlated old value; whether they are equal is computed once, when first asked."""

    __slots__ = ("_equal", "old", "value")

    def __init__(self, value: Any, old: Any) -> None:
        self.value = value
        self.old = old
        self._equal: bool | None = None

    @property
    def unchanged(self) -> bool:
        if self.old is MISSING:
            return False
        if self._equal is None:
            self._equal = deep_equal(self.value, self.old)
        return self._equal


UNCORRELATED: Final = _Correlation(None, MISSING)


def _error_for_reason(path: FieldPath, schema_type: str, detail: str, reason: str) -> FieldError:
    if reason == "FieldValueForbidden":
        return FieldError.forbidden(path, detail)
    if reason == "FieldValueRequired":
        return FieldError.required(path, detail)
    if reason == "FieldValueDuplicate":
        return FieldError.duplicate(path, schema_type)
    return FieldError.invalid(path, schema_type, detail)


def _list_correlation(node: StructuralNode, old: Any) -> Callable[[Any], Any]:
    keys = node.list_map_keys
    if node.list_type != "map" or not keys or not isinstance(old, list):
        return lambda item: MISSING

    def key_of(item: Any) -> tuple[Any, ...] | None:
        return tuple(correlation_key(item.get(key)) for key in keys) if isinstance(item, dict) else None

    by_key = {key_of(item): item for item in old if isinstance(item, dict)}
    return lambda item: by_key.get(key_of(item), MISSING)


def _cel_value(value: Any, is_resource: bool) -> Any:
    """What `self` sees: a resource's metadata is only its name and generateName."""
    if not is_resource or not isinstance(value, dict) or not isinstance(value.get("metadata"), dict):
        return value
    metadata = {key: item for key, item in value["metadata"].items() if key in ("name", "generateName")}
    return {**value, "metadata": metadata}


def _cel_old(old: Any, is_resource: bool, rule: CompiledRule) -> Any:
    if rule.optional_old_self:
        return ("optional", None if old is MISSING else _cel_value(old, is_resource), old is not MISSING)
    return MISSING if old is MISSING else _cel_value(old, is_resource)


def _compile(engine: RuleEngine, node: StructuralNode, raw: Mapping[str, Any], is_root: bool) -> CompiledRule:
    rule = str(raw.get("rule", ""))
    optional_old_self = bool(raw.get("optionalOldSelf", False))
    uses_old_self = engine.mentions_old_self(rule)
    program = message_program = None
    error = ""
    openapi = _typed_openapi(node, is_root)
    try:
        program = engine.compile(rule, openapi, old_self=uses_old_self, optional_old_self=optional_old_self)
        if raw.get("messageExpression"):
            message_program = engine.compile(str(raw["messageExpression"]), openapi, old_self=uses_old_self,
                                             optional_old_self=optional_old_self)
    except ValueError as compile_error:
        error = str(compile_error)
    return CompiledRule(
        rule=rule, message=str(raw.get("message") or ""), reason=str(raw.get("reason") or ""),
        field_path=normalized_field_path(str(raw.get("fieldPath") or ""), node), program=program,
        message_program=message_program, message_expression=str(raw.get("messageExpression") or ""),
        compile_error=error, uses_old_self=uses_old_self,
        optional_old_self=optional_old_self,
    )


def _typed_openapi(node: StructuralNode, is_root: bool) -> Mapping[str, Any]:
    """The schema `self` is typed from: the resource root is an embedded resource for CEL."""
    if not is_root:
        return node.openapi
    return {**node.openapi, "x-kubernetes-embedded-resource": True}


def _walk_nodes(node: StructuralNode) -> list[StructuralNode]:
    found: list[StructuralNode] = []
    stack: list[Schema | None] = [node]
    seen: set[int] = set()
    while stack:
        current = stack.pop()
        if not isinstance(current, StructuralNode) or id(current) in seen:
            continue
        seen.add(id(current))
        found.append(current)
        stack.extend(current.properties.values())
        stack.extend((current.items(), current.additional_properties))
    return found
