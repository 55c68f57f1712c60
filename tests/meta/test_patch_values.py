"""Go's view of decoded JSON that the patch algorithms depend on: `%v` text, type-strict equality, sort order."""
from __future__ import annotations

import random
from typing import Any

import pytest

from apiserver.meta.patch_order import go_stable_sort
from apiserver.meta.patch_values import (
    dedupe_scalars,
    deep_equal,
    format_float,
    format_s,
    format_v,
    sort_maps_by_field,
    sort_scalars,
)


@pytest.mark.parametrize(
    ("number", "text"),
    [(1.0, "1"), (1.5, "1.5"), (100000.0, "100000"), (1e6, "1e+06"), (1234567.0, "1.234567e+06"),
     (0.0001, "0.0001"), (0.00001, "1e-05"), (-2.5, "-2.5"), (1e21, "1e+21"), (0.0, "0"), (-0.0, "-0")],
    ids=lambda value: str(value),
)
def test_format_float_is_go_percent_v(number: float, text: str) -> None:
    assert format_float(number) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ({"b": [1, 2.5, None, True], "a": "x"}, "map[a:x b:[1 2.5 <nil> true]]"),
        ([], "[]"),
        ({}, "map[]"),
        (None, "<nil>"),
        (False, "false"),
    ],
    ids=["nested", "empty-list", "empty-map", "null", "bool"],
)
def test_format_v(value: Any, text: str) -> None:
    assert format_v(value) == text


def test_format_s_marks_non_strings_as_go_does() -> None:
    assert [format_s(value) for value in ("merge", 1, 2.5, True, None)] == [
        "merge", "%!s(int64=1)", "%!s(float64=2.5)", "%!s(bool=true)", "%!s(<nil>)"
    ]


@pytest.mark.parametrize(
    ("left", "right", "equal"),
    [(1, 1.0, False), (True, 1, False), ({"a": [1]}, {"a": [1]}, True), ({"a": 1}, {"a": 1, "b": None}, False),
     (None, None, True), ("1", 1, False)],
    ids=["int-float", "bool-int", "nested", "extra-key", "nulls", "string-int"],
)
def test_deep_equal_compares_go_types(left: Any, right: Any, equal: bool) -> None:
    assert deep_equal(left, right) is equal


def test_scalars_sort_by_their_text_with_ties_reversed() -> None:
    values: list[Any] = ["b", 10, 9, "1", 1, "a"]
    sort_scalars(values)
    assert values == [1, "1", 10, 9, "a", "b"]


def test_maps_sort_by_merge_key_text_with_missing_keys_as_nil() -> None:
    maps = [{"port": 8080}, {"name": "x"}, {"port": 443}, {"port": 80}]
    assert sort_maps_by_field(maps, "port") == [{"port": 443}, {"port": 80}, {"port": 8080}, {"name": "x"}]


def test_dedupe_moves_the_last_item_into_each_hole() -> None:
    assert dedupe_scalars(["a", "b", "a", "c", "d"]) == ["a", "b", "d", "c"]


@pytest.mark.parametrize("seed", range(20))
def test_go_stable_sort_matches_a_stable_sort_for_a_strict_order(seed: int) -> None:
    generator = random.Random(seed)
    items = [(generator.randint(0, 9), position) for position in range(generator.randint(0, 70))]
    assert go_stable_sort(list(items), lambda a, b: a[0] < b[0]) == sorted(items, key=lambda item: item[0])
