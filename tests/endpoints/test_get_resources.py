"""GET of one object and the routing in front of every verb: which paths exist, which methods they take."""
from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.resource_app import KUBECTL_TABLE, ResourceApp, resource_app

CONFIGMAPS = "/api/v1/namespaces/default/configmaps"


@pytest.fixture
async def api() -> AsyncIterator[ResourceApp]:
    async with resource_app() as app:
        created = await app.request("POST", CONFIGMAPS, {"metadata": {"name": "a", "labels": {"x": "1"}},
                                                         "data": {"k": "<v>"}})
        assert created.status == 201
        yield app


async def test_get_answers_the_object_as_compact_json_with_go_escaping(api: ResourceApp) -> None:
    answer = await api.request("GET", f"{CONFIGMAPS}/a")
    assert answer.status == 200
    assert answer.headers["content-type"] == "application/json"
    assert b'"k":"\\u003cv\\u003e"' in answer.body
    assert answer.body.endswith(b"}\n") and b"\n" not in answer.body[:-1]
    assert answer.json()["data"] == {"k": "<v>"}


async def test_get_of_a_missing_object_is_404_with_details(api: ResourceApp) -> None:
    answer = await api.request("GET", f"{CONFIGMAPS}/nope")
    assert (answer.status, answer.json()) == (404, {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": 'configmaps "nope" not found', "reason": "NotFound",
        "details": {"name": "nope", "kind": "configmaps"}, "code": 404,
    })


async def test_a_group_resource_is_named_with_its_group_when_missing(api: ResourceApp) -> None:
    answer = await api.request("GET", "/apis/apps/v1/namespaces/default/deployments/web")
    assert answer.json()["message"] == 'deployments.apps "web" not found'
    assert answer.json()["details"] == {"name": "web", "group": "apps", "kind": "deployments"}


async def test_a_single_get_with_the_table_accept_is_a_one_row_table(api: ResourceApp) -> None:
    answer = await api.request("GET", f"{CONFIGMAPS}/a", headers={"Accept": KUBECTL_TABLE})
    assert answer.status == 200
    assert answer.headers["content-type"] == "application/json"
    table = answer.json()
    assert (table["kind"], table["apiVersion"]) == ("Table", "meta.k8s.io/v1")
    assert [column["name"] for column in table["columnDefinitions"]] == ["Name", "Data", "Age"]
    assert len(table["rows"]) == 1
    assert table["rows"][0]["cells"] == ["a", 1, "0s"]
    row_object = table["rows"][0]["object"]
    assert (row_object["kind"], row_object["apiVersion"]) == ("PartialObjectMetadata", "meta.k8s.io/v1")
    assert row_object["metadata"]["labels"] == {"x": "1"}
    assert table["metadata"]["resourceVersion"] == row_object["metadata"]["resourceVersion"]


async def test_table_include_object_none_and_object(api: ResourceApp) -> None:
    none = await api.request("GET", f"{CONFIGMAPS}/a?includeObject=None", headers={"Accept": KUBECTL_TABLE})
    assert none.json()["rows"][0]["object"] is None
    full = await api.request("GET", f"{CONFIGMAPS}/a?includeObject=Object", headers={"Accept": KUBECTL_TABLE})
    assert full.json()["rows"][0]["object"]["data"] == {"k": "<v>"}


async def test_an_unknown_include_object_is_a_400(api: ResourceApp) -> None:
    answer = await api.request("GET", f"{CONFIGMAPS}/a?includeObject=All", headers={"Accept": KUBECTL_TABLE})
    assert (answer.status, answer.json()["message"]) == (400, (
        "Unable to convert to Table as requested: includeObject: Invalid value: \"All\": must be 'Metadata', "
        "'Object', 'None', or empty"
    ))


async def test_table_v1beta1_is_served_in_its_version(api: ResourceApp) -> None:
    answer = await api.request("GET", f"{CONFIGMAPS}/a",
                               headers={"Accept": "application/json;as=Table;v=v1beta1;g=meta.k8s.io"})
    assert answer.json()["apiVersion"] == "meta.k8s.io/v1beta1"


async def test_partial_object_metadata_of_one_object(api: ResourceApp) -> None:
    answer = await api.request(
        "GET", f"{CONFIGMAPS}/a", headers={"Accept": "application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io"}
    )
    document = answer.json()
    assert (document["kind"], document["apiVersion"]) == ("PartialObjectMetadata", "meta.k8s.io/v1")
    assert document["metadata"]["name"] == "a"
    assert "data" not in document


async def test_a_partial_object_metadata_list_of_one_object_is_not_acceptable(api: ResourceApp) -> None:
    answer = await api.request(
        "GET", f"{CONFIGMAPS}/a",
        headers={"Accept": "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io"},
    )
    assert (answer.status, answer.json()) == (406, {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": "you requested PartialObjectMetadataList, but the requested object is not a list "
                   "(*core.ConfigMap)",
        "reason": "NotAcceptable", "code": 406,
    })


async def test_an_accept_nothing_matches_is_406_written_as_indented_json(api: ResourceApp) -> None:
    answer = await api.request("GET", f"{CONFIGMAPS}/a", headers={"Accept": "text/html"})
    assert answer.status == 406
    assert answer.headers["content-type"] == "application/json"
    assert answer.body.startswith(b'{\n  "kind": "Status"')
    assert answer.json()["message"].startswith("only the following media types are accepted: application/json, "
                                               "application/yaml")


async def test_yaml_output_sorts_keys_like_go_yaml(api: ResourceApp) -> None:
    answer = await api.request("GET", f"{CONFIGMAPS}/a", headers={"Accept": "application/yaml"})
    assert answer.headers["content-type"] == "application/yaml"
    assert answer.body.startswith(b"apiVersion: v1\ndata:\n  k: <v>\nkind: ConfigMap\nmetadata:\n")


async def test_pretty_json_for_curl_has_no_trailing_newline(api: ResourceApp) -> None:
    answer = await api.request("GET", f"{CONFIGMAPS}/a", headers={"User-Agent": "curl/8.5.0"})
    assert answer.body.startswith(b'{\n  "')
    assert not answer.body.endswith(b"\n")


@pytest.mark.parametrize(
    ("method", "path", "code", "with_details"),
    [
        ("GET", "/api/v1/namespaces/default/foos", 404, True),
        ("GET", "/apis/example.com/v1/namespaces/default/foos", 404, False),
        ("GET", "/api/v1/configmaps/a", 404, True),
        ("GET", "/api/v1/namespaces/default/nodes/n1", 404, True),
        ("GET", "/api/v1/namespaces/default/configmaps/a/scale", 404, True),
        ("GET", "/api/v1/namespaces/default/configmaps/a/b/c", 404, True),
        ("PUT", CONFIGMAPS, 405, True),
        ("PATCH", CONFIGMAPS, 405, True),
        ("POST", "/api/v1/namespaces/default/pods/p/status", 405, True),
        ("DELETE", "/api/v1/namespaces/default/configmaps/a/status", 404, True),
        ("DELETE", "/api/v1/namespaces", 405, True),
        ("GET", "/api/v1/namespaces/default/namespaces", 404, True),
    ],
    ids=["unknown-resource", "unknown-group", "namespaced-item-without-namespace", "cluster-scoped-in-namespace",
         "unknown-subresource", "too-deep", "put-collection", "patch-collection", "post-status",
         "configmaps-have-no-status", "namespaces-have-no-deletecollection", "namespaces-under-a-namespace"],
)
async def test_paths_and_methods_without_a_route(
    api: ResourceApp, method: str, path: str, code: int, with_details: bool
) -> None:
    answer = await api.request(method, path)
    assert answer.status == code
    assert ("details" in answer.json()) is with_details


async def test_watch_of_a_resource_without_watch_is_method_not_supported(api: ResourceApp) -> None:
    answer = await api.request("GET", "/api/v1/componentstatuses?watch=1")
    assert (answer.status, answer.json()) == (405, {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": 'watch is not supported on resources of kind "componentstatuses"', "reason": "MethodNotAllowed",
        "details": {"kind": "componentstatuses"}, "code": 405,
    })


async def test_the_status_subresource_is_read_like_the_object(api: ResourceApp) -> None:
    answer = await api.request("GET", "/api/v1/namespaces/default/status")
    assert answer.status == 200
    assert answer.json()["status"] == {"phase": "Active"}


async def test_the_export_parameter_is_refused(api: ResourceApp) -> None:
    answer = await api.request("GET", f"{CONFIGMAPS}/a?export=true")
    assert (answer.status, answer.json()["message"]) == (
        400, "the export parameter, deprecated since v1.14, is no longer supported"
    )


async def test_protobuf_is_answered_when_preferred(api: ResourceApp) -> None:
    from apiserver.meta.protobuf import decode_object

    answer = await api.request("GET", f"{CONFIGMAPS}/a",
                               headers={"Accept": "application/vnd.kubernetes.protobuf,application/json"})
    assert answer.headers["content-type"] == "application/vnd.kubernetes.protobuf"
    decoded = decode_object(answer.body)
    assert (decoded["kind"], decoded["metadata"]["name"], decoded["data"]) == ("ConfigMap", "a", {"k": "<v>"})


async def test_errors_are_protobuf_status_for_protobuf_clients(api: ResourceApp) -> None:
    from apiserver.meta.protobuf import decode_object

    answer = await api.request("GET", f"{CONFIGMAPS}/nope",
                               headers={"Accept": "application/vnd.kubernetes.protobuf,application/json"})
    assert (answer.status, answer.headers["content-type"]) == (404, "application/vnd.kubernetes.protobuf")
    status = decode_object(answer.body)
    assert (status["kind"], status["reason"]) == ("Status", "NotFound")
    assert status["message"] == 'configmaps "nope" not found'
