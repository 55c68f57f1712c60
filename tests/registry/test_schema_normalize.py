"""The decode/encode round trip on dicts: pruning, canonical quantities, schema defaults."""
from __future__ import annotations

import copy
from typing import Any

import pytest

from apiserver.registry.schema import Schema, TypeSchemas
from apiserver.registry.schema_normalize import (
    apply_schema_defaults,
    canonicalize_quantities,
    find_unknown_fields,
    prune_unknown_fields,
)


@pytest.fixture(scope="module")
def pod_schema() -> Schema:
    schema = TypeSchemas.builtin().for_kind("", "v1", "Pod")
    assert schema is not None
    return schema


def _pod() -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "Pod", "status2": {},
        "metadata": {"name": "p", "labels": {"free": "form"}, "bogus": 1,
                     "managedFields": [{"manager": "m", "fieldsV1": {"f:x": {}}, "extra": True}]},
        "spec": {
            "containers": [{"name": "a", "imagee": "typo", "ports": [{"containerPort": 80, "hostIp": "x"}]}],
            "nodeSelector": {"any": "key"},
        },
    }


def test_find_unknown_fields_names_paths_without_touching_the_object(pod_schema: Schema) -> None:
    pod = _pod()
    assert find_unknown_fields(pod, pod_schema) == [
        "status2", "metadata.bogus", "metadata.managedFields[0].extra", "spec.containers[0].imagee",
        "spec.containers[0].ports[0].hostIp",
    ]
    assert pod == _pod()


def test_prune_removes_unknown_fields_and_keeps_maps_and_raw_content(pod_schema: Schema) -> None:
    pod = _pod()
    removed = prune_unknown_fields(pod, pod_schema)
    assert len(removed) == 5
    assert pod == {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "p", "labels": {"free": "form"},
                     "managedFields": [{"manager": "m", "fieldsV1": {"f:x": {}}}]},
        "spec": {"containers": [{"name": "a", "ports": [{"containerPort": 80}]}], "nodeSelector": {"any": "key"}},
    }
    assert prune_unknown_fields(pod, pod_schema) == []


def test_quantities_are_stored_in_canonical_form(pod_schema: Schema) -> None:
    pod = {"spec": {"containers": [{"name": "a", "resources": {
        "limits": {"cpu": "1000m", "memory": "1024Ki"}, "requests": {"cpu": 0.5, "memory": 1000000}}}],
        "overhead": {"cpu": "100m"}}}
    canonicalize_quantities(pod, pod_schema)
    resources = pod["spec"]["containers"][0]["resources"]  # type: ignore[index]
    assert resources == {"limits": {"cpu": "1", "memory": "1Mi"}, "requests": {"cpu": "500m", "memory": "1M"}}
    assert pod["spec"]["overhead"] == {"cpu": "100m"}  # type: ignore[index]
    before = copy.deepcopy(pod)
    canonicalize_quantities(pod, pod_schema)
    assert pod == before


def test_quantities_elsewhere_in_built_in_kinds() -> None:
    quota = TypeSchemas.builtin().for_kind("", "v1", "ResourceQuota")
    assert quota is not None
    obj: dict[str, Any] = {"spec": {"hard": {"pods": "10", "requests.cpu": "2000m", "bogus": "x"}}}
    canonicalize_quantities(obj, quota)
    assert obj == {"spec": {"hard": {"pods": "10", "requests.cpu": "2", "bogus": "x"}}}


def _schemas_with_defaults() -> Schema:
    schemas = TypeSchemas({
        "ex.v1.Widget": {
            "type": "object",
            "x-kubernetes-group-version-kind": [{"group": "ex", "version": "v1", "kind": "Widget"}],
            "properties": {
                "spec": {"$ref": "#/definitions/ex.v1.WidgetSpec", "default": {}},
                "items": {"type": "array", "items": {"$ref": "#/definitions/ex.v1.Item"}},
            },
        },
        "ex.v1.WidgetSpec": {"type": "object", "properties": {
            "replicas": {"type": "integer", "default": 1},
            "mode": {"type": "string", "default": "fast"},
            "note": {"type": "string", "nullable": True, "default": "n"},
        }},
        "ex.v1.Item": {"type": "object", "properties": {"weight": {"type": "integer", "default": 5}}},
    })
    widget = schemas.for_kind("ex", "v1", "Widget")
    assert widget is not None
    return widget


def test_schema_defaults_fill_absent_fields_top_down_and_are_idempotent() -> None:
    widget = _schemas_with_defaults()
    obj: dict[str, Any] = {"items": [{}, {"weight": 2}]}
    apply_schema_defaults(obj, widget)
    assert obj == {"items": [{"weight": 5}, {"weight": 2}],
                   "spec": {"replicas": 1, "mode": "fast", "note": "n"}}
    again = copy.deepcopy(obj)
    apply_schema_defaults(again, widget)
    assert again == obj


def test_null_is_defaulted_unless_nullable() -> None:
    widget = _schemas_with_defaults()
    obj: dict[str, Any] = {"spec": {"replicas": None, "note": None}}
    apply_schema_defaults(obj, widget)
    assert obj == {"spec": {"replicas": 1, "mode": "fast", "note": None}}
