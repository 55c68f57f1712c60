"""kube-openapi's value validation of custom resources: upstream's messages, types and field paths."""
from __future__ import annotations

from typing import Any

import pytest

from apiserver.meta.errors import Invalid
from apiserver.registry.structural import StructuralSchema


def _resource(spec: Any) -> dict[str, Any]:
    return {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": spec}


def _schema(spec_schema: dict[str, Any]) -> StructuralSchema:
    return StructuralSchema.from_openapi({"type": "object", "properties": {"spec": spec_schema}})


def _messages(schema: StructuralSchema, obj: dict[str, Any], old: dict[str, Any] | None = None) -> list[str]:
    return [error.error_message() for error in schema.validate(obj, old)]


def _object(properties: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties, **more}


CASES = [
    (_object({"replicas": {"type": "integer"}}), {"replicas": "two"},
     ['spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"']),
    (_object({"replicas": {"type": "integer"}}), {"replicas": 1.5},
     ['spec.replicas: Invalid value: "number": spec.replicas in body must be of type integer: "number"']),
    (_object({"replicas": {"type": "integer"}}), {"replicas": 2.0}, []),
    (_object({"ratio": {"type": "number"}}), {"ratio": 3}, []),
    (_object({"on": {"type": "boolean"}}), {"on": "true"},
     ['spec.on: Invalid value: "string": spec.on in body must be of type boolean: "string"']),
    (_object({"name": {"type": "string"}}), {"name": None},
     ['spec.name: Invalid value: "null": spec.name in body must be of type string: "null"']),
    (_object({"name": {"type": "string", "nullable": True}}), {"name": None}, []),
    (_object({"list": {"type": "array", "items": {"type": "string"}}}), {"list": {"a": 1}},
     ['spec.list: Invalid value: "object": spec.list in body must be of type array: "object"']),
    (_object({"list": {"type": "array", "items": {"type": "integer"}}}), {"list": [1, "x", True]},
     ['spec.list[1]: Invalid value: "string": spec.list[1] in body must be of type integer: "string"',
      'spec.list[2]: Invalid value: "boolean": spec.list[2] in body must be of type integer: "boolean"']),
    (_object({"map": {"type": "object", "additionalProperties": {"type": "integer"}}}), {"map": {"a": "b"}},
     ['spec.map.a: Invalid value: "string": spec.map.a in body must be of type integer: "string"']),
    ({"type": "object"}, "text",
     ['spec: Invalid value: "string": spec in body must be of type object: "string"']),
    (_object({"replicas": {"type": "integer", "minimum": 1}}), {"replicas": 0},
     ["spec.replicas: Invalid value: 0: spec.replicas in body should be greater than or equal to 1"]),
    (_object({"replicas": {"type": "integer", "minimum": 1, "exclusiveMinimum": True}}), {"replicas": 1},
     ["spec.replicas: Invalid value: 1: spec.replicas in body should be greater than 1"]),
    (_object({"replicas": {"type": "integer", "maximum": 10}}), {"replicas": 11},
     ["spec.replicas: Invalid value: 11: spec.replicas in body should be less than or equal to 10"]),
    (_object({"ratio": {"type": "number", "maximum": 1.5, "exclusiveMaximum": True}}), {"ratio": 1.5},
     ["spec.ratio: Invalid value: 1.5: spec.ratio in body should be less than 1.5"]),
    (_object({"count": {"type": "integer", "multipleOf": 3}}), {"count": 10},
     ["spec.count: Invalid value: 10: spec.count in body should be a multiple of 3"]),
    (_object({"ratio": {"type": "number", "multipleOf": 0.5}}), {"ratio": 0.75},
     ["spec.ratio: Invalid value: 0.75: spec.ratio in body should be a multiple of 0.5"]),
    (_object({"ratio": {"type": "number", "multipleOf": 0.1}}), {"ratio": 0.3}, []),
    (_object({"name": {"type": "string", "maxLength": 5}}), {"name": "abcdefg"},
     ["spec.name: Too long: may not be more than 5 bytes"]),
    (_object({"name": {"type": "string", "maxLength": 3}}), {"name": "äöü"}, []),
    (_object({"name": {"type": "string", "minLength": 3}}), {"name": "ab"},
     ['spec.name: Invalid value: "ab": spec.name in body should be at least 3 chars long']),
    (_object({"name": {"type": "string", "pattern": "^a"}}), {"name": "ba"},
     ["spec.name: Invalid value: \"ba\": spec.name in body should match '^a'"]),
    (_object({"code": {"type": "string", "pattern": "^\\d+$"}}), {"code": "١٢"},
     ["spec.code: Invalid value: \"١٢\": spec.code in body should match '^\\d+$'"]),
    (_object({"code": {"type": "string", "pattern": "^[a-z$]+$"}}), {"code": "ab\n"},
     ["spec.code: Invalid value: \"ab\\n\": spec.code in body should match '^[a-z$]+$'"]),
    (_object({"name": {"type": "string", "maxLength": 1, "pattern": "^a"}}), {"name": "bb"},
     ["spec.name: Too long: may not be more than 1 byte"]),
    (_object({"mode": {"type": "string", "enum": ["a", "b"]}}), {"mode": "x"},
     ['spec.mode: Unsupported value: "x": supported values: "a", "b"']),
    (_object({"level": {"type": "integer", "enum": [1, 2]}}), {"level": 3},
     ['spec.level: Unsupported value: 3: supported values: "1", "2"']),
    (_object({"level": {"type": "integer", "enum": [1, 2]}}), {"level": 2.0}, []),
    (_object({"list": {"type": "array", "maxItems": 3, "items": {"type": "integer"}}}), {"list": [1, 2, 3, 4]},
     ["spec.list: Too many: 4: must have at most 3 items"]),
    (_object({"list": {"type": "array", "minItems": 2, "items": {"type": "integer"}}}), {"list": [1]},
     ["spec.list: Invalid value: 1: spec.list in body should have at least 2 items"]),
    (_object({"map": {"type": "object", "maxProperties": 1, "additionalProperties": {"type": "string"}}}),
     {"map": {"a": "1", "b": 2}}, ["spec.map: Too many: 2: must have at most 1 item"]),
    (_object({"map": {"type": "object", "minProperties": 2, "additionalProperties": {"type": "string"}}}),
     {"map": {"a": "1"}}, ["spec.map: Invalid value: 1: spec.map in body should have at least 2 properties"]),
    (_object({"a": {"type": "string"}, "b": {"type": "string"}}, required=["a", "b"]), {"a": "x"},
     ["spec.b: Required value"]),
    (_object({"port": {"x-kubernetes-int-or-string": True}}), {"port": "http"}, []),
    (_object({"port": {"x-kubernetes-int-or-string": True}}), {"port": 80}, []),
    (_object({"port": {"x-kubernetes-int-or-string": True}}), {"port": True},
     ['spec.port: Invalid value: "boolean": spec.port in body must be of type integer,string: "boolean"']),
    (_object({"free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}),
     {"free": {"anything": [1, {"x": None}]}}, []),
    (_object({"when": {"type": "string", "format": "date-time"}}), {"when": "2024-01-02T03:04:05Z"}, []),
    (_object({"when": {"type": "string", "format": "date-time"}}), {"when": "yesterday"},
     ['spec.when: Invalid value: "yesterday": spec.when in body must be of type date-time: "yesterday"']),
    (_object({"when": {"type": "string", "format": "date-time"}}), {"when": 5},
     ['spec.when: Invalid value: "int64": spec.when in body must be of type date-time: "int64"']),
    (_object({"day": {"type": "string", "format": "date"}}), {"day": "2023-02-29"},
     ['spec.day: Invalid value: "2023-02-29": spec.day in body must be of type date: "2023-02-29"']),
    (_object({"id": {"type": "string", "format": "uuid"}}), {"id": "not-a-uuid"},
     ['spec.id: Invalid value: "not-a-uuid": spec.id in body must be of type uuid: "not-a-uuid"']),
    (_object({"id": {"type": "string", "format": "uuid"}}), {"id": "123e4567-e89b-12d3-a456-426614174000"}, []),
    (_object({"ip": {"type": "string", "format": "ipv4"}}), {"ip": "300.1.1.1"},
     ['spec.ip: Invalid value: "300.1.1.1": spec.ip in body must be of type ipv4: "300.1.1.1"']),
    (_object({"data": {"type": "string", "format": "byte"}}), {"data": "!!"},
     ['spec.data: Invalid value: "!!": spec.data in body must be of type byte: "!!"']),
    (_object({"size": {"type": "integer", "format": "int32"}}), {"size": 2**40}, []),
    (_object({"custom": {"type": "string", "format": "no-such-format"}}), {"custom": "anything"}, []),
    (_object({"v": {"anyOf": [{"type": "integer"}, {"type": "string"}], "x-kubernetes-int-or-string": True}}),
     {"v": 1}, []),
    (_object({"v": {"type": "string", "anyOf": [{"pattern": "^a"}, {"pattern": "^b"}]}}), {"v": "c"},
     ['<nil>: Invalid value: "": "spec.v" must validate at least one schema (anyOf)',
      "spec.v: Invalid value: \"c\": spec.v in body should match '^a'"]),
    (_object({"v": {"type": "string", "oneOf": [{"pattern": "^a"}, {"pattern": "b$"}]}}), {"v": "ab"},
     ['<nil>: Invalid value: "": "spec.v" must validate one and only one schema (oneOf). Found 2 valid '
      "alternatives"]),
    (_object({"v": {"type": "string", "allOf": [{"minLength": 2}, {"pattern": "^a"}]}}), {"v": "b"},
     ['spec.v: Invalid value: "b": spec.v in body should be at least 2 chars long',
      "spec.v: Invalid value: \"b\": spec.v in body should match '^a'",
      '<nil>: Invalid value: "": "spec.v" must validate all the schemas (allOf). None validated']),
    (_object({"v": {"type": "string", "not": {"pattern": "^a"}}}), {"v": "abc"},
     ['<nil>: Invalid value: "": "spec.v" must not validate the schema (not)']),
]


@pytest.mark.parametrize(("spec_schema", "spec", "expected"), CASES, ids=[str(index) for index in range(len(CASES))])
def test_value_validation_reports_upstream_messages(
    spec_schema: dict[str, Any], spec: Any, expected: list[str]
) -> None:
    assert _messages(_schema(spec_schema), _resource(spec)) == expected


def test_nested_paths_use_dots_for_properties_and_brackets_for_indexes() -> None:
    schema = _schema(_object({"items": {"type": "array", "items": _object({"ports": {
        "type": "array", "items": _object({"port": {"type": "integer", "maximum": 65535}})}})}}))
    obj = _resource({"items": [{"ports": [{"port": 1}]}, {"ports": [{"port": 1}, {"port": 70000}]}]})
    assert _messages(schema, obj) == [
        "spec.items[1].ports[1].port: Invalid value: 70000: spec.items[1].ports[1].port in body should be less than "
        "or equal to 65535"]


def test_required_root_field_is_reported_without_the_leading_dot() -> None:
    schema = StructuralSchema.from_openapi({"type": "object", "required": ["spec"], "properties": {
        "spec": {"type": "object"}}})
    errors = schema.validate({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}})
    assert [(error.field, error.error_message()) for error in errors] == [("spec", "spec: Required value")]


def test_invalid_status_carries_types_and_field_paths() -> None:
    schema = _schema(_object({"replicas": {"type": "integer", "minimum": 1}, "mode": {"enum": ["a"]}}))
    errors = schema.validate(_resource({"replicas": "x", "mode": "b"}))
    status = Invalid("Widget", "w", [error.to_cause() for error in errors], group="example.com").to_status()
    assert status["message"] == (
        'Widget.example.com "w" is invalid: [spec.replicas: Invalid value: "string": spec.replicas in body must be '
        'of type integer: "string", spec.mode: Unsupported value: "b": supported values: "a"]'
    )
    assert status["reason"] == "Invalid" and status["code"] == 422
    assert [(cause["reason"], cause["field"]) for cause in status["details"]["causes"]] == [
        ("FieldValueTypeInvalid", "spec.replicas"), ("FieldValueNotSupported", "spec.mode")]


def test_huge_list_reports_every_bad_item_and_the_count() -> None:
    schema = _schema(_object({"list": {"type": "array", "maxItems": 1000, "items": {"type": "integer"}}}))
    errors = schema.validate(_resource({"list": [*range(1500), "x"]}))
    assert [error.error_message() for error in errors] == [
        'spec.list[1500]: Invalid value: "string": spec.list[1500] in body must be of type integer: "string"',
        "spec.list: Too many: 1501: must have at most 1000 items",
    ]


def test_update_ratchets_unchanged_invalid_values() -> None:
    schema = _schema(_object({"name": {"type": "string", "maxLength": 3}, "tag": {"type": "string", "maxLength": 3}}))
    old = _resource({"name": "too-long", "tag": "ok"})
    assert _messages(schema, _resource({"name": "too-long", "tag": "new"}), old) == []
    assert _messages(schema, _resource({"name": "too-long", "tag": "changed"}), old) == [
        "spec.tag: Too long: may not be more than 3 bytes"]
    assert _messages(schema, _resource({"name": "too-long", "tag": "ok"}), None) == [
        "spec.name: Too long: may not be more than 3 bytes"]


def test_update_ratchets_list_map_items_by_key_but_not_atomic_list_items() -> None:
    keyed = {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
             "items": _object({"name": {"type": "string"}, "value": {"type": "integer", "maximum": 5}})}
    atomic = {"type": "array", "items": {"type": "integer", "maximum": 5}}
    schema = _schema(_object({"keyed": keyed, "atomic": atomic}))
    old = _resource({"keyed": [{"name": "a", "value": 9}], "atomic": [9]})
    new = _resource({"keyed": [{"name": "b", "value": 1}, {"name": "a", "value": 9}], "atomic": [9, 1]})
    assert _messages(schema, new, old) == [
        "spec.atomic[0]: Invalid value: 9: spec.atomic[0] in body should be less than or equal to 5"]
