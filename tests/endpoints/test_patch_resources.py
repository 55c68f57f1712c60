"""PATCH with JSON patch and JSON merge patch; upstream's errors for every way a patch can be wrong."""
from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.support.resource_app import ResourceApp, resource_app

CONFIGMAPS = "/api/v1/namespaces/default/configmaps"
MERGE = {"Content-Type": "application/merge-patch+json"}
JSON_PATCH = {"Content-Type": "application/json-patch+json"}


@pytest.fixture
async def api() -> AsyncIterator[ResourceApp]:
    async with resource_app() as app:
        answer = await app.request("POST", CONFIGMAPS, {"metadata": {"name": "a", "labels": {"keep": "1"}},
                                                        "data": {"k": "v", "gone": "x"}})
        assert answer.status == 201
        yield app


async def current(api: ResourceApp) -> dict[str, Any]:
    document: dict[str, Any] = (await api.request("GET", f"{CONFIGMAPS}/a")).json()
    return document


async def test_a_merge_patch_merges_objects_and_deletes_nulls(api: ResourceApp) -> None:
    patch = {"metadata": {"labels": {"new": "2"}}, "data": {"k": "w", "gone": None}}
    answer = await api.request("PATCH", f"{CONFIGMAPS}/a?fieldManager=kubectl-label", patch, headers=MERGE)
    assert answer.status == 200
    assert answer.json()["metadata"]["labels"] == {"keep": "1", "new": "2"}
    assert answer.json()["data"] == {"k": "w"}


async def test_a_json_patch_applies_its_operations_in_order(api: ResourceApp) -> None:
    patch = [{"op": "add", "path": "/data/n", "value": "1"}, {"op": "remove", "path": "/data/gone"},
             {"op": "replace", "path": "/data/k", "value": "z"}]
    answer = await api.request("PATCH", f"{CONFIGMAPS}/a", patch, headers=JSON_PATCH)
    assert answer.status == 200
    assert answer.json()["data"] == {"k": "z", "n": "1"}


async def test_a_patch_that_changes_nothing_keeps_the_resource_version(api: ResourceApp) -> None:
    before = await current(api)
    answer = await api.request("PATCH", f"{CONFIGMAPS}/a", {"data": {"k": "v"}}, headers=MERGE)
    assert answer.json() == before


@pytest.mark.parametrize("content_type", ["application/apply-patch+cbor", "application/json"])
async def test_other_patch_types_are_415(api: ResourceApp, content_type: str) -> None:
    answer = await api.request("PATCH", f"{CONFIGMAPS}/a", {"data": {}}, headers={"Content-Type": content_type})
    assert (answer.status, answer.json()) == (415, {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": "the body of the request was in an unknown format - accepted media types include: "
                   "application/json-patch+json, application/merge-patch+json, "
                   "application/strategic-merge-patch+json, application/apply-patch+yaml",
        "reason": "UnsupportedMediaType", "code": 415,
    })


async def test_a_json_patch_that_does_not_apply_is_a_generic_422(api: ResourceApp) -> None:
    before = await current(api)
    answer = await api.request("PATCH", f"{CONFIGMAPS}/a", [{"op": "remove", "path": "/data/missing"}],
                               headers=JSON_PATCH)
    assert (answer.status, answer.json()) == (422, {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": "the server rejected our request due to an error in our request", "reason": "Invalid",
        "details": {}, "code": 422,
    })
    assert await current(api) == before


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"op":"add"}', "json: cannot unmarshal object into Go value of type jsonpatch.Patch"),
        (b"[1]", "json: cannot unmarshal number into Go value of type jsonpatch.Operation"),
        (b"[{", "unexpected end of JSON input"),
    ],
    ids=["object", "number", "truncated"],
)
async def test_a_json_patch_that_does_not_decode_is_a_400(api: ResourceApp, body: bytes, message: str) -> None:
    answer = await api.request("PATCH", f"{CONFIGMAPS}/a", body, headers=JSON_PATCH)
    assert (answer.status, answer.json()["reason"], answer.json()["message"]) == (400, "BadRequest", message)


@pytest.mark.parametrize("body", [b"{", b"null", b'"text"'], ids=["truncated", "null", "string"])
async def test_a_merge_patch_that_is_not_an_object_is_invalid_json_patch(api: ResourceApp, body: bytes) -> None:
    answer = await api.request("PATCH", f"{CONFIGMAPS}/a", body, headers=MERGE)
    assert (answer.status, answer.json()["message"]) == (400, "Invalid JSON Patch")


async def test_a_merge_patch_that_is_an_array_cannot_become_the_object(api: ResourceApp) -> None:
    # NewInvalid with an empty GroupKind: upstream's message starts with a space.
    answer = await api.request("PATCH", f"{CONFIGMAPS}/a", b"[]", headers=MERGE)
    assert answer.status == 422
    assert answer.json()["message"] == (
        ' "" is invalid: patch: Invalid value: "[]": couldn\'t get version/kind; json parse error: json: cannot '
        'unmarshal array into Go value of type struct { APIVersion string "json:\\"apiVersion,omitempty\\""; '
        'Kind string "json:\\"kind,omitempty\\"" }'
    )


async def test_a_patch_may_not_rename_the_object(api: ResourceApp) -> None:
    answer = await api.request("PATCH", f"{CONFIGMAPS}/a", {"metadata": {"name": "b"}}, headers=MERGE)
    assert (answer.status, answer.json()["message"]) == (
        400, "the name of the object (b) does not match the name on the URL (a)"
    )


async def test_a_patch_with_a_stale_resource_version_conflicts(api: ResourceApp) -> None:
    answer = await api.request("PATCH", f"{CONFIGMAPS}/a", {"metadata": {"resourceVersion": "1"}}, headers=MERGE)
    assert (answer.status, answer.json()["reason"]) == (409, "Conflict")


async def test_a_patch_of_a_missing_object_is_404_before_the_patch_is_read(api: ResourceApp) -> None:
    answer = await api.request("PATCH", f"{CONFIGMAPS}/ghost", b"not json", headers=JSON_PATCH)
    assert (answer.status, answer.json()["message"]) == (404, 'configmaps "ghost" not found')


async def test_force_is_only_for_apply(api: ResourceApp) -> None:
    answer = await api.request("PATCH", f"{CONFIGMAPS}/a?force=true", {}, headers=MERGE)
    assert answer.status == 422
    assert answer.json()["message"] == (
        'PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for non-apply patch'
    )


async def test_a_dry_run_patch_changes_nothing(api: ResourceApp) -> None:
    before = await current(api)
    answer = await api.request("PATCH", f"{CONFIGMAPS}/a?dryRun=All", {"data": {"k": "dry"}}, headers=MERGE)
    assert answer.json()["data"]["k"] == "dry"
    assert await current(api) == before


async def test_a_status_patch_changes_only_status(api: ResourceApp) -> None:
    assert (await api.request("POST", "/api/v1/namespaces", {"metadata": {"name": "team"}})).status == 201
    answer = await api.request("PATCH", "/api/v1/namespaces/team/status",
                               {"status": {"phase": "Terminating"}, "metadata": {"labels": {"x": "y"}}},
                               headers=MERGE)
    assert answer.status == 200
    assert answer.json()["status"]["phase"] == "Terminating"
    assert answer.json()["metadata"]["labels"] == {"kubernetes.io/metadata.name": "team"}
