"""The OpenAPI documents publish the schemas of served custom resources, and change when the CRDs change."""
from __future__ import annotations

import orjson

from apiserver.endpoints.openapi import OpenAPIDocuments
from apiserver.endpoints.openapi_crds import CatalogSchemas, catalog_schemas, definition_name
from apiserver.registry.catalog import CatalogHolder, ResourceCatalog, builtin_specs
from apiserver.registry.schema import TypeSchemas
from apiserver.resources.apiextensions.crd_specs import specs_from_crd
from tests.resources.custom.crds import widget_crd

OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"


def test_definition_names_reverse_the_group() -> None:
    assert definition_name("stable.example.com", "v1", "CronTab") == "com.example.stable.v1.CronTab"


def test_a_custom_resource_publishes_its_object_and_list_definitions() -> None:
    catalog = ResourceCatalog([*builtin_specs(), *specs_from_crd(widget_crd())])
    schemas = CatalogSchemas(catalog, TypeSchemas.builtin())
    assert schemas.definition_name("example.com", "v1", "Widget") == "com.example.v1.Widget"
    assert schemas.definition_name("example.com", "v1", "WidgetList") == "com.example.v1.WidgetList"
    assert schemas.definition_name("", "v1", "Pod") == "io.k8s.api.core.v1.Pod"
    widget = schemas.definitions["com.example.v1.Widget"]
    assert widget["x-kubernetes-group-version-kind"] == [{"group": "example.com", "kind": "Widget", "version": "v1"}]
    assert list(widget["properties"]) == ["apiVersion", "kind", "metadata", "spec", "status"]
    assert widget["properties"]["metadata"]["$ref"] == "#/definitions/" + OBJECT_META
    assert widget["properties"]["spec"]["properties"]["ports"]["x-kubernetes-list-map-keys"] == ["name"]
    listing = schemas.definitions["com.example.v1.WidgetList"]
    assert listing["properties"]["items"]["items"] == {"$ref": "#/definitions/com.example.v1.Widget"}
    assert listing["x-kubernetes-group-version-kind"][0]["kind"] == "WidgetList"


def test_the_list_definition_is_named_after_the_crds_list_kind() -> None:
    crd = widget_crd()
    crd["spec"]["names"]["listKind"] = "WidgetCatalog"
    crd["status"]["acceptedNames"]["listKind"] = "WidgetCatalog"
    schemas = CatalogSchemas(ResourceCatalog([*builtin_specs(), *specs_from_crd(crd)]), TypeSchemas.builtin())
    assert schemas.definition_name("example.com", "v1", "WidgetCatalog") == "com.example.v1.WidgetCatalog"
    listing = schemas.definitions["com.example.v1.WidgetCatalog"]
    assert listing["description"] == "WidgetCatalog is a list of Widget"
    assert listing["x-kubernetes-group-version-kind"][0]["kind"] == "WidgetCatalog"
    assert "com.example.v1.WidgetList" not in schemas.definitions


def test_documents_follow_the_catalog() -> None:
    holder = CatalogHolder(ResourceCatalog(builtin_specs()))
    documents = OpenAPIDocuments(holder, catalog_schemas(holder), clock=lambda: 0.0)
    assert documents.group_version("apis/example.com/v1") is None
    holder.update(lambda catalog: catalog.with_specs(*specs_from_crd(widget_crd())))
    first = documents.group_version("apis/example.com/v1")
    assert first is not None
    document = orjson.loads(first.body)
    assert "com.example.v1.Widget" in document["components"]["schemas"]
    assert OBJECT_META in document["components"]["schemas"]
    assert "/apis/example.com/v1/namespaces/{namespace}/widgets/{name}/scale" in document["paths"]
    changed = widget_crd()
    changed["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["description"] = "New."
    holder.update(lambda catalog: catalog.with_specs(*specs_from_crd(changed)))
    second = documents.group_version("apis/example.com/v1")
    assert second is not None and second.hash != first.hash
    assert "apis/example.com/v1" in orjson.loads(documents.index().body)["paths"]
    assert "com.example.v1.Widget" in orjson.loads(documents.swagger().body)["definitions"]
