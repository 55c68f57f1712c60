"""JSON patch (RFC 6902) with kube-apiserver's bounds, and JSON merge patch (RFC 7386) as evanphx/json-patch."""
from __future__ import annotations

import copy
from typing import Any

import pytest

from apiserver.meta.errors import ApiError
from apiserver.meta.patch import MAX_JSON_PATCH_COPY_BYTES, MAX_JSON_PATCH_OPERATIONS, json_patch, merge_patch

CONFIG_MAP = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "labels": {"a": "1"}},
              "data": {"k": "v"}}
REJECTED = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "the server rejected our request due to an error in our request", "reason": "Invalid",
            "details": {}, "code": 422}


@pytest.mark.parametrize(
    ("operations", "expected"),
    [
        ([{"op": "add", "path": "/metadata/labels/b", "value": "2"}],
         {**CONFIG_MAP, "metadata": {"name": "c", "labels": {"a": "1", "b": "2"}}}),
        ([{"op": "remove", "path": "/data/k"}], {**CONFIG_MAP, "data": {}}),
        ([{"op": "replace", "path": "/data/k", "value": "w"}], {**CONFIG_MAP, "data": {"k": "w"}}),
        ([{"op": "test", "path": "/data/k", "value": "v"}, {"op": "copy", "from": "/data/k", "path": "/data/x"}],
         {**CONFIG_MAP, "data": {"k": "v", "x": "v"}}),
        ([{"op": "move", "from": "/data/k", "path": "/data/m"}], {**CONFIG_MAP, "data": {"m": "v"}}),
        ([], CONFIG_MAP),
    ],
    ids=["add", "remove", "replace", "test-then-copy", "move", "empty"],
)
def test_json_patch_applies_operations_in_order(operations: list[dict[str, Any]], expected: dict[str, Any]) -> None:
    before = copy.deepcopy(CONFIG_MAP)
    assert json_patch(CONFIG_MAP, operations) == expected
    assert before == CONFIG_MAP


@pytest.mark.parametrize(
    "operations",
    [
        [{"op": "remove", "path": "/metadata/labels/x"}],
        [{"op": "replace", "path": "/data/missing", "value": "w"}],
        [{"op": "test", "path": "/data/k", "value": "other"}],
        [{"op": "add", "path": "/no/such/parent", "value": 1}],
        [{"op": "frobnicate", "path": "/data"}],
        [{"path": "/data"}],
    ],
    ids=["remove-missing", "replace-missing", "failed-test", "missing-parent", "unknown-op", "no-op"],
)
def test_json_patch_that_does_not_apply_is_the_generic_422(operations: list[dict[str, Any]]) -> None:
    with pytest.raises(ApiError) as raised:
        json_patch(CONFIG_MAP, operations)
    assert raised.value.to_status() == REJECTED


def test_json_patch_with_too_many_operations_is_413() -> None:
    operations = [{"op": "test", "path": "/kind", "value": "ConfigMap"}] * (MAX_JSON_PATCH_OPERATIONS + 1)
    with pytest.raises(ApiError) as raised:
        json_patch(CONFIG_MAP, operations)
    assert raised.value.to_status() == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": "Request entity too large: The allowed maximum operations in a JSON patch is 10000, got 10001",
        "reason": "RequestEntityTooLarge", "code": 413,
    }


def test_json_patch_at_the_operation_limit_applies() -> None:
    operations = [{"op": "test", "path": "/kind", "value": "ConfigMap"}] * MAX_JSON_PATCH_OPERATIONS
    assert json_patch(CONFIG_MAP, operations) == CONFIG_MAP


def test_json_patch_copies_are_bounded_in_total() -> None:
    blob = "x" * (MAX_JSON_PATCH_COPY_BYTES // 4)
    document = {**CONFIG_MAP, "data": {"blob": blob}}
    copies = [{"op": "copy", "from": "/data/blob", "path": f"/data/c{i}"} for i in range(3)]
    assert len(json_patch(document, copies)["data"]) == 4
    with pytest.raises(ApiError) as raised:
        json_patch(document, [*copies, {"op": "copy", "from": "/data/blob", "path": "/data/c3"}])
    assert raised.value.to_status() == REJECTED


@pytest.mark.parametrize(
    ("original", "patch", "expected"),
    [
        ({"a": 1, "b": {"c": 2}}, {"b": {"c": None, "d": 3}}, {"a": 1, "b": {"d": 3}}),
        ({"a": 1}, {"a": None, "z": None}, {}),
        ({"a": {"b": 1}}, {"a": [1, {"x": None}]}, {"a": [1, {"x": None}]}),
        ({"a": 1}, {"a": {"b": None, "c": {"d": None}}}, {"a": {"c": {}}}),
        ({"a": None}, {"a": {"b": None, "c": 1}}, {"a": {"c": 1}}),
        ({"a": [1, 2]}, {"a": [3]}, {"a": [3]}),
        ({"a": 1}, [{"b": None, "c": 1}, None], [{"c": 1}, None]),
    ],
    ids=["nested-merge", "null-deletes", "array-replacing-object-taken-verbatim", "new-object-pruned",
         "null-original-replaced", "arrays-replace", "array-patch-replaces-document"],
)
def test_merge_patch(original: dict[str, Any], patch: Any, expected: Any) -> None:
    before = copy.deepcopy(original)
    assert merge_patch(original, patch) == expected
    assert before == original


@pytest.mark.parametrize("patch", ["text", 1, None, True], ids=["string", "number", "null", "bool"])
def test_merge_patch_that_is_not_an_object_is_400(patch: Any) -> None:
    with pytest.raises(ApiError) as raised:
        merge_patch({"a": 1}, patch)
    assert raised.value.to_status() == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                        "message": "Invalid JSON Patch", "reason": "BadRequest", "code": 400}
