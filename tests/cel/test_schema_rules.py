"""Validation rules over schema-typed objects that must hold, as kube-apiserver evaluates them for CRDs.

Each rule is evaluated against one object of a structural schema and must be true (covering field access and
escaping, list types, nullability, int-or-string, formats, optionals and the Kubernetes libraries together).
"""
from __future__ import annotations

from typing import Any

import pytest

from apiserver.cel import compile_expression, schema_type

STRING = {"type": "string"}
INTEGER = {"type": "integer"}
SCHEMA: dict[str, Any] = {"type": "object", "properties": {
    "int": INTEGER, "number": {"type": "number"}, "wholeNumber": {"type": "number"}, "str": STRING,
    "unicode": STRING, "bytes": {"type": "string", "format": "byte"},
    "duration": {"type": "string", "format": "duration"}, "date": {"type": "string", "format": "date"},
    "dateTime": {"type": "string", "format": "date-time"},
    "ints": {"type": "array", "items": INTEGER}, "emptyInts": {"type": "array", "items": INTEGER},
    "durations": {"type": "array", "items": {"type": "string", "format": "duration"}},
    "set": {"type": "array", "x-kubernetes-list-type": "set", "items": STRING},
    "otherSet": {"type": "array", "x-kubernetes-list-type": "set", "items": STRING},
    "listMap": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["k"],
                "items": {"type": "object", "properties": {"k": STRING, "v": STRING, "v2": STRING}}},
    "labels": {"type": "object", "additionalProperties": STRING},
    "intOrString": {"x-kubernetes-int-or-string": True},
    "nested": {"type": "object", "properties": {"b": INTEGER, "c": INTEGER, "d": {"type": "integer",
                                                                                    "nullable": True}}},
    "absentObj": {"type": "object", "properties": {"absentStr": STRING}},
    "nullableItems": {"type": "array", "items": {"type": "string", "nullable": True}},
    "if": INTEGER, "dot.dot": INTEGER, "dash-dash": INTEGER, "slash/slash": INTEGER, "self": INTEGER,
    "doubleunderscore__doubleunderscore": INTEGER, "url": STRING, "quantity": STRING,
}}
OBJECT: dict[str, Any] = {
    "int": 9223372036854775807, "number": 1.5, "wholeNumber": 1, "str": "abc", "unicode": "Rook takes \U0001f451",
    "bytes": "QUI=", "duration": "1h2m3s4ms", "date": "1997-07-16", "dateTime": "2011-08-18T19:03:37.010+01:00",
    "ints": [1, 2, 2, 3], "emptyInts": [], "durations": ["1s", "1m", "1m", "1h"], "set": ["a", "b", "c"],
    "otherSet": ["a", "c", "b"],
    "listMap": [{"k": "a1", "v": "b1"}, {"k": "a2", "v": "b2"}, {"k": "a3", "v": "b3", "v2": "z"}],
    "labels": {"app": "web", "./-": "odd"}, "intOrString": "25%", "nested": {"b": 1, "d": None},
    "nullableItems": [None, "x"], "if": 12, "dot.dot": 401, "dash-dash": 402, "slash/slash": 403, "self": 201,
    "doubleunderscore__doubleunderscore": 405,
    "url": "https://user:pass@kubernetes.io:80/docs/home?k1=a&k2=b&k2=c#anchor", "quantity": "200M",
}

RULES = [
    "self.int + 0 == 9223372036854775807", "type(self.int) == int", "type(self.number) == double",
    "type(self.wholeNumber) == double", "self.wholeNumber == 1.0", "self.int > self.number",
    "double(self.wholeNumber) < 10.0", "self.number < 2",
    "self.unicode.startsWith('Rook')", "self.unicode.endsWith('\U0001f451')", "size(self.unicode) == 12",
    "self.unicode.charAt(3) == 'k'", "self.unicode.indexOf('o', 2) == 2",
    "self.unicode.replace(' ', 'x', 1) == 'Rookxtakes \U0001f451'",
    "self.unicode.split(' ', 2) == ['Rook', 'takes \U0001f451']", "self.unicode.substring(4, 10).trim() == 'takes'",
    "self.unicode.upperAscii() == 'ROOK TAKES \U0001f451'",
    "'%d %s %f %s %s'.format([1, 'abc', 1.0, duration('1m'), timestamp('2000-01-01T00:00:00.000Z')]) == "
    "'1 abc 1.000000 60s 2000-01-01T00:00:00Z'",
    "'%o %o %o'.format([7, 8, 9]) == '7 10 11'", "'%b %b %b'.format([7, 8, 9]) == '111 1000 1001'",
    "self.bytes == b'AB'", "self.bytes == b'\\x41\\x42'", "size(self.bytes) == 2", "type(self.bytes) == bytes",
    "self.duration == duration('1h2m') + duration('3s4ms')", "self.duration.getMinutes() == 62",
    "self.duration.getMilliseconds() == 3723004", "type(self.duration) == google.protobuf.Duration",
    "self.date == timestamp('1997-07-16T00:00:00.000Z')", "self.date.getMonth() == 6", "self.date.getDate() == 16",
    "self.dateTime.getHours('01:00') == 19", "self.dateTime.getHours('UTC') == 18",
    "self.dateTime.getMilliseconds('01:00') == 10",
    "self.dateTime == timestamp('2011-08-18T00:00:00.000+01:00') + duration('19h3m37s10ms')",
    "self.ints.sum() == 8", "self.ints.min() == 1", "self.ints.max() == 3", "self.emptyInts.sum() == 0",
    "self.ints.isSorted()", "self.ints.indexOf(2) == 1", "self.ints.lastIndexOf(2) == 2",
    "([0] + self.emptyInts).min() == 0", "dyn([]).sum() == 0", "dyn([1.0, 2.0]).sum() == 3.0",
    "self.durations.sum() == duration('1h2m1s')", "self.durations.max() == duration('1h')",
    "self.set == ['c', 'b', 'a']", "self.set == self.otherSet", "self.set + ['c', 'd'] == ['a', 'b', 'c', 'd']",
    "self.listMap.exists(m, m.v2 == 'z')", "!self.listMap.all(m, m.v2 != 'z')",
    "self.listMap.map(m, has(m.v2) && m.v2 == 'z', m.v2).size() == 1",
    "self.listMap + [{'k': 'a1', 'v': 'new'}].map(m, self.listMap[0]) == self.listMap",
    "self.labels.app == 'web'", "self.labels['./-'] == 'odd'", "has(self.labels.app)", "!has(self.labels.x)",
    "self.labels.all(k, self.labels[k].size() > 0)",
    "self.intOrString == '25%'", "self.intOrString != 1", "self.intOrString == 1 || self.intOrString == '25%'",
    "self.intOrString != ['anything']",
    "has(self.nested.b)", "!has(self.nested.c)", "!has(self.nested.d)", "!has(self.absentObj)",
    "type(self.nullableItems[0]) == null_type",
    "self.__if__ == 12", "self.dot__dot__dot == 401", "self.dash__dash__dash == 402",
    "self.slash__slash__slash == 403", "self.self == 201",
    "self.doubleunderscore__underscores__doubleunderscore == 405",
    "self.?absentObj.?absentStr == optional.none()", "self.?nested.?b == optional.of(1)",
    "self.labels[?'app'] == optional.of('web')", "self.ints[?10] == optional.none()",
    "optional.ofNonZeroValue(duration('0s')) == optional.none()",
    "optional.ofNonZeroValue(timestamp('0001-01-01T00:00:00.000+00:00')) == optional.none()",
    "{?'k': optional.none(), 'k2': 'v2'} == {'k2': 'v2'}",
    "url(self.url).getHost() == 'kubernetes.io:80'", "url(self.url).getQuery() == {'k1': ['a'], 'k2': ['b', 'c']}",
    "url('https://[::1]/').getHost() == '[::1]'", "url('https://example.com').getEscapedPath() == ''",
    "isURL('https://a:b:c/') == false",
    "quantity(self.quantity) == quantity('0.2G')", "quantity('50k').add(quantity('20')) == quantity('50.02k')",
    "quantity('50k').sub(quantity('20')) == quantity('49980')",
    "type(ip('192.168.0.1')) == net.IP", "cidr('192.168.0.0/24') == cidr('192.168.0.0/24').masked()",
    "cidr('2001:db8::/32').containsCIDR(cidr('2001:db8::/33'))", "cidr('::1/128').ip().family() == 6",
    "sets.contains([{'a': 1}, {'b': 2}], [{'b': 2}])", "!sets.intersects([], [])",
    "sets.equivalent([duration('1h'), duration('2h')], [duration('1h'), duration('2h')])",
    "type(self) == type(self)",
]


@pytest.mark.parametrize("rule", RULES)
def test_rule_holds(rule: str) -> None:
    program = compile_expression(rule, {"self": schema_type(SCHEMA, is_resource_root=False)})
    assert program.evaluate({"self": OBJECT}) is True
