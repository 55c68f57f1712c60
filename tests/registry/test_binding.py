"""Binding pods to nodes at the store: BindingStore (pods/binding) and the legacy `bindings` answer."""
from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from apiserver.meta.errors import ApiError
from apiserver.registry.binding import BindingStore, binding_answers
from apiserver.registry.context import DeleteOptions
from apiserver.registry.store import ResourceStore
from apiserver.registry.stores import Registry
from apiserver.storage.memory.backend import MemoryStorage
from tests.registry.harness import NOW_TEXT, ctx, resource_store, running_registry

NAMESPACE = "default"
SUCCESS = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}


@pytest.fixture
async def registry() -> AsyncIterator[Registry]:
    storage = MemoryStorage()
    async with running_registry(storage) as running:
        yield running
    await storage.close()


def pods(registry: Registry) -> ResourceStore:
    return resource_store(registry, "", "v1", "pods")


async def make_pod(registry: Registry, name: str = "web", **spec: Any) -> dict[str, Any]:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "annotations": {"kept": "yes"}},
           "spec": {"containers": [{"name": "c", "image": "nginx"}], **spec}}
    return (await pods(registry).create(NAMESPACE, pod, ctx(NAMESPACE))).copy()


def binding(name: str = "web", node: str = "node-1", **metadata: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": name, **metadata},
            "target": {"apiVersion": "v1", "kind": "Node", "name": node}}


async def stored_pod(registry: Registry, name: str = "web") -> dict[str, Any]:
    return (await pods(registry).get(NAMESPACE, name)).copy()


async def test_binding_sets_node_condition_and_annotations(registry: Registry) -> None:
    await make_pod(registry)
    answer = await BindingStore(registry, "web").create(
        NAMESPACE, binding(annotations={"scheduler": "custom"}), ctx(NAMESPACE))
    assert answer.obj == SUCCESS
    pod = await stored_pod(registry)
    assert pod["spec"]["nodeName"] == "node-1"
    assert pod["metadata"]["annotations"] == {"kept": "yes", "scheduler": "custom"}
    assert pod["status"]["conditions"] == [
        {"type": "PodScheduled", "status": "True", "lastProbeTime": None, "lastTransitionTime": NOW_TEXT},
    ]


async def test_binding_replaces_an_unschedulable_condition(registry: Registry) -> None:
    await make_pod(registry)
    await pods(registry).guaranteed_update(NAMESPACE, "web", lambda pod: {**pod, "status": {"conditions": [
        {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": "0/1 nodes",
         "lastTransitionTime": "2020-01-01T00:00:00Z"}]}}, ctx(NAMESPACE), subresource="status")
    await BindingStore(registry, "web").create(NAMESPACE, binding(), ctx(NAMESPACE))
    assert (await stored_pod(registry))["status"]["conditions"] == [
        {"type": "PodScheduled", "status": "True", "lastProbeTime": None, "lastTransitionTime": NOW_TEXT},
    ]


@pytest.mark.parametrize(
    ("body", "code", "reason", "message"),
    [
        (binding(name="other"), 400, "BadRequest", "name in URL does not match name in Binding object"),
        ({**binding(), "target": {"kind": "Pod", "name": "n"}}, 500, "",
         'target.kind: Unsupported value: "Pod": supported values: "Node", "<empty>"'),
        ({**binding(), "target": {"kind": "Node"}}, 500, "", "target.name: Required value"),
        ({**binding(), "target": {"kind": "Service"}}, 500, "",
         '[target.kind: Unsupported value: "Service": supported values: "Node", "<empty>", '
         "target.name: Required value]"),
    ],
    ids=["name-mismatch", "target-kind", "target-name", "both"],
)
async def test_invalid_bindings_change_nothing(registry: Registry, body: dict[str, Any], code: int, reason: str,
                                               message: str) -> None:
    before = await make_pod(registry)
    with pytest.raises(ApiError) as raised:
        await BindingStore(registry, "web").create(NAMESPACE, body, ctx(NAMESPACE))
    assert (raised.value.code, raised.value.reason, raised.value.message) == (code, reason, message)
    assert await stored_pod(registry) == before


async def test_binding_an_assigned_pod_conflicts(registry: Registry) -> None:
    await make_pod(registry)
    await BindingStore(registry, "web").create(NAMESPACE, binding(), ctx(NAMESPACE))
    before = await stored_pod(registry)
    with pytest.raises(ApiError) as raised:
        await BindingStore(registry, "web").create(NAMESPACE, binding(node="node-2"), ctx(NAMESPACE))
    assert raised.value.to_status() == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": 'Operation cannot be fulfilled on pods/binding "web": pod web is already assigned to node '
                   '"node-1"',
        "reason": "Conflict", "details": {"name": "web", "kind": "pods/binding"}, "code": 409,
    }
    assert await stored_pod(registry) == before


async def test_binding_a_gated_pod_conflicts(registry: Registry) -> None:
    await make_pod(registry, schedulingGates=[{"name": "wait"}])
    with pytest.raises(ApiError) as raised:
        await BindingStore(registry, "web").create(NAMESPACE, binding(), ctx(NAMESPACE))
    assert raised.value.message == ('Operation cannot be fulfilled on pods/binding "web": pod web has non-empty '
                                    ".spec.schedulingGates")


async def test_binding_a_pod_being_deleted_conflicts(registry: Registry) -> None:
    pod = await make_pod(registry)
    await pods(registry).guaranteed_update(NAMESPACE, "web", lambda current: {
        **current, "metadata": {**current["metadata"], "finalizers": ["example.com/hold"]}}, ctx(NAMESPACE))
    await pods(registry).delete(NAMESPACE, "web", DeleteOptions(grace_period_seconds=0), ctx(NAMESPACE))
    with pytest.raises(ApiError) as raised:
        await BindingStore(registry, "web").create(NAMESPACE, binding(), ctx(NAMESPACE))
    assert raised.value.message == ('Operation cannot be fulfilled on pods/binding "web": pod web is being deleted, '
                                    "cannot be assigned to a host")
    assert pod["metadata"]["uid"] == (await stored_pod(registry))["metadata"]["uid"]


async def test_binding_a_missing_pod_is_not_found(registry: Registry) -> None:
    with pytest.raises(ApiError) as raised:
        await BindingStore(registry, "nope").create(NAMESPACE, binding(name="nope"), ctx(NAMESPACE))
    assert (raised.value.code, raised.value.message) == (404, 'pods "nope" not found')


async def test_binding_with_a_stale_resource_version_conflicts(registry: Registry) -> None:
    pod = await make_pod(registry)
    revision = pod["metadata"]["resourceVersion"]
    await pods(registry).guaranteed_update(NAMESPACE, "web", lambda current: {
        **current, "metadata": {**current["metadata"], "labels": {"changed": "yes"}}}, ctx(NAMESPACE))
    current = (await stored_pod(registry))["metadata"]["resourceVersion"]
    with pytest.raises(ApiError) as raised:
        await BindingStore(registry, "web").create(NAMESPACE, binding(resourceVersion=revision), ctx(NAMESPACE))
    assert (raised.value.code, raised.value.message) == (409, (
        'Operation cannot be fulfilled on pods "web": StorageError: invalid object, Code: 4, Key: '
        f"/registry/pods/default/web, ResourceVersion: 0, AdditionalErrorMsg: Precondition failed: ResourceVersion "
        f"in precondition: {revision}, ResourceVersion in object meta: {current}"))


async def test_binding_with_a_wrong_uid_conflicts(registry: Registry) -> None:
    pod = await make_pod(registry)
    with pytest.raises(ApiError) as raised:
        await BindingStore(registry, "web").create(NAMESPACE, binding(uid="other"), ctx(NAMESPACE))
    assert raised.value.message.endswith(
        f"Precondition failed: UID in precondition: other, UID in object meta: {pod['metadata']['uid']}")


async def test_dry_run_binding_changes_nothing(registry: Registry) -> None:
    before = await make_pod(registry)
    answer = await BindingStore(registry, "web").create(NAMESPACE, binding(), ctx(NAMESPACE, dry_run=True))
    assert answer.obj == SUCCESS
    assert await stored_pod(registry) == before


async def test_binding_runs_validating_admission_before_writing(registry: Registry) -> None:
    before = await make_pod(registry)
    seen: list[Any] = []

    async def refuse(obj: Any, old: Any) -> None:
        seen.append((obj, old))
        raise ApiError("refused by admission")

    with pytest.raises(ApiError, match="refused by admission"):
        await BindingStore(registry, "web").create(NAMESPACE, binding(), ctx(NAMESPACE), validate=refuse)
    assert seen == [(binding(), None)]
    assert await stored_pod(registry) == before


async def test_legacy_bindings_bind_the_pod_the_body_names(registry: Registry) -> None:
    await make_pod(registry)
    answer = binding_answers(lambda: registry)[("", "bindings")]
    assert await answer(binding(), NAMESPACE, ctx(NAMESPACE), None) == SUCCESS
    assert (await stored_pod(registry))["spec"]["nodeName"] == "node-1"


async def test_legacy_binding_without_a_name_is_a_bad_request(registry: Registry) -> None:
    answer = binding_answers(lambda: registry)[("", "bindings")]
    with pytest.raises(ApiError) as raised:
        await answer(binding(name=""), NAMESPACE, ctx(NAMESPACE), None)
    assert (raised.value.code, raised.value.message) == (400, "Name parameter required.")


async def test_legacy_binding_with_a_name_that_is_no_path_segment_is_a_bad_request(registry: Registry) -> None:
    answer = binding_answers(lambda: registry)[("", "bindings")]
    with pytest.raises(ApiError) as raised:
        await answer(binding(name="a/b"), NAMESPACE, ctx(NAMESPACE), None)
    assert (raised.value.code, raised.value.message) == (400, 'Name parameter invalid: "a/b": may not contain \'/\'')
