"""Writes to `pods/status` checked as upstream v1.32's ValidatePodStatusUpdate checks them."""
from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.resources.test_pods import PODS, invalid, pod
from tests.support.resource_app import ResourceApp, resource_app

POD = f"{PODS}/p"
IP_MESSAGE = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
TERMINATED = {"terminated": {"exitCode": 0}}
RUNNING = {"running": {}}


@pytest.fixture
async def api() -> AsyncIterator[ResourceApp]:
    async with resource_app() as app:
        yield app


async def create(api: ResourceApp, **spec: Any) -> dict[str, Any]:
    answer = await api.request("POST", PODS, pod(**spec))
    assert answer.status == 201, answer.json()
    created: dict[str, Any] = answer.json()
    return created


async def write_status(api: ResourceApp, current: dict[str, Any], **status: Any) -> Any:
    current["status"] = {**current["status"], **status}
    return await api.request("PUT", f"{POD}/status", current)


def container_status(state: dict[str, Any], name: str = "app") -> dict[str, Any]:
    return {"name": name, "state": state, "ready": False, "restartCount": 0, "image": "nginx:1.27", "imageID": ""}


CASES: list[tuple[str, dict[str, Any], list[tuple[str, str, str]]]] = [
    ("custom-condition-type", {"conditions": [{"type": "Ready", "status": "True"},
                                              {"type": "bad type", "status": "True"}]},
     [("FieldValueInvalid", "metadata.conditions[1].Type",
       "Invalid value: \"bad type\": name part must consist of alphanumeric characters, '-', '_' or '.', and must "
       "start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
       "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')")]),
    ("nominated-node-name", {"nominatedNodeName": "Node_1"},
     [("FieldValueInvalid", "status.nominatedNodeName",
       'Invalid value: "Node_1": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '
       "'-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
       "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")]),
    ("qos-class-immutable", {"qosClass": "Guaranteed"},
     [("FieldValueInvalid", "status.qosClass", 'Invalid value: "Guaranteed": field is immutable')]),
    ("pod-ips", {"podIP": "10.0.0.1", "podIPs": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.1"}, {"ip": "bogus"}]},
     [("FieldValueInvalid", "status.podIPs[2]", f'Invalid value: "bogus": {IP_MESSAGE}'),
      ("InternalError", "status.podIPs",
       "Internal error: failed to check for dual stack with error:failed to parse bogus as an IP"),
      ("FieldValueInvalid", "status.podIPs",
       'Invalid value: []core.PodIP{core.PodIP{IP:"10.0.0.1"}, core.PodIP{IP:"10.0.0.1"}, core.PodIP{IP:"bogus"}}: '
       "may specify no more than one IP for each IP family"),
      ("FieldValueDuplicate", "status.podIPs[1]", 'Duplicate value: core.PodIP{IP:"10.0.0.1"}')]),
    ("host-ips", {"hostIP": "192.168.0.2", "hostIPs": [{"ip": "192.168.0.1"}, {"ip": "192.168.0.1"}]},
     [("FieldValueInvalid", "status.hostIPs[0].ip", 'Invalid value: "192.168.0.1": must be equal to `hostIP`'),
      ("FieldValueDuplicate", "status.hostIPs[1]", 'Duplicate value: core.HostIP{IP:"192.168.0.1"}'),
      ("FieldValueInvalid", "status.hostIPs",
       'Invalid value: []core.HostIP{core.HostIP{IP:"192.168.0.1"}, core.HostIP{IP:"192.168.0.1"}}: '
       "may specify no more than one IP for each IP family")]),
]


@pytest.mark.parametrize(("status", "causes"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
async def test_status_write_refused_with_upstream_causes(api: ResourceApp, status: dict[str, Any],
                                                         causes: list[tuple[str, str, str]]) -> None:
    current = await create(api)
    answer = await write_status(api, current, **status)
    assert (answer.status, answer.json()) == (422, invalid("p", causes))
    stored = (await api.request("GET", POD)).json()
    assert stored["status"] == {"phase": "Pending", "qosClass": "BestEffort"}
    assert stored["metadata"]["resourceVersion"] == current["metadata"]["resourceVersion"]


async def test_terminated_container_may_not_run_again_without_restart(api: ResourceApp) -> None:
    current = await create(api, restartPolicy="Never")
    answer = await write_status(api, current, phase="Succeeded", containerStatuses=[container_status(TERMINATED)])
    assert answer.status == 200, answer.json()
    answer = await write_status(api, answer.json(), phase="Running", containerStatuses=[container_status(RUNNING)])
    assert (answer.status, answer.json()) == (422, invalid("p", [
        ("FieldValueForbidden", "status.containerStatuses[0].state",
         "Forbidden: may not be transitioned to non-terminated state")]))


@pytest.mark.parametrize(("restart_policy", "exit_code"), [("Always", 0), ("OnFailure", 1)])
async def test_restartable_containers_may_leave_terminated(api: ResourceApp, restart_policy: str,
                                                           exit_code: int) -> None:
    current = await create(api, restartPolicy=restart_policy)
    ended = container_status({"terminated": {"exitCode": exit_code}})
    answer = await write_status(api, current, phase="Running", containerStatuses=[ended])
    assert answer.status == 200, answer.json()
    answer = await write_status(api, answer.json(), containerStatuses=[container_status(RUNNING)])
    assert answer.status == 200, answer.json()


async def test_valid_kubelet_status_is_accepted_and_empty_qos_class_kept(api: ResourceApp) -> None:
    current = await create(api)
    status = {"phase": "Running", "hostIP": "192.168.0.1", "hostIPs": [{"ip": "192.168.0.1"}, {"ip": "fd00::1"}],
              "podIP": "10.0.0.1", "podIPs": [{"ip": "10.0.0.1"}, {"ip": "fd01::1"}], "nominatedNodeName": "node-1",
              "conditions": [{"type": "Ready", "status": "True"}, {"type": "example.com/gate", "status": "True"}],
              "containerStatuses": [container_status(RUNNING), container_status(RUNNING, name="not-in-spec")]}
    current["status"] = status
    answer = await api.request("PUT", f"{POD}/status", current)
    assert answer.status == 200, answer.json()
    assert answer.json()["status"] == {**status, "qosClass": "BestEffort"}
