"""Pods after create: ValidatePodUpdate, the status split, ephemeral containers and graceful deletion."""
from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from apiserver.meta.errors import ApiError
from apiserver.registry.context import RequestContext
from apiserver.registry.store import ResourceStore
from apiserver.resources.core.pod_update import FORBIDDEN_PREFIX
from apiserver.resources.core.pods import SPEC as PODS_SPEC
from tests.resources.test_pods import FORB, INV, PODS, container, invalid, pod
from tests.support.resource_app import ResourceApp, resource_app

POD = f"{PODS}/p"


@pytest.fixture
async def api() -> AsyncIterator[ResourceApp]:
    async with resource_app() as app:
        yield app


async def create(api: ResourceApp, **spec: Any) -> dict[str, Any]:
    answer = await api.request("POST", PODS, pod(**spec))
    assert answer.status == 201, answer.json()
    created: dict[str, Any] = answer.json()
    return created


async def test_update_may_change_images_labels_and_annotations(api: ResourceApp) -> None:
    current = await create(api)
    current["spec"]["containers"][0]["image"] = "nginx:1.28"
    current["metadata"]["labels"] = {"tier": "web"}
    current["metadata"]["annotations"] = {"note": "rolled"}
    answer = await api.request("PUT", POD, current)
    assert answer.status == 200
    assert answer.json()["spec"]["containers"][0]["image"] == "nginx:1.28"
    assert answer.json()["metadata"]["labels"] == {"tier": "web"}


async def test_update_of_other_spec_fields_is_forbidden_with_a_diff(api: ResourceApp) -> None:
    current = await create(api)
    current["spec"]["containers"][0]["ports"] = [{"containerPort": 8080}]
    answer = await api.request("PUT", POD, current)
    status = answer.json()
    assert answer.status == 422 and status["reason"] == "Invalid"
    cause = status["details"]["causes"][0]
    assert (cause["reason"], cause["field"]) == ("FieldValueForbidden", "spec")
    assert status["message"] == f'Pod "p" is invalid: spec: Forbidden: {cause["message"][len("Forbidden: "):]}'
    detail = cause["message"]
    assert detail.startswith(
        "Forbidden: pod updates may not change fields other than `spec.containers[*].image`,"
        "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing "
        "tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)\n"
        "  core.PodSpec{\n"
    )
    assert detail == f"Forbidden: {FORBIDDEN_PREFIX}\n" + "\n".join([
        "  core.PodSpec{",
        "  \tContainers: {",
        "  \t\t{",
        "  \t\t\t... // 3 identical fields",
        "- \t\t\tPorts: nil,",
        '+ \t\t\tPorts: [{"containerPort": 8080, "protocol": "TCP"}],',
        "  \t\t\t... // 3 identical fields",
        "  \t\t},",
        "  \t},",
        "  \t... // 6 identical fields",
        "  }",
        "",
    ])
    stored = (await api.request("GET", POD)).json()
    assert stored["metadata"]["resourceVersion"] == current["metadata"]["resourceVersion"]
    assert "ports" not in stored["spec"]["containers"][0]


UPDATE_CASES: list[tuple[str, dict[str, Any], dict[str, Any], list[tuple[str, str, str]]]] = [
    ("add-container", {}, {"containers": [container(), container(name="side")]},
     [(FORB, "spec.containers", "Forbidden: pod updates may not add or remove containers")]),
    ("deadline-raised", {"activeDeadlineSeconds": 10}, {"activeDeadlineSeconds": 20},
     [(INV, "spec.activeDeadlineSeconds", "Invalid value: 20: must be less than or equal to previous value")]),
    ("deadline-removed", {"activeDeadlineSeconds": 10}, {"activeDeadlineSeconds": None},
     [(INV, "spec.activeDeadlineSeconds", "Invalid value: null: must not update from a positive integer to nil "
                                          "value")]),
    ("toleration-changed", {"tolerations": [{"key": "a", "operator": "Exists"}]},
     {"tolerations": [{"key": "b", "operator": "Exists"}]},
     [(FORB, "spec.tolerations", "Forbidden: existing toleration can not be modified except its tolerationSeconds")]),
]


@pytest.mark.parametrize(("before", "after", "causes"), [case[1:] for case in UPDATE_CASES],
                         ids=[case[0] for case in UPDATE_CASES])
async def test_update_rules(api: ResourceApp, before: dict[str, Any], after: dict[str, Any],
                            causes: list[tuple[str, str, str]]) -> None:
    current = await create(api, **before)
    for key, value in after.items():
        if value is None:
            current["spec"].pop(key)
        else:
            current["spec"][key] = value
    answer = await api.request("PUT", POD, current)
    assert (answer.status, answer.json()) == (422, invalid("p", causes))


@pytest.mark.parametrize(
    ("before", "after"),
    [({}, {"activeDeadlineSeconds": 30}), ({"activeDeadlineSeconds": 30}, {"activeDeadlineSeconds": 10}),
     ({"tolerations": [{"key": "a", "operator": "Exists"}]},
      {"tolerations": [{"key": "a", "operator": "Exists"},
                       {"key": "b", "operator": "Exists", "effect": "NoSchedule"}]}),
     ({"tolerations": [{"key": "a", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 30}]},
      {"tolerations": [{"key": "a", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 5}]})],
    ids=["deadline-set", "deadline-lowered", "toleration-added", "toleration-seconds-changed"],
)
async def test_allowed_spec_updates(api: ResourceApp, before: dict[str, Any], after: dict[str, Any]) -> None:
    current = await create(api, **before)
    current["spec"].update(after)
    answer = await api.request("PUT", POD, current)
    assert answer.status == 200, answer.json()
    for key, value in after.items():
        assert answer.json()["spec"][key] == value


async def test_strategic_merge_patch_of_an_image(api: ResourceApp) -> None:
    await create(api)
    patch = {"spec": {"containers": [{"name": "app", "image": "nginx:1.29"}]}}
    answer = await api.request("PATCH", POD, patch,
                               headers={"Content-Type": "application/strategic-merge-patch+json"})
    assert answer.status == 200, answer.json()
    assert answer.json()["spec"]["containers"][0]["image"] == "nginx:1.29"


async def test_main_resource_update_keeps_status_and_status_update_keeps_spec(api: ResourceApp) -> None:
    current = await create(api)
    current["status"] = {"phase": "Running"}
    current["metadata"]["labels"] = {"x": "y"}
    updated = (await api.request("PUT", POD, current)).json()
    assert updated["status"] == {"phase": "Pending", "qosClass": "BestEffort"}
    updated["status"] = {"phase": "Running", "podIP": "10.1.2.3", "qosClass": "BestEffort"}
    updated["spec"]["containers"][0]["image"] = "changed:1"
    answer = await api.request("PUT", f"{POD}/status", updated)
    assert answer.status == 200, answer.json()
    assert answer.json()["status"]["phase"] == "Running"
    assert answer.json()["spec"]["containers"][0]["image"] == "nginx:1.27"
    assert (await api.request("GET", POD)).json() == answer.json()


async def test_ephemeral_containers_subresource_adds_a_defaulted_container(api: ResourceApp) -> None:
    # The endpoints do not route pods/ephemeralcontainers yet: the store's subresource update is what it will call.
    store = api.registry.store(PODS_SPEC)
    assert isinstance(store, ResourceStore)
    current = await create(api)
    current["spec"]["ephemeralContainers"] = [{"name": "debugger", "image": "busybox", "targetContainerName": "app"}]
    current["spec"]["containers"][0]["image"] = "ignored:1"
    updated, _ = await store.update("default", "p", current, RequestContext(namespace="default"),
                                    subresource="ephemeralcontainers")
    spec = updated.obj["spec"]
    assert spec["containers"][0]["image"] == "nginx:1.27"
    assert spec["ephemeralContainers"] == [{
        "name": "debugger", "image": "busybox", "targetContainerName": "app", "resources": {},
        "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
        "imagePullPolicy": "Always",
    }]
    removal = updated.copy()
    removal["spec"]["ephemeralContainers"] = []
    with pytest.raises(ApiError) as raised:
        await store.update("default", "p", removal, RequestContext(namespace="default"),
                           subresource="ephemeralcontainers")
    assert raised.value.to_status() == invalid("p", [
        (FORB, "spec.ephemeralContainers", 'Forbidden: existing ephemeral containers "debugger" may not be removed')])


async def test_an_unscheduled_pod_is_deleted_at_once(api: ResourceApp) -> None:
    await create(api)
    answer = await api.request("DELETE", POD)
    assert answer.status == 200 and answer.json()["kind"] == "Pod"
    assert (await api.request("GET", POD)).status == 404


async def test_a_scheduled_pod_waits_for_its_grace_period(api: ResourceApp) -> None:
    await create(api, nodeName="node-1")
    answer = await api.request("DELETE", POD)
    assert answer.status == 200
    meta = answer.json()["metadata"]
    assert (meta["deletionTimestamp"], meta["deletionGracePeriodSeconds"]) == ("2024-01-02T03:04:35Z", 30)
    assert (await api.request("GET", POD)).json()["metadata"]["deletionGracePeriodSeconds"] == 30
    again = await api.request("DELETE", f"{POD}?gracePeriodSeconds=5")
    assert again.json()["metadata"]["deletionGracePeriodSeconds"] == 5
    forced = await api.request("DELETE", POD, {"kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 0})
    assert forced.status == 200
    assert (await api.request("GET", POD)).status == 404


async def test_grace_period_from_options_or_spec(api: ResourceApp) -> None:
    await create(api, nodeName="node-1", terminationGracePeriodSeconds=60)
    answer = await api.request("DELETE", f"{POD}?gracePeriodSeconds=7")
    assert answer.json()["metadata"]["deletionGracePeriodSeconds"] == 7
    body = pod("q", nodeName="node-1", terminationGracePeriodSeconds=60)
    assert (await api.request("POST", PODS, body)).status == 201
    spec_grace = await api.request("DELETE", f"{PODS}/q")
    assert spec_grace.json()["metadata"]["deletionGracePeriodSeconds"] == 60


async def test_a_finished_pod_is_deleted_at_once(api: ResourceApp) -> None:
    current = await create(api, nodeName="node-1")
    current["status"] = {"phase": "Succeeded"}
    assert (await api.request("PUT", f"{POD}/status", current)).status == 200
    assert (await api.request("DELETE", POD)).status == 200
    assert (await api.request("GET", POD)).status == 404
