"""`GET /debug/pilothouse/health`: health history, storage status and metric series as JSON, for the console.

Pilothouse's own debug path, beside upstream's `/debug/*` (pprof, flags): a non-resource URL that goes through
the whole filter chain, so it is authenticated and authorized like any request (`get` on the non-resource URL
`/debug/pilothouse/health`). Bootstrap RBAC grants non-resource `*` to cluster-admin (and system:masters is
allowed everything), and no other default role covers `/debug/*`: everyone else gets the usual 403 Status until
a ClusterRole grants `nonResourceURLs: ["/debug/pilothouse/health"], verbs: ["get"]`.

GET and HEAD only (others: 405 Status); a path below it is a 404 Status. Each request re-runs the health checks
(requests arriving while a sample runs share it) and reads the storage status afresh.

Shape (times are Unix seconds as floats; durations seconds; sizes bytes; a latency is null without requests):

    {
      "now": 1795325065.2,
      "health": {
        "startedAt": float, "sampledAt": float | null, "interval": 5.0, "dropped": 0,
        "endpoints": {                                   # "healthz", "livez", "readyz"
          "livez": {"ok": bool, "checks": [              # in the endpoint's ?verbose order
            {"name": "etcd", "ok": bool, "since": float, "reason": "",   # current state, since when
             "history": [{"ok": bool, "since": float, "reason": str}, ...]}   # transitions, oldest first
          ]}, ...}},
      "storage": {
        "backend": "sqlite" | "etcd3" | "memory", "revision": int, "compactedRevision": int,  # -1: unknown
        "size": int, "files": {"database": int, "wal": int},            # files: SQLite only
        "error": str, "readSeconds": float,
        "members": [{"endpoint": str, "reachable": bool, "current": bool, "latency": float, "error": str,
                     "memberID": str, "version": str, "dbSize": int, "dbSizeInUse": int, "isLeader": bool,
                     "leaderID": str, "raftTerm": int, "raftIndex": int, "isLearner": bool, "errors": [str]}],
        "latency": {"recent": {"seconds": float | null, "requests": float, "p50": float | null, "p99": ...},
                    "sinceStart": {"requests": float, "p50": ..., "p99": ..., "errors": float}}},
      "metrics": {"interval": 10.0, "window": 1800.0, "points": [
        {"at": float, "requestRate": float, "latencyP50": float | null, "latencyP99": float | null,
         "inflight": float, "inflightReadOnly": float, "inflightMutating": float, "longRunning": float,
         "storageRate": float, "storageP50": float | null, "storageP99": float | null}, ...]}
    }

Request latency leaves out WATCH and CONNECT; storage latency is etcd_request_duration_seconds on every backend.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from apiserver.http.asgi import Receive, Scope, Send
from apiserver.http.responses import send_json, send_status
from apiserver.meta.errors import path_not_found, route_error
from apiserver.meta.objects import JSONDict
from apiserver.storage.errors import StorageError
from apiserver.storage.interface import Storage
from apiserver.storage.status import MemberStatus, StorageStatus, storage_status

DEBUG_HEALTH_PATH = "/debug/pilothouse/health"
RESAMPLE_AFTER = 0.0  # always current; requests arriving during a sample share it


class HealthHistorySource(Protocol):
    """The health recorder (server/healthhistory.py's HealthHistory)."""

    async def refresh(self, max_age: float) -> None:
        """Sample the checks unless the last sample is at most `max_age` seconds old."""
        ...

    def report(self) -> JSONDict:
        """The `health` field."""
        ...


class SeriesSource(Protocol):
    """The metrics sampler (server/healthhistory_series.py's MetricsSeries)."""

    def report(self) -> JSONDict:
        """The `metrics` field, whose `storageLatency` moves into `storage.latency`."""
        ...


def member_json(member: MemberStatus) -> JSONDict:
    return {
        "endpoint": member.endpoint, "reachable": member.reachable, "current": member.current,
        "latency": member.latency, "error": member.error, "memberID": member.member_id, "version": member.version,
        "dbSize": member.db_size, "dbSizeInUse": member.db_size_in_use, "isLeader": member.is_leader,
        "leaderID": member.leader_id, "raftTerm": member.raft_term, "raftIndex": member.raft_index,
        "isLearner": member.is_learner, "errors": list(member.errors),
    }


def storage_json(status: StorageStatus) -> JSONDict:
    return {
        "backend": status.backend, "revision": status.revision, "compactedRevision": status.compacted_revision,
        "size": status.size, "files": dict(status.files), "error": status.error, "readSeconds": status.read_seconds,
        "members": [member_json(member) for member in status.members],
    }


class DebugHealthEndpoint:
    """The ASGI handler of DEBUG_HEALTH_PATH. `storage` returns the open storage or raises StorageError."""

    def __init__(
        self, *, history: HealthHistorySource, series: SeriesSource, storage: Callable[[], Storage],
        backend_name: str, clock: Callable[[], float] = time.time,
    ) -> None:
        self._history = history
        self._series = series
        self._storage = storage
        self._backend_name = backend_name
        self._clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["path"] != DEBUG_HEALTH_PATH:
            return await send_status(send, path_not_found())
        if scope["method"] not in ("GET", "HEAD"):
            return await send_status(send, route_error(405))
        await send_json(send, 200, await self.report())

    async def report(self) -> JSONDict:
        """The whole document (shape above)."""
        await self._history.refresh(RESAMPLE_AFTER)
        metrics = self._series.report()
        storage = storage_json(await self._storage_status())
        storage["latency"] = metrics.pop("storageLatency", {})
        return {"now": self._clock(), "health": self._history.report(), "storage": storage, "metrics": metrics}

    async def _storage_status(self) -> StorageStatus:
        try:
            storage = self._storage()
        except StorageError as error:
            return StorageStatus(backend=self._backend_name, error=str(error))
        return await storage_status(storage, backend_name=self._backend_name)

