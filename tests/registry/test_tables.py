"""Table and PartialObjectMetadata output built from the spec's columns."""
from __future__ import annotations

import orjson
import pytest

from apiserver.meta.errors import ApiError
from apiserver.registry.catalog import ResourceCatalog, builtin_specs
from apiserver.registry.context import StoredObject
from apiserver.registry.tables import partial_object_metadata, partial_object_metadata_list, table_for
from tests.registry.harness import NOW

CATALOG = ResourceCatalog(builtin_specs())
CONFIGMAPS = CATALOG.lookup("", "v1", "configmaps")
ROLES = CATALOG.lookup("rbac.authorization.k8s.io", "v1", "roles")


def configmap(name: str, **data: str) -> StoredObject:
    return StoredObject.of({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "ns", "resourceVersion": "4",
                     "creationTimestamp": "2024-05-01T11:58:00Z",
                     "managedFields": [{"manager": "kubectl", "operation": "Update"}]},
        "data": data,
    })


def test_a_table_has_the_columns_and_one_row_per_object() -> None:
    assert CONFIGMAPS is not None
    table = orjson.loads(table_for(CONFIGMAPS, [configmap("a", k="v"), configmap("b")], list_resource_version="9",
                                   continue_token="tok", remaining=3, include_object="Metadata", now=NOW))
    assert table["kind"] == "Table" and table["apiVersion"] == "meta.k8s.io/v1"
    assert table["metadata"] == {"resourceVersion": "9", "continue": "tok", "remainingItemCount": 3}
    assert [column["name"] for column in table["columnDefinitions"]] == ["Name", "Data", "Age"]
    assert table["columnDefinitions"][0] == {"name": "Name", "type": "string", "format": "name",
                                             "description": "Name of the object, unique within its namespace.",
                                             "priority": 0}
    assert [row["cells"] for row in table["rows"]] == [["a", 1, "2m"], ["b", 0, "2m"]]
    row_object = table["rows"][0]["object"]
    assert row_object["kind"] == "PartialObjectMetadata" and row_object["apiVersion"] == "meta.k8s.io/v1"
    assert "managedFields" not in row_object["metadata"] and row_object["metadata"]["name"] == "a"


def test_include_object_none_and_object() -> None:
    assert CONFIGMAPS is not None
    item = configmap("a")
    none = orjson.loads(table_for(CONFIGMAPS, [item], list_resource_version="1", include_object="None", now=NOW))
    assert none["rows"] == [{"cells": ["a", 0, "2m"], "object": None}]
    whole = orjson.loads(table_for(CONFIGMAPS, [item], list_resource_version="1", include_object="Object", now=NOW))
    assert whole["rows"][0]["object"] == item.obj


def test_an_empty_table_has_empty_rows() -> None:
    assert ROLES is not None
    table = orjson.loads(table_for(ROLES, [], list_resource_version="", include_object="Metadata", now=NOW,
                                   table_version="v1beta1"))
    assert table["apiVersion"] == "meta.k8s.io/v1beta1"
    assert table["metadata"] == {} and table["rows"] == []
    assert [column["name"] for column in table["columnDefinitions"]] == ["Name", "Created At"]


def test_an_unknown_include_object_policy_is_a_bad_request() -> None:
    assert CONFIGMAPS is not None
    with pytest.raises(ApiError) as raised:
        table_for(CONFIGMAPS, [], list_resource_version="1", include_object="Everything", now=NOW)
    assert raised.value.code == 400


def test_partial_object_metadata_keeps_all_metadata() -> None:
    partial = partial_object_metadata(configmap("a").obj)
    assert partial["kind"] == "PartialObjectMetadata" and partial["apiVersion"] == "meta.k8s.io/v1"
    assert partial["metadata"]["managedFields"] == [{"manager": "kubectl", "operation": "Update"}]
    listed = orjson.loads(partial_object_metadata_list([configmap("a")], resource_version="5", continue_token="t"))
    assert listed["kind"] == "PartialObjectMetadataList" and listed["metadata"] == {"resourceVersion": "5",
                                                                                   "continue": "t"}
    assert [item["metadata"]["name"] for item in listed["items"]] == ["a"]
    empty = orjson.loads(partial_object_metadata_list([], resource_version="5"))
    assert empty["items"] == []
