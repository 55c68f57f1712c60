"""Runtime costs as kube-apiserver measures them: the costs apiextensions-apiserver's TestCelCostStability
expects for these rules and objects (a CRD's validation budget depends on them, so they must not drift)."""
from __future__ import annotations

from typing import Any

import pytest

from apiserver.cel import compile_expression, schema_type

STRING = {"type": "string"}
INTEGER = {"type": "integer"}
INT_OR_STRING_SCHEMA = {"x-kubernetes-int-or-string": True}


def obj(**properties: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties}


def array(items: dict[str, Any], list_type: str = "atomic", **extensions: Any) -> dict[str, Any]:
    return {"type": "array", "items": items, "x-kubernetes-list-type": list_type, **extensions}


ROOK = "Rook takes \U0001f451"
SCHEMAS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "INTEGERS": (obj(val1=INTEGER, val6=INTEGER, val3=INTEGER),
                 {"val1": 9223372036854775807, "val6": 9223372036854775807, "val3": 2147483647}),
    "UNICODE": (obj(val1=STRING, val2=STRING), {"val1": ROOK, "val2": ROOK}),
    "LISTS": (obj(val1=array(INTEGER), val2=array(INTEGER)), {"val1": [1, 2, 3], "val2": [1, 2, 3]}),
    "LIST_SETS": (obj(val1=array(STRING, "set"), val3=array(INTEGER, "set")),
                  {"val1": ["a", "b", "c"], "val3": list(range(1000))}),
    "MAP": (obj(val={"type": "object", "additionalProperties": INTEGER}), {"val": {"b": 1, "d": 2}}),
    "LIST_MAP": (obj(listMap=array(obj(k=STRING, v=STRING, v2=STRING), "map", **{"x-kubernetes-list-map-keys": ["k"]})),
                 {"listMap": [{"k": "a1", "v": "b1"}, {"k": "a2", "v": "b2"}, {"k": "a3", "v": "b3", "v2": "z"}]}),
    "ARRAY": (obj(array=array(INTEGER)), {"array": [1, 1, 2, 2, 3, 3, 4, 5]}),
    "SET": (obj(set=array(INTEGER)), {"set": [1, 2, 3, 4, 5]}),
    "INT_OR_STRING": (obj(something=INT_OR_STRING_SCHEMA), {"something": "25%"}),
    "PERCENT": (obj(min=INT_OR_STRING_SCHEMA, current=INTEGER, available=INTEGER),
                {"min": "50%", "current": 5, "available": 10}),
}

CASES: list[tuple[str, int, str]] = [
    # INTEGERS
    ("self.val1 == self.val6", 5, "INTEGERS"),
    ("type(self.val1) == int", 4, "INTEGERS"),
    ("self.val3 + 1 == 2147483647 + 1", 5, "INTEGERS"),
    # UNICODE
    ("self.val1.startsWith('Rook')", 4, "UNICODE"),
    ("!self.val1.startsWith('knight')", 5, "UNICODE"),
    ("self.val1.matches('^[^0-9]*$')", 8, "UNICODE"),
    ("!self.val1.matches('^[0-9]*$')", 7, "UNICODE"),
    ("size(self.val1) == 12", 4, "UNICODE"),
    ("self.val1.charAt(3) == 'k'", 4, "UNICODE"),
    ("self.val1.indexOf('o') == 1", 4, "UNICODE"),
    ("self.val1.replace(' ', 'x') == 'Rookxtakesx👑'", 7, "UNICODE"),
    ("self.val1.split(' ') == ['Rook', 'takes', '👑']", 6, "UNICODE"),
    ("self.val1.substring(5) == 'takes 👑'", 5, "UNICODE"),
    ("self.val1.substring(4, 10).trim() == 'takes'", 6, "UNICODE"),
    ("self.val1.lowerAscii() == self.val1.lowerAscii()", 10, "UNICODE"),
    ("'%d %s %f %s %s'.format([1, 'abc', 1.0, duration('1m'), "
     "timestamp('2000-01-01T00:00:00.000Z')]) == '1 abc 1.000000 60s 2000-01-01T00:00:00Z'",
     6, "UNICODE"),
    # cel-go v0.22 (golang.org/x/text, en-US) puts narrow no-break spaces around the sign (ext/strings_test.go).
    ("'%e'.format([3.14]) == '3.140000\u202f\u00d7\u202f10\u2070\u2070'", 3, "UNICODE"),
    ("'%o %o %o'.format([7, 8, 9]) == '7 10 11'", 2, "UNICODE"),
    ("'%b %b %b'.format([7, 8, 9]) == '111 1000 1001'", 3, "UNICODE"),
    # LISTS
    ("1 in self.val1", 5, "LISTS"),
    ("self.val2[0] in self.val1", 8, "LISTS"),
    ("!(0 in self.val1)", 6, "LISTS"),
    ("self.val1 + self.val2 == [1, 2, 3, 1, 2, 3]", 6, "LISTS"),
    ("self.val1 + [4, 5] == [1, 2, 3, 4, 5]", 4, "LISTS"),
    ("has(self.val1)", 1, "LISTS"),
    ("has(self.val1) && has(self.val2)", 2, "LISTS"),
    # LIST_SETS
    ("sets.contains(self.val1, ['a'])", 6, "LIST_SETS"),
    ("sets.equivalent(self.val1, ['a', 'b', 'c'])", 21, "LIST_SETS"),
    ("sets.intersects(self.val1, ['a'])", 6, "LIST_SETS"),
    ("sets.contains(self.val3, [1])", 1003, "LIST_SETS"),
    ("!sets.equivalent(self.val3, [1, 2, 3])", 6004, "LIST_SETS"),
    ("sets.intersects(self.val3, [1])", 1003, "LIST_SETS"),
    # MAP
    ("!('a' in self.val)", 4, "MAP"),
    ("'b' in self.val", 3, "MAP"),
    ("!has(self.val.a)", 3, "MAP"),
    ("has(self.val.b)", 2, "MAP"),
    ("self.val.all(k, self.val[k] > 0)", 17, "MAP"),
    ("self.val.exists_one(k, self.val[k] == 2)", 14, "MAP"),
    ("!self.val.exists_one(k, self.val[k] > 0)", 17, "MAP"),
    ("size(self.val) == 2", 4, "MAP"),
    ("size(self.val.filter(k, self.val[k] > 1)) == 1", 26, "MAP"),
    # LIST_MAP
    ("has(self.listMap[0].v)", 3, "LIST_MAP"),
    ("self.listMap.all(m, m.k.startsWith('a'))", 21, "LIST_MAP"),
    ("self.listMap.all(m, !has(m.v2) || m.v2 == 'z')", 21, "LIST_MAP"),
    ("self.listMap.exists(m, m.k.endsWith('1'))", 13, "LIST_MAP"),
    ("self.listMap.exists_one(m, m.k == 'a3')", 15, "LIST_MAP"),
    ("!self.listMap.all(m, m.k.endsWith('1'))", 18, "LIST_MAP"),
    ("!self.listMap.exists(m, m.v == 'x')", 25, "LIST_MAP"),
    ("!self.listMap.exists_one(m, m.k.startsWith('a'))", 20, "LIST_MAP"),
    ("size(self.listMap.filter(m, m.k == 'a1')) == 1", 27, "LIST_MAP"),
    ("self.listMap.exists(m, m.k == 'a1' && m.v == 'b1')", 16, "LIST_MAP"),
    ("self.listMap.map(m, m.v).exists(v, v == 'b1')", 55, "LIST_MAP"),
    ("self.listMap.exists(m, has(m.v2) && m.v2 == 'z')", 21, "LIST_MAP"),
    ("!self.listMap.all(m, has(m.v2) && m.v2 != 'z')", 10, "LIST_MAP"),
    ("self.listMap.exists_one(m, has(m.v2) && m.v2 == 'z')", 12, "LIST_MAP"),
    ("self.listMap.filter(m, has(m.v2) && m.v2 == 'z').size() == 1", 24, "LIST_MAP"),
    ("self.listMap.map(m, has(m.v2) && m.v2 == 'z', m.v2).size() == 1", 25, "LIST_MAP"),
    ("self.listMap.filter(m, has(m.v2) && m.v2 == 'z').map(m, m.v2).size() == 1", 39, "LIST_MAP"),
    ("self.listMap.exists(m, m.v2 == 'z')", 24, "LIST_MAP"),
    ("!self.listMap.all(m, m.v2 != 'z')", 22, "LIST_MAP"),
    # ARRAY
    ("2 in self.array", 10, "ARRAY"),
    ("self.array.all(e, e > 0)", 43, "ARRAY"),
    ("self.array.exists(e, e > 2)", 36, "ARRAY"),
    ("self.array.exists_one(e, e > 4)", 22, "ARRAY"),
    ("!self.array.all(e, e < 2)", 21, "ARRAY"),
    ("!self.array.exists(e, e < 0)", 52, "ARRAY"),
    ("!self.array.exists_one(e, e == 2)", 25, "ARRAY"),
    ("size(self.array.filter(e, e%2 == 0)) == 3", 68, "ARRAY"),
    ("self.array.map(e, e * 20).filter(e, e > 50).exists(e, e == 60)", 194, "ARRAY"),
    ("size(self.array) == 8", 4, "ARRAY"),
    # SET
    ("3 in self.set", 7, "SET"),
    ("self.set.all(e, e > 0)", 28, "SET"),
    ("self.set.exists(e, e > 3)", 30, "SET"),
    ("self.set.exists_one(e, e == 3)", 16, "SET"),
    ("!self.set.all(e, e < 3)", 21, "SET"),
    ("!self.set.exists(e, e < 0)", 34, "SET"),
    ("!self.set.exists_one(e, e > 3)", 19, "SET"),
    ("size(self.set.filter(e, e%2 == 0)) == 2", 46, "SET"),
    ("self.set.map(e, e * 20).filter(e, e > 50).exists_one(e, e == 60)", 133, "SET"),
    # INT_OR_STRING
    ("type(self.something) == int ? self.something == 1 : self.something == '25%'", 7, "INT_OR_STRING"),
    ("type(self.something) == string && self.something == '25%'", 7, "INT_OR_STRING"),
    ("self.something == '25%'", 3, "INT_OR_STRING"),
    ("self.something != 1", 3, "INT_OR_STRING"),
    ("self.something == 1 || self.something == '25%'", 6, "INT_OR_STRING"),
    ("self.something == '25%' || self.something == 1", 3, "INT_OR_STRING"),
    ("self.something != ['anything']", 3, "INT_OR_STRING"),
    # PERCENT
    ("type(self.min) == string && self.min.matches(r'(\\d+(\\.\\d+)?%)')", 10, "PERCENT"),
    ("type(self.min) == int ? self.current <= self.min : double(self.current) / "
     "double(self.available) >= double(self.min.replace('%', '')) / 100.0",
     17, "PERCENT"),
]


@pytest.mark.parametrize(("rule", "cost", "case"), CASES, ids=[f"{case[2]}:{case[0]}" for case in CASES])
def test_runtime_cost_is_stable(rule: str, cost: int, case: str) -> None:
    schema, value = SCHEMAS[case]
    program = compile_expression(rule, {"self": schema_type(schema)})
    # As upstream's TestCelCostStability: every rule also passes.
    assert program.evaluate_with_cost({"self": value}) == (True, cost)
