"""Pruning and structural defaulting of custom resources."""
from __future__ import annotations

import copy
from typing import Any

from apiserver.registry.structural import StructuralSchema

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "properties": {
                "replicas": {"type": "integer", "default": 1},
                "mode": {"type": "string", "default": "fast"},
                "labels": {"type": "object", "additionalProperties": {"type": "string", "default": "x"}},
                "ports": {"type": "array", "items": {"type": "object", "properties": {
                    "port": {"type": "integer"}, "protocol": {"type": "string", "default": "TCP"}}}},
                "options": {"type": "object", "default": {}, "properties": {
                    "retries": {"type": "integer", "default": 3}}},
                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True, "properties": {
                    "typed": {"type": "object", "properties": {"known": {"type": "string"}}}}},
                "nullableName": {"type": "string", "nullable": True},
                "plainName": {"type": "string"},
                "template": {"type": "object", "x-kubernetes-embedded-resource": True, "properties": {
                    "spec": {"type": "object", "properties": {"image": {"type": "string"}}}}},
                "anything": {"type": "object", "x-kubernetes-embedded-resource": True,
                             "x-kubernetes-preserve-unknown-fields": True},
            },
        },
    },
}


def _resource(spec: dict[str, Any], **metadata: Any) -> dict[str, Any]:
    return {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", **metadata}, "spec": spec}


def test_prune_removes_unknown_fields_and_returns_sorted_paths() -> None:
    obj = _resource({"replicas": 2, "zeta": 1, "alpha": {"deep": 1}, "ports": [{"port": 1, "bogus": 2}]}, extra=True)
    obj["status"] = {"ready": True}
    removed = StructuralSchema.from_openapi(SCHEMA).prune(obj)
    assert removed == ["metadata.extra", "spec.alpha", "spec.ports[0].bogus", "spec.zeta", "status"]
    assert obj == _resource({"replicas": 2, "ports": [{"port": 1}]})


def test_prune_keeps_preserved_fields_but_prunes_their_declared_children() -> None:
    obj = _resource({"free": {"kept": {"x": 1}, "typed": {"known": "a", "unknown": "b"}}})
    removed = StructuralSchema.from_openapi(SCHEMA).prune(obj)
    assert removed == ["spec.free.typed.unknown"]
    assert obj["spec"]["free"] == {"kept": {"x": 1}, "typed": {"known": "a"}}


def test_prune_keeps_type_meta_of_embedded_resources_and_prunes_their_metadata() -> None:
    template = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "bogus": 1, "labels": {"a": "b"}},
                "spec": {"image": "nginx", "other": 1}, "extra": 2}
    anything = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"weird": 1}, "data": {"k": "v"}}
    obj = _resource({"template": template, "anything": anything})
    removed = StructuralSchema.from_openapi(SCHEMA).prune(obj)
    assert removed == ["spec.anything.metadata.weird", "spec.template.extra", "spec.template.metadata.bogus",
                       "spec.template.spec.other"]
    assert obj["spec"]["template"] == {"apiVersion": "v1", "kind": "Pod", "metadata": {
        "name": "p", "labels": {"a": "b"}}, "spec": {"image": "nginx"}}
    assert obj["spec"]["anything"] == {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}, "data": {"k": "v"}}


def test_prune_drops_nulls_that_are_neither_nullable_nor_defaulted() -> None:
    obj = _resource({"nullableName": None, "plainName": None, "mode": None})
    StructuralSchema.from_openapi(SCHEMA).prune(obj)
    assert obj["spec"] == {"nullableName": None, "mode": None}


def test_default_fills_absent_fields_where_the_parent_exists() -> None:
    obj = _resource({"ports": [{"port": 80}, {"port": 81, "protocol": "UDP"}], "labels": {"a": None, "b": "c"}})
    StructuralSchema.from_openapi(SCHEMA).default(obj)
    assert obj["spec"] == {
        "replicas": 1, "mode": "fast", "options": {"retries": 3},
        "ports": [{"port": 80, "protocol": "TCP"}, {"port": 81, "protocol": "UDP"}],
        "labels": {"a": "x", "b": "c"},
    }


def test_default_replaces_a_non_nullable_null_and_never_touches_missing_parents() -> None:
    obj: dict[str, Any] = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    schema = StructuralSchema.from_openapi(SCHEMA)
    schema.default(obj)
    assert "spec" not in obj
    obj["spec"] = {"mode": None, "replicas": 5}
    schema.default(obj)
    assert obj["spec"]["mode"] == "fast" and obj["spec"]["replicas"] == 5


def test_defaults_are_deep_copies_and_defaulting_twice_changes_nothing() -> None:
    schema = StructuralSchema.from_openapi(SCHEMA)
    first, second = _resource({}), _resource({})
    schema.default(first)
    schema.default(second)
    first["spec"]["options"]["retries"] = 9
    assert second["spec"]["options"] == {"retries": 3}
    again = copy.deepcopy(second)
    schema.default(again)
    assert again == second
    assert SCHEMA["properties"]["spec"]["properties"]["options"]["default"] == {}


def test_null_items_and_map_values_take_their_default_which_is_then_defaulted() -> None:
    item = {"type": "object", "default": {}, "properties": {"level": {"type": "integer", "default": 2}}}
    schema = StructuralSchema.from_openapi({"type": "object", "properties": {"spec": {"type": "object", "properties": {
        "items": {"type": "array", "items": item},
        "byName": {"type": "object", "additionalProperties": item},
    }}}})
    obj = _resource({"items": [None, {"level": 1}], "byName": {"a": None}})
    schema.default(obj)
    assert obj["spec"] == {"items": [{"level": 2}, {"level": 1}], "byName": {"a": {"level": 2}}}
