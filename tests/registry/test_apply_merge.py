"""The typed operations under server-side apply: merge, compare, remove_items and named-field membership."""
from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

import pytest

from apiserver.registry.apply import apply
from apiserver.registry.fieldmerge import (
    compare,
    drop_new_nulls,
    ensure_named_fields_are_members,
    json_equal,
    merge,
    remove_items,
)
from apiserver.registry.fieldpaths import key_element, path_string, value_element
from apiserver.registry.fieldsets import FieldSet, field_path, from_paths
from tests.meta.test_patch_fixtures import SCALAR, FakeSchema, array, mapping, obj

ITEM = obj("name", "value", "extra", nested=obj("a", "b"))
SCHEMA = obj(
    "scalar",
    keyed=array(ITEM, list_type="map", map_keys=("name",)),
    tags=array(SCALAR, list_type="set"),
    args=array(),
    labels=mapping(),
    struct=obj("a", "b"),
    frozen=FakeSchema(properties={"a": SCALAR, "b": SCALAR}, map_type="atomic"),
)


def items(*names: str, **extra: Any) -> list[dict[str, Any]]:
    return [{"name": name, **extra} for name in names]


@pytest.mark.parametrize(
    ("live", "config", "expected"),
    [
        ({"keyed": items("a", "b")}, {"keyed": items("c", "a")}, {"keyed": items("c", "a", "b")}),
        ({"keyed": items("a", "b", "c")}, {"keyed": items("c", "b")}, {"keyed": items("a", "c", "b")}),
        ({"keyed": items("a", "x", "b")}, {"keyed": items("b", "a")}, {"keyed": items("x", "b", "a")}),
        ({"keyed": [{"name": "a", "value": 1, "extra": 2}]}, {"keyed": [{"name": "a", "value": 3}]},
         {"keyed": [{"name": "a", "value": 3, "extra": 2}]}),
        ({"tags": ["a", "b"]}, {"tags": ["c", "a"]}, {"tags": ["c", "a", "b"]}),
        ({"args": ["a", "b"]}, {"args": ["c"]}, {"args": ["c"]}),
        ({"labels": {"a": "1"}}, {"labels": {"b": "2"}}, {"labels": {"a": "1", "b": "2"}}),
        ({"frozen": {"a": 1, "b": 2}}, {"frozen": {"a": 3}}, {"frozen": {"a": 3}}),
        ({"struct": {"a": 1}}, {"struct": None}, {"struct": {"a": 1}}),
        ({"scalar": 1}, {"scalar": None}, {"scalar": None}),
        ({"labels": {}}, {"labels": {}}, {"labels": {}}),
        ({"keyed": [{"name": "a", "value": 1}, {"name": "a", "value": 2}]}, {"keyed": [{"name": "a", "value": 3}]},
         {"keyed": [{"name": "a", "value": 3}]}),
    ],
    ids=["new-item-before-shared", "shared-follow-config-order", "live-only-keeps-its-place", "item-fields-merge",
         "set-union", "atomic-replaced", "map-merge", "atomic-map-replaced", "null-keeps-granular-struct",
         "null-replaces-scalar", "empty-stays-empty", "live-duplicates-collapse"],
)
def test_merge(live: dict[str, Any], config: dict[str, Any], expected: dict[str, Any]) -> None:
    assert merge(live, config, SCHEMA) == expected


def paths(fields: FieldSet) -> list[str]:
    return [path_string(path) for path in fields.paths()]


def test_compare_counts_containers_with_their_fields() -> None:
    old = {"scalar": 1, "keyed": items("a", value=1), "labels": {"x": "1"}, "args": ["a"]}
    new = {"scalar": 2, "keyed": [*items("a", value=2), *items("b")], "struct": {"a": 1}, "args": ["a"]}
    comparison = compare(old, new, SCHEMA)
    # Set order: the members of a level first, then each child's paths.
    assert paths(comparison.added) == [".struct", '.keyed[name="b"]', '.keyed[name="b"].name', ".struct.a"]
    assert paths(comparison.modified) == [".scalar", '.keyed[name="a"].value']
    assert paths(comparison.removed) == [".labels", ".labels.x"]


def test_compare_treats_atomic_and_empty_containers_as_leaves() -> None:
    comparison = compare({"args": ["a"], "labels": {}}, {"args": ["b"], "labels": None}, SCHEMA)
    assert (paths(comparison.added), paths(comparison.modified), paths(comparison.removed)) == (
        [], [".args", ".labels"], [])


def test_comparison_excluding_ignored_fields() -> None:
    comparison = compare({}, {"struct": {"a": 1}, "scalar": 1}, SCHEMA).excluding(from_paths(field_path("struct")))
    assert paths(comparison.added) == [".scalar"]


def test_remove_items_removes_entries_items_and_emptied_containers() -> None:
    value = {"keyed": items("a", "b"), "tags": ["x", "y"], "labels": {"only": "1"}, "struct": {"a": 1, "b": 2},
             "args": ["z"]}
    to_remove = from_paths(
        (*field_path("keyed"), key_element({"name": "a"})),
        (*field_path("tags"), value_element("y")),
        field_path("labels", "only"),
        field_path("struct", "a"),
        field_path("args"),
    )
    assert remove_items(value, to_remove, SCHEMA) == {"keyed": items("b"), "tags": ["x"], "struct": {"b": 2}}
    assert value["labels"] == {"only": "1"}


def test_named_struct_fields_become_members_but_map_entries_do_not() -> None:
    fields = from_paths(field_path("struct", "a"), field_path("labels", "x"),
                        (*field_path("keyed"), key_element({"name": "a"}), *field_path("nested", "a")))
    ensured = ensure_named_fields_are_members(fields, SCHEMA)
    assert paths(ensured) == [
        ".keyed", ".labels", ".struct", '.keyed[name="a"].nested', '.keyed[name="a"].nested.a', ".labels.x",
        ".struct.a"]
    assert ensure_named_fields_are_members(fields, None) == fields


def test_json_equality_is_upstreams() -> None:
    assert json_equal({"a": [1, {"b": 1.0}]}, {"a": [1.0, {"b": 1}]})
    assert not json_equal(True, 1)
    assert not json_equal([1, 2], [2, 1])


def test_new_nulls_are_dropped_and_stored_ones_kept() -> None:
    live = {"metadata": {"creationTimestamp": None}}
    merged = {"metadata": {"creationTimestamp": None, "x": None}, "y": None, "z": [{"q": None}]}
    assert drop_new_nulls(merged, live) == {"metadata": {"creationTimestamp": None}, "z": [{}]}


# --- laws, over seeded random configurations --------------------------------------------------------------------

KIND_SCHEMA = obj("apiVersion", "kind", metadata=obj("name", "uid", labels=mapping()), spec=SCHEMA)


def random_config(rng: random.Random) -> dict[str, Any]:
    """A configuration of KIND_SCHEMA without nulls or empty containers (which an apply does not keep)."""
    candidates: dict[str, Any] = {
        "scalar": rng.randint(0, 3),
        "keyed": [{"name": name, "value": rng.randint(0, 2), **({"nested": {"a": 1}} if rng.random() < 0.3 else {})}
                  for name in rng.sample("abcde", rng.randint(1, 4))],
        "tags": rng.sample(["t1", "t2", "t3", "t4"], rng.randint(1, 3)),
        "args": [rng.choice("xyz") for _ in range(rng.randint(1, 3))],
        "labels": {key: "v" for key in rng.sample("pqr", rng.randint(1, 2))},
        "struct": {key: rng.randint(0, 1) for key in rng.sample("ab", rng.randint(1, 2))},
        "frozen": {key: rng.randint(0, 1) for key in rng.sample("ab", rng.randint(1, 2))},
    }
    spec = {key: value for key, value in candidates.items() if rng.random() < 0.6}
    return {"apiVersion": "example.com/v1", "kind": "Thing", "metadata": {"name": "t"}, "spec": spec}


def apply_thing(live: dict[str, Any] | None, config: dict[str, Any], manager: str = "only") -> Any:
    return apply(live, config, manager, force=False, schema=KIND_SCHEMA, api_version="example.com/v1", kind="Thing",
                 now=datetime(2024, 5, 1, tzinfo=UTC))


def without_bookkeeping(obj: dict[str, Any]) -> dict[str, Any]:
    metadata = {key: value for key, value in obj["metadata"].items() if key not in ("managedFields", "uid")}
    return {**obj, "metadata": metadata}


@pytest.mark.parametrize("seed", range(40))
def test_one_manager_applying_gets_exactly_its_configuration_and_a_fixed_point(seed: int) -> None:
    rng = random.Random(seed)
    live = None
    for _ in range(5):
        config = random_config(rng)
        result = apply_thing(live, config)
        assert without_bookkeeping(result.obj) == config
        live = {**result.obj, "metadata": {**result.obj["metadata"], "uid": "u"}}
        again = apply_thing(live, config)
        assert again.changed is False and again.obj is live


def second_config(rng: random.Random, first: dict[str, Any]) -> dict[str, Any]:
    """Some of `first`'s fields with their values (shared ownership), plus fields of its own (new names)."""
    spec = {key: value for key, value in first["spec"].items() if rng.random() < 0.5}
    spec["labels"] = {**spec.get("labels", {}), "own": "v"}
    spec["keyed"] = [*spec.get("keyed", []), {"name": "own", "value": rng.randint(0, 2)}]
    spec["tags"] = [*spec.get("tags", []), "own"]
    return {**first, "spec": spec}


@pytest.mark.parametrize("seed", range(40))
def test_a_second_manager_sharing_values_never_takes_the_first_managers_fields(seed: int) -> None:
    rng = random.Random(1000 + seed)
    first_config = random_config(rng)
    first = apply_thing(None, first_config, "first").obj
    second = apply_thing({**first, "metadata": {**first["metadata"], "uid": "u"}},
                         second_config(rng, first_config), "second").obj
    after = apply_thing({**second, "metadata": {**second["metadata"], "uid": "u"}}, {
        "apiVersion": "example.com/v1", "kind": "Thing", "metadata": {"name": "t"}}, "second").obj
    assert without_bookkeeping(after) == first_config


def _slow_compare(new: Any, schema: Any) -> tuple[FieldSet, FieldSet, FieldSet]:
    from apiserver.registry.fieldmerge import _Comparer
    from apiserver.registry.fieldtypes import effective

    comparer = _Comparer()
    comparer.walk(None, new, effective(schema), ())
    return comparer.added.build(), comparer.modified.build(), comparer.removed.build()


@pytest.mark.parametrize("new", [
    {"scalar": 1, "keyed": items("a", "b", extra={"x": 1}), "tags": ["t1", "t2"], "args": ["z"],
     "labels": {"k": "v", "e": ""}, "struct": {"a": None, "b": {}}, "frozen": {"a": 1}},
    {"keyed": [], "labels": {}, "struct": {}, "tags": None, "unknown": {"deep": [1, 2]}},
    {"scalar": None},
])
def test_a_create_compares_as_the_full_walk_does(new: dict[str, Any]) -> None:
    """compare(None, new) takes a shortcut for creates; it must find exactly what the full comparison finds."""
    comparison = compare(None, new, SCHEMA)
    assert (comparison.added, comparison.modified, comparison.removed) == _slow_compare(new, SCHEMA)
