"""String and list extensions: cel-go's ext.Strings (version 2), Kubernetes' lists, regex and sets libraries."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from apiserver.cel.errors import EvaluationError
from apiserver.cel.overloads import Library, Overload, add, overload
from apiserver.cel.regexes import compile_regex
from apiserver.cel.stdlib import add_values
from apiserver.cel.timevalues import Duration
from apiserver.cel.types import (
    BOOL,
    BYTES,
    DOUBLE,
    DURATION,
    INT,
    STRING,
    TIMESTAMP,
    UINT,
    CelType,
    list_of,
    type_param,
)
from apiserver.cel.values import UInt, compare, equal

A: Final = type_param("A")
LIST_A: Final = list_of(A)
LIST_STRING: Final = list_of(STRING)


def _method(name: str, params: tuple[CelType, ...], result: CelType, impl: Callable[..., Any]) -> Overload:
    return overload(name, params, result, impl, member=True)


def _linear(name: str, params: tuple[CelType, ...], result: CelType, impl: Callable[..., Any]) -> Overload:
    return overload(name, params, result, impl, member=True)


def _char_at(text: str, index: int) -> str:
    if index < 0 or index > len(text):
        raise EvaluationError(f"index out of range: {index}")
    return text[index:index + 1]


def _index_of(text: str, search: str, start: int = 0) -> int:
    if start < 0 or start > len(text):
        raise EvaluationError(f"index out of range: {start}")
    return text.find(search, start)


def _last_index_of(text: str, search: str, start: int | None = None) -> int:
    if start is None:
        return text.rfind(search)
    if start < 0 or start > len(text):
        raise EvaluationError(f"index out of range: {start}")
    return text.rfind(search, 0, start + len(search))


def _substring(text: str, start: int, end: int | None = None) -> str:
    end = len(text) if end is None else end
    if start < 0 or start > len(text):
        raise EvaluationError(f"index out of range: {start}")
    if end < 0 or end > len(text):
        raise EvaluationError(f"index out of range: {end}")
    if start > end:
        raise EvaluationError(f"invalid substring range. start: {start}, end: {end}")
    return text[start:end]


def _replace(text: str, old: str, new: str, count: int = -1) -> str:
    return text.replace(old, new, count if count >= 0 else -1)


def _split(text: str, separator: str, limit: int = -1) -> list[str]:
    if limit == 0:
        return []
    if separator == "":
        parts = list(text)
        return parts if limit < 0 or limit >= len(parts) else [*parts[:limit - 1], "".join(parts[limit - 1:])]
    return text.split(separator, limit - 1 if limit > 0 else -1)


def _ascii(text: str, upper: bool) -> str:
    table = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    if not upper:
        table = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
    return text.translate(table)


def _quote(text: str) -> str:
    escapes = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v",
               "\\": "\\\\", '"': '\\"'}
    return '"' + "".join(escapes.get(char, char) for char in text) + '"'


def _trim(text: str) -> str:
    return text.strip(" \t\n\v\f\r\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
                      "\u200a\u2028\u2029\u202f\u205f\u3000")


def strings_library(library: Library) -> None:
    add(library, "charAt", _method("string_char_at_int", (STRING, INT), STRING, _char_at))
    add(library, "indexOf",
        _method("string_index_of_string", (STRING, STRING), INT, _index_of),
        _method("string_index_of_string_int", (STRING, STRING, INT), INT, _index_of))
    add(library, "lastIndexOf",
        _method("string_last_index_of_string", (STRING, STRING), INT, _last_index_of),
        _method("string_last_index_of_string_int", (STRING, STRING, INT), INT, _last_index_of))
    add(library, "lowerAscii", _method("string_lower_ascii", (STRING,), STRING, lambda s: _ascii(s, False)))
    add(library, "upperAscii", _method("string_upper_ascii", (STRING,), STRING, lambda s: _ascii(s, True)))
    add(library, "replace",
        _method("string_replace_string_string", (STRING, STRING, STRING), STRING, _replace),
        _method("string_replace_string_string_int", (STRING, STRING, STRING, INT), STRING, _replace))
    add(library, "split",
        _method("string_split_string", (STRING, STRING), LIST_STRING, _split),
        _method("string_split_string_int", (STRING, STRING, INT), LIST_STRING, _split))
    add(library, "substring",
        _method("string_substring_int", (STRING, INT), STRING, _substring),
        _method("string_substring_int_int", (STRING, INT, INT), STRING, _substring))
    add(library, "trim", _method("string_trim", (STRING,), STRING, _trim))
    add(library, "join",
        overload("list_join", (LIST_STRING,), STRING, lambda items: "".join(items), member=True),
        overload("list_join_string", (LIST_STRING, STRING), STRING, lambda items, sep: sep.join(items),
                 member=True))
    add(library, "strings.quote", overload("strings_quote", (STRING,), STRING, _quote))


def _aggregate(name: str, items: list[Any]) -> Any:
    if not items:
        raise EvaluationError(f"{name} called on empty list")
    best = items[0]
    for item in items[1:]:
        order = compare(item, best)
        if (order < 0 and name == "min") or (order == 1 and name == "max"):
            best = item
    return best


def _sum(items: list[Any], zero: Any) -> Any:
    if not items:
        return zero
    total = items[0]
    for item in items[1:]:
        total = add_values(total, item)
    return total


def _is_sorted(items: list[Any]) -> bool:
    return all(compare(items[index], items[index + 1]) in (-1, 0) for index in range(len(items) - 1))


def _list_index_of(items: list[Any], value: Any) -> int:
    return next((index for index, item in enumerate(items) if equal(item, value)), -1)


def _list_last_index_of(items: list[Any], value: Any) -> int:
    return next((index for index in range(len(items) - 1, -1, -1) if equal(items[index], value)), -1)


def lists_library(library: Library) -> None:
    comparable = (INT, UINT, DOUBLE, BOOL, STRING, BYTES, DURATION, TIMESTAMP)
    add(library, "isSorted", *(_linear(f"list_{t}_is_sorted", (list_of(t),), BOOL, _is_sorted)
                               for t in comparable))
    zeros = {"int": 0, "uint": UInt(0), "double": 0.0, "duration": Duration(0)}
    for summable in (INT, UINT, DOUBLE, DURATION):
        add(library, "sum", _linear(f"list_{summable}_sum", (list_of(summable),), summable,
                                    lambda items, zero=zeros[summable.kind]: _sum(items, zero)))
    for name in ("min", "max"):
        add(library, name, *(_linear(f"list_{t}_{name}", (list_of(t),), t,
                                      lambda items, name=name: _aggregate(name, items))
                             for t in comparable))
    add(library, "indexOf", _linear("list_a_index_of_int", (LIST_A, A), INT, _list_index_of))
    add(library, "lastIndexOf", overload("list_a_last_index_of_int", (LIST_A, A), INT, _list_last_index_of,
                                         member=True))


def _find(text: str, pattern: str) -> str:
    match = compile_regex(pattern).search(text)
    return match.group(0) if match else ""


def _find_all(text: str, pattern: str, limit: int = -1) -> list[str]:
    if limit == 0:
        return []
    matches = [match.group(0) for match in compile_regex(pattern).finditer(text)]
    return matches if limit < 0 else matches[:limit]




def regex_library(library: Library) -> None:
    add(library, "find", overload("string_find_string", (STRING, STRING), STRING, _find, member=True))
    add(library, "findAll",
        overload("string_find_all_string", (STRING, STRING), LIST_STRING, _find_all, member=True),
        overload("string_find_all_string_int", (STRING, STRING, INT), LIST_STRING, _find_all, member=True))




def sets_library(library: Library) -> None:
    def contains(first: list[Any], second: list[Any]) -> bool:
        return all(any(equal(item, candidate) for candidate in first) for item in second)

    def intersects(first: list[Any], second: list[Any]) -> bool:
        return any(any(equal(item, candidate) for candidate in first) for item in second)

    add(library, "sets.contains", overload("list_sets_contains_list", (LIST_A, LIST_A), BOOL, contains))
    add(library, "sets.equivalent", overload("list_sets_equivalent_list", (LIST_A, LIST_A), BOOL,
                                             lambda a, b: contains(a, b) and contains(b, a)))
    add(library, "sets.intersects", overload("list_sets_intersects_list", (LIST_A, LIST_A), BOOL, intersects))
