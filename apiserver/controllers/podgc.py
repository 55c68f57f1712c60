"""The pod garbage collector: force-deletes pods no kubelet will ever finish.

kube-controller-manager's pkg/controller/podgc (v1.32), pass for pass:
- terminated pods (phase neither Pending, Running nor Unknown) above `--terminated-pod-gc-threshold` (12500; 0
  turns this off) are deleted, evicted ones first, then oldest first (name breaks ties);
- terminating pods on a Node that is not Ready and carries the `node.kubernetes.io/out-of-service` taint;
- orphaned pods, bound to a Node that does not exist: the node name is quarantined for 40 s, then, if the Node
  is still missing from the cache and a live GET answers NotFound, its pods get the DisruptionTarget condition
  (reason DeletionByPodGC);
- unscheduled terminating pods (deletionTimestamp set, no spec.nodeName).
Before the delete a pod not yet Succeeded or Failed is marked Failed through a strategic merge patch of
pods/status carrying its uid, as upstream's PatchPodStatus does; the delete has grace period 0 (and, here, the
pod's uid as precondition, so a pod recreated under the same name is never taken for the old one).

Upstream runs a pass every 20 s. Here a pass is one work key: pod and node events that may matter queue it at
once, and each pass requeues itself for the next period or the end of the earliest quarantine. With no kubelets,
this is what removes a pod bound to a made-up node once it is deleted (it would stay Terminating forever and
block its namespace's deletion). Runs as `system:serviceaccount:kube-system:pod-garbage-collector`.
"""
from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timedelta
from typing import Any

from apiserver.client.client import STRATEGIC_MERGE_PATCH, ApiClient, Resource
from apiserver.client.informer import Informer
from apiserver.controllers.base import RequeueAfter
from apiserver.meta.errors import ApiError, Conflict, NotFound
from apiserver.meta.objects import Clock, format_time, utc_now

logger = logging.getLogger(__name__)

JSONDict = dict[str, Any]
PODS = Resource("", "v1", "pods")
NODES = Resource("", "v1", "nodes", namespaced=False)
GC_KEY = "gc"
# kube-controller-manager's defaults: gcCheckPeriod, quarantineTime, --terminated-pod-gc-threshold.
MIN_PASS_INTERVAL = 1.0
GC_CHECK_PERIOD = 20.0
QUARANTINE_TIME = 40.0
TERMINATED_POD_GC_THRESHOLD = 12500
OUT_OF_SERVICE_TAINT = "node.kubernetes.io/out-of-service"
RUNNING_PHASES = ("Pending", "Running", "Unknown")
ORPHANED_CONDITION: JSONDict = {"type": "DisruptionTarget", "status": "True", "reason": "DeletionByPodGC",
                                "message": "PodGC: node no longer exists"}


def _metadata(obj: JSONDict) -> JSONDict:
    metadata: JSONDict = obj.get("metadata") or {}
    return metadata


def node_name_of(pod: JSONDict) -> str:
    return str((pod.get("spec") or {}).get("nodeName") or "")


def phase_of(pod: JSONDict) -> str:
    return str((pod.get("status") or {}).get("phase") or "")


def is_terminated(pod: JSONDict) -> bool:
    """isPodTerminated: any phase but Pending, Running and Unknown (an empty phase counts as terminated)."""
    return phase_of(pod) not in RUNNING_PHASES


def is_terminating(pod: JSONDict) -> bool:
    return bool(_metadata(pod).get("deletionTimestamp"))


def is_evicted(pod: JSONDict) -> bool:
    """The kubelet's PodIsEvicted: Failed with reason Evicted."""
    status = pod.get("status") or {}
    return status.get("phase") == "Failed" and status.get("reason") == "Evicted"


def deletion_order(pod: JSONDict) -> tuple[bool, str, str]:
    """byEvictionAndCreationTimestamp: evicted pods first, then the oldest, then by name."""
    metadata = _metadata(pod)
    return (not is_evicted(pod), str(metadata.get("creationTimestamp") or ""), str(metadata.get("name") or ""))


def is_out_of_service(node: JSONDict) -> bool:
    """Not Ready and tainted `node.kubernetes.io/out-of-service`."""
    ready = any(condition.get("type") == "Ready" and condition.get("status") == "True"
                for condition in (node.get("status") or {}).get("conditions") or ())
    tainted = any(taint.get("key") == OUT_OF_SERVICE_TAINT for taint in (node.get("spec") or {}).get("taints") or ())
    return not ready and tainted


def failed_status_patch(pod: JSONDict, condition: JSONDict | None, now: str) -> JSONDict:
    """The strategic merge patch PatchPodStatus sends: the uid (a precondition), phase Failed and the condition
    (UpdatePodCondition: its transition time moves only when its status changes)."""
    status: JSONDict = {"phase": "Failed"}
    if condition is not None:
        new = {**condition, "lastTransitionTime": now}
        for old in (pod.get("status") or {}).get("conditions") or ():
            if old.get("type") == condition["type"] and old.get("status") == condition["status"]:
                new["lastTransitionTime"] = old.get("lastTransitionTime")
        status["conditions"] = [new]
    return {"metadata": {"uid": _metadata(pod).get("uid")}, "status": status}


class PodGCController:
    name = "pod-garbage-collector"
    workers = 1
    watches = (PODS, NODES)

    def __init__(self, *, terminated_pod_gc_threshold: int = TERMINATED_POD_GC_THRESHOLD,
                 quarantine_time: float = QUARANTINE_TIME, gc_check_period: float = GC_CHECK_PERIOD,
                 min_pass_interval: float = MIN_PASS_INTERVAL, clock: Clock = utc_now) -> None:
        self._min_pass_interval = min_pass_interval
        self._last_pass = float("-inf")
        self._threshold = terminated_pod_gc_threshold
        self._quarantine_time = timedelta(seconds=quarantine_time)
        self._period = gc_check_period
        self._clock = clock
        self._quarantined: dict[str, datetime] = {}
        self._client: ApiClient | None = None
        self._pods: Informer | None = None
        self._nodes: Informer | None = None

    def keys_for(self, resource: Resource, event_type: str, obj: JSONDict) -> list[str]:
        if resource == NODES:
            return [GC_KEY] if event_type == "DELETED" or is_out_of_service(obj) else []
        return [GC_KEY] if event_type != "DELETED" and self._may_collect(obj) else []

    def _may_collect(self, pod: JSONDict) -> bool:
        node = node_name_of(pod)
        if is_terminating(pod) or (node and (self._nodes is None or self._nodes.get(node) is None)):
            return True
        return self._threshold > 0 and is_terminated(pod)

    async def start(self, client: ApiClient, informers: dict[Resource, Informer]) -> None:
        self._client, self._pods, self._nodes = client, informers[PODS], informers[NODES]

    async def reconcile(self, key: str) -> None:
        """One pass of upstream's gc over the cached pods and nodes; always requeues for the next one."""
        assert self._pods is not None and self._nodes is not None
        # A pass reads every cached pod: under a stream of pod events, at most one pass per interval (upstream
        # runs one every 20 s whatever happens).
        wait = self._last_pass + self._min_pass_interval - time.monotonic()
        if wait > 0:
            raise RequeueAfter(wait)
        self._last_pass = time.monotonic()
        pods = self._pods.items()
        nodes = {str(_metadata(node).get("name") or ""): node for node in self._nodes.items()}
        if self._threshold > 0:
            await self._gc_terminated(pods)
        await self._gc_terminating(pods, nodes)
        await self._gc_orphaned(pods, nodes)
        await self._gc_unscheduled_terminating(pods)
        raise RequeueAfter(self._next_pass())

    async def _gc_terminated(self, pods: list[JSONDict]) -> None:
        terminated = [pod for pod in pods if is_terminated(pod)]
        excess = len(terminated) - self._threshold
        if excess <= 0:
            return
        logger.info("podgc_terminated", extra={"controller": self.name, "pods": excess})
        chosen = sorted(terminated, key=deletion_order)[:excess]
        await asyncio.gather(*(self._mark_failed_and_delete(pod) for pod in chosen))

    async def _gc_terminating(self, pods: list[JSONDict], nodes: dict[str, JSONDict]) -> None:
        chosen = [pod for pod in pods if is_terminating(pod) and (node := nodes.get(node_name_of(pod))) is not None
                  and is_out_of_service(node)]
        await asyncio.gather(*(self._mark_failed_and_delete(pod) for pod in sorted(chosen, key=deletion_order)))

    async def _gc_orphaned(self, pods: list[JSONDict], nodes: dict[str, JSONDict]) -> None:
        now = self._clock()
        for pod in pods:
            node = node_name_of(pod)
            if node and node not in nodes:
                self._quarantined.setdefault(node, now + self._quarantine_time)
        deleted = await self._deleted_nodes(now, nodes)
        for pod in pods:
            if node_name_of(pod) in deleted:
                await self._mark_failed_and_delete(pod, ORPHANED_CONDITION)

    async def _deleted_nodes(self, now: datetime, nodes: dict[str, JSONDict]) -> set[str]:
        """discoverDeletedNodes: nodes past their quarantine, missing from the cache and from storage."""
        assert self._client is not None
        deleted: set[str] = set()
        for node, deadline in list(self._quarantined.items()):
            if deadline > now:
                continue
            del self._quarantined[node]
            if node in nodes:
                continue
            try:
                await self._client.get(NODES, node)
            except NotFound:
                deleted.add(node)
            except ApiError as error:
                # Quarantined again by the next pass if its pods still name it.
                logger.warning("podgc_node_get_failed", extra={"controller": self.name, "node": node,
                                                               "error": str(error)})
        return deleted

    async def _gc_unscheduled_terminating(self, pods: list[JSONDict]) -> None:
        for pod in pods:
            if is_terminating(pod) and not node_name_of(pod):
                await self._mark_failed_and_delete(pod)

    async def _mark_failed_and_delete(self, pod: JSONDict, condition: JSONDict | None = None) -> None:
        assert self._client is not None
        metadata = _metadata(pod)
        namespace, name = str(metadata.get("namespace") or ""), str(metadata.get("name") or "")
        try:
            if phase_of(pod) not in ("Succeeded", "Failed"):
                patch = failed_status_patch(pod, condition, format_time(self._clock()))
                await self._client.patch(PODS, name, patch, namespace=namespace, subresource="status",
                                         content_type=STRATEGIC_MERGE_PATCH)
            options = {"kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 0,
                       "preconditions": {"uid": metadata.get("uid")}}
            await self._client.delete(PODS, name, namespace=namespace, options=options)
        except (NotFound, Conflict):
            return
        except ApiError as error:
            logger.warning("podgc_delete_failed", extra={"controller": self.name, "pod": f"{namespace}/{name}",
                                                         "error": str(error)})
            return
        logger.info("podgc_force_deleted", extra={"controller": self.name, "pod": f"{namespace}/{name}"})

    def _next_pass(self) -> float:
        """The next period, or sooner when a quarantine ends before it."""
        delay = self._period
        if self._quarantined:
            remaining = (min(self._quarantined.values()) - self._clock()).total_seconds()
            delay = min(delay, max(remaining, 0.001))
        return delay
