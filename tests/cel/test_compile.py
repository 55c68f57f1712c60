"""Compile errors as kube-apiserver prints them, schema-derived types, escaping, cost limits and speed."""
from __future__ import annotations

import time
from typing import Any

import pytest

from apiserver.cel import (
    DYN,
    PER_CALL_LIMIT,
    CompileError,
    CostLimitExceeded,
    EvaluationError,
    compile_expression,
    schema_type,
)
from apiserver.cel.authz import AUTHORIZER_TYPE
from apiserver.cel.escaping import escape, unescape

SCHEMA = {
    "type": "object",
    "properties": {
        "replicas": {"type": "integer"},
        "ratio": {"type": "number"},
        "name": {"type": "string", "maxLength": 63},
        "tags": {"type": "array", "maxItems": 10, "items": {"type": "string", "maxLength": 20}},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "created": {"type": "string", "format": "date-time"},
        "timeout": {"type": "string", "format": "duration"},
        "data": {"type": "string", "format": "byte"},
        "port": {"x-kubernetes-int-or-string": True},
        "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
        "anyval": {"x-kubernetes-preserve-unknown-fields": True},
        "anylist": {"type": "array", "items": {"x-kubernetes-preserve-unknown-fields": True}},
        "day": {"type": "string", "format": "date"},
        "nullable": {"type": "string", "nullable": True},
        "namespace": {"type": "string"},
        "foo-bar": {"type": "string"},
        "a.b": {"type": "string"},
        "embedded": {"type": "object", "x-kubernetes-embedded-resource": True,
                     "properties": {"spec": {"type": "object", "properties": {"x": {"type": "integer"}}}}},
    },
}
SELF = schema_type(SCHEMA)
OBJECT: dict[str, Any] = {
    "replicas": 3, "ratio": 1, "name": "web", "tags": ["a", "b"], "labels": {"app": "web"},
    "created": "2024-05-01T10:00:00Z", "timeout": "1m30s", "data": "aGVsbG8=", "port": "http",
    "extra": {"anything": [1]}, "anyval": 1, "anylist": [1], "day": "2024-05-01", "nullable": None,
    "namespace": "default", "foo-bar": "x", "a.b": "y",
    "embedded": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"x": 1}},
}


def rule(expression: str, obj: Any = None) -> Any:
    return compile_expression(expression, {"self": SELF}).evaluate({"self": OBJECT if obj is None else obj})


COMPILE_ERRORS = [
    ("self.foo", "ERROR: <input>:1:5: undefined field 'foo'\n | self.foo\n | ....^"),
    ("foo + 1", "ERROR: <input>:1:1: undeclared reference to 'foo' (in container '')\n | foo + 1\n | ^"),
    ("1 +", "ERROR: <input>:1:4: Syntax error: mismatched input '<EOF>' expecting {'[', '{', '(', '.', '-', '!', "
            "'true', 'false', 'null', NUM_FLOAT, NUM_INT, NUM_UINT, STRING, BYTES, IDENTIFIER}\n | 1 +\n | ...^"),
    ("self.replicas + 'x'", "ERROR: <input>:1:15: found no matching overload for '_+_' applied to '(int, string)'"
                            "\n | self.replicas + 'x'\n | ..............^"),
    ("self.name.startsWith(1)", "ERROR: <input>:1:21: found no matching overload for 'startsWith' applied to "
                                "'string.(int)'\n | self.name.startsWith(1)\n | ....................^"),
    ("self.replicas.foo", "ERROR: <input>:1:14: type 'int' does not support field selection\n"
                          " | self.replicas.foo\n | .............^"),
    ("self.replicas == 1.0", "ERROR: <input>:1:15: found no matching overload for '_==_' applied to "
                             "'(int, double)'\n | self.replicas == 1.0\n | ..............^"),
    ("has(self)", "ERROR: <input>:1:4: invalid argument to has() macro\n | has(self)\n | ...^"),
    ("self.embedded.spec.y", "ERROR: <input>:1:19: undefined field 'y'\n | self.embedded.spec.y\n"
                             " | ..................^"),
    ("a\n  + b", "ERROR: <input>:1:1: undeclared reference to 'a' (in container '')\n | a\n | ^\n"
                 "ERROR: <input>:2:5: undeclared reference to 'b' (in container '')\n |   + b\n | ....^"),
    ("'abc", "ERROR: <input>:1:1: Syntax error: token recognition error at: ''abc'\n | 'abc\n | ^"),
    ("has(self.extra.anything)", "ERROR: <input>:1:15: undefined field 'anything'\n | has(self.extra.anything)\n"
                                 " | ..............^"),
    ("self.anyval", "ERROR: <input>:1:5: undefined field 'anyval'\n | self.anyval\n | ....^"),
    ("self.anylist", "ERROR: <input>:1:5: undefined field 'anylist'\n | self.anylist\n | ....^"),
    ("self.name == null", "ERROR: <input>:1:11: found no matching overload for '_==_' applied to '(string, null)'\n"
                          " | self.name == null\n | ..........^"),
    ("[1, 'a', false]", "ERROR: <input>:1:5: expected type 'int' but found 'string'\n | [1, 'a', false]\n | ....^"),
    ("{'k1': 'a', 'k2': 1}", "ERROR: <input>:1:19: expected type 'string' but found 'int'\n"
                             " | {'k1': 'a', 'k2': 1}\n | ..................^"),
    ("duration('1us') < duration('1nns')", "ERROR: <input>:1:28: invalid duration argument\n"
                                           " | duration('1us') < duration('1nns')\n | ...........................^"),
    ("timestamp(-62135596801)", "ERROR: <input>:1:11: invalid timestamp\n | timestamp(-62135596801)\n"
                                " | ..........^"),
    ("self.name.matches('x++')", "ERROR: <input>:1:19: invalid matches argument\n | self.name.matches('x++')\n"
                                 " | ..................^"),
    ("self.tags in [1, 2, ", "ERROR: <input>:1:21: Syntax error: missing ']' at '<EOF>'\n | self.tags in [1, 2, \n"
                             " | ....................^"),
    ("self.true == 1", "ERROR: <input>:1:6: Syntax error: mismatched input 'true' expecting IDENTIFIER\n"
                       " | self.true == 1\n | .....^"),
    ("self.name! == '1'", "ERROR: <input>:1:10: Syntax error: mismatched input '!' expecting <EOF>\n"
                          " | self.name! == '1'\n | .........^"),
    ("1 2", "ERROR: <input>:1:3: Syntax error: extraneous input '2' expecting <EOF>\n | 1 2\n | ..^"),
    ("self.tags.all(1, true)", "ERROR: <input>:1:15: argument must be a simple name\n"
                               " | self.tags.all(1, true)\n | ..............^"),
]


@pytest.mark.parametrize(("expression", "message"), COMPILE_ERRORS, ids=[case[0] for case in COMPILE_ERRORS])
def test_compile_error_message(expression: str, message: str) -> None:
    with pytest.raises(CompileError) as caught:
        compile_expression(expression, {"self": SELF})
    assert str(caught.value) == "compilation failed: " + message
    assert len(caught.value.errors) == message.count("ERROR: ")
    assert "\n".join(caught.value.errors) == message


def test_invalid_constant_find_pattern_fails_program_instantiation() -> None:
    with pytest.raises(CompileError) as caught:
        compile_expression("self.name.find(')') == ''", {"self": SELF})
    assert str(caught.value) == "program instantiation failed: error parsing regexp: unexpected ): `)`"


def test_null_field_of_schema_object_is_absent() -> None:
    assert rule("has(self.nullable)") is False
    assert rule("self.?nullable.orValue('none')") == "none"
    with pytest.raises(EvaluationError, match=r"^no such key: nullable$"):
        rule("self.nullable == 'x'")


def test_resource_root_declares_type_meta() -> None:
    root = schema_type({"type": "object", "properties": {"spec": {"type": "object"}}}, is_resource_root=True)
    program = compile_expression("self.kind + '/' + self.metadata.name", {"self": root})
    assert program.evaluate({"self": {"kind": "Widget", "metadata": {"name": "w"}, "spec": {}}}) == "Widget/w"
    with pytest.raises(CompileError, match="undefined field 'namespace'"):
        compile_expression("has(self.metadata.namespace)", {"self": root})


def test_expression_over_size_limit_is_refused() -> None:
    with pytest.raises(CompileError) as caught:
        compile_expression("1 + " * 25001 + "1", {})
    assert "expression code point size exceeds limit: size: 100005, limit 100000" in str(caught.value)


def test_deep_nesting_is_refused() -> None:
    with pytest.raises(CompileError) as caught:
        compile_expression("(" * 300 + "1" + ")" * 300, {})
    assert "expression recursion limit exceeded: 250" in str(caught.value)


SCHEMA_RULES = [
    ("self.replicas > 1", True), ("self.ratio == 1.0", True), ("self.name.size() <= 63", True),
    ("self.tags.exists(t, t == 'b')", True), ("self.labels['app'] == 'web'", True), ("self.labels.app", "web"),
    ("self.created < timestamp('2025-01-01T00:00:00Z')", True), ("self.timeout == duration('90s')", True),
    ("self.data == b'hello'", True), ("self.port == 'http'", True), ("has(self.extra)", True),
    ("self.day == timestamp('2024-05-01T00:00:00Z')", True),
    ("self.__namespace__", "default"), ("self.foo__dash__bar", "x"), ("self.a__dot__b", "y"),
    ("self.embedded.metadata.name", "p"), ("self.embedded.spec.x", 1), ("has(self.replicas)", True),
]


@pytest.mark.parametrize(("expression", "expected"), SCHEMA_RULES, ids=[case[0] for case in SCHEMA_RULES])
def test_schema_typed_rule(expression: str, expected: Any) -> None:
    assert rule(expression) == expected


def test_absent_field_of_known_property_is_no_such_key() -> None:
    with pytest.raises(EvaluationError, match=r"^no such key: replicas$"):
        rule("self.replicas > 0", {"name": "x"})
    assert rule("has(self.replicas)", {"name": "x"}) is False
    assert rule("self.?replicas.orValue(5)", {"name": "x"}) == 5


def test_schema_types_print_like_cel_go() -> None:
    program = compile_expression("self.tags", {"self": SELF})
    assert str(program.output_type) == "list(string)"
    assert str(compile_expression("self.labels", {"self": SELF}).output_type) == "map(string, string)"
    assert str(compile_expression("self.created", {"self": SELF}).output_type) == "google.protobuf.Timestamp"
    assert str(compile_expression("self.port", {"self": SELF}).output_type) == "dyn"


@pytest.mark.parametrize(("name", "escaped"), [
    ("namespace", "__namespace__"), ("in", "__in__"), ("a__b", "a__underscores__b"), ("foo.bar", "foo__dot__bar"),
    ("foo-bar", "foo__dash__bar"), ("foo/bar", "foo__slash__bar"), ("plain", "plain"), ("1abc", None),
    ("a b", None),
])
def test_property_name_escaping(name: str, escaped: str | None) -> None:
    assert escape(name) == escaped
    if escaped is not None:
        assert unescape(escaped) == name


def test_runtime_cost_limit_cancels_evaluation() -> None:
    program = compile_expression("self.all(x, self.all(y, self.all(z, x + y + z >= 0)))", {"self": DYN})
    with pytest.raises(CostLimitExceeded) as caught:
        program.evaluate({"self": list(range(200))}, cost_limit=PER_CALL_LIMIT)
    assert str(caught.value) == "operation cancelled: actual cost limit exceeded"
    assert program.evaluate({"self": list(range(10))}, cost_limit=PER_CALL_LIMIT) is True


def test_cost_is_reported_for_budgets() -> None:
    program = compile_expression("self.replicas > 1", {"self": SELF})
    assert program.evaluate_with_cost({"self": OBJECT}) == (True, 3)


def test_estimated_cost_uses_schema_bounds() -> None:
    bounded = compile_expression("self.tags.all(t, t.startsWith('a'))", {"self": SELF})
    assert bounded.estimated_cost is not None and bounded.estimated_cost < 100
    unbounded = compile_expression("self.all(x, self.all(y, x == y))",
                                   {"self": schema_type({"type": "array", "items": {"type": "integer"}})})
    assert unbounded.estimated_cost is not None and unbounded.estimated_cost > 10_000_000


class FakeAuthorizer:
    def __init__(self) -> None:
        self.seen: list[dict[str, str]] = []

    def check(self, attributes: Any) -> tuple[str, str, str]:
        self.seen.append(dict(attributes))
        allowed = attributes.get("resource") == "pods" or attributes.get("path") == "/healthz"
        return ("allow" if allowed else "noOpinion"), "because", ""


@pytest.mark.parametrize("variable_type", [DYN, AUTHORIZER_TYPE], ids=["dyn", "typed"])
def test_authorizer_library(variable_type: Any) -> None:
    authorizer = FakeAuthorizer()
    expression = ("authorizer.group('').resource('pods').namespace('ns').name('p').check('get').allowed() && "
                  "!authorizer.group('apps').resource('deployments').check('create').allowed() && "
                  "authorizer.path('/healthz').check('get').reason() == 'because' && "
                  "!authorizer.serviceAccount('ns', 'sa').group('').resource('secrets').check('list').errored()")
    program = compile_expression(expression, {"authorizer": variable_type})
    assert program.evaluate({"authorizer": authorizer}) is True
    assert authorizer.seen[0] == {"group": "", "resource": "pods", "namespace": "ns", "name": "p", "verb": "get"}
    assert authorizer.seen[-1]["serviceAccountName"] == "sa"


@pytest.mark.parametrize("variable_type", [DYN, AUTHORIZER_TYPE], ids=["dyn", "typed"])
def test_authorizer_request_resource(variable_type: Any) -> None:
    authorizer = FakeAuthorizer()
    authorizer.request_resource = {"group": "", "resource": "pods", "namespace": "ns", "name": "p"}  # type: ignore[attr-defined]
    program = compile_expression("authorizer.requestResource.check('approve').allowed()", {"authorizer": variable_type})
    assert program.evaluate({"authorizer": authorizer}) is True
    assert authorizer.seen == [{"group": "", "resource": "pods", "subresource": "", "namespace": "ns", "name": "p",
                                "verb": "approve"}]


def test_evaluation_of_a_simple_rule_is_fast() -> None:
    program = compile_expression("self.replicas > 1 && self.name.startsWith('w')", {"self": SELF})
    rounds = 2000
    started = time.perf_counter()
    for _ in range(rounds):
        program.evaluate({"self": OBJECT})
    per_call = (time.perf_counter() - started) / rounds
    assert per_call < 200e-6


LISTS = schema_type({"type": "object", "properties": {
    "tags": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
    "ports": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
              "items": {"type": "object", "properties": {"name": {"type": "string"}, "port": {"type": "integer"}}}},
    "order": {"type": "array", "items": {"type": "string"}},
}})


@pytest.mark.parametrize(("expression", "expected"), [
    ("self.tags == oldSelf.tags", True), ("self.ports == oldSelf.ports", True), ("self.order == oldSelf.order", False),
    ("self.tags + ['a', 'c']", ["a", "b", "c"]), ("(self.ports + oldSelf.ports).size()", 2),
], ids=["set-unordered", "map-by-key", "atomic-ordered", "set-union", "map-merge"])
def test_list_types_compare_as_upstream(expression: str, expected: Any) -> None:
    current = {"tags": ["a", "b"], "ports": [{"name": "x", "port": 1}, {"name": "y", "port": 2}], "order": ["a", "b"]}
    old = {"tags": ["b", "a"], "ports": [{"name": "y", "port": 2}, {"name": "x", "port": 1}], "order": ["b", "a"]}
    program = compile_expression(expression, {"self": LISTS, "oldSelf": LISTS})
    assert program.evaluate({"self": current, "oldSelf": old}) == expected


@pytest.mark.parametrize(("expression", "cost"), [
    ("self.replicas > 1", 3), ("self.name == 'web'", 3), ("self.tags.all(t, t.size() < 5)", 2 + 2 * (3 + 3) + 1),
    ("self.tags.exists(t, t == 'a')", 1 + 1 + (4 + 2) + 3 + 1), ("self.tags.map(t, t)", 2 + 2 * (1 + 12) + 1),
    ("self.name.startsWith('w')", 2 + 1), ("[1, 2, 3]", 0), ("{'a': 1}", 0), ("[self.replicas]", 12),
    ("{'a': self.replicas}", 32), ("self.name in ['a', 'web']", 2),
    # The costs kube-apiserver's own tests expect (apiextensions-apiserver schema/cel validation_test.go).
    ("[1,2,3,4].isSorted()", 4), ("url('https:://kubernetes.io/').getHostname() != 'test'", 4),
    ("size('abc 123 def 123'.split(' ')) > 0", 5),
    ("size(['aa', 'bb', 'cc', 'd', 'e', 'f', 'g', 'h', 'i', 'j'].join(' ')) > 0", 7),
], ids=["comparison", "string-equality", "all", "exists-stops-early", "map", "startsWith", "constant-list",
        "constant-map", "list", "map-literal", "in-constant-set", "upstream-isSorted", "upstream-url", "upstream-split",
        "upstream-join"])
def test_runtime_cost_follows_cel_go(expression: str, cost: int) -> None:
    program = compile_expression(expression, {"self": SELF})
    assert program.evaluate_with_cost({"self": OBJECT})[1] == cost


def test_object_types_built_twice_from_one_schema_are_the_same_type() -> None:
    program = compile_expression("object == oldObject && object.embedded == oldObject.embedded",
                                 {"object": schema_type(SCHEMA), "oldObject": schema_type(SCHEMA)})
    assert program.evaluate({"object": OBJECT, "oldObject": OBJECT}) is True


@pytest.mark.parametrize(("old", "expected"), [(None, True), ({"replicas": 2}, False), ({"replicas": 3}, True)],
                         ids=["absent", "changed", "same"])
def test_optional_old_self(old: Any, expected: bool) -> None:
    from apiserver.cel.types import optional_of
    from apiserver.cel.values import OPTIONAL_NONE, OptionalValue

    program = compile_expression("!oldSelf.hasValue() || oldSelf.value().replicas == self.replicas",
                                 {"self": SELF, "oldSelf": optional_of(SELF)})
    old_value = OPTIONAL_NONE if old is None else OptionalValue(old, True)
    assert program.evaluate({"self": OBJECT, "oldSelf": old_value}) is expected
    assert compile_expression("oldSelf.?replicas.orValue(0) <= self.replicas",
                              {"self": SELF, "oldSelf": optional_of(SELF)}).evaluate(
        {"self": OBJECT, "oldSelf": old_value}) is True
