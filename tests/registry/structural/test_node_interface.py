"""The structural node tree under the generic code: strict field validation and server-side apply."""
from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from apiserver.meta.errors import ApiError, BadRequest
from apiserver.registry.apply import apply
from apiserver.registry.schema_validation import STRICT, WARN, check_field_validation
from apiserver.registry.structural import StructuralSchema

SCHEMA = StructuralSchema.from_openapi({
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "properties": {
                "replicas": {"type": "integer"},
                "ports": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                          "items": {"type": "object", "required": ["name"], "properties": {
                              "name": {"type": "string"}, "port": {"type": "integer"}}}},
                "tags": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
                "args": {"type": "array", "items": {"type": "string"}},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "selector": {"type": "object", "x-kubernetes-map-type": "atomic", "properties": {
                    "app": {"type": "string"}, "tier": {"type": "string"}}},
                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            },
        },
    },
})


def _body(spec: Any, **metadata: Any) -> dict[str, Any]:
    return {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", **metadata}, "spec": spec}


def _check(body_text: str, directive: str) -> tuple[dict[str, Any], list[str]]:
    obj = json.loads(body_text)
    warnings = check_field_validation(body_text.encode(), "application/json", obj, SCHEMA.node, directive)
    return obj, warnings


def test_strict_field_validation_names_unknown_and_duplicate_fields() -> None:
    text = '{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w","bogus":1},' \
           '"spec":{"replicas":1,"replicas":2,"ports":[{"name":"a","nope":1}],"free":{"any":1}}}'
    with pytest.raises(BadRequest) as raised:
        _check(text, STRICT)
    assert raised.value.message == (
        'Widget in version "v1" cannot be handled as a Widget: strict decoding error: unknown field '
        '"metadata.bogus", duplicate field "spec.replicas", unknown field "spec.ports[0].nope"')


def test_warn_prunes_and_wrong_types_are_left_to_validation() -> None:
    text = json.dumps(_body({"replicas": "two", "ports": {"not": "a list"}, "extra": True}))
    obj, warnings = _check(text, WARN)
    assert warnings == ['unknown field "spec.extra"']
    assert obj["spec"] == {"replicas": "two", "ports": {"not": "a list"}}
    assert [error.field for error in SCHEMA.validate(obj)] == ["spec.replicas", "spec.ports"]


def _apply(live: dict[str, Any] | None, config: dict[str, Any], manager: str, *, force: bool = False) -> Any:
    return apply(live, config, manager, force=force, schema=SCHEMA.node, api_version="example.com/v1",
                 kind="Widget", now=datetime(2024, 1, 1, tzinfo=UTC))


def test_server_side_apply_merges_list_maps_and_sets_by_their_keys() -> None:
    first = _apply(None, _body({"ports": [{"name": "a", "port": 1}], "tags": ["x"], "labels": {"a": "1"}}), "one")
    second = _apply(first.obj, _body({"ports": [{"name": "b", "port": 2}], "tags": ["y"],
                                        "labels": {"b": "2"}}), "two")
    spec = second.obj["spec"]
    assert spec["ports"] == [{"name": "a", "port": 1}, {"name": "b", "port": 2}]
    assert spec["tags"] == ["x", "y"]
    assert spec["labels"] == {"a": "1", "b": "2"}


def test_server_side_apply_replaces_atomic_lists_and_maps_and_reports_conflicts() -> None:
    first = _apply(None, _body({"args": ["a", "b"], "selector": {"app": "x", "tier": "y"}}), "one")
    with pytest.raises(ApiError) as raised:
        _apply(first.obj, _body({"args": ["c"]}), "two")
    assert raised.value.code == 409
    assert 'conflict with "one"' in raised.value.message and ".spec.args" in raised.value.message
    forced = _apply(first.obj, _body({"args": ["c"], "selector": {"app": "z"}}), "two", force=True)
    assert forced.obj["spec"]["args"] == ["c"]
    assert forced.obj["spec"]["selector"] == {"app": "z"}


def test_server_side_apply_rejects_list_map_items_without_their_key() -> None:
    with pytest.raises(ApiError) as raised:
        _apply(None, _body({"ports": [{"port": 1}]}), "one")
    assert raised.value.code == 500
    assert raised.value.message.endswith(
        '.spec.ports: element 0: associative list with keys has an element that omits key field "name" '
        "(and doesn't have default value)")


def test_metadata_type_errors_come_from_the_object_meta_round_trip() -> None:
    text = json.dumps(_body({"replicas": 1}, labels="oops"))
    obj, warnings = _check(text, STRICT)
    assert warnings == []
    assert SCHEMA.decode_error(obj) == (
        "json: cannot unmarshal string into Go struct field ObjectMeta.labels of type map[string]string")
    assert SCHEMA.decode_error(_body({}, labels={"a": "b"})) is None
