"""ResourceStore create, get and update: system metadata, names, validation, concurrency, status and generation.

Every test runs on MemoryStorage and SQLiteStorage through a running Registry; errors are checked as exact Status
bodies.
"""
from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from apiserver.meta.errors import ApiError
from apiserver.registry.context import DeleteOptions
from apiserver.registry.stores import Registry
from apiserver.storage.interface import Storage
from tests.registry.harness import NOW_TEXT, UNIT_BACKENDS, ctx, opened_storage, resource_store, running_registry
from tests.support.samples import with_sample


@pytest.fixture(params=UNIT_BACKENDS)
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    async with opened_storage(request.param, tmp_path, request) as opened:
        yield opened


@pytest.fixture
async def registry(storage: Storage) -> AsyncIterator[Registry]:
    async with running_registry(storage) as running:
        yield running


def configmap(name: str = "cm", **fields: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, **fields}


def deployment(name: str = "web", **spec: Any) -> dict[str, Any]:
    """A valid Deployment (its type validates selector and template) with `spec` fields on top."""
    body = with_sample("apps", "deployments", {"metadata": {"name": name}})
    body["spec"].update(spec)
    return body


def status_of(error: ApiError) -> dict[str, object]:
    return error.to_status()


async def test_create_sets_system_metadata_and_stamps_the_resource_version(registry: Registry) -> None:
    store = resource_store(registry, "", "v1", "configmaps")
    created = await store.create("ns", configmap(data={"k": "v"}), ctx("ns"))
    meta = created.obj["metadata"]
    assert list(created.obj) == ["apiVersion", "kind", "metadata", "data"]
    assert list(meta) == ["name", "namespace", "uid", "resourceVersion", "creationTimestamp"]
    assert meta["namespace"] == "ns" and meta["creationTimestamp"] == NOW_TEXT
    assert len(meta["uid"]) == 36 and meta["resourceVersion"].isdigit()
    assert "generation" not in meta  # configmaps do not track generation, as upstream
    fetched = await store.get("ns", "cm")
    assert fetched.json == created.json


async def test_create_of_a_type_with_status_sets_generation_and_drops_status(registry: Registry) -> None:
    store = resource_store(registry, "apps", "v1", "deployments")
    body = {**deployment(replicas=1), "status": {"replicas": 5}}
    created = await store.create("ns", body, ctx("ns"))
    assert created.obj["metadata"]["generation"] == 1
    assert "status" not in created.obj
    assert created.obj["apiVersion"] == "apps/v1" and created.obj["kind"] == "Deployment"


async def test_create_with_a_different_namespace_in_the_body_is_a_bad_request(registry: Registry) -> None:
    store = resource_store(registry, "", "v1", "configmaps")
    body = configmap()
    body["metadata"]["namespace"] = "other"
    with pytest.raises(ApiError) as raised:
        await store.create("ns", body, ctx("ns"))
    assert status_of(raised.value) == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": "the namespace of the provided object does not match the namespace sent on the request",
        "reason": "BadRequest", "code": 400,
    }


async def test_create_of_a_cluster_scoped_object_drops_a_namespace_in_the_body(registry: Registry) -> None:
    store = resource_store(registry, "rbac.authorization.k8s.io", "v1", "clusterroles")
    created = await store.create("", {"metadata": {"name": "system:reader", "namespace": "x"}}, ctx())
    assert "namespace" not in created.obj["metadata"]


async def test_create_with_an_invalid_name_is_invalid_with_the_kind_and_upstream_message(registry: Registry) -> None:
    store = resource_store(registry, "apps", "v1", "deployments")
    with pytest.raises(ApiError) as raised:
        await store.create("ns", deployment("Bad_Name"), ctx("ns"))
    message = ('a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, \'-\' or \'.\', '
               "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
               "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
    assert status_of(raised.value) == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": f'Deployment.apps "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": {message}',
        "reason": "Invalid",
        "details": {"name": "Bad_Name", "group": "apps", "kind": "Deployment", "causes": [
            {"reason": "FieldValueInvalid", "message": f'Invalid value: "Bad_Name": {message}',
             "field": "metadata.name"}]},
        "code": 422,
    }


async def test_names_follow_each_types_rule(registry: Registry) -> None:
    roles = resource_store(registry, "rbac.authorization.k8s.io", "v1", "clusterroles")
    await roles.create("", {"metadata": {"name": "system:controller:x"}}, ctx())  # path segment names
    namespaces = resource_store(registry, "", "v1", "namespaces")
    with pytest.raises(ApiError) as raised:
        await namespaces.create("", {"metadata": {"name": "a.b"}}, ctx())  # DNS labels: no dots
    expected = 'Namespace "a.b" is invalid: metadata.name: Invalid value: "a.b": must not contain dots'
    assert raised.value.message == expected
    services = resource_store(registry, "", "v1", "services")
    with pytest.raises(ApiError) as raised:
        await services.create("ns", with_sample("", "services", {"metadata": {"name": "1abc"}}),
                              ctx("ns"))  # DNS-1035: a letter first
    assert raised.value.reason == "Invalid"
    assert raised.value.message.startswith(
        'Service "1abc" is invalid: metadata.name: Invalid value: "1abc": a DNS-1035 label')


async def test_missing_name_is_required(registry: Registry) -> None:
    store = resource_store(registry, "", "v1", "configmaps")
    with pytest.raises(ApiError) as raised:
        await store.create("ns", {"metadata": {}}, ctx("ns"))
    assert raised.value.message == (
        'ConfigMap "" is invalid: metadata.name: Required value: name or generateName is required'
    )


async def test_invalid_labels_are_rejected_and_nothing_is_stored(registry: Registry, storage: Storage) -> None:
    store = resource_store(registry, "", "v1", "configmaps")
    before = await storage.current_revision()
    body = configmap(metadata={"name": "cm", "labels": {"bad key!": "v"}})
    with pytest.raises(ApiError) as raised:
        await store.create("ns", body, ctx("ns"))
    assert raised.value.reason == "Invalid"
    assert raised.value.message.startswith('ConfigMap "cm" is invalid: metadata.labels: Invalid value: "bad key!"')
    assert await storage.current_revision() == before


async def test_generate_name_appends_five_random_characters(registry: Registry) -> None:
    store = resource_store(registry, "", "v1", "configmaps")
    created = await store.create("ns", {"metadata": {"generateName": "web-"}}, ctx("ns"))
    name = created.obj["metadata"]["name"]
    assert name.startswith("web-") and len(name) == len("web-") + 5
    assert set(name[4:]) <= set("bcdfghjklmnpqrstvwxz2456789")
    assert created.obj["metadata"]["generateName"] == "web-"


async def test_generate_name_retries_on_a_collision(storage: Storage) -> None:
    # Two registries with the same seeded generator produce the same first name: the second must retry.
    async with running_registry(storage, seed=3) as first:
        taken = await resource_store(first, "", "v1", "configmaps").create(
            "ns", {"metadata": {"generateName": "x-"}}, ctx("ns"))
    async with running_registry(storage, seed=3) as second:
        other = await resource_store(second, "", "v1", "configmaps").create(
            "ns", {"metadata": {"generateName": "x-"}}, ctx("ns"))
    assert other.obj["metadata"]["name"] != taken.obj["metadata"]["name"]


async def test_create_of_an_existing_name_already_exists(registry: Registry) -> None:
    store = resource_store(registry, "apps", "v1", "deployments")
    await store.create("ns", deployment(), ctx("ns"))
    with pytest.raises(ApiError) as raised:
        await store.create("ns", deployment(), ctx("ns"))
    assert status_of(raised.value) == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": 'deployments.apps "web" already exists', "reason": "AlreadyExists",
        "details": {"name": "web", "group": "apps", "kind": "deployments"}, "code": 409,
    }


async def test_create_with_a_resource_version_is_an_internal_error(registry: Registry) -> None:
    store = resource_store(registry, "", "v1", "configmaps")
    body = configmap(metadata={"name": "cm", "resourceVersion": "5"})
    with pytest.raises(ApiError) as raised:
        await store.create("ns", body, ctx("ns"))
    assert status_of(raised.value) == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": "resourceVersion should not be set on objects to be created", "code": 500,
    }


async def test_dry_run_create_stores_nothing_and_answers_alike(registry: Registry, storage: Storage) -> None:
    store = resource_store(registry, "", "v1", "configmaps")
    before = await storage.current_revision()
    answer = await store.create("ns", configmap(data={"a": "b"}), ctx("ns", dry_run=True))
    assert answer.obj["data"] == {"a": "b"} and answer.obj["metadata"]["uid"]
    assert "resourceVersion" not in answer.obj["metadata"]
    assert await storage.current_revision() == before
    with pytest.raises(ApiError) as raised:
        await store.get("ns", "cm")
    assert raised.value.message == 'configmaps "cm" not found'


async def test_get_of_a_missing_object_is_not_found_with_the_group(registry: Registry) -> None:
    store = resource_store(registry, "apps", "v1", "deployments")
    with pytest.raises(ApiError) as raised:
        await store.get("ns", "nope")
    assert status_of(raised.value) == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": 'deployments.apps "nope" not found', "reason": "NotFound",
        "details": {"name": "nope", "group": "apps", "kind": "deployments"}, "code": 404,
    }


async def test_admission_hook_sees_a_copy_and_can_reject(registry: Registry, storage: Storage) -> None:
    store = resource_store(registry, "", "v1", "configmaps")
    seen: list[tuple[dict[str, Any], Any]] = []

    async def deny(new: dict[str, Any], old: dict[str, Any] | None) -> None:
        seen.append((new, old))
        new["metadata"]["name"] = "changed"
        raise ApiError.from_message("denied")

    before = await storage.current_revision()
    with pytest.raises(ApiError):
        await store.create("ns", configmap(), ctx("ns"), validate=deny)
    assert seen[0][1] is None and seen[0][0]["metadata"]["uid"]
    assert await storage.current_revision() == before


async def test_update_replaces_and_bumps_the_resource_version(registry: Registry) -> None:
    store = resource_store(registry, "", "v1", "configmaps")
    created = await store.create("ns", configmap(data={"a": "1"}), ctx("ns"))
    body = created.copy()
    body["data"] = {"a": "2"}
    updated, was_created = await store.update("ns", "cm", body, ctx("ns"))
    assert not was_created
    assert updated.obj["data"] == {"a": "2"}
    assert int(updated.obj["metadata"]["resourceVersion"]) > int(created.obj["metadata"]["resourceVersion"])
    assert updated.obj["metadata"]["uid"] == created.obj["metadata"]["uid"]


async def test_a_no_op_update_keeps_the_resource_version_and_writes_nothing(registry: Registry,
                                                                          storage: Storage) -> None:
    store = resource_store(registry, "", "v1", "configmaps")
    created = await store.create("ns", configmap(data={"a": "1"}), ctx("ns"))
    before = await storage.current_revision()
    updated, _ = await store.update("ns", "cm", created.copy(), ctx("ns"))
    assert updated.json == created.json
    assert await storage.current_revision() == before


async def test_update_with_a_stale_resource_version_conflicts(registry: Registry) -> None:
    store = resource_store(registry, "", "v1", "configmaps")
    created = await store.create("ns", configmap(), ctx("ns"))
    first = created.copy()
    first["data"] = {"a": "1"}
    await store.update("ns", "cm", first, ctx("ns"))
    stale = created.copy()
    stale["data"] = {"a": "2"}
    with pytest.raises(ApiError) as raised:
        await store.update("ns", "cm", stale, ctx("ns"))
    assert status_of(raised.value) == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": 'Operation cannot be fulfilled on configmaps "cm": the object has been modified; please apply '
                   "your changes to the latest version and try again",
        "reason": "Conflict", "details": {"name": "cm", "kind": "configmaps"}, "code": 409,
    }


async def test_update_without_a_resource_version_is_unconditional(registry: Registry) -> None:
    store = resource_store(registry, "", "v1", "configmaps")
    await store.create("ns", configmap(), ctx("ns"))
    updated, _ = await store.update("ns", "cm", configmap(data={"x": "y"}), ctx("ns"))
    assert updated.obj["data"] == {"x": "y"}


async def test_update_without_a_resource_version_is_invalid_where_upstream_requires_one(registry: Registry) -> None:
    store = resource_store(registry, "apiregistration.k8s.io", "v1", "apiservices")
    spec = {"group": "example.com", "version": "v1", "groupPriorityMinimum": 1, "versionPriority": 1}
    await store.create("", {"metadata": {"name": "v1.example.com"}, "spec": spec}, ctx())
    with pytest.raises(ApiError) as raised:
        await store.update("", "v1.example.com", {"metadata": {"name": "v1.example.com"},
                                                  "spec": {**spec, "versionPriority": 2}}, ctx())
    assert raised.value.message == (
        'apiservices.apiregistration.k8s.io "v1.example.com" is invalid: metadata.resourceVersion: Invalid value: '
        "0: must be specified for an update"
    )


async def test_update_with_another_name_than_the_url_is_a_bad_request(registry: Registry) -> None:
    store = resource_store(registry, "", "v1", "configmaps")
    with pytest.raises(ApiError) as raised:
        await store.update("ns", "b", configmap("a"), ctx("ns"))
    assert raised.value.to_status()["message"] == "the name of the object (a) does not match the name on the URL (b)"
    assert raised.value.code == 400


async def test_update_of_a_missing_object_is_not_found_unless_create_on_update(registry: Registry) -> None:
    with pytest.raises(ApiError) as raised:
        await resource_store(registry, "", "v1", "configmaps").update("ns", "cm", configmap(), ctx("ns"))
    assert raised.value.message == 'configmaps "cm" not found'
    leases = resource_store(registry, "coordination.k8s.io", "v1", "leases")
    created, was_created = await leases.update("ns", "l", {"metadata": {"name": "l"}, "spec": {}}, ctx("ns"))
    assert was_created and created.obj["metadata"]["uid"]


async def test_immutable_metadata_is_kept_or_rejected(registry: Registry) -> None:
    store = resource_store(registry, "", "v1", "configmaps")
    created = await store.create("ns", configmap(), ctx("ns"))
    body = created.copy()
    body["metadata"]["creationTimestamp"] = "2000-01-01T00:00:00Z"
    del body["metadata"]["uid"]
    updated, _ = await store.update("ns", "cm", body, ctx("ns"))
    assert updated.obj["metadata"]["creationTimestamp"] == NOW_TEXT
    assert updated.obj["metadata"]["uid"] == created.obj["metadata"]["uid"]
    body = created.copy()
    body["metadata"]["uid"] = "other"
    with pytest.raises(ApiError) as raised:
        await store.update("ns", "cm", body, ctx("ns"))
    assert raised.value.message == 'ConfigMap "cm" is invalid: metadata.uid: Invalid value: "other": field is immutable'


async def test_generation_counts_spec_changes_only(registry: Registry) -> None:
    store = resource_store(registry, "apps", "v1", "deployments")
    created = await store.create("ns", deployment(replicas=1), ctx("ns"))
    body = created.copy()
    body["metadata"]["labels"] = {"a": "b"}
    labelled, _ = await store.update("ns", "web", body, ctx("ns"))
    assert labelled.obj["metadata"]["generation"] == 1
    body = labelled.copy()
    body["spec"]["replicas"] = 3
    scaled, _ = await store.update("ns", "web", body, ctx("ns"))
    assert scaled.obj["metadata"]["generation"] == 2


async def test_main_resource_ignores_status_and_status_subresource_takes_only_status(registry: Registry) -> None:
    store = resource_store(registry, "apps", "v1", "deployments")
    created = await store.create("ns", deployment(replicas=1), ctx("ns"))
    body = created.copy()
    body["status"] = {"replicas": 1}
    body["spec"]["replicas"] = 9
    body["metadata"]["labels"] = {"x": "y"}
    status_updated, _ = await store.update("ns", "web", body, ctx("ns"), subresource="status")
    assert status_updated.obj["status"] == {"replicas": 1}
    assert status_updated.obj["spec"] == created.obj["spec"] and created.obj["spec"]["replicas"] == 1
    assert "labels" not in status_updated.obj["metadata"]
    assert status_updated.obj["metadata"]["generation"] == 1
    body = status_updated.copy()
    body["status"] = {"replicas": 7}
    main_updated, _ = await store.update("ns", "web", body, ctx("ns"))
    assert main_updated.obj["status"] == {"replicas": 1}
    assert main_updated.json == status_updated.json


async def test_dry_run_update_answers_the_new_object_and_stores_nothing(registry: Registry, storage: Storage) -> None:
    store = resource_store(registry, "", "v1", "configmaps")
    created = await store.create("ns", configmap(data={"a": "1"}), ctx("ns"))
    body = created.copy()
    body["data"] = {"a": "2"}
    before = await storage.current_revision()
    answer, _ = await store.update("ns", "cm", body, ctx("ns", dry_run=True))
    assert answer.obj["data"] == {"a": "2"}
    assert answer.obj["metadata"]["resourceVersion"] == created.obj["metadata"]["resourceVersion"]
    assert await storage.current_revision() == before
    assert (await store.get("ns", "cm")).obj["data"] == {"a": "1"}


async def test_guaranteed_update_retries_a_transform_after_a_conflict(registry: Registry) -> None:
    store = resource_store(registry, "", "v1", "configmaps")
    await store.create("ns", configmap(data={"n": "0"}), ctx("ns"))
    calls = 0

    async def bump(current: dict[str, Any]) -> dict[str, Any]:
        nonlocal calls
        calls += 1
        if calls == 1:  # someone else writes between our read and our write
            other = current.copy()
            other["data"] = {"n": "other"}
            other = await store.get("ns", "cm")
            changed = other.copy()
            changed["data"] = {"n": "1"}
            await store.update("ns", "cm", changed, ctx("ns"))
        current["data"] = {"n": current["data"]["n"] + "+"}
        return current

    result = await store.guaranteed_update("ns", "cm", bump, ctx("ns"))
    assert calls == 2
    assert result.obj["data"] == {"n": "1+"}


async def test_guaranteed_update_with_an_explicit_old_resource_version_conflicts(registry: Registry) -> None:
    store = resource_store(registry, "", "v1", "configmaps")
    created = await store.create("ns", configmap(), ctx("ns"))
    await store.update("ns", "cm", {**created.copy(), "data": {"a": "b"}}, ctx("ns"))

    def patch(current: dict[str, Any]) -> dict[str, Any]:
        current["metadata"]["resourceVersion"] = created.obj["metadata"]["resourceVersion"]
        return current

    with pytest.raises(ApiError) as raised:
        await store.guaranteed_update("ns", "cm", patch, ctx("ns"))
    assert raised.value.reason == "Conflict"


async def test_stored_objects_returned_are_not_mutated_by_callers_copies(registry: Registry) -> None:
    store = resource_store(registry, "", "v1", "configmaps")
    created = await store.create("ns", configmap(data={"a": "1"}), ctx("ns"))
    copied = created.copy()
    copied["data"]["a"] = "changed"
    assert created.obj["data"] == {"a": "1"}


async def test_generate_name_gives_up_after_eight_collisions(storage: Storage) -> None:
    attempts: list[str] = []

    def always_same(base: str) -> str:
        attempts.append(base)
        return base + "same"

    async with running_registry(storage, names=always_same) as registry:
        store = resource_store(registry, "", "v1", "configmaps")
        await store.create("ns", configmap("x-same"), ctx("ns"))
        with pytest.raises(ApiError) as raised:
            await store.create("ns", {"metadata": {"generateName": "x-"}}, ctx("ns"))
    assert len(attempts) == 8
    assert raised.value.to_status() == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": 'configmaps "x-same" already exists, the server was not able to generate a unique name for the '
                   "object",
        "reason": "AlreadyExists", "details": {"name": "x-same", "kind": "configmaps", "retryAfterSeconds": 1},
        "code": 409,
    }


async def test_creating_over_an_object_being_deleted_says_so(registry: Registry) -> None:
    store = resource_store(registry, "", "v1", "configmaps")
    await store.create("ns", configmap(metadata={"name": "cm", "finalizers": ["example.com/keep"]}), ctx("ns"))
    await store.delete("ns", "cm", DeleteOptions(), ctx("ns"))
    with pytest.raises(ApiError) as raised:
        await store.create("ns", configmap(), ctx("ns"))
    assert raised.value.to_status()["message"] == 'object is being deleted: configmaps "cm" already exists'
    assert raised.value.reason == "AlreadyExists"
