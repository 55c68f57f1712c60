"""Updating CustomResourceDefinitions: generation, stored versions, immutable fields, /status writes and upstream's
ratcheting (a stored CRD may keep what later validation rejects), through the resource endpoints."""
from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest

from tests.resources.apiextensions.crd_support import (
    CRDS,
    MERGE,
    NAME,
    crd,
    create,
    invalid,
    refused,
    schema,
    version,
    with_schema,
)
from tests.support.resource_app import ResourceApp, resource_app

ITEM = f"{CRDS}/{NAME}"
STORAGE_KEY = f"/registry/apiextensions.k8s.io/customresourcedefinitions/{NAME}"


@pytest.fixture
async def api() -> AsyncIterator[ResourceApp]:
    async with resource_app() as app:
        yield app


async def patch(api: ResourceApp, path: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = await api.request("PATCH", path, body, headers=MERGE)
    assert answer.status == 200, answer.json()
    patched: dict[str, Any] = answer.json()
    return patched


async def test_spec_changes_bump_generation_metadata_changes_do_not(api: ResourceApp) -> None:
    await create(api, crd())
    labelled = await patch(api, ITEM, {"metadata": {"labels": {"team": "a"}}})
    assert labelled["metadata"]["generation"] == 1
    changed = await patch(api, ITEM, {"spec": {"names": {"shortNames": ["wd"]}}})
    assert changed["metadata"]["generation"] == 2


async def test_group_and_plural_are_immutable(api: ResourceApp) -> None:
    await create(api, crd())
    await refused(api, "PATCH", ITEM, {"spec": {"group": "example.org", "names": {"plural": "gadgets"}}}, invalid([
        ("FieldValueInvalid", "spec.group", 'Invalid value: "example.org": field is immutable'),
        ("FieldValueInvalid", "spec.names.plural", 'Invalid value: "gadgets": field is immutable'),
    ]), headers=MERGE)


async def test_a_new_storage_version_joins_the_stored_versions(api: ResourceApp) -> None:
    await create(api, crd())
    updated = await patch(api, ITEM, {"spec": {"versions": [version("v1", storage=False), version("v2")]}})
    assert updated["status"]["storedVersions"] == ["v1", "v2"]


async def test_a_stored_version_may_not_leave_spec_versions(api: ResourceApp) -> None:
    await create(api, crd())
    await patch(api, ITEM, {"spec": {"versions": [version("v1", storage=False), version("v2")]}})
    message = ("missing from spec.versions; v1 was previously a storage version, and must remain in spec.versions "
               "until a storage migration ensures no data remains persisted in v1 and removes v1 from "
               "status.storedVersions")
    await refused(api, "PATCH", ITEM, {"spec": {"versions": [version("v2")]}}, invalid([
        ("FieldValueInvalid", "status.storedVersions[0]", f'Invalid value: "v1": {message}')]), headers=MERGE)


async def test_stored_versions_are_trimmed_through_status(api: ResourceApp) -> None:
    await create(api, crd())
    await patch(api, ITEM, {"spec": {"versions": [version("v1", storage=False), version("v2")]}})
    trimmed = await patch(api, f"{ITEM}/status", {"status": {"storedVersions": ["v2"]}})
    assert trimmed["status"]["storedVersions"] == ["v2"]
    final = await patch(api, ITEM, {"spec": {"versions": [version("v2")]}})
    assert [item["name"] for item in final["spec"]["versions"]] == ["v2"]


async def test_status_write_validates_accepted_names_and_keeps_the_spec(api: ResourceApp) -> None:
    created = await create(api, crd())
    await refused(api, "PATCH", f"{ITEM}/status", {"status": {"acceptedNames": {"plural": "Widgets", "kind": "W"}}},
                  invalid([("FieldValueInvalid", "status.acceptedNames.plural",
                            'Invalid value: "Widgets": a DNS-1035 label must consist of lower case alphanumeric '
                            "characters or '-', start with an alphabetic character, and end with an alphanumeric "
                            "character (e.g. 'my-name',  or 'abc-123', regex used for validation is "
                            "'[a-z]([-a-z0-9]*[a-z0-9])?')")]), headers=MERGE)
    written = await patch(api, f"{ITEM}/status", {"spec": {"group": "ignored.example.com"},
                                                  "status": {"acceptedNames": {"plural": "widgets", "kind": "Widget"}}})
    assert written["spec"] == created["spec"]
    assert written["status"]["acceptedNames"] == {"plural": "widgets", "kind": "Widget"}
    assert written["metadata"]["generation"] == 1


async def test_scope_and_kind_are_immutable_once_established(api: ResourceApp) -> None:
    await create(api, crd())
    moved = await patch(api, ITEM, {"spec": {"scope": "Cluster"}})
    assert moved["spec"]["scope"] == "Cluster"
    established = {"type": "Established", "status": "True", "reason": "InitialNamesAccepted", "message": "ok",
                   "lastTransitionTime": "2024-01-02T03:04:05Z"}
    await patch(api, f"{ITEM}/status", {"status": {"conditions": [established]}})
    await refused(api, "PATCH", ITEM, {"spec": {"scope": "Namespaced", "names": {"kind": "Gadget"}}}, invalid([
        ("FieldValueInvalid", "spec.scope", 'Invalid value: "Namespaced": field is immutable'),
        ("FieldValueInvalid", "spec.names.kind", 'Invalid value: "Gadget": field is immutable'),
    ]), headers=MERGE)


async def test_invalid_update_of_the_schema_changes_nothing(api: ResourceApp) -> None:
    await create(api, crd())
    body = {"spec": {"versions": [version("v1", schema={"openAPIV3Schema": {"type": "object", "properties": {
        "spec": {"type": "object", "properties": {"x": {}}}}}})]}}
    await refused(api, "PATCH", ITEM, body, invalid([
        ("FieldValueRequired", "spec.validation.openAPIV3Schema.properties[spec].properties[x].type",
         "Required value: must not be empty for specified object fields")]), headers=MERGE)


async def test_update_without_resource_version_is_refused(api: ResourceApp) -> None:
    created = await create(api, crd())
    created["metadata"].pop("resourceVersion")
    answer = await api.request("PUT", ITEM, created)
    assert answer.status == 422
    assert [cause["field"] for cause in answer.json()["details"]["causes"]] == ["metadata.resourceVersion"]


NON_ATOMIC_SET = {"type": "object", "properties": {"spec": {"type": "object", "properties": {"s": {
    "type": "array", "x-kubernetes-list-type": "set",
    "items": {"type": "object", "properties": {"n": {"type": "string"}}}}}}}}


async def test_a_stored_crd_keeps_a_rule_it_already_broke(api: ResourceApp) -> None:
    """Ratcheting: a set of granular objects, stored before the rule existed, survives later updates."""
    created = await create(api, crd())
    old = dict(created, spec={**created["spec"],
                              "versions": [version("v1", schema={"openAPIV3Schema": NON_ATOMIC_SET})]})
    await api.storage.update(STORAGE_KEY, orjson.dumps(old), expected=int(created["metadata"]["resourceVersion"]))
    updated = await patch(api, ITEM, {"metadata": {"labels": {"kept": "yes"}},
                                      "spec": {"names": {"shortNames": ["w"]}}})
    assert updated["spec"]["names"]["shortNames"] == ["w"]
    await api.request("DELETE", ITEM)
    fresh = with_schema(NON_ATOMIC_SET, name="gadgets.example.com", names={"plural": "gadgets", "kind": "Gadget"})
    answer = await api.request("POST", CRDS, fresh)
    assert answer.status == 422
    assert answer.json()["details"]["causes"] == [{
        "reason": "FieldValueInvalid", "field": "spec.validation.openAPIV3Schema.properties[spec].properties[s].items."
                                                "x-kubernetes-map-type",
        "message": "Invalid value: null: must be atomic as item of a list with x-kubernetes-list-type=set"}]


async def test_unchanged_versions_keep_schema_and_changed_ones_are_checked(api: ResourceApp) -> None:
    await create(api, crd(version("v1"), version("v2", storage=False, schema=schema(other={"type": "string"}))))
    bad = schema(other={"type": "string"}, broken={})
    await refused(api, "PATCH", ITEM, {"spec": {"versions": [version("v1"), version("v2", storage=False,
                                                                                      schema=bad)]}},
                  invalid([("FieldValueRequired", "spec.versions[1].schema.openAPIV3Schema.properties[spec]."
                                                  "properties[broken].type",
                            "Required value: must not be empty for specified object fields")]), headers=MERGE)
