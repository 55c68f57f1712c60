"""Label and field selectors: parsing, canonical strings, matching, and upstream's exact error messages.

Expected texts follow k8s.io/apimachinery/pkg/labels/selector.go (lexer, parser, NewRequirement,
LabelSelectorAsSelector) and pkg/fields/selector.go (terms, escaping), as kube-apiserver v1.32 returns them
in the BadRequest Status of a list with a bad `labelSelector` or `fieldSelector`.
"""
from __future__ import annotations

import pytest

from apiserver.meta.selectors import (
    FieldSelector,
    LabelSelector,
    Operator,
    Requirement,
    SelectorError,
    escape_field_value,
    parse_field_selector,
    parse_label_selector,
    unescape_field_value,
)

# The RegexError texts of util/validation/validation.go, as they appear inside selector errors.
QUALIFIED_NAME_RULE = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
    "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
LABEL_VALUE_RULE = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for "
    "validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("", ""),
        ("   \t\n", ""),
        ("x=a,y=b,z=c", "x=a,y=b,z=c"),
        ("z=1,a=2", "a=2,z=1"),
        ("  x  =  a  ", "x=a"),
        ("a=b,\tc=d\n", "a=b,c=d"),
        ("x=", "x="),
        ("x=,y=b", "x=,y=b"),
        ("x==a", "x==a"),
        ("x!=a", "x!=a"),
        ("x", "x"),
        ("!x", "!x"),
        ("! x", "!x"),
        ("x in (a)", "x in (a)"),
        ("x in (foo,,baz),y,z notin ()", "x in (,baz,foo),y,z notin ()"),
        ("x in (b,a,b)", "x in (a,b)"),
        ("x in (,a)", "x in (,a)"),
        ("x in (a,)", "x in (,a)"),
        ("x in (,)", "x in ()"),
        ("example.com/app in ( web , db )", "example.com/app in (db,web)"),
        ("in in (in)", "in in (in)"),
        ("notin notin (notin)", "notin notin (notin)"),
        ("x=in", "x=in"),
        ("x>1,x<10", "x>1,x<10"),
        ("\x00a=b", ""),
        ("a=\x00b", "a=b"),
    ],
    ids=[
        "empty", "only-whitespace", "three-equals", "sorted-by-key", "spaces-around", "tab-and-newline",
        "empty-value", "empty-value-then-more", "double-equals", "not-equals", "exists", "does-not-exist",
        "bang-space-key", "in-one", "upstream-example", "in-dedup-sorted", "in-leading-comma",
        "in-trailing-comma", "in-only-comma", "qualified-key-spaced-values", "in-as-key-and-value",
        "notin-as-key-and-value", "in-as-exact-value", "greater-and-less", "nul-ends-input",
        "nul-after-symbol-is-skipped",
    ],
)
def test_label_selector_parses_to_canonical_string(text: str, canonical: str) -> None:
    assert str(parse_label_selector(text)) == canonical


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a in (b", "unable to parse requirement: found '', expected: ',' or ')'"),
        ("a b", "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"),
        ("a >= 1", "unable to parse requirement: found '=', expected: identifier"),
        (",a", "found ',', expected: !, identifier, or 'end of string'"),
        ("!=a", "found '!=', expected: !, identifier, or 'end of string'"),
        ("a=b,", "found '', expected: identifier after ','"),
        ("a=b,,c", "found ',', expected: identifier after ','"),
        ("a=b c", "found 'c', expected: ',' or 'end of string'"),
        ("a=b=c", "found '=', expected: ',' or 'end of string'"),
        ("!a=b", "found '=', expected: ',' or 'end of string'"),
        ("x in a", "unable to parse requirement: found 'a' expected: '('"),
        ("x in (=a)", "unable to parse requirement: found '=', expected: ',', ')' or identifier"),
        ("x in (a,=)", "unable to parse requirement: found '=', expected: ',', or identifier"),
        ("x in (a b)", "unable to parse requirement: found 'b', expected: ',' or ')'"),
        ("x in", "unable to parse requirement: found '' expected: '('"),
        ("a=(", "unable to parse requirement: found '(', expected: identifier"),
        ("!", "unable to parse requirement: found '', expected: identifier"),
        ("a>x", "unable to parse requirement: values[0]: Invalid value: \"x\": "
                "for 'Gt', 'Lt' operators, the value must be an integer"),
        ("a=b\x00c=d", "found 'c', expected: ',' or 'end of string'"),
    ],
    ids=[
        "unclosed-set", "missing-operator", "greater-equals", "leading-comma", "leading-not-equals",
        "trailing-comma", "double-comma", "space-instead-of-comma", "second-equals", "negation-with-value",
        "in-without-parenthesis", "operator-inside-set", "operator-after-comma", "space-inside-set",
        "in-at-end", "parenthesis-as-value", "bare-bang", "greater-than-word", "nul-splits-identifiers",
    ],
)
def test_label_selector_syntax_errors_match_upstream(text: str, message: str) -> None:
    with pytest.raises(SelectorError) as raised:
        parse_label_selector(text)
    assert raised.value.message == message
    assert raised.value.to_status()["code"] == 400
    assert raised.value.to_status()["reason"] == "BadRequest"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("A_", f'unable to parse requirement: <nil>: Invalid value: "A_": {QUALIFIED_NAME_RULE}'),
        ("ключ=v", f'unable to parse requirement: <nil>: Invalid value: "ключ": {QUALIFIED_NAME_RULE}'),
        ("a" * 64, 'unable to parse requirement: <nil>: Invalid value: "' + "a" * 64
                   + '": name part must be no more than 63 characters'),
        ("a=" + "v" * 64, 'unable to parse requirement: values[0][a]: Invalid value: "' + "v" * 64
                          + '": must be no more than 63 characters'),
        ("a=-v-", f'unable to parse requirement: values[0][a]: Invalid value: "-v-": {LABEL_VALUE_RULE}'),
        ("a=" + "-" * 64, 'unable to parse requirement: values[0][a]: Invalid value: "' + "-" * 64
                          + f'": must be no more than 63 characters; {LABEL_VALUE_RULE}'),
        ("x in (-b,-a)", "unable to parse requirement: ["
                         f'values[0][x]: Invalid value: "-a": {LABEL_VALUE_RULE}, '
                         f'values[1][x]: Invalid value: "-b": {LABEL_VALUE_RULE}]'),
        ("a>-1", f'unable to parse requirement: values[0][a]: Invalid value: "-1": {LABEL_VALUE_RULE}'),
    ],
    ids=[
        "bad-key", "unicode-key", "64-char-key", "64-char-value", "bad-value", "long-and-bad-value",
        "two-bad-values-aggregated", "negative-number-is-a-bad-label-value",
    ],
)
def test_label_selector_validation_errors_match_upstream(text: str, message: str) -> None:
    with pytest.raises(SelectorError) as raised:
        parse_label_selector(text)
    assert raised.value.message == message


@pytest.mark.parametrize(
    ("text", "labels", "matches"),
    [
        ("", {"any": "thing"}, True),
        ("x=a", {"x": "a"}, True),
        ("x=a", {"x": "b"}, False),
        ("x=a", {}, False),
        ("x==a", {"x": "a", "y": "b"}, True),
        ("x!=a", {}, True),
        ("x!=a", {"x": "a"}, False),
        ("x!=a", {"x": "b"}, True),
        ("x in (a,b)", {"x": "b"}, True),
        ("x in (a,b)", {"x": "c"}, False),
        ("x in (a,b)", {}, False),
        ("x notin (a,b)", {}, True),
        ("x notin (a,b)", {"x": "a"}, False),
        ("x", {"x": ""}, True),
        ("x", {"y": "x"}, False),
        ("!x", {}, True),
        ("!x", {"x": "a"}, False),
        ("x=", {"x": ""}, True),
        ("x=", {}, False),
        ("x>5", {"x": "6"}, True),
        ("x>5", {"x": "5"}, False),
        ("x>5", {"x": "abc"}, False),
        ("x>5", {}, False),
        ("x<5", {"x": "-1"}, True),
        ("x<5", {"x": "+4"}, True),
        ("x<5", {"x": "99999999999999999999"}, False),
        ("x=a,y in (b),!z", {"x": "a", "y": "b"}, True),
        ("x=a,y in (b),!z", {"x": "a", "y": "b", "z": ""}, False),
    ],
    ids=[
        "empty-matches-all", "equals", "equals-other-value", "equals-missing", "double-equals",
        "not-equals-missing", "not-equals-same", "not-equals-other", "in", "in-other", "in-missing",
        "notin-missing", "notin-listed", "exists-empty-value", "exists-missing", "does-not-exist",
        "does-not-exist-present", "empty-value", "empty-value-missing", "greater", "greater-equal-value",
        "greater-not-a-number", "greater-missing", "less-negative", "less-plus-sign", "less-overflow",
        "all-of-three", "one-of-three-fails",
    ],
)
def test_label_selector_matches(text: str, labels: dict[str, str], matches: bool) -> None:
    assert parse_label_selector(text).matches(labels) is matches


def test_empty_label_selector_is_empty() -> None:
    assert parse_label_selector("").is_empty()
    assert not parse_label_selector("a").is_empty()


def test_requires_exact_match_reads_equality_and_single_value_in() -> None:
    selector = parse_label_selector("a=1,b in (2),c in (3,4),d!=5")
    found = [selector.requires_exact_match(key) for key in ("a", "b", "c", "d", "e")]
    assert found == ["1", "2", None, None, None]


def test_label_selector_from_set_is_sorted_equality() -> None:
    selector = LabelSelector.from_set({"b": "2", "a": "1"})
    assert str(selector) == "a=1,b=2"
    assert selector.matches({"a": "1", "b": "2", "c": "3"})
    assert LabelSelector.from_set({}).is_empty()


@pytest.mark.parametrize(
    ("selector", "canonical"),
    [
        ({}, ""),
        ({"matchLabels": {"app": "web", "tier": "front"}}, "app=web,tier=front"),
        ({"matchExpressions": [{"key": "env", "operator": "In", "values": ["prod", "dev"]}]}, "env in (dev,prod)"),
        ({"matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["prod"]}]}, "env notin (prod)"),
        ({"matchExpressions": [{"key": "gpu", "operator": "Exists"}]}, "gpu"),
        ({"matchExpressions": [{"key": "gpu", "operator": "DoesNotExist"}]}, "!gpu"),
        ({"matchLabels": {"z": "1"}, "matchExpressions": [{"key": "a", "operator": "Exists"}]}, "a,z=1"),
    ],
    ids=["empty-selects-all", "match-labels", "in", "not-in", "exists", "does-not-exist", "both-sorted"],
)
def test_metav1_label_selector_converts(selector: dict[str, object], canonical: str) -> None:
    assert str(LabelSelector.from_label_selector(selector)) == canonical


def test_null_metav1_label_selector_selects_nothing() -> None:
    selector = LabelSelector.from_label_selector(None)
    assert not selector.matches({})
    assert not selector.is_empty()
    assert str(selector) == ""


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ({"key": "a", "operator": "Equals", "values": ["b"]}, '"Equals" is not a valid label selector operator'),
        ({"key": "a", "operator": "In", "values": []},
         "values: Invalid value: []string{}: for 'in', 'notin' operators, values set can't be empty"),
        ({"key": "a", "operator": "Exists", "values": ["b"]},
         'values: Invalid value: []string{"b"}: values set must be empty for exists and does not exist'),
        ({"key": "a_", "operator": "Exists"}, f'key: Invalid value: "a_": {QUALIFIED_NAME_RULE}'),
    ],
    ids=["unknown-operator", "in-without-values", "exists-with-values", "bad-key"],
)
def test_metav1_label_selector_conversion_errors(expression: dict[str, object], message: str) -> None:
    with pytest.raises(SelectorError) as raised:
        LabelSelector.from_label_selector({"matchExpressions": [expression]})
    assert raised.value.message == message


def test_requirement_create_validates_like_new_requirement() -> None:
    requirement = Requirement.create("app", Operator.IN, ["b", "a"])
    assert str(requirement) == "app in (a,b)"
    with pytest.raises(SelectorError) as raised:
        Requirement.create("app", Operator.EQUALS, ["a", "b"])
    expected = 'values: Invalid value: []string{"a", "b"}: exact-match compatibility requires one single value'
    assert raised.value.message == expected


# --- Field selectors ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("", ""),
        ("metadata.name=foo", "metadata.name=foo"),
        ("a==b", "a=b"),
        ("a!=b", "a!=b"),
        ("b=2,a=1", "a=1,b=2"),
        ("a=b,,c=d,", "a=b,c=d"),
        ("a=", "a="),
        ("=x", "=x"),
        (r"a=x\,y", r"a=x\,y"),
        (r"a=x\=y", r"a=x\=y"),
        (r"a=x\\y", r"a=x\\y"),
        ("spec.nodeName=nöde ü", "spec.nodeName=nöde ü"),
        (" a = b ", " a = b "),
    ],
    ids=[
        "empty", "one-term", "double-equals-prints-single", "not-equals", "sorted-terms", "empty-terms-skipped",
        "empty-value", "empty-field", "escaped-comma", "escaped-equals", "escaped-backslash", "unicode-value",
        "spaces-are-data",
    ],
)
def test_field_selector_parses_to_canonical_string(text: str, canonical: str) -> None:
    assert str(parse_field_selector(text)) == canonical


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("abc", "invalid selector: 'abc'; can't understand 'abc'"),
        ("a=b,c", "invalid selector: 'a=b,c'; can't understand 'c'"),
        ("a=b=c", "invalid field selector: unescaped character in value: 61"),
        ("a!==b", "invalid field selector: unescaped character in value: 61"),
        ("a=b\\", "invalid field selector: invalid escape sequence: \\"),
        (r"a=\x", r"invalid field selector: invalid escape sequence: \x"),
    ],
    ids=["no-operator", "second-term-no-operator", "bare-equals-in-value", "not-equals-then-equals",
         "trailing-backslash", "unknown-escape"],
)
def test_field_selector_errors_match_upstream(text: str, message: str) -> None:
    with pytest.raises(SelectorError) as raised:
        parse_field_selector(text)
    assert raised.value.message == message
    assert raised.value.to_status()["code"] == 400


@pytest.mark.parametrize(
    ("text", "fields", "matches"),
    [
        ("", {"a": "b"}, True),
        ("metadata.name=foo", {"metadata.name": "foo", "metadata.namespace": "ns"}, True),
        ("metadata.name=foo", {"metadata.name": "bar"}, False),
        ("spec.nodeName=", {}, True),
        ("spec.nodeName!=", {}, False),
        ("spec.nodeName!=n1", {}, True),
        ("a=1,b!=2", {"a": "1", "b": "3"}, True),
        ("a=1,b!=2", {"a": "1", "b": "2"}, False),
        (r"a=x\,y", {"a": "x,y"}, True),
    ],
    ids=["empty", "equal", "different", "missing-reads-empty", "not-equal-empty-missing", "not-equal-missing",
         "and-holds", "and-fails", "escaped-value"],
)
def test_field_selector_matches(text: str, fields: dict[str, str], matches: bool) -> None:
    assert parse_field_selector(text).matches(fields) is matches


def test_field_selector_exact_match_and_emptiness() -> None:
    selector = FieldSelector.parse("metadata.name==web,status.phase!=Running")
    assert selector.requires_exact_match("metadata.name") == "web"
    assert selector.requires_exact_match("status.phase") is None
    assert not selector.is_empty()
    assert FieldSelector.parse("").is_empty()


@pytest.mark.parametrize("value", ["", "plain", "a,b", "a=b", "back\\slash", r"\,=\\", "ünï"])
def test_field_value_escaping_round_trips(value: str) -> None:
    assert unescape_field_value(escape_field_value(value)) == value
    assert FieldSelector.parse("f=" + escape_field_value(value)).requirements[0].value == value
