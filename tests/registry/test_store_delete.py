"""ResourceStore delete: answers (object or Status), preconditions, finalizers, propagation, namespaces, dry run.

Runs on MemoryStorage and SQLiteStorage; Status bodies are compared exactly.
"""
from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from apiserver.meta.errors import ApiError
from apiserver.registry.context import DeleteOptions, ListOptions
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


def named(name: str, **metadata: Any) -> dict[str, Any]:
    return {"metadata": {"name": name, **metadata}}


def valid(group: str, plural: str, name: str) -> dict[str, Any]:
    """A valid object of a type that validates more than metadata."""
    return with_sample(group, plural, named(name))


async def test_delete_answers_a_success_status_for_most_types(registry: Registry) -> None:
    store = resource_store(registry, "apps", "v1", "deployments")
    created = await store.create("ns", valid("apps", "deployments", "web"), ctx("ns"))
    answer, deleted = await store.delete("ns", "web", DeleteOptions(), ctx("ns"))
    assert deleted and answer.is_status
    assert answer.obj == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                          "details": {"name": "web", "group": "apps", "kind": "deployments",
                                      "uid": created.obj["metadata"]["uid"]}}
    with pytest.raises(ApiError) as raised:
        await store.get("ns", "web")
    assert raised.value.message == 'deployments.apps "web" not found'


async def test_delete_answers_the_object_where_upstream_returns_it(registry: Registry) -> None:
    store = resource_store(registry, "", "v1", "pods")
    created = await store.create("ns", valid("", "pods", "p"), ctx("ns"))
    answer, deleted = await store.delete("ns", "p", DeleteOptions(), ctx("ns"))
    assert deleted and not answer.is_status
    assert answer.obj["metadata"]["uid"] == created.obj["metadata"]["uid"]
    assert int(answer.obj["metadata"]["resourceVersion"]) > int(created.obj["metadata"]["resourceVersion"])


async def test_delete_of_a_missing_object_is_not_found(registry: Registry) -> None:
    with pytest.raises(ApiError) as raised:
        await resource_store(registry, "", "v1", "secrets").delete("ns", "s", DeleteOptions(), ctx("ns"))
    assert raised.value.to_status() == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": 'secrets "s" not found', "reason": "NotFound", "details": {"name": "s", "kind": "secrets"},
        "code": 404,
    }


async def test_delete_preconditions_conflict_with_upstream_messages(registry: Registry) -> None:
    store = resource_store(registry, "apps", "v1", "deployments")
    created = await store.create("ns", valid("apps", "deployments", "web"), ctx("ns"))
    uid, version = created.obj["metadata"]["uid"], created.obj["metadata"]["resourceVersion"]
    with pytest.raises(ApiError) as raised:
        await store.delete("ns", "web", DeleteOptions(preconditions_uid="wrong"), ctx("ns"))
    assert raised.value.to_status() == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": f'Operation cannot be fulfilled on Deployment.apps "web": the UID in the precondition (wrong) '
                   f"does not match the UID in record ({uid}). The object might have been deleted and then recreated",
        "reason": "Conflict", "details": {"name": "web", "group": "apps", "kind": "Deployment"}, "code": 409,
    }
    with pytest.raises(ApiError) as raised:
        await store.delete("ns", "web", DeleteOptions(preconditions_resource_version="999999"), ctx("ns"))
    assert raised.value.message == (
        'Operation cannot be fulfilled on Deployment.apps "web": the ResourceVersion in the precondition (999999) '
        f"does not match the ResourceVersion in record ({version}). The object might have been modified"
    )
    _, deleted = await store.delete("ns", "web", DeleteOptions(preconditions_uid=uid,
                                                               preconditions_resource_version=version), ctx("ns"))
    assert deleted


async def test_an_object_with_finalizers_is_marked_not_removed(registry: Registry) -> None:
    store = resource_store(registry, "", "v1", "configmaps")
    await store.create("ns", named("cm", finalizers=["example.com/keep"]), ctx("ns"))
    answer, deleted = await store.delete("ns", "cm", DeleteOptions(), ctx("ns"))
    assert not deleted and not answer.is_status
    meta = answer.obj["metadata"]
    assert meta["deletionTimestamp"] == NOW_TEXT and meta["deletionGracePeriodSeconds"] == 0
    assert meta["finalizers"] == ["example.com/keep"]
    again, deleted = await store.delete("ns", "cm", DeleteOptions(), ctx("ns"))
    assert not deleted and again.json == answer.json  # a second delete changes nothing


async def test_removing_the_last_finalizer_of_a_marked_object_removes_it(registry: Registry) -> None:
    store = resource_store(registry, "", "v1", "configmaps")
    await store.create("ns", named("cm", finalizers=["example.com/keep"]), ctx("ns"))
    marked, _ = await store.delete("ns", "cm", DeleteOptions(), ctx("ns"))
    body = marked.copy()
    del body["metadata"]["finalizers"]
    answer, created = await store.update("ns", "cm", body, ctx("ns"))
    assert not created and "finalizers" not in answer.obj["metadata"]
    with pytest.raises(ApiError):
        await store.get("ns", "cm")


async def test_no_finalizer_can_be_added_once_deletion_started(registry: Registry) -> None:
    store = resource_store(registry, "", "v1", "configmaps")
    await store.create("ns", named("cm", finalizers=["example.com/a"]), ctx("ns"))
    marked, _ = await store.delete("ns", "cm", DeleteOptions(), ctx("ns"))
    body = marked.copy()
    body["metadata"]["finalizers"] = ["example.com/a", "example.com/b"]
    with pytest.raises(ApiError) as raised:
        await store.update("ns", "cm", body, ctx("ns"))
    assert raised.value.message == (
        'ConfigMap "cm" is invalid: metadata.finalizers: Forbidden: no new finalizers can be added if the object is '
        'being deleted, found new finalizers []string{"example.com/b"}'
    )


@pytest.mark.parametrize(("policy", "finalizer"), [("Foreground", "foregroundDeletion"), ("Orphan", "orphan")],
                         ids=["foreground", "orphan"])
async def test_propagation_policy_adds_its_finalizer(registry: Registry, policy: str, finalizer: str) -> None:
    store = resource_store(registry, "apps", "v1", "replicasets")
    await store.create("ns", valid("apps", "replicasets", "rs"), ctx("ns"))
    answer, deleted = await store.delete("ns", "rs", DeleteOptions(propagation_policy=policy), ctx("ns"))
    assert not deleted
    assert answer.obj["metadata"]["finalizers"] == [finalizer]
    assert answer.obj["metadata"]["generation"] == 2  # marking a generation-tracking object counts as a change


async def test_the_deprecated_orphan_dependents_option_orphans_or_deletes(registry: Registry) -> None:
    store = resource_store(registry, "", "v1", "configmaps")
    await store.create("ns", named("a"), ctx("ns"))
    await store.create("ns", named("b"), ctx("ns"))
    answer, deleted = await store.delete("ns", "a", DeleteOptions(orphan_dependents=True), ctx("ns"))
    assert not deleted and answer.obj["metadata"]["finalizers"] == ["orphan"]
    # Upstream's generic store never turns orphanDependents=false into foreground deletion.
    _, deleted = await store.delete("ns", "b", DeleteOptions(orphan_dependents=False), ctx("ns"))
    assert deleted


async def test_background_propagation_deletes_at_once(registry: Registry) -> None:
    store = resource_store(registry, "", "v1", "configmaps")
    await store.create("ns", named("cm"), ctx("ns"))
    _, deleted = await store.delete("ns", "cm", DeleteOptions(propagation_policy="Background"), ctx("ns"))
    assert deleted


async def test_dry_run_delete_answers_alike_and_keeps_the_object(registry: Registry, storage: Storage) -> None:
    store = resource_store(registry, "", "v1", "serviceaccounts")
    created = await store.create("ns", named("sa"), ctx("ns"))
    before = await storage.current_revision()
    answer, deleted = await store.delete("ns", "sa", DeleteOptions(dry_run=True), ctx("ns"))
    assert deleted and answer.json == created.json
    assert await storage.current_revision() == before
    await store.get("ns", "sa")


async def test_delete_admission_sees_the_object_and_can_refuse(registry: Registry) -> None:
    store = resource_store(registry, "", "v1", "configmaps")
    await store.create("ns", named("cm"), ctx("ns"))
    seen: list[tuple[dict[str, Any], Any]] = []

    async def refuse(obj: dict[str, Any], old: dict[str, Any] | None) -> None:
        seen.append((obj, old))
        raise ApiError.from_message("no")

    with pytest.raises(ApiError):
        await store.delete("ns", "cm", DeleteOptions(), ctx("ns"), validate=refuse)
    assert seen[0][0]["metadata"]["name"] == "cm" and seen[0][1] is None
    await store.get("ns", "cm")


async def test_namespace_delete_marks_it_terminating_until_finalized(registry: Registry) -> None:
    namespaces = resource_store(registry, "", "v1", "namespaces")
    created = await namespaces.create("", named("team"), ctx())
    assert created.obj["spec"] == {"finalizers": ["kubernetes"]}
    assert created.obj["status"] == {"phase": "Active"}
    marked, deleted = await namespaces.delete("", "team", DeleteOptions(), ctx())
    assert not deleted and not marked.is_status
    assert marked.obj["status"] == {"phase": "Terminating"}
    assert marked.obj["metadata"]["deletionTimestamp"] == NOW_TEXT
    again, deleted = await namespaces.delete("", "team", DeleteOptions(), ctx())
    assert not deleted and again.json == marked.json
    body = marked.copy()
    body["spec"]["finalizers"] = []
    finalized, _ = await namespaces.update("", "team", body, ctx(), subresource="finalize")
    assert finalized.obj["spec"] == {"finalizers": []}
    answer, deleted = await namespaces.delete("", "team", DeleteOptions(), ctx())
    assert deleted and answer.obj["metadata"]["name"] == "team"  # namespaces answer with the object
    with pytest.raises(ApiError):
        await namespaces.get("", "team")


async def test_namespace_spec_finalizers_change_only_through_finalize(registry: Registry) -> None:
    namespaces = resource_store(registry, "", "v1", "namespaces")
    created = await namespaces.create("", named("team"), ctx())
    body = created.copy()
    body["spec"]["finalizers"] = []
    body["metadata"]["labels"] = {"a": "b"}
    updated, _ = await namespaces.update("", "team", body, ctx())
    assert updated.obj["spec"] == {"finalizers": ["kubernetes"]}
    assert updated.obj["metadata"]["labels"] == {"a": "b", "kubernetes.io/metadata.name": "team"}


async def test_namespace_delete_checks_its_uid_precondition(registry: Registry) -> None:
    namespaces = resource_store(registry, "", "v1", "namespaces")
    created = await namespaces.create("", named("team"), ctx())
    with pytest.raises(ApiError) as raised:
        await namespaces.delete("", "team", DeleteOptions(preconditions_uid="x"), ctx())
    assert raised.value.message == (
        'Operation cannot be fulfilled on namespaces "team": Precondition failed: UID in precondition: x, '
        f"UID in object meta: {created.obj['metadata']['uid']}"
    )


async def test_delete_collection_deletes_what_the_selector_lists(registry: Registry) -> None:
    store = resource_store(registry, "", "v1", "configmaps")
    for name, app in (("a", "web"), ("b", "web"), ("c", "db")):
        await store.create("ns", named(name, labels={"app": app}), ctx("ns"))
    options = ListOptions.from_query({"labelSelector": ["app=web"]}, watch=False)
    listed = await store.delete_collection("ns", options, DeleteOptions(), ctx("ns"))
    assert [item.obj["metadata"]["name"] for item in listed.items] == ["a", "b"]
    remaining = await store.list("ns", ListOptions())
    assert [item.obj["metadata"]["name"] for item in remaining.items] == ["c"]
