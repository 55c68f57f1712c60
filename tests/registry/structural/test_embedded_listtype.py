"""Embedded resources and x-kubernetes-list-type invariants of custom resources."""
from __future__ import annotations

from typing import Any

import pytest

from apiserver.registry.structural import StructuralSchema

SCHEMA = StructuralSchema.from_openapi({
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "properties": {
                "template": {"type": "object", "x-kubernetes-embedded-resource": True,
                             "x-kubernetes-preserve-unknown-fields": True},
                "templates": {"type": "object", "additionalProperties": {
                    "type": "object", "x-kubernetes-embedded-resource": True,
                    "x-kubernetes-preserve-unknown-fields": True}},
                "tags": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
                "numbers": {"type": "array", "x-kubernetes-list-type": "set",
                            "items": {"x-kubernetes-int-or-string": True}},
                "ports": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                          "items": {"type": "object", "properties": {"name": {"type": "string"},
                                                                     "port": {"type": "integer"}}}},
                "routes": {"type": "array", "x-kubernetes-list-type": "map",
                           "x-kubernetes-list-map-keys": ["host", "port"],
                           "items": {"type": "object", "properties": {"host": {"type": "string"},
                                                                      "port": {"type": "integer"}}}},
            },
        },
    },
})


def _messages(spec: dict[str, Any], old_spec: dict[str, Any] | None = None) -> list[str]:
    def resource(value: dict[str, Any]) -> dict[str, Any]:
        return {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": value}

    old = resource(old_spec) if old_spec is not None else None
    return [error.error_message() for error in SCHEMA.validate(resource(spec), old)]


@pytest.mark.parametrize(("template", "expected"), [
    ({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}, []),
    ({"apiVersion": "v1", "kind": "Pod"}, []),
    ({}, ["spec.template.apiVersion: Required value",
          "spec.template.kind: Required value"]),
    ({"apiVersion": 1, "kind": ""}, ["spec.template.apiVersion: Invalid value: 1: must be a string",
                                      'spec.template.kind: Invalid value: "": must not be empty']),
    ({"apiVersion": "a/b/c", "kind": "Pod"},
     ['spec.template.apiVersion: Invalid value: "a/b/c": unexpected GroupVersion string: a/b/c']),
    ({"apiVersion": "v1", "kind": "No_Kind"},
     ['spec.template.kind: Invalid value: "No_Kind": may have mixed case, but should otherwise match: a DNS-1035 '
      "label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and "
      "end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is "
      "'[a-z]([-a-z0-9]*[a-z0-9])?')"]),
    ({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a/b", "labels": {"-bad": "x"}}},
     ["spec.template.metadata.name: Invalid value: \"a/b\": may not contain '/'",
      'spec.template.metadata.labels: Invalid value: "-bad": name part must consist of alphanumeric characters, '
      "'-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or "
      "'123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"]),
], ids=["valid", "no-metadata", "missing-type-meta", "wrong-types", "bad-group-version", "bad-kind", "bad-meta"])
def test_embedded_resources_need_type_meta_and_valid_metadata(template: dict[str, Any], expected: list[str]) -> None:
    assert _messages({"template": template}) == expected


def test_embedded_resources_below_maps_are_addressed_by_key() -> None:
    assert _messages({"templates": {"first": {"kind": "Pod"}}}) == [
        "spec.templates[first].apiVersion: Required value"]


def test_sets_report_each_repeated_value_once_at_its_second_appearance() -> None:
    assert _messages({"tags": ["a", "b", "a", "a", "b"], "numbers": [1, "1", 1]}) == [
        'spec.tags[2]: Duplicate value: "a"', 'spec.tags[4]: Duplicate value: "b"',
        "spec.numbers[2]: Duplicate value: 1"]


def test_list_maps_report_duplicate_keys_and_non_object_items() -> None:
    assert _messages({"ports": [{"name": "a", "port": 1}, {"name": "a", "port": 2}],
                      "routes": [{"host": "h", "port": 1}, {"host": "h", "port": 2}, {"port": 1, "host": "h"}]}) == [
        'spec.ports[1]: Duplicate value: {"name":"a"}',
        'spec.routes[2]: Duplicate value: {"host":"h","port":1}',
    ]
    assert _messages({"ports": [{"name": "a"}, "text"]}) == [
        'spec.ports[1]: Invalid value: "string": spec.ports[1] in body must be of type object: "string"',
        'spec.ports[1]: Invalid value: "text": must be an object for an array of list-type map',
    ]


def test_list_type_errors_are_ratcheted_when_the_old_object_already_had_them() -> None:
    assert _messages({"tags": ["a", "a", "b", "b"]}, old_spec={"tags": ["a", "a"]}) == []
    assert _messages({"tags": ["a", "a"]}, old_spec={"tags": ["a"]}) == ['spec.tags[1]: Duplicate value: "a"']
