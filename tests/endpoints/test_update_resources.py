"""PUT: whole-object replacement with optimistic concurrency, name and namespace checks, the status subresource."""
from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.support.resource_app import ResourceApp, resource_app

CONFIGMAPS = "/api/v1/namespaces/default/configmaps"


@pytest.fixture
async def api() -> AsyncIterator[ResourceApp]:
    async with resource_app() as app:
        yield app


async def create(api: ResourceApp, name: str = "a") -> dict[str, Any]:
    answer = await api.request("POST", CONFIGMAPS, {"metadata": {"name": name}, "data": {"k": "v"}})
    assert answer.status == 201
    created: dict[str, Any] = answer.json()
    return created


async def test_put_replaces_the_object_and_answers_200(api: ResourceApp) -> None:
    current = await create(api)
    current["data"] = {"k": "w"}
    answer = await api.request("PUT", f"{CONFIGMAPS}/a", current)
    assert answer.status == 200
    assert answer.json()["data"] == {"k": "w"}
    assert int(answer.json()["metadata"]["resourceVersion"]) > int(current["metadata"]["resourceVersion"])


async def test_a_put_that_changes_nothing_keeps_the_resource_version(api: ResourceApp) -> None:
    current = await create(api)
    answer = await api.request("PUT", f"{CONFIGMAPS}/a", current)
    assert answer.json() == current


async def test_a_stale_resource_version_is_a_conflict(api: ResourceApp) -> None:
    current = await create(api)
    stale = dict(current, metadata={**current["metadata"], "resourceVersion": "1"})
    answer = await api.request("PUT", f"{CONFIGMAPS}/a", stale)
    assert (answer.status, answer.json()) == (409, {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": 'Operation cannot be fulfilled on configmaps "a": the object has been modified; please apply '
                   "your changes to the latest version and try again",
        "reason": "Conflict", "details": {"name": "a", "kind": "configmaps"}, "code": 409,
    })


async def test_the_name_in_the_body_must_match_the_url(api: ResourceApp) -> None:
    current = await create(api)
    answer = await api.request("PUT", f"{CONFIGMAPS}/b", current)
    assert (answer.status, answer.json()["message"]) == (
        400, "the name of the object (a) does not match the name on the URL (b)"
    )


async def test_put_of_a_missing_configmap_is_404(api: ResourceApp) -> None:
    answer = await api.request("PUT", f"{CONFIGMAPS}/ghost", {"metadata": {"name": "ghost"}})
    assert (answer.status, answer.json()["message"]) == (404, 'configmaps "ghost" not found')


async def test_put_with_dry_run_changes_nothing(api: ResourceApp) -> None:
    current = await create(api)
    changed = dict(current, data={"k": "dry"})
    answer = await api.request("PUT", f"{CONFIGMAPS}/a?dryRun=All", changed)
    assert (answer.status, answer.json()["data"]) == (200, {"k": "dry"})
    assert (await api.request("GET", f"{CONFIGMAPS}/a")).json() == current


async def test_invalid_update_options_are_422_on_update_options(api: ResourceApp) -> None:
    current = await create(api)
    answer = await api.request("PUT", f"{CONFIGMAPS}/a?dryRun=Some", current)
    assert answer.status == 422
    assert answer.json()["details"]["kind"] == "UpdateOptions"


async def test_malformed_put_body_is_400_and_changes_nothing(api: ResourceApp) -> None:
    current = await create(api)
    answer = await api.request("PUT", f"{CONFIGMAPS}/a", b'{"metadata":')
    assert answer.status == 400
    assert (await api.request("GET", f"{CONFIGMAPS}/a")).json() == current


async def test_the_status_subresource_takes_only_status(api: ResourceApp) -> None:
    namespace = (await api.request("POST", "/api/v1/namespaces", {"metadata": {"name": "team"}})).json()
    namespace["status"] = {"phase": "Terminating"}
    namespace["metadata"]["labels"] = {"ignored": "yes"}
    answer = await api.request("PUT", "/api/v1/namespaces/team/status", namespace)
    assert answer.status == 200
    assert answer.json()["status"]["phase"] == "Terminating"
    assert answer.json()["metadata"]["labels"] == {"kubernetes.io/metadata.name": "team"}
