"""Estimated costs as kube-apiserver computes them for CRD validation rules: the estimates
apiextensions-apiserver's TestCostEstimation expects, for each schema without bounds and with the given
maxItems/maxProperties/maxLength (these decide which rules a CRD may declare)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from apiserver.cel import compile_expression, schema_type

Generator = Callable[[int | None], dict[str, Any]]

PRIM: dict[str, dict[str, Any]] = {
    "number": {"type": "number"}, "string": {"type": "string"}, "boolean": {"type": "boolean"},
    "integer": {"type": "integer"}, "int-or-string": {"x-kubernetes-int-or-string": True},
    "duration": {"type": "string", "format": "duration"}, "date": {"type": "string", "format": "date"},
    "date-time": {"type": "string", "format": "date-time"},
}


def with_max(schema: dict[str, Any], key: str, bound: int | None) -> dict[str, Any]:
    return schema if bound is None else {**schema, key: bound}


def arr(kind: str) -> Generator:
    return lambda bound: with_max({"type": "array", "items": PRIM[kind]}, "maxItems", bound)


def mp(kind: str) -> Generator:
    return lambda bound: with_max({"type": "object", "additionalProperties": PRIM[kind]}, "maxProperties", bound)


def st(bound: int | None) -> dict[str, Any]:
    return with_max({"type": "string"}, "maxLength", bound)


def by(bound: int | None) -> dict[str, Any]:
    return with_max({"type": "string", "format": "byte"}, "maxLength", bound)


def arrarr(kind: str) -> Generator:
    return lambda bound: with_max({"type": "array", "items": {"type": "array", "items": PRIM[kind]}}, "maxItems", bound)


def maparr(kind: str) -> Generator:
    items = {"type": "object", "additionalProperties": PRIM[kind]}
    return lambda bound: with_max({"type": "array", "items": items}, "maxItems", bound)


def enum(*values: str) -> Generator:
    return lambda bound: with_max({"type": "string", "enum": list(values)}, "maxLength", bound)


def strlist(bound: int | None) -> dict[str, Any]:
    return with_max({"type": "array", "items": st(bound)}, "maxItems", bound)


def replace_obj(bound: int | None) -> dict[str, Any]:
    return {"type": "object", "properties": {"str": st(bound), "before": st(2), "after": st(4)}}


def split_obj(bound: int | None) -> dict[str, Any]:
    return {"type": "object", "properties": {"str": st(bound), "separator": st(bound)}}


CASES: list[tuple[str, Generator, str, int | None, int, int]] = [
 ("number array all", arr("number"), "self.all(x, true)", 4718591, 10, 32),
 ("string array all", arr("string"), "self.all(x, true)", 3145727, 20, 62),
 ("boolean array all", arr("boolean"), "self.all(x, true)", 1887437, 5, 17),
 ("array of number arrays", arrarr("number"), "self.all(x, true)", 3145727, 100, 302),
 ("map of numbers all", mp("number"), "self.all(x, true)", 1348169, 10, 32),
 ("map of numbers has", mp("number"), "has(self.x)", 1, 100, 1),
 ("map of strings all", mp("string"), "self.all(x, true)", 1179647, 3, 11),
 ("map of booleans all", mp("boolean"), "self.all(x, true)", 943718, 100, 302),
 ("string contains", st, "self.contains('test')", 314574, 10, 5),
 ("string startsWith", st, "self.startsWith('test')", 2, 15, 2),
 ("string endsWith", st, "self.endsWith('test')", 2, 30, 2),
 ("concat string", st, 'size(self + "hello") > size("hello")', 314578, 4, 7),
 ("index number array", arr("number"), "self[1] == 0.0", 2, 5000, 2),
 ("index string array", arr("string"), "self[1] == self[1]", 314577, 8, 314577),
 ("O(n^2)", arr("number"), "self.all(x, self.all(y, true))", None, 10, 352),
 ("O(n^3)", arr("number"), "self.all(x, self.all(y, self.all(z, true)))", None, 10, 3552),
 ("regex simple", st, 'self.matches("x")', 314574, 50, 22),
 ("regex empty string", st, '"".matches("(((((((((())))))))))[0-9]")', 7, 10, 7),
 ("regex empty regex", st, 'self.matches("")', 1, 100, 1),
 ("array maxLength zero", arr("number"), "self[3] == 0.0", 2, 0, 2),
 ("map maxLength zero", mp("number"), 'self["x"] == 0.0', 2, 0, 2),
 ("string maxLength zero", st, 'self == "x"', 2, 0, 1),
 ("bytes maxLength zero", by, 'self == b"x"', 2, 0, 1),
 ("big maxItems", arr("number"), "self.all(x, x == 0.0)", 6291454, 3 * 1024 * 2048, 25165826),
 ("int-or-string array all", arr("int-or-string"), "self.all(x, true)", 4718591, 10, 32),
 ("index int-or-string array", arr("int-or-string"), "self[0] == 5", 3, 10, 3),
 ("index boolean array", arr("boolean"), "self[0] == false", 2, 25, 2),
 ("index array of arrays", arrarr("number"), "self[0][0] == -1.0", 3, 51, 3),
 ("array of number maps all", maparr("number"), "self.all(x, x.y == 25.2)", 6291452, 12, 74),
 ("index array of number maps", maparr("number"), "self[0].x > 2.0", 4, 3000, 4),
 ("duration array all", arr("duration"), "self.all(x, true)", 2359295, 5, 17),
 ("index duration array", arr("duration"), "self[0].getHours() == 2", 4, 525, 4),
 ("date array all", arr("date"), "self.all(x, true)", 725936, 15, 47),
 ("index date array", arr("date"), "self[2].getDayOfMonth() == 13", 4, 42, 4),
 ("date-time array all", arr("date-time"), "self.all(x, true)", 428963, 25, 77),
 ("index date-time array", arr("date-time"), "self[2].getMinutes() == 45", 4, 99, 4),
 ("map int-or-string all", mp("int-or-string"), "self.all(x, true)", 1348169, 15, 47),
 ("map durations all", mp("duration"), "self.all(x, true)", 1048577, 5, 17),
 ("map dates all", mp("date"), "self.all(x, true)", 524288, 10, 32),
 ("map date-times all", mp("date-time"), "self.all(x, true)", 349526, 25, 77),
 ("find", st, "self.find('[0-9]+') == ''", 629147, 10, 11),
 ("join", strlist, "self.join(' ') == 'aa bb'", 329853068905, 10, 43),
 ("isSorted", strlist, "self.isSorted() == true", 329854432052, 10, 52),
 ("replace", replace_obj, "self.str.replace(self.before, self.after) == 'does not matter'", 629154, 4, 12),
 ("split", split_obj, "self.str.split(self.separator) == []", 629160, 10, 22),
 ("lowerAscii", st, "self.lowerAscii() == 'lower!'", 314575, 10, 6),
 ("size call", mp("integer"), "oldSelf.size() == self.size()", 5, 10, 5),
 ("timestamp comparison", mp("date-time"), 'self["a"] == self["b"]', 8, 7, 8),
 ("duration comparison", mp("duration"), 'self["c"] == self["d"]', 8, 42, 8),
 ("enum", enum("A", "B", "C", "LongValue"), "self.contains('A')", 2, 1000, 401),
]


@pytest.mark.parametrize(("generator", "rule", "unbounded", "bound", "bounded"), [case[1:] for case in CASES],
                         ids=[case[0] for case in CASES])


def test_estimated_cost(generator: Generator, rule: str, unbounded: int | None, bound: int, bounded: int) -> None:
    for maximum, expected in ((None, unbounded), (bound, bounded)):
        self_type = schema_type(generator(maximum))
        program = compile_expression(rule, {"self": self_type, "oldSelf": self_type})
        if expected is None:
            assert program.estimated_cost is not None and program.estimated_cost > 100_000_000
        else:
            assert program.estimated_cost == expected


def vals(*schemas: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": {f"val{index}": schema for index, schema in enumerate(schemas, 1)}}


INTEGERS = vals(*[PRIM["integer"]] * 6)
NUMBERS = vals(*[PRIM["number"]] * 7)
STRINGS = vals(PRIM["string"], PRIM["string"])
BYTES = vals(by(None), by(None))
DURATIONS = vals(PRIM["duration"], PRIM["duration"])
CONVERSIONS = vals(PRIM["integer"], PRIM["number"], PRIM["number"], PRIM["number"], PRIM["boolean"], PRIM["string"],
                   by(None), PRIM["string"], PRIM["duration"], PRIM["string"], PRIM["date-time"], PRIM["string"],
                   PRIM["date"])
INT_LISTS = vals(arr("integer")(None), arr("integer")(None))
STRING_SETS = vals({**arr("string")(None), "x-kubernetes-list-type": "set"},
                   {**arr("string")(None), "x-kubernetes-list-type": "set"})
LIST_OF_LIST_MAPS = {"type": "object", "properties": {"objs": {"type": "array", "items": {
    "type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["k"],
    "items": {"type": "object", "properties": {"k": PRIM["string"], "v": PRIM["string"]}}}}}}
ENUMS = {"type": "object", "properties": {"enumStr": {"type": "string", "enum": [
    "Pending", "Available", "Bound", "Released", "Failed"]}}}

# apiextensions-apiserver's TestCelEstimatedCostStability.
STABILITY: list[tuple[dict[str, Any], str, int]] = [
    (INTEGERS, "self.val1 == self.val6", 4), (INTEGERS, "type(self.val1) == int", 4),
    (INTEGERS, "self.val3 + 1 == 2147483647 + 1", 5), (NUMBERS, "self.val7 == 1.0", 2),
    (NUMBERS, "double(self.val1) < self.val4", 6), (NUMBERS, "double(5) < 10.0", 2),
    (STRINGS, "self.val1.startsWith('Rook')", 3), (STRINGS, "self.val1.matches('^[^0-9]*$')", 943721),
    (STRINGS, "!self.val1.matches('^[0-9]*$')", 629149), (STRINGS, "self.val1.charAt(3) == 'k'", 4),
    (STRINGS, "self.val1.indexOf('o') == 1", 314576), (STRINGS, "self.val1.split(' ', 2) == ['Rook', 'takes']", 629159),
    (STRINGS, "self.val1.substring(4, 10).trim() == 'takes'", 629149),
    (STRINGS, "self.val1.lowerAscii() == self.val1.lowerAscii()", 943723), (STRINGS, "size(self.val1) == 12", 4),
    (BYTES, "self.val1 == self.val2", 314577), (BYTES, "self.val1 == b'AB'", 3),
    (DURATIONS, "self.val1 == duration('1h2m') + duration('3s4ms')", 6), (ENUMS, "self.enumStr == 'Pending'", 3),
    (ENUMS, "self.enumStr in ['Pending', 'Available']", 14),
    (CONVERSIONS, "int(self.val2) == self.val1", 5), (CONVERSIONS, "bytes(self.val6) == self.val7", 629150),
    (CONVERSIONS, "string(self.val1) == self.val6", 314578), (CONVERSIONS, "string(self.val7) == self.val6", 629150),
    (CONVERSIONS, "duration(self.val8) == self.val9", 6), (CONVERSIONS, "string(self.val13) == self.val12", 314578),
    (INT_LISTS, "1 in self.val1", 1572865), (INT_LISTS, "self.val2[0] in self.val1", 1572868),
    (INT_LISTS, "self.val1 + self.val2 == [1, 2, 3, 1, 2, 3]", 16), (INT_LISTS, "has(self.val1)", 1),
    (INT_LISTS, "!has(self.val1)", 2), (INT_LISTS, "self.val1.all(k, size(self.val1) > 0)", 11010044),
    (INT_LISTS, "self.val1.exists_one(k, self.val1 == [2])", 23592949),
    (INT_LISTS, "size(self.val1.filter(k, size(self.val1) > 1)) == 1", 26738686),
    (STRING_SETS, "self.val1 == self.val2", 104862), (STRING_SETS, "'a' in self.val1", 1048577),
    (STRING_SETS, "self.val1.all(k, size(self.val1) > 0)", 7340028),
    (LIST_OF_LIST_MAPS, "self.objs[0] == self.objs[1]", 104864),
    (LIST_OF_LIST_MAPS, "self.objs[2] + [self.objs[0][0], self.objs[0][1]] == self.objs[0]", 104883),
    (LIST_OF_LIST_MAPS, "size(self.objs[0]) == 2", 5),
]


@pytest.mark.parametrize(("schema", "rule", "cost"), STABILITY, ids=[case[1] for case in STABILITY])
def test_estimated_cost_is_stable(schema: dict[str, Any], rule: str, cost: int) -> None:
    assert compile_expression(rule, {"self": schema_type(schema)}).estimated_cost == cost
