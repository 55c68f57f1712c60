"""The TTL-after-finished controller: when a finished Job expires, requeueing for exactly the time left, and the
deletion of an expired Job in a started server."""
from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from apiserver.client.client import ApiClient
from apiserver.client.transports import InProcessTransport
from apiserver.controllers.base import RequeueAfter
from apiserver.controllers.ttl_after_finished import JOBS, TTLAfterFinishedController, UnknownFinishTime, expires_at
from apiserver.meta.objects import format_time, utc_now
from tests.controllers.test_namespace_lifecycle import gone
from tests.controllers.test_serviceaccounts import ADMIN, eventually
from tests.server.security_harness import in_memory_server

JSONDict = dict[str, Any]
FINISHED_AT = "2026-03-01T10:00:00Z"


def job(ttl: int | None = 30, condition: str | None = "Complete", status: str = "True",
        deleting: bool = False, transition: str | None = FINISHED_AT) -> JSONDict:
    obj: JSONDict = {"metadata": {"name": "j", "namespace": "default", "uid": "u1"}, "spec": {}, "status": {}}
    if ttl is not None:
        obj["spec"]["ttlSecondsAfterFinished"] = ttl
    if condition:
        entry = {"type": condition, "status": status}
        if transition:
            entry["lastTransitionTime"] = transition
        obj["status"]["conditions"] = [{"type": "SuccessCriteriaMet", "status": "True"}, entry]
    if deleting:
        obj["metadata"]["deletionTimestamp"] = FINISHED_AT
    return obj


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        (job(), datetime(2026, 3, 1, 10, 0, 30, tzinfo=UTC)),
        (job(condition="Failed"), datetime(2026, 3, 1, 10, 0, 30, tzinfo=UTC)),
        (job(ttl=0), datetime(2026, 3, 1, 10, 0, 0, tzinfo=UTC)),
        (job(ttl=None), None),
        (job(condition=None), None),
        (job(status="False"), None),
        (job(condition="Suspended"), None),
        (job(deleting=True), None),
    ],
    ids=["complete", "failed", "ttl-zero", "no-ttl", "running", "condition-false", "not-finished", "deleting"],
)
def test_expires_at(obj: JSONDict, expected: datetime | None) -> None:
    assert expires_at(obj) == expected


def test_finished_condition_without_time_is_an_error() -> None:
    with pytest.raises(UnknownFinishTime, match="unable to find the time when the Job default/j finished"):
        expires_at(job(transition=None))


class _Jobs:
    def __init__(self, *objs: JSONDict) -> None:
        self._objs = {f"{o['metadata']['namespace']}/{o['metadata']['name']}": o for o in objs}

    def get(self, key: str) -> JSONDict | None:
        return self._objs.get(key)


async def test_unexpired_job_is_requeued_for_exactly_the_time_left() -> None:
    controller = TTLAfterFinishedController(clock=lambda: datetime(2026, 3, 1, 10, 0, 12, 500000, tzinfo=UTC))
    unused = ApiClient(None)  # type: ignore[arg-type]  # an unexpired Job makes no call
    await controller.start(unused, {JOBS: _Jobs(job())})  # type: ignore[dict-item]
    with pytest.raises(RequeueAfter) as raised:
        await controller.reconcile("default/j")
    assert raised.value.delay == 17.5


def test_only_finished_jobs_with_a_ttl_are_keys() -> None:
    controller = TTLAfterFinishedController()
    assert controller.keys_for(JOBS, "MODIFIED", job()) == ["default/j"]
    assert controller.keys_for(JOBS, "MODIFIED", job(condition=None)) == []
    assert controller.keys_for(JOBS, "DELETED", job()) == []


JOB = {"metadata": {"name": "done"}, "spec": {"ttlSecondsAfterFinished": 0, "template": {"spec": {
    "restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}}}


async def test_job_finished_with_ttl_zero_is_deleted(tmp_path: Path) -> None:
    async with in_memory_server(tmp_path) as served:
        client = ApiClient(InProcessTransport(served.server.app, ADMIN))
        created = await client.create(JOBS, JOB, namespace="default")
        now = format_time(utc_now())
        status = {"startTime": now, "completionTime": now, "succeeded": 1, "conditions": [
            {"type": "SuccessCriteriaMet", "status": "True", "lastTransitionTime": now, "lastProbeTime": now},
            {"type": "Complete", "status": "True", "lastTransitionTime": now, "lastProbeTime": now}]}
        await client.update(JOBS, {**created, "status": status}, namespace="default", subresource="status")
        await eventually(lambda: gone(client, JOBS, "done", "default"))



async def test_job_is_deleted_when_its_requeue_fires(tmp_path: Path) -> None:
    async with in_memory_server(tmp_path) as served:
        client = ApiClient(InProcessTransport(served.server.app, ADMIN))
        body = {**JOB, "metadata": {"name": "later"}, "spec": {**JOB["spec"], "ttlSecondsAfterFinished": 2}}
        created = await client.create(JOBS, body, namespace="default")
        now = format_time(utc_now())
        status = {"startTime": now, "completionTime": now, "succeeded": 1, "conditions": [
            {"type": "SuccessCriteriaMet", "status": "True", "lastTransitionTime": now, "lastProbeTime": now},
            {"type": "Complete", "status": "True", "lastTransitionTime": now, "lastProbeTime": now}]}
        await client.update(JOBS, {**created, "status": status}, namespace="default", subresource="status")
        # At least a second of the TTL is left: no event will come, only the controller's own requeue.
        assert (await client.get(JOBS, "later", namespace="default"))["metadata"]["name"] == "later"
        await eventually(lambda: gone(client, JOBS, "later", "default"), within=10)
