"""specs_from_crd and the printer columns: what a CRD declares becomes ResourceSpecs and Table cells."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from apiserver.resources.apiextensions.crd_specs import specs_from_crd
from apiserver.resources.apiextensions.custom_resources_columns import printer_columns
from apiserver.resources.apiextensions.custom_resources_jsonpath import JSONPathError, parse
from tests.resources.custom.crds import widget_crd

NOW = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_one_spec_per_served_version_stored_in_the_storage_version() -> None:
    crd = widget_crd(versions=("v1", "v1beta1", "v1alpha1"))
    crd["spec"]["versions"][2]["served"] = False
    specs = specs_from_crd(crd)
    assert [(spec.group_version, spec.storage_version, spec.storage_path) for spec in specs] == [
        ("example.com/v1", "example.com/v1", "example.com/widgets"),
        ("example.com/v1beta1", "example.com/v1", "example.com/widgets"),
    ]
    spec = specs[0]
    assert (spec.kind, spec.plural, spec.singular, spec.namespaced) == ("Widget", "widgets", "widget", True)
    assert (spec.short_names, spec.categories) == (("wd",), ("all",))
    assert [(sub.name, sub.kind, sub.group, sub.version) for sub in spec.subresources] == [
        ("status", "Widget", "", ""), ("scale", "Scale", "autoscaling", "v1")]


def test_accepted_names_win_over_the_requested_ones() -> None:
    crd = widget_crd(scope="Cluster")
    crd["spec"]["names"]["shortNames"] = ["wd", "wdg"]
    [spec] = specs_from_crd(crd)
    assert spec.short_names == ("wd",)
    assert spec.namespaced is False


def test_a_crd_without_a_storage_version_cannot_be_served() -> None:
    crd = widget_crd()
    crd["spec"]["versions"][0]["storage"] = False
    with pytest.raises(ValueError, match="cannot be served"):
        specs_from_crd(crd)


def test_a_version_without_printer_columns_gets_name_and_age() -> None:
    [spec] = specs_from_crd(widget_crd())
    columns = spec.table_columns
    assert [(column.name, column.type, column.format) for column in columns] == [
        ("Name", "string", "name"), ("Age", "date", "")]
    assert columns[1].description.startswith("CreationTimestamp is a timestamp")
    obj = {"metadata": {"name": "w", "creationTimestamp": "2024-01-02T03:02:05Z"}}
    assert [column.value(obj, NOW) for column in columns] == ["w", "2m"]


OBJ: dict[str, Any] = {
    "metadata": {"name": "w", "labels": {"app.kubernetes.io/name": "web"}, "creationTimestamp": "bogus"},
    "spec": {"replicas": 3, "ratio": 1.5, "enabled": True, "items": [{"name": "a"}, {"name": "b"}],
             "nested": {"b": 1, "a": [1, 2]}},
    "status": {"conditions": [{"type": "Synced", "status": "False"}, {"type": "Ready", "status": "True"}]},
}


@pytest.mark.parametrize(
    ("column_type", "path", "cell"),
    [
        ("integer", ".spec.replicas", 3),
        ("integer", ".spec.ratio", 1),
        ("number", ".spec.replicas", 3),
        ("number", ".spec.ratio", 1.5),
        ("boolean", ".spec.enabled", True),
        ("boolean", ".spec.replicas", None),
        ("string", ".spec.replicas", "3"),
        ("string", ".spec.enabled", "true"),
        ("string", ".spec.nested", '{"a":[1,2],"b":1}'),
        ("string", '.status.conditions[?(@.type=="Ready")].status', "True"),
        ("string", ".status.conditions[0].type", "Synced"),
        ("string", ".spec.items[*].name", "a"),
        ("string", ".metadata.labels['app\\.kubernetes\\.io/name']", "web"),
        ("string", ".spec.missing", None),
        ("integer", ".spec.items", None),
        ("date", ".metadata.creationTimestamp", "<invalid>"),
    ],
    ids=["integer", "integer-of-float", "number-of-int", "number", "boolean", "boolean-of-int", "string-of-int",
         "string-of-bool", "string-of-map", "filter", "index", "wildcard-first", "quoted-key", "missing",
         "integer-of-list", "invalid-date"],
)
def test_printer_column_cells(column_type: str, path: str, cell: Any) -> None:
    [_, column] = printer_columns({"additionalPrinterColumns": [{"name": "X", "type": column_type, "jsonPath": path}]})
    assert column.value(OBJ, NOW) == cell


def test_a_column_description_and_priority_are_kept() -> None:
    definition = {"name": "Ready", "type": "string", "jsonPath": ".status.ready", "description": "Is it ready",
                  "priority": 1, "format": "byte"}
    [_, column] = printer_columns({"additionalPrinterColumns": [definition]})
    assert column.definition() == {"name": "Ready", "type": "string", "format": "byte", "description": "Is it ready",
                                   "priority": 1}


@pytest.mark.parametrize("path", [".spec[", ".spec.items[?(@.a ~ 1)]", ".spec.items[x]", ".spec!"],
                         ids=["unclosed", "bad-filter", "bad-index", "bad-character"])
def test_unparsable_paths_are_refused(path: str) -> None:
    with pytest.raises(JSONPathError):
        parse(path)
