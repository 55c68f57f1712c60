"""Differential tests: our CEL against Google's cel-cpp (cel-expr-python, a test-only oracle).

Each expression is compiled and evaluated by both implementations with the same variables; the outcomes must be the
same typed value, or an error of the same stage (compile or runtime) in both. Messages may differ: cel-cpp words
runtime errors its own way, ours keep cel-go's text (which kube-apiserver returns), see `ERROR_WORDING`.
Every disagreement is listed in `KNOWN_DIFFERENCES` with its classification (kube-apiserver's extra compile-time
validators, cel-cpp vs cel-go, or a reported limitation of ours), and the test asserts that both sides still behave
as recorded there, so that a change on either side updates the table rather than passing silently.
A seeded generator adds random arithmetic and comparisons (int/uint/double, overflow, NaN, heterogeneous `dyn`).
"""
from __future__ import annotations

import datetime
import random
from collections.abc import Mapping
from typing import Any, Final

import pytest
from cel_expr_python import cel
from cel_expr_python.ext import ext_optional, ext_strings

from apiserver.cel import DYN, CompileError, EvaluationError, compile_expression
from apiserver.cel.interpreter import Meter
from apiserver.cel.timevalues import Duration, Timestamp
from apiserver.cel.types import CelType
from apiserver.cel.values import OptionalValue, UInt
from tests.cel.corpus import CORPUS, SELF

Outcome = tuple[str, Any]
COMPILE_ERROR: Final[Outcome] = ("compile error", None)
RUNTIME_ERROR: Final[Outcome] = ("runtime error", None)

_ORACLE: Final = cel.NewEnv(
    variables={"self": cel.Type.DYN},
    extensions=[ext_strings.ExtStrings(), ext_optional.ExtOptional()],
)

# cel-cpp prints type values by their full name; ours carry the kind.
_TYPE_NAMES: Final = {
    "google.protobuf.Timestamp": "timestamp", "google.protobuf.Duration": "duration", "null_type": "null",
    "optional_type": "optional",
}


def _type_name(name: str) -> str:
    base = name.split("<", 1)[0].strip()
    return _TYPE_NAMES.get(base, base.lower())


def _plain(kind: str, value: Any) -> Outcome:
    if kind == "double":
        return ("double", repr(float(value)))  # repr keeps nan, inf and the sign of zero comparable
    if kind == "timestamp":
        return ("timestamp", value.astimezone(datetime.UTC))
    if kind == "bytes":
        return ("bytes", bytes(value))
    return (kind, value)


def _map_outcome(items: list[tuple[Any, Outcome]]) -> Outcome:
    return ("map", sorted(items, key=repr))


# --- the oracle --------------------------------------------------------------------------------------------------

def _oracle_value(value: cel.Value) -> Outcome:
    type_name = value.type().name()
    if type_name == "ERROR":
        if repr(value).startswith("optional."):
            raise _OptionalResult(repr(value))
        return RUNTIME_ERROR
    if type_name.startswith("LIST"):
        return ("list", [_oracle_value(element) for element in value.value()])
    if type_name.startswith("MAP"):
        return _map_outcome([(key, _oracle_value(element)) for key, element in value.value().items()])
    if type_name == "TYPE":
        return ("type", _type_name(repr(value)))
    return _plain(type_name.lower(), value.plain_value())


class _OptionalResult(Exception):
    """cel-expr-python cannot hand out optional values: `oracle` re-evaluates with hasValue() and value()."""


def _oracle_optional(expression: str) -> Outcome:
    present = _ORACLE.compile(f"({expression}).hasValue()").eval(data={"self": SELF})
    if not present.plain_value():
        return ("optional", None)
    return ("optional", _oracle_value(_ORACLE.compile(f"({expression}).value()").eval(data={"self": SELF})))


def oracle(expression: str) -> Outcome:
    """What cel-cpp makes of the expression."""
    try:
        program = _ORACLE.compile(expression)
    except RuntimeError:
        return COMPILE_ERROR
    try:
        return _oracle_value(program.eval(data={"self": SELF}))
    except RuntimeError:  # a few runtime errors are raised rather than returned, e.g. duplicate map keys
        return RUNTIME_ERROR
    except _OptionalResult:
        return _oracle_optional(expression)


# --- ours --------------------------------------------------------------------------------------------------------

_KINDS: Final = {
    bool: "bool", UInt: "uint", int: "int", float: "double", str: "string", bytes: "bytes", type(None): "null",
}


def _our_value(value: Any) -> Outcome:
    if isinstance(value, OptionalValue):
        return ("optional", _our_value(value.value) if value.has_value else None)
    if isinstance(value, CelType):
        return ("type", value.kind)
    if isinstance(value, Mapping):
        return _map_outcome([(_plain_key(key), _our_value(element)) for key, element in value.items()])
    if isinstance(value, (list, tuple)):
        return ("list", [_our_value(element) for element in value])
    # cel-expr-python hands timestamps and durations out as datetime/timedelta, truncated to microseconds.
    if isinstance(value, Timestamp):
        return _plain("timestamp", value.to_datetime())
    if isinstance(value, Duration):
        return _plain("duration", value.to_timedelta())
    return _plain(_KINDS[type(value)], value)


def _plain_key(key: Any) -> Any:
    # cel-expr-python hands map keys out as plain Python values: a uint key is an int there.
    return int(key) if isinstance(key, UInt) else key


def ours(expression: str) -> Outcome:
    """What our implementation makes of the expression (raw values, so uint stays distinct from int)."""
    try:
        program = compile_expression(expression, {"self": DYN})
    except CompileError:
        return COMPILE_ERROR
    try:
        # The raw evaluator: Program.evaluate() converts to plain Python and would fold uint into int.
        return _our_value(program._evaluator({"self": SELF}, Meter(None)))
    except EvaluationError:
        return RUNTIME_ERROR


# --- known differences ------------------------------------------------------------------------------------------

# Classifications. Ours follows cel-go v0.22 (kube-apiserver v1.32) in every row but the OURS_BUG ones.
K8S_VALIDATOR = ("kube-apiserver's environment adds cel-go's compile-time AST validators (environment/base.go: "
                 "homogeneous aggregate literals; literal duration/timestamp/regex arguments), which cel-cpp lacks")
CPP_CHECKER = "cel-cpp declares this conversion overload in its checker (then fails at runtime); cel-go has none"
CPP_VS_GO = "cel-cpp and cel-go implement this differently; ours is cel-go's"
GO_FORMAT_VALIDATOR = ("cel-go's strings extension checks a literal format against a list literal of arguments when "
                       "compiling (ext/formatting.go stringFormatValidator); cel-cpp fails at runtime")
OURS_BUG = "ours differs from cel-go too: reported bug, asserted as it is so that a fix updates this row"
# expression -> (our outcome, cel-cpp's outcome, classification, detail)
KNOWN_DIFFERENCES: Final[dict[str, tuple[Outcome, Outcome, str, str]]] = {
    "'abc'.matches('[')": (COMPILE_ERROR, RUNTIME_ERROR, K8S_VALIDATOR, "invalid regex literal"),
    "[1, 'a', 2.0, true, null]": (
        COMPILE_ERROR, ("list", [("int", 1), ("string", "a"), ("double", "2.0"), ("bool", True), ("null", None)]),
        K8S_VALIDATOR, "mixed list literal; the dyn() version agrees"),
    "[[1], [2, [3]]]": (
        COMPILE_ERROR, ("list", [("list", [("int", 1)]), ("list", [("int", 2), ("list", [("int", 3)])])]),
        K8S_VALIDATOR, "list(int) next to list(list(int)) inside the literal"),
    "[dyn([1]), dyn([2, [3]])]": (
        COMPILE_ERROR, ("list", [("list", [("int", 1)]), ("list", [("int", 2), ("list", [("int", 3)])])]),
        K8S_VALIDATOR, "the inner [2, [3]] is still a mixed literal"),
    "[1, 'a'] == [1, 'a']": (COMPILE_ERROR, ("bool", True), K8S_VALIDATOR, "mixed list literal"),
    "{'a': 1, 'b': [1]}": (
        COMPILE_ERROR, ("map", [("a", ("int", 1)), ("b", ("list", [("int", 1)]))]), K8S_VALIDATOR,
        "mixed map values; the dyn() version agrees"),
    "{1: 'a', 2u: 'b'}": (
        COMPILE_ERROR, ("map", [(1, ("string", "a")), (2, ("string", "b"))]), K8S_VALIDATOR, "mixed map keys"),
    "dyn([1, 2]) == [1, 2u]": (COMPILE_ERROR, ("bool", True), K8S_VALIDATOR, "mixed list literal"),
    "dyn([1, 'a']).exists(x, x == 'a')": (COMPILE_ERROR, ("bool", True), K8S_VALIDATOR, "mixed list literal"),
    "dyn([1, 'a']).all(x, x > 0)": (COMPILE_ERROR, RUNTIME_ERROR, K8S_VALIDATOR, "mixed list literal"),
    "self.nested.inner == {'value': 7, 'list': [1, 2, 3]}": (
        COMPILE_ERROR, ("bool", True), K8S_VALIDATOR, "mixed map values"),
    "timestamp('2024-05-01')": (COMPILE_ERROR, RUNTIME_ERROR, K8S_VALIDATOR, "invalid timestamp literal"),
    "timestamp('not a time')": (COMPILE_ERROR, RUNTIME_ERROR, K8S_VALIDATOR, "invalid timestamp literal"),
    "timestamp('10000-01-01T00:00:00Z')": (COMPILE_ERROR, RUNTIME_ERROR, K8S_VALIDATOR, "timestamp out of range"),
    "timestamp(253402300800)": (COMPILE_ERROR, RUNTIME_ERROR, K8S_VALIDATOR, "timestamp out of range"),
    "duration('1d')": (COMPILE_ERROR, RUNTIME_ERROR, K8S_VALIDATOR, "invalid duration literal"),
    "duration('xyz')": (COMPILE_ERROR, RUNTIME_ERROR, K8S_VALIDATOR, "invalid duration literal"),
    "duration('')": (COMPILE_ERROR, RUNTIME_ERROR, K8S_VALIDATOR, "invalid duration literal"),
    "duration('315576000001s')": (COMPILE_ERROR, RUNTIME_ERROR, K8S_VALIDATOR, "duration out of range"),
    "duration('2562048h')": (
        COMPILE_ERROR, ("duration", datetime.timedelta(days=106752)), K8S_VALIDATOR,
        "cel-go durations are int64 nanoseconds (Go's time.ParseDuration): out of range"),
    "int(duration('1s'))": (COMPILE_ERROR, RUNTIME_ERROR, CPP_CHECKER, "int(duration)"),
    "duration(1)": (COMPILE_ERROR, RUNTIME_ERROR, CPP_CHECKER, "duration(int)"),
    "duration('1µs')": (
        ("duration", datetime.timedelta(microseconds=1)), RUNTIME_ERROR, CPP_VS_GO,
        "Go's time.ParseDuration accepts the micro sign for microseconds"),
    "duration('3h25m10.5s').getMilliseconds()": (
        ("int", 12310500), ("int", 500), CPP_VS_GO, "cel-go returns the whole duration in milliseconds"),
    "string(timestamp('2024-05-01T10:00:00.5Z'))": (
        ("string", "2024-05-01T10:00:00.5Z"), ("string", "2024-05-01T10:00:00.500Z"), CPP_VS_GO,
        "cel-go formats with Go's RFC3339Nano (trailing zeros dropped)"),
    "string(duration('1.5s'))": (
        ("string", "1.5s"), ("string", "1.500s"), CPP_VS_GO, "cel-go prints the seconds as the shortest float"),
    "string(duration('100ms'))": (("string", "0.1s"), ("string", "0.100s"), CPP_VS_GO, "as above"),
    "int(' 1')": (RUNTIME_ERROR, ("int", 1), CPP_VS_GO, "Go's strconv.ParseInt rejects whitespace, absl accepts it"),
    "string(1.0 / 0.0)": (("string", "+Inf"), ("string", "inf"), CPP_VS_GO, "Go's FormatFloat 'g' spelling"),
    "string(0.0 / 0.0)": (("string", "NaN"), ("string", "-nan"), CPP_VS_GO, "Go's FormatFloat 'g' spelling"),
    "self.?tags[5].orValue('z')": (
        ("string", "z"), RUNTIME_ERROR, CPP_VS_GO,
        "after an optional select cel-go qualifies the rest only if present (attributes.go applyQualifiers)"),
    "''.split('')": (("list", []), ("list", [("string", "")]), CPP_VS_GO,
                     "Go's strings.Split returns no elements when both string and separator are empty"),
    "'hello'.substring(2, 5)": (("string", "llo"), RUNTIME_ERROR, CPP_VS_GO,
                                "cel-cpp 0.1.3 rejects an end index equal to the size (off by one)"),
    "'%d'.format([1.5])": (
        COMPILE_ERROR, ("string", "1.500000"), GO_FORMAT_VALIDATOR,
        "cel-go: decimal clause can only be used on integers, was given double"),
    "'%d'.format(['a'])": (COMPILE_ERROR, RUNTIME_ERROR, GO_FORMAT_VALIDATOR, "decimal clause given a string"),
    "'%d %d'.format([1])": (COMPILE_ERROR, RUNTIME_ERROR, GO_FORMAT_VALIDATOR, "index 1 out of range"),
    "'%q'.format([1])": (COMPILE_ERROR, RUNTIME_ERROR, GO_FORMAT_VALIDATOR, "unrecognized formatting clause"),
    "'%e'.format([1234.5])": (
        ("string", "1.234500\u202f\u00d7\u202f10\u2070\u00b3"), ("string", "1.234500e+03"), CPP_VS_GO,
        "cel-go v0.22 formats through golang.org/x/text (en-US): narrow no-break spaces around the sign and a "
        "superscript exponent (ext/strings_test.go)"),
    "'%f'.format([1.0 / 0.0])": (
        ("string", "\u221e"), ("string", "Infinity"), CPP_VS_GO,
        "cel-go v0.22 (x/text en-US) writes the infinity sign"),
    "'%f'.format([-1.0 / 0.0])": (("string", "-\u221e"), ("string", "-Infinity"), CPP_VS_GO, "as above"),
    "'%s'.format([{'a': 1}])": (
        ("string", '{"a":1}'), ("string", "{a: 1}"), CPP_VS_GO,
        "cel-go v0.22 writes maps as CEL literals with `key:value` entries (ext/formatting.go formatMap)"),
    "'%s'.format([{'a': 'b'}])": (("string", '{"a":"b"}'), ("string", "{a: b}"), CPP_VS_GO, "as above"),
    "'%s'.format([[1.5]])": (
        ("string", "[1.500000]"), ("string", "[1.5]"), CPP_VS_GO,
        "cel-go v0.22 writes doubles inside lists and maps with six decimals (ext/formatting.go clauseForType)"),
    "'%s'.format([[b'ab']])": (
        ("string", '[b"ab"]'), ("string", "[ab]"), CPP_VS_GO, "cel-go v0.22 quotes bytes inside lists as b\"...\""),
    "'%s'.format([[duration('1m')]])": (
        ("string", '[duration("60s")]'), ("string", "[60s]"), CPP_VS_GO,
        "cel-go v0.22 writes durations and timestamps inside lists as duration(\"...\") and timestamp(\"...\")"),
}

# Runtime error texts for the same failure: ours are cel-go's (as kube-apiserver reports them), cel-cpp words them
# its own way (absl status code first).
ERROR_WORDING: Final = [
    ("1 / 0", "division by zero", "INVALID_ARGUMENT: divide by zero"),
    ("1 % 0", "modulus by zero", "INVALID_ARGUMENT: modulus by zero"),
    ("9223372036854775807 + 1", "integer overflow", "OUT_OF_RANGE: integer overflow"),
    ("0u - 1u", "unsigned integer overflow", "OUT_OF_RANGE: unsigned integer overflow"),
    ("{'a': 1}['b']", "no such key: b", 'NOT_FOUND: Key not found in map : "b"'),
    ("self.missing", "no such key: missing", 'NOT_FOUND: Key not found in map : "missing"'),
    ("[1, 2][2]", "index '2' out of range in list size '2'", "UNKNOWN: Index error: index=2 size=2"),
    ("optional.none().value()", "optional.none() dereference", "FAILED_PRECONDITION: optional.none() dereference"),
    ("dyn(1) < 'a'", "no such overload", "UNKNOWN: No matching overloads found : _<_(int64, string)"),
    ("{1.5: 2}", "unsupported key type", "INVALID_ARGUMENT: Invalid map key type: 'double'"),
    ("'hello'.charAt(6)", "index out of range: 6",
     "INVALID_ARGUMENT: <string>.charAt(<pos>): <pos> is greater than <string>.size()"),
    ("'hello'.substring(3, 1)", "invalid substring range. start: 3, end: 1",
     "INVALID_ARGUMENT: <string>.substring(<start>, <end>): <end> is less than <start>"),
    ("'%d'.format(dyn(['a']))",
     "error during formatting: decimal clause can only be used on integers, was given string",
     "INVALID_ARGUMENT: decimal clause can only be used on numbers, was given string"),
]


# --- the tests ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("expression", [e for e in CORPUS if e not in KNOWN_DIFFERENCES])
def test_expression_agrees_with_cel_cpp(expression: str) -> None:
    assert ours(expression) == oracle(expression)


@pytest.mark.parametrize("expression", list(KNOWN_DIFFERENCES))
def test_known_difference_is_as_recorded(expression: str) -> None:
    expected_ours, expected_oracle, _classification, _detail = KNOWN_DIFFERENCES[expression]
    assert (ours(expression), oracle(expression)) == (expected_ours, expected_oracle)


def test_corpus_is_large_has_no_duplicates_and_holds_every_known_difference() -> None:
    assert len(CORPUS) >= 700
    assert len(CORPUS) == len(set(CORPUS))
    assert set(KNOWN_DIFFERENCES) <= set(CORPUS)


@pytest.mark.parametrize(("expression", "ours_message", "oracle_message"), ERROR_WORDING,
                         ids=[row[0] for row in ERROR_WORDING])
def test_runtime_error_wording(expression: str, ours_message: str, oracle_message: str) -> None:
    with pytest.raises(EvaluationError) as raised:
        compile_expression(expression, {"self": DYN}).evaluate({"self": SELF})
    assert str(raised.value) == ours_message
    assert repr(_ORACLE.compile(expression).eval(data={"self": SELF})) == oracle_message


# --- random arithmetic and comparisons ---------------------------------------------------------------------------

_LITERALS: Final = {
    "int": ["0", "1", "-1", "2", "7", "-7", "3", "100", "9223372036854775807", "-9223372036854775808",
            "4611686018427387904", "-4611686018427387905", "2147483648", "self.replicas", "self.big"],
    "uint": ["0u", "1u", "2u", "7u", "10u", "18446744073709551615u", "9223372036854775808u", "4294967296u"],
    "double": ["0.0", "-0.0", "1.0", "-1.5", "2.5", "0.1", "1e308", "-1e308", "1e-308", "3.0", "9.3e18",
               "1.8e19", "self.ratio", "(0.0 / 0.0)"],
}
_ARITHMETIC: Final = {"int": "+-*/%", "uint": "+-*/%", "double": "+-*/"}
_CONVERSIONS: Final = {"int": ("uint", "double"), "uint": ("int", "double"), "double": ("int", "uint")}


def _number(rng: random.Random, kind: str, depth: int) -> str:
    roll = rng.random()
    if depth <= 0 or roll < 0.3:
        return rng.choice(_LITERALS[kind])
    if roll < 0.45:
        return f"{kind}({_number(rng, rng.choice(_CONVERSIONS[kind]), depth - 1)})"
    if roll < 0.5 and kind != "uint":
        return f"-({_number(rng, kind, depth - 1)})"
    if roll < 0.55:
        return f"({_comparison(rng, depth - 1)} ? {_number(rng, kind, depth - 1)} : {_number(rng, kind, depth - 1)})"
    operator = rng.choice(_ARITHMETIC[kind])
    return f"({_number(rng, kind, depth - 1)} {operator} {_number(rng, kind, depth - 1)})"


def _comparison(rng: random.Random, depth: int) -> str:
    roll = rng.random()
    operator = rng.choice(["==", "!=", "<", "<=", ">", ">="])
    if depth > 0 and roll < 0.25:
        return f"({_comparison(rng, depth - 1)} {rng.choice(['&&', '||'])} {_comparison(rng, depth - 1)})"
    if depth > 0 and roll < 0.3:
        return f"!{_comparison(rng, depth - 1)}"
    left_kind, right_kind = rng.choice(list(_LITERALS)), rng.choice(list(_LITERALS))
    left, right = _number(rng, left_kind, depth - 1), _number(rng, right_kind, depth - 1)
    if left_kind != right_kind:
        left = f"dyn({left})"  # heterogeneous comparison happens at runtime
    return f"{left} {operator} {right}"


def random_expressions(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    kinds = [*_LITERALS, "bool"]
    return [_comparison(rng, 3) if kind == "bool" else _number(rng, kind, 3)
            for kind in (rng.choice(kinds) for _ in range(count))]


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6, 7, 8])
def test_random_arithmetic_and_comparisons_agree_with_cel_cpp(seed: int) -> None:
    expressions = random_expressions(seed, 250)
    disagreements = [(expression, ours(expression), oracle(expression)) for expression in expressions
                     if ours(expression) != oracle(expression)]
    assert disagreements == []
    outcomes = {oracle(expression)[0] for expression in expressions}
    assert {"runtime error", "int", "uint", "double", "bool"} <= outcomes  # the generator reaches every kind
