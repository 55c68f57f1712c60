"""`string.format` as cel-go v0.22 writes it in kube-apiserver's default en-US locale (the expectations are the ones
of cel-go's ext/strings_test.go TestStringFormat, plus golang.org/x/text's padding and grouping rules)."""
from __future__ import annotations

import pytest

from apiserver.cel import DYN, CompileError, EvaluationError, compile_expression

NNBSP = "\u202f"


def evaluate(expression: str) -> object:
    return compile_expression(expression, {"self": DYN}).evaluate({"self": {}})


@pytest.mark.parametrize(("expression", "expected"), [
    ("'%.3f'.format([1.2345])", "1.234"),
    ("'%f'.format([2.71828])", "2.718280"),
    ("'%f'.format([1234567.5])", "1,234,567.500000"),
    ("'%.0f'.format([-1234.5])", "-1,234"),
    ("'%.2f'.format([-0.0])", "0.00"),
    ("'NaN: %f, infinity: %f, %f'.format([double('NaN'), double('Infinity'), -double('Infinity')])",
     "NaN: NaN, infinity: \u221e, -\u221e"),
    ("'%f %f %f'.format(['NaN', 'Infinity', '-Infinity'])", "NaN \u221e -\u221e"),
    ("'%.6e'.format([1052.032911275])", f"1.052033{NNBSP}\u00d7{NNBSP}10\u2070\u00b3"),
    ("'%e'.format([2.71828])", f"2.718280{NNBSP}\u00d7{NNBSP}10\u2070\u2070"),
    ("'%e'.format([-0.00012])", f"-1.200000{NNBSP}\u00d7{NNBSP}10\u207b\u2070\u2074"),
    ("'%.2e'.format([3.14159])", f"3.141590{NNBSP}\u00d7{NNBSP}10\u2070\u2070"),
    ("'%.20e'.format([1.0])", f"     1.000000{NNBSP}\u00d7{NNBSP}10\u2070\u2070"),
    ("'[%e]'.format([double('Infinity')])", "[     \u221e]"),
    ("'[%.0e]'.format(['NaN'])", "[NaN]"),
    ("'%s'.format([b'xyz'])", "xyz"),
    ("'%s'.format([type('test string')])", "string"),
    ("'%s'.format([timestamp('2023-02-03T23:31:20+00:00')])", "2023-02-03T23:31:20Z"),
    ("'%s'.format([duration('1h45m47s')])", "6347s"),
    ("'%s'.format([[dyn('abc'), dyn(3.14), dyn(null), dyn([9, 8, 7, 6]), dyn(timestamp('2023-02-03T23:31:20Z'))]])",
     '["abc", 3.140000, null, [9, 8, 7, 6], timestamp("2023-02-03T23:31:20Z")]'),
    ("'%s'.format([{'key1': dyn(b'xyz'), 'key5': dyn(null), 'key2': dyn(duration('2h')), 'key4': dyn(true), "
     "'key3': dyn(2.71828)}])",
     '{"key1":b"xyz", "key2":duration("7200s"), "key3":2.718280, "key4":true, "key5":null}'),
    ("'%s'.format([{dyn(1): dyn('value1'), dyn(uint(2)): dyn(double('NaN'))}])", '{1:"value1", 2:"NaN"}'),
    ("'%s'.format([[dyn(1.0 / 0.0), dyn(-0.0), dyn(type(1))]])", '["+Inf", -0.000000, int]'),
    ("'%s'.format([['q\"\\n\\u0001\u00e9\\t\\\\']])", '["q\\"\\n\\x01\u00e9\\t\\\\"]'),
    ("'%b %b %b %o %x %X'.format([5, true, -5, uint(65535), 'Hello', b'byte'])",
     "101 1 -101 177777 48656c6c6f 62797465"),
    ("'%%%s%%'.format(['text'])", "%text%"),
], ids=[
    "fixed-precision", "fixed-default", "fixed-grouping", "fixed-zero-precision", "fixed-negative-zero",
    "fixed-specials", "fixed-special-strings", "scientific", "scientific-default", "scientific-negative-exponent",
    "scientific-precision-is-width", "scientific-wide", "scientific-infinity-padded", "scientific-zero-width",
    "bytes", "type", "timestamp", "duration", "list-literal", "map-literal", "map-keys", "list-specials",
    "go-quoting", "radix", "percent",
])
def test_format_matches_cel_go(expression: str, expected: str) -> None:
    assert evaluate(expression) == expected


# At runtime (arguments not a list literal, so cel-go's compile-time check does not apply).
@pytest.mark.parametrize(("template", "arguments", "message"), [
    ("%d %d %d", "[0, 1]", "index 2 out of range"),
    ("%a", "[1]", 'could not parse formatting clause: unrecognized formatting clause "a"'),
    ("%E", "[0.5]", 'could not parse formatting clause: unrecognized formatting clause "E"'),
    ("%5d", "[1]", 'could not parse formatting clause: unrecognized formatting clause "5"'),
    ("abc %", "[1]", "unexpected end of string"),
    ("abc %", "[]", "index 0 out of range"),
    ("%.3", "[1.0]",
     "could not parse formatting clause: error while parsing precision: could not find end of precision specifier"),
    ("%b", "['abc']", "error during formatting: only integers and bools can be formatted as binary, was given string"),
    ("%d", "[duration('30m2s')]",
     "error during formatting: decimal clause can only be used on integers, was given google.protobuf.Duration"),
    ("%o", "['a string']", "error during formatting: octal clause can only be used on integers, was given string"),
    ("%x", "[0.5]",
     "error during formatting: only integers, byte buffers, and strings can be formatted as hex, was given double"),
    ("%e", "[null]", "error during formatting: scientific clause can only be used on doubles, was given null_type"),
    ("%f", "[1]", "error during formatting: fixed-point clause can only be used on doubles, was given int"),
    ("%f", "['one']", "error during formatting: fixed-point clause can only be used on doubles, was given string"),
    ("%s", "[optional.none()]",
     "error during formatting: string clause can only be used on strings, bools, bytes, ints, doubles, maps, lists, "
     "types, durations, and timestamps, was given optional_type"),
    ("%s", "[[optional.none()]]", "error during formatting: no formatting function for optional_type"),
], ids=[
    "missing-argument", "unknown-clause", "uppercase-e", "width", "trailing-percent", "trailing-percent-no-argument",
    "unterminated-precision", "binary-string", "decimal-duration", "octal-string", "hex-double", "scientific-null",
    "fixed-int", "fixed-string", "string-optional", "nested-optional",
])
def test_format_runtime_errors_match_cel_go(template: str, arguments: str, message: str) -> None:
    with pytest.raises(EvaluationError) as raised:
        evaluate(f"'{template}'.format(dyn({arguments}))")
    assert str(raised.value) == message


# A literal format with a list literal is checked when compiling (cel-go ext/formatting.go stringFormatValidator).
@pytest.mark.parametrize(("expression", "message"), [
    ("'%s %s'.format(['abc'])", "ERROR: <input>:1:15: index 1 out of range"),
    ("'%s %s'.format(['abc', 'def', 'ghi'])",
     "ERROR: <input>:1:15: too many arguments supplied to string.format (expected 2, got 3)"),
    ("'filler %'.format([])", "ERROR: <input>:1:18: unexpected end of string"),
    ("'%j'.format([123])",
     'ERROR: <input>:1:12: could not parse formatting clause: unrecognized formatting clause "j"'),
    ("'%d'.format(['a'])",
     "ERROR: <input>:1:14: error during formatting: decimal clause can only be used on integers, was given string"),
    ("'%f'.format([1])",
     "ERROR: <input>:1:14: error during formatting: fixed-point clause can only be used on doubles, was given int"),
    ("'%s'.format([[1, 2, optional.none()]])",
     "ERROR: <input>:1:34: error during formatting: string clause can only be used on strings, bools, bytes, ints, "
     "doubles, maps, lists, types, durations, and timestamps, was given optional_type"),
], ids=["too-few", "too-many", "unexpected-end", "unknown-clause", "decimal-string", "fixed-int", "nested-optional"])
def test_format_literal_is_checked_when_compiling(expression: str, message: str) -> None:
    with pytest.raises(CompileError) as raised:
        compile_expression(expression, {"self": DYN})
    assert str(raised.value).split("\n")[0] == "compilation failed: " + message


@pytest.mark.parametrize("expression", [
    "'%s %d'.format(['a', dyn('x')])", "'%f %e'.format(['NaN', 1.5])", "'%x %X'.format([b'a', 'b'])",
    "'%s'.format([{'a': [1, 2]}])", "self.template.format([1])",
], ids=["dyn-argument", "special-double-strings", "hex-bytes-and-string", "nested-literal", "non-literal-template"])
def test_format_check_accepts(expression: str) -> None:
    compile_expression(expression, {"self": DYN})
