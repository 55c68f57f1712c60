"""Lists of custom resources carry the CRD's own `spec.names.listKind`, in every form the list handler answers."""
from __future__ import annotations

import pytest

from tests.resources.custom.crds import widget_crd
from tests.resources.custom.harness import CustomApp

WIDGETS = "/apis/example.com/v1/namespaces/default/widgets"
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io"
PARTIAL = "application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io"
PARTIAL_LIST = "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io"


@pytest.fixture
async def catalogued(app: CustomApp) -> CustomApp:
    """widgets.example.com whose lists are `WidgetCatalog`s, with one widget."""
    crd = widget_crd()
    for names in (crd["spec"]["names"], crd["status"]["acceptedNames"]):
        names["listKind"] = "WidgetCatalog"
    await app.install(crd)
    created = await app.request("POST", WIDGETS, {"apiVersion": "example.com/v1", "kind": "Widget",
                                                  "metadata": {"name": "w"}, "spec": {"replicas": 1}})
    assert created.status == 201, created.body
    return app


@pytest.mark.parametrize("query", ["", "?pretty=true", "?limit=1"], ids=["plain", "pretty", "paged"])
async def test_a_list_is_of_the_crds_list_kind(catalogued: CustomApp, query: str) -> None:
    listed = await catalogued.request("GET", WIDGETS + query)
    assert listed.status == 200, listed.body
    body = listed.json()
    assert (body["kind"], body["apiVersion"]) == ("WidgetCatalog", "example.com/v1")
    assert [item["metadata"]["name"] for item in body["items"]] == ["w"]


async def test_a_list_across_namespaces_and_as_yaml_is_of_the_list_kind(catalogued: CustomApp) -> None:
    across = await catalogued.request("GET", "/apis/example.com/v1/widgets")
    assert across.json()["kind"] == "WidgetCatalog"
    as_yaml = await catalogued.request("GET", WIDGETS, headers={"Accept": "application/yaml"})
    assert as_yaml.status == 200
    assert as_yaml.body.startswith(b"apiVersion: example.com/v1\nitems:\n")
    assert b"\nkind: WidgetCatalog\n" in as_yaml.body


async def test_table_and_partial_metadata_lists_keep_their_own_kinds(catalogued: CustomApp) -> None:
    table = await catalogued.request("GET", WIDGETS, headers={"Accept": TABLE})
    assert (table.json()["kind"], table.json()["apiVersion"]) == ("Table", "meta.k8s.io/v1")
    partial = await catalogued.request("GET", WIDGETS, headers={"Accept": PARTIAL_LIST})
    assert (partial.json()["kind"], partial.json()["apiVersion"]) == ("PartialObjectMetadataList", "meta.k8s.io/v1")
    assert partial.json()["items"][0]["kind"] == "PartialObjectMetadata"


@pytest.mark.parametrize(("path", "accept", "message"), [
    (WIDGETS, PARTIAL,
     "you requested PartialObjectMetadata, but the requested object is a list (*unstructured.UnstructuredList)"),
    (WIDGETS + "/w", PARTIAL_LIST,
     "you requested PartialObjectMetadataList, but the requested object is not a list (*unstructured.Unstructured)"),
], ids=["partial-of-a-list", "partial-list-of-an-object"])
async def test_metadata_of_the_wrong_shape_names_the_unstructured_type(catalogued: CustomApp, path: str, accept: str,
                                                                       message: str) -> None:
    refused = await catalogued.request("GET", path, headers={"Accept": accept})
    assert refused.status == 406
    assert refused.json() == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                              "message": message, "reason": "NotAcceptable", "code": 406}
