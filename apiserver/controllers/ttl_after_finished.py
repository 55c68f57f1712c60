"""The TTL-after-finished controller: deletes a finished Job once `spec.ttlSecondsAfterFinished` has passed.

The shape of kube-controller-manager's pkg/controller/ttlafterfinished: Job events become keys when the Job is
finished (a `Complete` or `Failed` condition with status True), has a TTL and is not being deleted;
`reconcile` requeues the key for exactly the time left, and once the TTL has expired it re-reads the Job (the TTL
may have changed) and deletes it with Foreground propagation and a uid precondition, as upstream does. Runs as
`system:serviceaccount:kube-system:ttl-after-finished-controller`.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from apiserver.client.client import ApiClient, Resource
from apiserver.client.informer import Informer
from apiserver.controllers.base import RequeueAfter
from apiserver.meta.errors import Conflict, NotFound
from apiserver.meta.objects import Clock, parse_time, uid_of, utc_now

logger = logging.getLogger(__name__)

JSONDict = dict[str, Any]
JOBS = Resource("batch", "v1", "jobs")
FINISHED_CONDITIONS = ("Complete", "Failed")


class UnknownFinishTime(Exception):
    """A finished condition without lastTransitionTime: upstream reports it as an error and retries."""


def needs_cleanup(job: JSONDict) -> bool:
    """A Job with a TTL, finished, and not already being deleted."""
    return (isinstance((job.get("spec") or {}).get("ttlSecondsAfterFinished"), int)
            and not (job.get("metadata") or {}).get("deletionTimestamp") and _finished_condition(job) is not None)


def _finished_condition(job: JSONDict) -> JSONDict | None:
    for condition in (job.get("status") or {}).get("conditions") or []:
        if condition.get("type") in FINISHED_CONDITIONS and condition.get("status") == "True":
            return dict(condition)
    return None


def expires_at(job: JSONDict) -> datetime | None:
    """When the Job's TTL runs out, or None when it needs no cleanup; raises UnknownFinishTime."""
    if not needs_cleanup(job):
        return None
    condition = _finished_condition(job) or {}
    finished = condition.get("lastTransitionTime")
    if not finished:
        raise UnknownFinishTime(f"unable to find the time when the Job {_key(job)} finished")
    ttl = int(job["spec"]["ttlSecondsAfterFinished"])
    return parse_time(str(finished)) + timedelta(seconds=ttl)


def _key(job: JSONDict) -> str:
    meta = job.get("metadata") or {}
    return f"{meta.get('namespace') or ''}/{meta.get('name') or ''}"


class TTLAfterFinishedController:
    name = "ttl-after-finished-controller"
    workers = 1
    watches = (JOBS,)

    def __init__(self, clock: Clock = utc_now) -> None:
        self._clock = clock
        self._client: ApiClient | None = None
        self._jobs: Informer | None = None

    def keys_for(self, resource: Resource, event_type: str, obj: JSONDict) -> list[str]:
        return [_key(obj)] if event_type != "DELETED" and needs_cleanup(obj) else []

    async def start(self, client: ApiClient, informers: dict[Resource, Informer]) -> None:
        self._client, self._jobs = client, informers[JOBS]

    async def reconcile(self, key: str) -> None:
        assert self._client is not None and self._jobs is not None
        job = self._jobs.get(key)
        if job is None or not self._expired(job):
            return
        namespace, _, name = key.partition("/")
        try:
            # The cached TTL may be stale: decide on the Job as it is now (it may even be another Job).
            fresh = await self._client.get(JOBS, name, namespace=namespace)
        except NotFound:
            return
        if not self._expired(fresh):
            return
        options = {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Foreground",
                   "preconditions": {"uid": uid_of(fresh)}}
        try:
            await self._client.delete(JOBS, name, namespace=namespace, options=options)
        except (NotFound, Conflict):
            return
        logger.info("job_ttl_expired_deleted", extra={"controller": self.name, "job": key})

    def _expired(self, job: JSONDict) -> bool:
        """Whether the TTL has run out; raises RequeueAfter for the time left when it has not yet."""
        deadline = expires_at(job)
        if deadline is None:
            return False
        remaining = (deadline - self._clock()).total_seconds()
        if remaining > 0:
            raise RequeueAfter(remaining)
        return True
