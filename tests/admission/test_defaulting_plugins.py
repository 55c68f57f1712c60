"""DefaultTolerationSeconds, DefaultStorageClass and Priority admission."""
from __future__ import annotations

from typing import Any

import pytest

from apiserver.admission.interface import Operation
from apiserver.admission.plugins.default_storage_class import DefaultStorageClass
from apiserver.admission.plugins.default_toleration_seconds import DefaultTolerationSeconds
from apiserver.admission.plugins.priority import Priority
from apiserver.meta.errors import ApiError
from tests.admission.fakes import FakeContext, attributes, pod, status_of

NOT_READY = {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
             "tolerationSeconds": 300}
UNREACHABLE = {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
               "tolerationSeconds": 300}


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ([], [NOT_READY, UNREACHABLE]),
        ([{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
           "tolerationSeconds": 10}],
         [{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
           "tolerationSeconds": 10}, UNREACHABLE]),
        ([{"operator": "Exists"}], [{"operator": "Exists"}]),
    ],
    ids=["none", "own-not-ready", "tolerates-everything"],
)
async def test_default_toleration_seconds(given: list[dict[str, Any]], expected: list[dict[str, Any]]) -> None:
    obj = pod("p", tolerations=given) if given else pod("p")
    await DefaultTolerationSeconds(FakeContext()).admit(attributes(obj))
    assert obj["spec"]["tolerations"] == expected


def storage_class(name: str, created: str, default: bool = True) -> dict[str, Any]:
    annotations = {"storageclass.kubernetes.io/is-default-class": "true"} if default else {}
    return {"metadata": {"name": name, "creationTimestamp": created, "annotations": annotations}}


def claim(**spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "c", "namespace": "ns"}, "spec": {"resources": {}, **spec}}


@pytest.mark.parametrize(
    ("classes", "spec", "expected"),
    [
        ([storage_class("old", "2024-01-01T00:00:00Z"), storage_class("new", "2024-02-01T00:00:00Z"),
          storage_class("plain", "2024-03-01T00:00:00Z", default=False)], {}, "new"),
        ([storage_class("only", "2024-01-01T00:00:00Z")], {"storageClassName": ""}, ""),
        ([storage_class("only", "2024-01-01T00:00:00Z")], {"storageClassName": "fast"}, "fast"),
        ([storage_class("plain", "2024-01-01T00:00:00Z", default=False)], {}, None),
    ],
    ids=["newest-default", "explicit-empty", "explicit", "no-default"],
)
async def test_default_storage_class(classes: list[dict[str, Any]], spec: dict[str, Any],
                                     expected: str | None) -> None:
    context = FakeContext()
    for item in classes:
        context.add("storage.k8s.io", "v1", "storageclasses", item)
    obj = claim(**spec)
    await DefaultStorageClass(context).admit(attributes(obj, resource="persistentvolumeclaims",
                                                        kind="PersistentVolumeClaim"))
    assert obj["spec"].get("storageClassName") == expected


def priority_context(*classes: dict[str, Any]) -> FakeContext:
    context = FakeContext()
    for item in classes:
        context.add("scheduling.k8s.io", "v1", "priorityclasses", item)
    return context


HIGH = {"metadata": {"name": "high"}, "value": 1000, "preemptionPolicy": "Never"}
DEFAULT = {"metadata": {"name": "normal"}, "value": 10, "globalDefault": True,
           "preemptionPolicy": "PreemptLowerPriority"}


@pytest.mark.parametrize(
    ("classes", "spec", "expected"),
    [
        ((), {}, {"priority": 0, "preemptionPolicy": "PreemptLowerPriority"}),
        ((HIGH, DEFAULT), {}, {"priorityClassName": "normal", "priority": 10,
                              "preemptionPolicy": "PreemptLowerPriority"}),
        ((HIGH,), {"priorityClassName": "high"}, {"priorityClassName": "high", "priority": 1000,
                                                  "preemptionPolicy": "Never"}),
    ],
    ids=["no-default", "global-default", "named"],
)
async def test_priority_is_resolved(classes: tuple[dict[str, Any], ...], spec: dict[str, Any],
                                    expected: dict[str, Any]) -> None:
    obj = pod("p", **spec)
    await Priority(priority_context(*classes)).admit(attributes(obj))
    assert {key: obj["spec"][key] for key in expected} == expected


async def test_unknown_priority_class_is_forbidden() -> None:
    with pytest.raises(ApiError) as caught:
        await Priority(priority_context()).admit(attributes(pod("p", priorityClassName="gold")))
    assert status_of(caught.value)["message"] == 'pods "p" is forbidden: no PriorityClass with name gold was found'
    assert status_of(caught.value)["code"] == 403


async def test_priority_that_disagrees_with_the_class_is_forbidden() -> None:
    with pytest.raises(ApiError) as caught:
        await Priority(priority_context(HIGH)).admit(attributes(pod("p", priorityClassName="high", priority=5)))
    assert caught.value.message == (
        'pods "p" is forbidden: the integer value of priority (5) must not be provided in pod spec; priority '
        "admission controller computed 1000 from the given PriorityClass name")


async def test_pod_update_keeps_the_stored_priority() -> None:
    old = pod("p", priority=7, preemptionPolicy="Never")
    new = pod("p")
    await Priority(priority_context()).admit(attributes(new, operation=Operation.UPDATE, old=old))
    assert (new["spec"]["priority"], new["spec"]["preemptionPolicy"]) == (7, "Never")


async def test_a_second_global_default_is_forbidden() -> None:
    candidate = {"metadata": {"name": "other"}, "value": 5, "globalDefault": True}
    with pytest.raises(ApiError) as caught:
        await Priority(priority_context(DEFAULT)).validate(
            attributes(candidate, resource="priorityclasses", kind="PriorityClass", group="scheduling.k8s.io",
                       namespace=""))
    assert caught.value.message == ('priorityclasses.scheduling.k8s.io "other" is forbidden: PriorityClass normal '
                                    "is already marked as default. Only one default can exist")
