"""Field sets of server-side apply: path elements, the fieldsV1 encoding, set algebra and ToFieldSet."""
from __future__ import annotations

import json
from typing import Any

import orjson
import pytest

from apiserver.registry.fieldpaths import (
    PathElementError,
    field_element,
    go_json,
    index_element,
    key_element,
    parse_path_element,
    path_string,
    value_element,
)
from apiserver.registry.fieldsets import (
    EMPTY,
    FieldSet,
    FieldsV1Error,
    field_path,
    fields_of,
    from_fields_v1,
    from_paths,
)
from apiserver.registry.fieldtypes import TypedError, typed_errors
from apiserver.registry.schema import TypeSchemas
from tests.meta.test_patch_fixtures import DEPLOYMENT, POD, SCALAR, FakeSchema, array, obj


def compact(fields: FieldSet) -> str:
    return orjson.dumps(fields.to_fields_v1()).decode()


@pytest.mark.parametrize(
    ("element", "text", "display"),
    [
        (field_element("replicas"), "f:replicas", ".replicas"),
        (key_element({"protocol": "TCP", "containerPort": 80}), 'k:{"containerPort":80,"protocol":"TCP"}',
         '[containerPort=80,protocol="TCP"]'),
        (value_element("example.com/finalizer"), 'v:"example.com/finalizer"', '[="example.com/finalizer"]'),
        (value_element(1.5), "v:1.5", "[=1.5]"),
        (value_element(True), "v:true", "[=true]"),
        (index_element(3), "i:3", "[3]"),
        (key_element({"name": "a<b>&c"}), 'k:{"name":"a\\u003cb\\u003e\\u0026c"}', '[name="a<b>&c"]'),
    ],
    ids=["field", "key-sorted-by-name", "set-value", "float-value", "bool-value", "index", "html-escaped-key"],
)
def test_path_element_encoding_and_display(element: Any, text: str, display: str) -> None:
    assert (element.text, str(element)) == (text, display)
    assert parse_path_element(text) == element


def test_elements_sort_fields_then_keys_then_values_then_indexes() -> None:
    elements = [index_element(0), value_element("a"), key_element({"name": "z"}), field_element("b"),
                field_element("a"), key_element({"name": "a"}), value_element(2), value_element(True)]
    ordered = [element.text for element in sorted(elements)]
    assert ordered == ["f:a", "f:b", 'k:{"name":"a"}', 'k:{"name":"z"}', "v:2", 'v:"a"', "v:true", "i:0"]


@pytest.mark.parametrize("text", ["f", "fx:a", 'k:{"a"', "i:x"], ids=["short", "no-colon", "bad-json", "bad-index"])
def test_malformed_path_elements_are_rejected(text: str) -> None:
    with pytest.raises(PathElementError):
        parse_path_element(text)


def test_go_json_sorts_keys_and_formats_numbers_as_go() -> None:
    assert go_json({"b": 1.0, "a": [True, None, 1e21, 1.5e-7, "é"]}) == '{"a":[true,null,1e+21,1.5e-7,"é"],"b":1}'


# The fieldsV1 of `kubectl create deployment nginx --image=nginx` on kube-apiserver v1.32 (kubectl-create,
# Update), byte for byte as the server returns it.
KUBECTL_CREATE_DEPLOYMENT = (
    '{"f:metadata":{"f:labels":{".":{},"f:app":{}}},"f:spec":{"f:progressDeadlineSeconds":{},"f:replicas":{},'
    '"f:revisionHistoryLimit":{},"f:selector":{},"f:strategy":{"f:rollingUpdate":{".":{},"f:maxSurge":{},'
    '"f:maxUnavailable":{}},"f:type":{}},"f:template":{"f:metadata":{"f:labels":{".":{},"f:app":{}}},'
    '"f:spec":{"f:containers":{"k:{\\"name\\":\\"nginx\\"}":{".":{},"f:image":{},"f:imagePullPolicy":{},'
    '"f:name":{},"f:resources":{},"f:terminationMessagePath":{},"f:terminationMessagePolicy":{}}},'
    '"f:dnsPolicy":{},"f:restartPolicy":{},"f:schedulerName":{},"f:securityContext":{},'
    '"f:terminationGracePeriodSeconds":{}}}}}'
)


def test_fields_v1_round_trips_byte_for_byte() -> None:
    decoded = from_fields_v1(json.loads(KUBECTL_CREATE_DEPLOYMENT))
    assert compact(decoded) == KUBECTL_CREATE_DEPLOYMENT
    assert decoded.has(field_path("metadata", "labels"))
    assert not decoded.has(field_path("spec"))


def test_fields_v1_decoding_drops_unknown_prefixes_and_rejects_garbage() -> None:
    assert from_fields_v1({"f:a": {}, "z:what": {}}) == from_paths(field_path("a"))
    assert from_fields_v1({}) == EMPTY
    with pytest.raises(FieldsV1Error):
        from_fields_v1({"f:a": []})
    with pytest.raises(FieldsV1Error):
        from_fields_v1({"k:{": {}})


def test_set_algebra() -> None:
    a = from_paths(field_path("spec", "replicas"), field_path("spec", "paused"), field_path("metadata"))
    b = from_paths(field_path("spec", "replicas"), field_path("spec", "template", "x"))
    assert a.union(b) == from_paths(*a.paths(), *b.paths())
    assert a.intersection(b) == from_paths(field_path("spec", "replicas"))
    assert a.difference(b) == from_paths(field_path("spec", "paused"), field_path("metadata"))
    spec = from_paths(field_path("spec"))
    assert a.difference(spec) == a  # only the member `.spec` would go, not what is below it
    assert a.recursive_difference(spec) == from_paths(field_path("metadata"))
    assert not a.intersection(from_paths(field_path("status")))


def test_paths_iterate_members_before_children() -> None:
    fields = from_paths(field_path("spec", "template", "a"), field_path("spec", "replicas"), field_path("kind"))
    assert [path_string(path) for path in fields.paths()] == [".kind", ".spec.replicas", ".spec.template.a"]


SET_SCHEMA = obj(finalizers=array(SCALAR, "merge", list_type="set"), args=array(),
                 ports=array(obj("port", "protocol"), list_type="map", map_keys=("port", "protocol")))


@pytest.mark.parametrize(
    ("value", "schema", "expected"),
    [
        ({"finalizers": ["b", "a"]}, SET_SCHEMA, '{"f:finalizers":{"v:\\"a\\"":{},"v:\\"b\\"":{}}}'),
        ({"args": ["x", "y"]}, SET_SCHEMA, '{"f:args":{}}'),
        ({"ports": [{"port": 80, "protocol": "UDP"}]}, SET_SCHEMA,
         '{"f:ports":{"k:{\\"port\\":80,\\"protocol\\":\\"UDP\\"}":{".":{},"f:port":{},"f:protocol":{}}}}'),
        ({"a": {"b": 1, "c": [1]}}, None, '{"f:a":{".":{},"f:b":{},"f:c":{}}}'),
        ({"metadata": {"labels": {"x": "1"}, "name": "n"}}, POD, '{"f:metadata":{"f:labels":{"f:x":{}},"f:name":{}}}'),
        ({"spec": {"containers": []}}, POD, "{}"),
        ({"spec": {"restartPolicy": None}}, POD, '{"f:spec":{"f:restartPolicy":{}}}'),
    ],
    ids=["set", "atomic-list", "map-list-two-keys", "no-schema-deduced", "map-entries-are-members",
         "empty-granular-list-owns-nothing", "null-scalar-is-a-leaf"],
)
def test_fields_of_honours_list_and_map_types(value: dict[str, Any], schema: FakeSchema | None, expected: str) -> None:
    assert compact(fields_of(value, schema)) == expected


def test_fields_of_a_real_deployment_uses_default_protocol_and_atomic_selector() -> None:
    schema = TypeSchemas.builtin().for_kind("apps", "v1", "Deployment")
    deployment = {"spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {"spec": {"containers": [
        {"name": "c", "ports": [{"containerPort": 80}]}]}}}}
    assert compact(fields_of(deployment, schema)) == (
        '{"f:spec":{"f:selector":{},"f:template":{"f:spec":{"f:containers":{"k:{\\"name\\":\\"c\\"}":{".":{},'
        '"f:name":{},"f:ports":{"k:{\\"containerPort\\":80,\\"protocol\\":\\"TCP\\"}":{".":{},'
        '"f:containerPort":{}}}}}}}}}'
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"spec": {"contaners": []}}, ".spec.contaners: field not declared in schema"),
        ({"spec": {"containers": [{"image": "x"}]}},
         '.spec.containers: element 0: associative list with keys has an element that omits key field "name" '
         "(and doesn't have default value)"),
        ({"spec": {"containers": [{"name": "a"}, {"name": "a"}]}},
         '.spec.containers: duplicate entries for key [name="a"]'),
        ({"spec": {"containers": ["a"]}},
         ".spec.containers: element 0: associative list with keys may not have non-map elements"),
        ({"metadata": {"finalizers": [{"a": 1}]}},
         ".metadata.finalizers: element 0: associative list without keys has an element that's a map type"),
    ],
    ids=["unknown-field", "missing-key", "duplicate-key", "non-map-item", "map-in-set"],
)
def test_typed_errors_use_upstream_wording(value: dict[str, Any], message: str) -> None:
    assert typed_errors(value, POD) == [message]


def test_typed_errors_of_a_real_schema_check_scalar_kinds() -> None:
    schema = TypeSchemas.builtin().for_kind("apps", "v1", "Deployment")
    errors = typed_errors({"spec": {"replicas": "3", "paused": "no"}}, schema)
    assert errors == [".spec.replicas: expected numeric (int or float), got string",
                      ".spec.paused: expected boolean, got &{no}"]
    assert str(TypedError(errors)).startswith("errors:\n  .spec.replicas")
    assert typed_errors({"spec": {"selector": {"matchLabel": {}}, "minReadySeconds": None}}, schema) == [
        ".spec.selector.matchLabel: field not declared in schema"]
    assert typed_errors({"metadata": {"name": 5, "labels": []}}, schema) == [
        ".metadata.name: expected string, got &value.valueUnstructured{Value:5}",
        ".metadata.labels: expected map, got &{[]}"]


def test_duplicates_are_allowed_in_live_objects() -> None:
    assert typed_errors({"spec": {"containers": [{"name": "a"}, {"name": "a"}]}}, POD, allow_duplicates=True) == []


def test_fake_deployment_schema_is_navigable() -> None:
    assert fields_of({"spec": {"template": {"spec": {"volumes": [{"name": "v"}]}}}}, DEPLOYMENT).has(
        (*field_path("spec", "template", "spec", "volumes"), key_element({"name": "v"})))
