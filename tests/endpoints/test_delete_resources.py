"""DELETE of objects and collections: options from body or query, Status or object answers, admission."""
from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.resource_app import ResourceApp, resource_app

CONFIGMAPS = "/api/v1/namespaces/default/configmaps"


@pytest.fixture
async def api() -> AsyncIterator[ResourceApp]:
    async with resource_app() as app:
        for name in ("a", "b"):
            answer = await app.request("POST", CONFIGMAPS, {"metadata": {"name": name, "labels": {"n": name}}})
            assert answer.status == 201
        yield app


async def test_deleting_a_configmap_answers_a_success_status(api: ResourceApp) -> None:
    uid = (await api.request("GET", f"{CONFIGMAPS}/a")).json()["metadata"]["uid"]
    answer = await api.request("DELETE", f"{CONFIGMAPS}/a")
    assert (answer.status, answer.json()) == (200, {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
        "details": {"name": "a", "kind": "configmaps", "uid": uid},
    })
    assert (await api.request("GET", f"{CONFIGMAPS}/a")).status == 404


async def test_deleting_a_missing_object_is_404(api: ResourceApp) -> None:
    answer = await api.request("DELETE", f"{CONFIGMAPS}/ghost")
    assert (answer.status, answer.json()["message"]) == (404, 'configmaps "ghost" not found')


async def test_delete_options_come_from_a_body_without_content_type(api: ResourceApp) -> None:
    answer = await api.request("DELETE", f"{CONFIGMAPS}/a", {"preconditions": {"uid": "not-the-uid"}})
    assert answer.status == 409
    assert answer.json()["reason"] == "Conflict"
    assert (await api.request("GET", f"{CONFIGMAPS}/a")).status == 200


async def test_delete_options_come_from_the_query_without_a_body(api: ResourceApp) -> None:
    answer = await api.request("DELETE", f"{CONFIGMAPS}/a?dryRun=All")
    assert answer.status == 200
    assert (await api.request("GET", f"{CONFIGMAPS}/a")).status == 200


async def test_a_malformed_delete_body_is_a_500_with_the_decoder_message(api: ResourceApp) -> None:
    answer = await api.request("DELETE", f"{CONFIGMAPS}/a", b"{nope")
    assert (answer.status, answer.json()) == (500, {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": "couldn't get version/kind; json parse error: invalid character 'n' looking for beginning of "
                   "object key string",
        "code": 500,
    })
    assert (await api.request("GET", f"{CONFIGMAPS}/a")).status == 200


async def test_deleting_a_namespace_marks_it_terminating_and_answers_the_object(api: ResourceApp) -> None:
    assert (await api.request("POST", "/api/v1/namespaces", {"metadata": {"name": "team"}})).status == 201
    answer = await api.request("DELETE", "/api/v1/namespaces/team")
    assert answer.status == 200
    namespace = answer.json()
    assert namespace["kind"] == "Namespace"
    assert namespace["status"]["phase"] == "Terminating"
    assert namespace["metadata"]["deletionTimestamp"]


@pytest.mark.parametrize("name", ["default", "kube-system", "kube-public"])
async def test_the_immortal_namespaces_cannot_be_deleted(api: ResourceApp, name: str) -> None:
    answer = await api.request("DELETE", f"/api/v1/namespaces/{name}")
    assert (answer.status, answer.json()) == (403, {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": f'namespaces "{name}" is forbidden: this namespace may not be deleted', "reason": "Forbidden",
        "details": {"name": name, "kind": "namespaces"}, "code": 403,
    })


async def test_deleting_a_missing_namespace_is_404_before_admission(api: ResourceApp) -> None:
    answer = await api.request("DELETE", "/api/v1/namespaces/ghost")
    assert answer.status == 404


async def test_delete_collection_answers_the_deleted_objects_as_a_list(api: ResourceApp) -> None:
    answer = await api.request("DELETE", f"{CONFIGMAPS}?labelSelector=n%3Da")
    assert answer.status == 200
    document = answer.json()
    assert document["kind"] == "ConfigMapList"
    assert [item["metadata"]["name"] for item in document["items"]] == ["a"]
    remaining = (await api.request("GET", CONFIGMAPS)).json()["items"]
    assert [item["metadata"]["name"] for item in remaining] == ["b"]


async def test_an_invalid_propagation_policy_is_invalid_delete_options(api: ResourceApp) -> None:
    answer = await api.request("DELETE", f"{CONFIGMAPS}/a?propagationPolicy=Sometimes")
    assert answer.status == 422
    assert answer.json()["details"]["kind"] == "DeleteOptions"
