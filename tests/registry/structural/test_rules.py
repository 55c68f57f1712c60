"""x-kubernetes-validations: CEL rules on custom resources with upstream's errors, correlation and budgets."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from apiserver.registry.structural import StructuralSchema
from apiserver.registry.structural.celengine import CelEngine, Outcome
from apiserver.registry.structural.rules import RuleSet


def _schema(spec_schema: dict[str, Any], **root: Any) -> StructuralSchema:
    return StructuralSchema.from_openapi({"type": "object", "properties": {"spec": spec_schema}, **root})


def _resource(spec: Any, name: str = "w") -> dict[str, Any]:
    return {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": name}, "spec": spec}


def _messages(schema: StructuralSchema, spec: Any, old_spec: Any = None) -> list[str]:
    old = _resource(old_spec) if old_spec is not None else None
    return [error.error_message() for error in schema.validate_rules(_resource(spec), old)]


def _spec(*rules: dict[str, Any], **properties: Any) -> dict[str, Any]:
    return {"type": "object", "x-kubernetes-validations": list(rules), "properties": properties}


INTEGER = {"type": "integer"}
STRING = {"type": "string"}


@pytest.mark.parametrize(("rule", "spec", "expected"), [
    ({"rule": "self.replicas <= self.max"}, {"replicas": 1, "max": 2}, []),
    ({"rule": "self.replicas <= self.max"}, {"replicas": 3, "max": 2},
     ['spec: Invalid value: "object": failed rule: self.replicas <= self.max']),
    ({"rule": "  self.replicas <= self.max \n", "message": "  too many  "}, {"replicas": 3, "max": 2},
     ['spec: Invalid value: "object": too many']),
    ({"rule": "self.replicas <= self.max", "messageExpression": "'replicas ' + string(self.replicas) + ' > max'"},
     {"replicas": 3, "max": 2}, ['spec: Invalid value: "object": replicas 3 > max']),
    ({"rule": "self.replicas <= self.max", "message": "fallback", "messageExpression": "''"},
     {"replicas": 3, "max": 2}, ['spec: Invalid value: "object": fallback']),
    ({"rule": "self.replicas <= self.max", "message": "fallback", "messageExpression": "'two\\nlines'"},
     {"replicas": 3, "max": 2}, ['spec: Invalid value: "object": fallback']),
    ({"rule": "self.replicas <= self.max", "reason": "FieldValueForbidden", "message": "no"},
     {"replicas": 3, "max": 2}, ["spec: Forbidden: no"]),
    ({"rule": "self.replicas <= self.max", "reason": "FieldValueRequired", "message": "need"},
     {"replicas": 3, "max": 2}, ["spec: Required value: need"]),
    ({"rule": "self.replicas <= self.max", "reason": "FieldValueDuplicate", "message": "dup"},
     {"replicas": 3, "max": 2}, ['spec: Duplicate value: "object"']),
    ({"rule": "self.replicas <= self.max", "fieldPath": ".replicas", "message": "m"},
     {"replicas": 3, "max": 2}, ['spec.replicas: Invalid value: "object": m']),
    ({"rule": "self.replicas <= self.max", "fieldPath": ".labels['a.b']", "message": "m"},
     {"replicas": 3, "max": 2}, ['spec.labels[a.b]: Invalid value: "object": m']),
    ({"rule": "self.replicas <= self.max", "fieldPath": ".nested.inner", "message": "m"},
     {"replicas": 3, "max": 2}, ['spec.nested.inner: Invalid value: "object": m']),
    ({"rule": "self.labels.missing == 'x'"}, {"labels": {}},
     ['spec: Invalid value: "object": no such key: missing evaluating rule: self.labels.missing == \'x\'']),
], ids=["passes", "failed-rule", "trimmed-message", "message-expression", "empty-message-expression",
        "multiline-message-expression", "forbidden", "required", "duplicate", "field-path", "field-path-key",
        "field-path-nested",
        "runtime-error"])
def test_rule_errors_have_upstream_shape(rule: dict[str, Any], spec: dict[str, Any], expected: list[str]) -> None:
    schema = _schema(_spec(rule, replicas=INTEGER, max=INTEGER,
                           labels={"type": "object", "additionalProperties": STRING},
                           nested={"type": "object", "properties": {"inner": STRING}}))
    assert _messages(schema, spec) == expected


def test_rules_run_at_every_node_with_upstream_paths() -> None:
    item_rule = {"rule": "self.port > 0", "message": "port must be positive"}
    value_rule = {"rule": "self.size() < 4", "message": "short values"}
    schema = _schema({"type": "object", "properties": {
        "ports": {"type": "array", "items": {"type": "object", "x-kubernetes-validations": [item_rule],
                                             "properties": {"port": INTEGER}}},
        "labels": {"type": "object", "additionalProperties": {"type": "string",
                                                              "x-kubernetes-validations": [value_rule]}},
    }})
    assert _messages(schema, {"ports": [{"port": 1}, {"port": 0}], "labels": {"ok": "abc", "long": "abcdef"}}) == [
        'spec.ports[1]: Invalid value: "object": port must be positive',
        'spec.labels[long]: Invalid value: "string": short values',
    ]


def test_root_rules_see_type_meta_and_name_and_report_a_nil_path() -> None:
    rule = {"rule": "self.metadata.name.startsWith('w') && self.kind == 'Widget'", "message": "bad name"}
    schema = _schema(_spec(), **{"x-kubernetes-validations": [rule]})
    assert schema.validate_rules(_resource({}), None) == []
    errors = schema.validate_rules(_resource({}, name="other"), None)
    assert [error.error_message() for error in errors] == ['<nil>: Invalid value: "object": bad name']


def test_transition_rules_run_only_with_an_old_value() -> None:
    schema = _schema(_spec({"rule": "self.replicas >= oldSelf.replicas", "message": "no scale down"},
                           replicas=INTEGER))
    assert _messages(schema, {"replicas": 1}) == []
    assert _messages(schema, {"replicas": 1}, old_spec={"replicas": 2}) == [
        'spec: Invalid value: "object": no scale down']
    assert _messages(schema, {"replicas": 3}, old_spec={"replicas": 2}) == []


def test_optional_old_self_runs_on_create_with_an_empty_optional() -> None:
    rule = {"rule": "oldSelf.hasValue() ? self.replicas >= oldSelf.value().replicas : self.replicas == 1",
            "optionalOldSelf": True, "message": "start at one, never shrink"}
    schema = _schema(_spec(rule, replicas=INTEGER))
    assert _messages(schema, {"replicas": 2}) == ['spec: Invalid value: "object": start at one, never shrink']
    assert _messages(schema, {"replicas": 1}) == []
    assert _messages(schema, {"replicas": 1}, old_spec={"replicas": 2}) == [
        'spec: Invalid value: "object": start at one, never shrink']


def test_list_map_items_correlate_by_key_and_atomic_list_items_do_not() -> None:
    immutable = {"rule": "self.value == oldSelf.value", "message": "immutable"}
    item = {"type": "object", "x-kubernetes-validations": [immutable],
            "properties": {"name": STRING, "value": INTEGER}}
    schema = _schema({"type": "object", "properties": {
        "keyed": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                  "items": item},
        "atomic": {"type": "array", "items": item},
    }})
    old = {"keyed": [{"name": "a", "value": 1}, {"name": "b", "value": 2}], "atomic": [{"name": "a", "value": 1}]}
    new = {"keyed": [{"name": "b", "value": 3}, {"name": "a", "value": 1}, {"name": "c", "value": 9}],
           "atomic": [{"name": "a", "value": 5}]}
    assert _messages(schema, new, old) == ['spec.keyed[0]: Invalid value: "object": immutable']


def test_unchanged_values_ratchet_rules_that_do_not_use_old_self_into_warnings() -> None:
    schema = _schema({"type": "object", "properties": {
        "a": {"type": "string", "x-kubernetes-validations": [{"rule": "self.size() < 3", "message": "short"}]},
        "b": {"type": "string", "x-kubernetes-validations": [{"rule": "self.size() < 3", "message": "short"}]},
    }})
    warnings: list[str] = []
    errors = schema.validate_rules(_resource({"a": "long", "b": "long"}), _resource({"a": "long", "b": "ok"}),
                                   warnings)
    assert [error.error_message() for error in errors] == ['spec.b: Invalid value: "string": short']
    assert warnings == ['spec.a: Invalid value: "string": short']


def test_a_rule_that_exceeds_the_per_call_limit_stops_validation() -> None:
    expensive = {"rule": "self.all(x, self.all(y, x + y >= 0))"}
    schema = _schema({"type": "object", "properties": {
        "list": {"type": "array", "items": INTEGER, "x-kubernetes-validations": [expensive]},
        "name": {"type": "string", "x-kubernetes-validations": [{"rule": "false"}]},
    }})
    assert _messages(schema, {"list": list(range(1200)), "name": "x"}) == [
        "spec.list: Invalid value: \"array\": 'operation cancelled: actual cost limit exceeded': no further "
        "validation rules will be run due to call cost exceeds limit for rule: self.all(x, self.all(y, x + y >= 0))"]


class _CostlyEngine(CelEngine):
    """The real engine, charging a fixed cost per evaluation to exercise the per-request budget."""

    def __init__(self, cost: int) -> None:
        self.cost = cost

    def evaluate(self, program: Any, activation: Mapping[str, Any], cost_limit: int) -> Outcome:
        outcome = super().evaluate(program, activation, cost_limit)
        return Outcome(outcome.value, self.cost, outcome.error, outcome.cost_limited)


def test_running_out_of_the_request_budget_stops_validation() -> None:
    rule = {"rule": "self.size() < 10", "message": "short"}
    schema = _schema({"type": "object", "properties": {
        "values": {"type": "array", "items": {"type": "string", "x-kubernetes-validations": [rule]}}}})
    rules = RuleSet(schema.node, engine=_CostlyEngine(4_000_000))
    errors = rules.validate(_resource({"values": ["a", "b", "c", "d"]}), None)
    assert [error.error_message() for error in errors] == [
        'spec.values[2]: Invalid value: "string": validation failed due to running out of cost budget, no further '
        "validation rules will be run"]


def test_compile_errors_are_reported_where_the_rule_is() -> None:
    schema = _schema(_spec({"rule": "self.nope == 1"}, replicas=INTEGER))
    [error] = schema.validate_rules(_resource({"replicas": 1}), None)
    assert error.field == "spec"
    assert error.detail.startswith("rule compile error: compilation failed: ERROR: <input>:1:5:")


def test_validate_object_skips_rules_after_a_type_error() -> None:
    schema = _schema(_spec({"rule": "self.replicas > 0"}, replicas=INTEGER))
    errors = schema.validate_object(_resource({"replicas": "one"}))
    assert [error.error_message() for error in errors] == [
        'spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"',
        '<nil>: Invalid value: "null": some validation rules were not checked because the object was invalid; '
        "correct the existing errors to complete validation",
    ]
    assert [error.error_message() for error in schema.validate_object(_resource({"replicas": 0}))] == [
        'spec: Invalid value: "object": failed rule: self.replicas > 0']


def test_uncorrelated_items_ratchet_with_their_nearest_correlated_ancestor() -> None:
    item_rule = {"rule": "self < 5", "message": "small"}
    schema = _schema({"type": "object", "properties": {
        "first": {"type": "array", "items": {"type": "integer", "x-kubernetes-validations": [item_rule]}},
        "second": {"type": "array", "items": {"type": "integer", "x-kubernetes-validations": [item_rule]}},
    }})
    assert _messages(schema, {"first": [9], "second": [9, 1]}, old_spec={"first": [9], "second": [9]}) == [
        'spec.second[0]: Invalid value: "integer": small']


def test_a_message_expression_over_the_call_limit_stops_validation() -> None:
    message = "self.all(x, self.all(y, x + y >= 0)) ? 'big' : 'small'"
    schema = _schema({"type": "object", "properties": {
        "list": {"type": "array", "items": INTEGER, "x-kubernetes-validations": [
            {"rule": "self.size() < 10", "messageExpression": message}, {"rule": "false"}]}}})
    assert _messages(schema, {"list": list(range(1200))}) == [
        'spec.list: Invalid value: "array": no further validation rules will be run due to call cost exceeds limit '
        f'for messageExpression: "{message}"']
