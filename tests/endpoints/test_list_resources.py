"""GET of a collection: list bytes, selectors, pagination, all namespaces, Table and partial metadata lists."""
from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.resource_app import KUBECTL_TABLE, ResourceApp, resource_app

CONFIGMAPS = "/api/v1/namespaces/default/configmaps"


@pytest.fixture
async def api() -> AsyncIterator[ResourceApp]:
    async with resource_app() as app:
        for name, tier in (("a", "web"), ("b", "db"), ("c", "web")):
            answer = await app.request("POST", CONFIGMAPS, {"metadata": {"name": name, "labels": {"tier": tier}}})
            assert answer.status == 201
        answer = await app.request("POST", "/api/v1/namespaces/kube-system/configmaps", {"metadata": {"name": "k"}})
        assert answer.status == 201
        yield app


def names(document: dict[str, object]) -> list[str]:
    items = document["items"]
    assert isinstance(items, list)
    return [item["metadata"]["name"] for item in items]


async def test_a_list_is_the_kind_list_with_list_metadata_and_items(api: ResourceApp) -> None:
    answer = await api.request("GET", CONFIGMAPS)
    assert answer.status == 200
    assert answer.body.startswith(b'{"kind":"ConfigMapList","apiVersion":"v1","metadata":{"resourceVersion":"')
    assert answer.body.endswith(b"]}\n")
    document = answer.json()
    assert names(document) == ["a", "b", "c"]
    assert int(document["metadata"]["resourceVersion"]) >= int(document["items"][-1]["metadata"]["resourceVersion"])


async def test_an_empty_list_has_items_as_an_empty_array(api: ResourceApp) -> None:
    answer = await api.request("GET", "/api/v1/namespaces/kube-public/configmaps")
    assert answer.json()["items"] == []
    assert b'"items":[]' in answer.body


async def test_a_list_across_namespaces(api: ResourceApp) -> None:
    answer = await api.request("GET", "/api/v1/configmaps")
    assert names(answer.json()) == ["a", "b", "c", "k"]


@pytest.mark.parametrize(
    ("selector", "expected"),
    [("tier%3Dweb", ["a", "c"]), ("tier%21%3Dweb", ["b"]), ("tier+in+%28db%29", ["b"]), ("%21tier", []),
     ("tier", ["a", "b", "c"])],
    ids=["equals", "not-equals", "in", "not-exists", "exists"],
)
async def test_label_selectors(api: ResourceApp, selector: str, expected: list[str]) -> None:
    answer = await api.request("GET", f"{CONFIGMAPS}?labelSelector={selector}")
    assert names(answer.json()) == expected


async def test_a_field_selector_on_the_name(api: ResourceApp) -> None:
    answer = await api.request("GET", f"{CONFIGMAPS}?fieldSelector=metadata.name%3Db")
    assert names(answer.json()) == ["b"]


async def test_a_malformed_label_selector_is_a_400(api: ResourceApp) -> None:
    answer = await api.request("GET", f"{CONFIGMAPS}?labelSelector=tier%20in%20(web")
    assert answer.status == 400
    assert answer.json()["reason"] == "BadRequest"


async def test_an_unknown_field_selector_is_a_400(api: ResourceApp) -> None:
    answer = await api.request("GET", f"{CONFIGMAPS}?fieldSelector=data.k%3Dv")
    assert answer.status == 400
    assert "is not a known field selector" in answer.json()["message"]


async def test_pagination_with_limit_and_continue(api: ResourceApp) -> None:
    first = (await api.request("GET", f"{CONFIGMAPS}?limit=2")).json()
    assert names(first) == ["a", "b"]
    assert first["metadata"]["remainingItemCount"] == 1
    token = first["metadata"]["continue"]
    second = (await api.request("GET", f"{CONFIGMAPS}?limit=2&continue={token}")).json()
    assert names(second) == ["c"]
    assert "continue" not in second["metadata"]
    assert second["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]


async def test_a_list_as_table_has_a_row_per_item_and_keeps_continue(api: ResourceApp) -> None:
    answer = await api.request("GET", f"{CONFIGMAPS}?limit=2", headers={"Accept": KUBECTL_TABLE})
    table = answer.json()
    assert table["kind"] == "Table"
    assert [row["cells"][0] for row in table["rows"]] == ["a", "b"]
    assert table["metadata"]["continue"]
    assert table["metadata"]["remainingItemCount"] == 1


async def test_an_empty_table_has_no_rows(api: ResourceApp) -> None:
    answer = await api.request("GET", "/api/v1/namespaces/kube-public/configmaps", headers={"Accept": KUBECTL_TABLE})
    assert answer.json()["rows"] == []


async def test_partial_object_metadata_list(api: ResourceApp) -> None:
    answer = await api.request(
        "GET", CONFIGMAPS, headers={"Accept": "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io"}
    )
    document = answer.json()
    assert (document["kind"], document["apiVersion"]) == ("PartialObjectMetadataList", "meta.k8s.io/v1")
    assert [item["kind"] for item in document["items"]] == ["PartialObjectMetadata"] * 3
    assert names(document) == ["a", "b", "c"]


async def test_partial_object_metadata_of_a_list_is_not_acceptable(api: ResourceApp) -> None:
    answer = await api.request(
        "GET", CONFIGMAPS, headers={"Accept": "application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io"}
    )
    assert (answer.status, answer.json()["message"]) == (
        406, "you requested PartialObjectMetadata, but the requested object is a list (*core.ConfigMapList)"
    )


async def test_an_invalid_limit_is_a_400(api: ResourceApp) -> None:
    answer = await api.request("GET", f"{CONFIGMAPS}?limit=x")
    assert answer.status == 400
