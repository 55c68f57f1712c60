"""Table tests of the standard and Kubernetes CEL libraries: true, false and runtime-error cases."""
from __future__ import annotations

from typing import Any

import pytest

from apiserver.cel import DYN, EvaluationError, compile_expression


def evaluate(expression: str, **variables: Any) -> Any:
    program = compile_expression(expression, {name: DYN for name in variables})
    return program.evaluate(variables)


VALUES = [
    ("1 + 2 * 3", 7), ("7 / 2", 3), ("-7 / 2", -3), ("-7 % 3", -1), ("2.0 / 4.0", 0.5), ("1u + 2u", 3),
    ("'a' + 'b'", "ab"), ("b'a' + b'b'", b"ab"), ("[1] + [2]", [1, 2]), ("size('héllo')", 5), ("'abc'.size()", 3),
    ("[1, 2, 3].size()", 3), ("{'a': 1}.size()", 1), ("'x' in ['x', 'y']", True), ("'z' in {'z': 1}", True),
    ("1 == 1", True), ("dyn(1) == 1.0", True), ("dyn(1) == 1u", True), ("1 < 2.5", True), ("2u > 1", True),
    ("[1, 2] == [1, 2]", True), ("{'a': [1]} == {'a': [1]}", True), ("'abc' < 'abd'", True),
    ("true ? 'y' : 'n'", "y"), ("!true", False), ("-(-5)", 5), ("int('42')", 42), ("uint(42)", 42),
    ("double('1.5')", 1.5), ("string(1.5)", "1.5"), ("string(true)", "true"), ("bytes('a')", b"a"),
    ("string(b'hi')", "hi"), ("bool('true')", True), ("type(1) == int", True), ("type('a') == string", True),
    ("'hello'.contains('ell')", True), ("'hello'.startsWith('he')", True), ("'hello'.endsWith('lo')", True),
    ("'abc123'.matches('^[a-z]+[0-9]+$')", True), ("matches('abc', 'b')", True),
    # macros
    ("[1, 2, 3].all(x, x > 0)", True), ("[1, 2, 3].exists(x, x == 2)", True), ("[1, 2, 3].exists_one(x, x > 1)",
                                                                                False),
    ("[1, 2, 3].map(x, x * 2)", [2, 4, 6]), ("[1, 2, 3].map(x, x > 1, x * 10)", [20, 30]),
    ("[1, 2, 3].filter(x, x != 2)", [1, 3]), ("{'a': 1, 'b': 2}.all(k, k.size() == 1)", True),
    ("has({'a': 1}.a)", True), ("has({'a': 1}.b)", False),
    # time
    ("timestamp('2024-01-02T03:04:05Z').getFullYear()", 2024), ("timestamp('2024-01-02T03:04:05Z').getMonth()", 0),
    ("timestamp('2024-01-02T03:04:05Z').getDayOfMonth()", 1), ("duration('1h30m').getMinutes()", 90),
    ("string(duration('90s'))", "90s"), ("string(timestamp('2024-01-02T03:04:05.5Z'))", "2024-01-02T03:04:05.5Z"),
    ("timestamp('2024-01-02T00:00:00Z') + duration('24h') == timestamp('2024-01-03T00:00:00Z')", True),
    ("timestamp('2024-01-02T00:00:00Z') - timestamp('2024-01-01T00:00:00Z') == duration('24h')", True),
    # optionals
    ("optional.of(1).hasValue()", True), ("optional.none().orValue(5)", 5), ("{'a': 1}.?a.value()", 1),
    ("{'a': 1}.?b.orValue(7)", 7), ("{'a': {'b': 2}}.?a.?b.orValue(0)", 2), ("[1, 2][?5].hasValue()", False),
    ("[1, ?optional.none(), ?optional.of(3)]", [1, 3]), ("{'a': 1, ?'b': optional.none()}", {"a": 1}),
    ("optional.of(2).optMap(x, x * 10).value()", 20),
    ("{'a': {'b': 2}}.?a.b.orValue(0)", 2), ("{'a': {'c': 2}}.?a.b.orValue(0)", 0),
    ("{'z': {'b': 1}}.?a.b.orValue(5)", 5), ("optional.none().or(optional.of(1)).value()", 1),
    # strings extension
    ("'hello'.charAt(1)", "e"), ("'hello'.charAt(5)", ""), ("'hello'.indexOf('l')", 2),
    ("'hello'.indexOf('l', 3)", 3), ("'hello'.lastIndexOf('l')", 3), ("'HeLLo'.lowerAscii()", "hello"),
    ("'hello'.upperAscii()", "HELLO"), ("'aaa'.replace('a', 'b')", "bbb"), ("'aaa'.replace('a', 'b', 2)", "bba"),
    ("'a,b,c'.split(',')", ["a", "b", "c"]), ("'a,b,c'.split(',', 2)", ["a", "b,c"]),
    ("'hello'.substring(1)", "ello"), ("'hello'.substring(1, 3)", "el"), ("'  x '.trim()", "x"),
    ("['a', 'b'].join()", "ab"), ("['a', 'b'].join('-')", "a-b"), ("strings.quote('a\"b')", '"a\\"b"'),
    # lists
    ("[1, 2, 3].isSorted()", True), ("[3, 1].isSorted()", False), ("[1, 2, 3].sum()", 6), ("[1.5, 2.5].sum()", 4.0),
    ("[3, 1, 2].min()", 1), ("[3, 1, 2].max()", 3), ("[1, 2, 1].indexOf(1)", 0), ("[1, 2, 1].lastIndexOf(1)", 2),
    ("[1, 2].indexOf(5)", -1),
    # regex
    ("'abc 123 def 456'.find('[0-9]+')", "123"), ("'abc'.find('[0-9]+')", ""),
    ("'abc 123 def 456'.findAll('[0-9]+')", ["123", "456"]), ("'1 2 3'.findAll('[0-9]', 2)", ["1", "2"]),
    # sets
    ("sets.contains([1, 2, 3], [1, 2])", True), ("sets.contains([1], [2])", False),
    ("sets.equivalent([1, 2], [2, 1, 1])", True), ("sets.intersects([1, 2], [2, 3])", True),
    ("sets.intersects([1], [3])", False),
    # URL
    ("url('https://user@example.com:8443/a%20b?x=1&x=2').getScheme()", "https"),
    ("url('https://example.com:8443/path').getHost()", "example.com:8443"),
    ("url('https://[::1]:80/').getHostname()", "::1"), ("url('https://example.com:8443/').getPort()", "8443"),
    ("url('https://example.com/a%20b').getEscapedPath()", "/a%20b"),
    ("url('https://example.com/?x=1&x=2&y=').getQuery()", {"x": ["1", "2"], "y": [""]}),
    ("isURL('https://example.com')", True), ("isURL('not a url')", False), ("url('/absolute').getScheme()", ""),
    # quantity
    ("quantity('1Gi').isGreaterThan(quantity('1G'))", True), ("quantity('500m').isLessThan(quantity('1'))", True),
    ("quantity('1k').compareTo(quantity('1000'))", 0), ("quantity('1Mi').asInteger()", 1048576),
    ("quantity('1.5').asApproximateFloat()", 1.5), ("quantity('-3').sign()", -1), ("quantity('0.5').isInteger()",
                                                                                  False),
    ("quantity('1').add(quantity('500m')).isGreaterThan(quantity('1400m'))", True),
    ("quantity('1').sub(1).sign()", 0), ("isQuantity('1.2.3')", False), ("isQuantity('200Mi')", True),
    # IP and CIDR
    ("isIP('1.2.3.4')", True), ("isIP('1.2.3')", False), ("isIP('::ffff:1.2.3.4')", False),
    ("ip('1.2.3.4').family()", 4), ("ip('::1').family()", 6), ("ip('127.0.0.1').isLoopback()", True),
    ("ip('0.0.0.0').isUnspecified()", True), ("ip('224.0.0.1').isLinkLocalMulticast()", True),
    ("ip('169.254.1.1').isLinkLocalUnicast()", True), ("ip('8.8.8.8').isGlobalUnicast()", True),
    ("string(ip('2001:db8::1'))", "2001:db8::1"), ("ip.isCanonical('2001:db8::1')", True),
    ("ip.isCanonical('2001:DB8::1')", False), ("isCIDR('10.0.0.0/8')", True), ("isCIDR('10.0.0.0')", False),
    ("cidr('10.0.0.0/8').containsIP('10.1.2.3')", True), ("cidr('10.0.0.0/8').containsIP(ip('11.0.0.1'))", False),
    ("cidr('10.0.0.0/8').containsCIDR('10.1.0.0/16')", True), ("cidr('10.1.0.0/16').containsCIDR('10.0.0.0/8')",
                                                               False),
    ("cidr('10.1.2.3/8').masked() == cidr('10.0.0.0/8')", True), ("cidr('10.0.0.0/8').prefixLength()", 8),
    ("cidr('10.1.2.3/8').ip() == ip('10.1.2.3')", True), ("string(cidr('10.0.0.0/8'))", "10.0.0.0/8"),
]


@pytest.mark.parametrize(("expression", "expected"), VALUES, ids=[case[0] for case in VALUES])
def test_expression_value(expression: str, expected: Any) -> None:
    result = evaluate(expression)
    assert result == expected
    assert type(result) is type(expected)


ERRORS = [
    ("1 / 0", "division by zero"), ("1 % 0", "modulus by zero"), ("{'a': 1}['b']", "no such key: b"),
    ("[1][3]", "index '3' out of range in list size '1'"), ("9223372036854775807 + 1", "integer overflow"),
    ("-9223372036854775808 - 1", "integer overflow"), ("0u - 1u", "unsigned integer overflow"),
    ("dyn(1) + 'a'", "no such overload"), ("dyn('a').size() + dyn(true)", "no such overload"),
    ("'abc'.charAt(4)", "index out of range: 4"),
    ("'abc'.substring(2, 1)", "invalid substring range. start: 2, end: 1"),
    ("optional.none().value()", "optional.none() dereference"), ("[].min()", "min called on empty list"),
    ("quantity('1.2.3')", "quantities must match the regular expression "
                          "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"),
    ("{'a': 1}.b", "no such key: b"),
]


@pytest.mark.parametrize(("expression", "message"), ERRORS, ids=[case[0] for case in ERRORS])
def test_expression_error(expression: str, message: str) -> None:
    with pytest.raises(EvaluationError) as caught:
        evaluate(expression)
    assert str(caught.value) == message


@pytest.mark.parametrize(("expression", "expected"), [
    ("[0, -1].all(x, 1 / x > 0)", False), ("[0, 1].exists(x, 1 / x > 0)", True), ("false && 1 / 0 == 1", False),
    ("1 / 0 == 1 || true", True),
], ids=["all-false-absorbs-error", "exists-true-absorbs-error", "and-short-circuit", "or-commutative"])
def test_logical_operators_absorb_errors(expression: str, expected: bool) -> None:
    assert evaluate(expression) is expected


def test_variables_are_plain_json() -> None:
    obj = {"metadata": {"name": "x", "labels": {"app": "web"}}, "spec": {"replicas": 3, "ports": [80, 443]}}
    assert evaluate("object.metadata.labels['app'] == 'web' && object.spec.ports.all(p, p > 0)", object=obj)
    assert evaluate("object.spec.replicas * 2", object=obj) == 6
    assert evaluate("object.spec.ports.map(p, string(p))", object=obj) == ["80", "443"]


@pytest.mark.parametrize(("expression", "expected"), [
    ("'%s and %d: %.2f'.format(['a', 5, 3.14159])", "a and 5: 3.14"), ("'%x %X %o %b %%'.format([255, 'hi', 8, 5])",
                                                                          "ff 6869 10 101 %"),
    # cel-go v0.22 (ext/strings_test.go): map entries as `key:value`; %e with narrow no-break spaces (x/text en-US).
    ("'%s %s'.format([[1, 2], ['a']])", '[1, 2] ["a"]'), ("'%s'.format([{'b': 1, 'a': 2}])", '{"a":2, "b":1}'),
    ("'%e'.format([3.14])", "3.140000\u202f\u00d7\u202f10\u2070\u2070"),
    ("string(1e6)", "1e+06"), ("string(123456.5)", "123456.5"),
    ("string(0.00001)", "1e-05"), ("string(-2.0)", "-2"),
], ids=["s-d-f", "radix", "list", "map", "e", "double-exponent", "double-fixed", "double-small", "double-whole"])
def test_string_formatting(expression: str, expected: str) -> None:
    assert evaluate(expression) == expected


@pytest.mark.parametrize(("expression", "message"), [
    # dyn(): a list literal would be rejected when compiling (cel-go's string.format validator).
    ("'%d'.format(dyn([1.5]))",
     "error during formatting: decimal clause can only be used on integers, was given double"),
    ("dyn([1, 2])[dyn(1.5)]", "unsupported index value 1.5 in list"),
    ("dyn([1])[dyn('a')]", "unsupported index type 'string' in list"),
], ids=["format-d-double", "index-double", "index-string"])
def test_formatting_and_index_errors(expression: str, message: str) -> None:
    with pytest.raises(EvaluationError) as caught:
        evaluate(expression)
    assert str(caught.value) == message


@pytest.mark.parametrize(("expression", "expected"), [
    ("format.dns1123Label().validate('my-name')", None),
    ("format.dns1123Label().validate('a.b')", ["must not contain dots"]),
    ("format.dns1123LabelPrefix().validate('web-')", None),
    ("format.qualifiedName().validate('example.com/MyName')", None),
    ("format.labelValue().validate('-bad')", ["a valid label must be an empty string or consist of alphanumeric "
                                              "characters, '-', '_' or '.', and must start and end with an "
                                              "alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', "
                                              "regex used for validation is "
                                              "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"]),
    ("format.named('dns1035Label').value().validate('1abc').hasValue()", True),
    ("format.named('unknown').hasValue()", False),
    ("format.uuid().validate('123e4567-e89b-12d3-a456-426614174000')", None),
    ("format.date().validate('2024-02-30').hasValue()", True),
], ids=["label-ok", "label-dots", "label-prefix", "qualified-name", "label-value", "named", "named-unknown", "uuid",
        "date"])
def test_kubernetes_format_library(expression: str, expected: Any) -> None:
    assert evaluate(expression) == expected


def test_read_only_mappings_and_lists_are_maps_and_lists() -> None:
    from types import MappingProxyType

    from apiserver.registry.codec import freeze

    frozen = freeze({"spec": {"ports": [80, 443], "labels": {"app": "web"}}})
    proxy = MappingProxyType({"extra": MappingProxyType({"k": ["v"]})})
    assert evaluate("object.spec.ports.all(p, p > 0) && object.spec.labels.app == 'web'", object=frozen) is True
    assert evaluate("has(request.extra.k) && request.extra['k'][0] == 'v'", request=proxy) is True
    assert evaluate("object.spec", object=frozen) == {"ports": [80, 443], "labels": {"app": "web"}}
    assert type(evaluate("object.spec", object=frozen)) is dict
