"""The etcd backend's StorageStatus: one Maintenance.Status RPC per member, as `etcdctl endpoint status` does.

Members are asked concurrently, each bounded by the status timeout, so one member that is down costs at most
that timeout. The revision is the newest any member reports (members may lag by a few revisions). etcd reports
no compacted revision in Status; the backend finds it separately.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import grpc
import grpc.aio
from aetcd import rpc

from apiserver.storage.errors import StorageError
from apiserver.storage.etcd.endpoints import Endpoint
from apiserver.storage.status import MemberStatus, StorageStatus

BACKEND = "etcd3"


def _member_id(value: int) -> str:
    return f"{value:x}"  # etcdctl prints member IDs in hex


async def member_status(endpoint: Endpoint, *, current: bool, timeout: float) -> MemberStatus:
    """The status of one member; unreachable (with the gRPC error) when it does not answer within `timeout`."""
    started = time.perf_counter()
    try:
        response: Any = await rpc.MaintenanceStub(endpoint.channel).Status(rpc.StatusRequest(), timeout=timeout)
    except grpc.aio.AioRpcError as error:
        return MemberStatus(
            endpoint=endpoint.url, reachable=False, current=current, latency=time.perf_counter() - started,
            error=f"{error.code().name}: {error.details()}",
        )
    return MemberStatus(
        endpoint=endpoint.url, reachable=True, current=current, latency=time.perf_counter() - started,
        member_id=_member_id(response.header.member_id), version=response.version, db_size=response.dbSize,
        db_size_in_use=response.dbSizeInUse, is_leader=response.leader == response.header.member_id,
        leader_id=_member_id(response.leader), raft_term=response.raftTerm, raft_index=response.raftIndex,
        is_learner=response.isLearner, errors=tuple(response.errors),
    )


async def read_status(
    endpoints: Sequence[Endpoint], current: Endpoint, *, timeout: float,
    revisions: Callable[[], Awaitable[tuple[int, int]]],
) -> StorageStatus:
    """The snapshot of the cluster behind `endpoints`; `revisions` reads (revision, compacted revision)."""
    members = await asyncio.gather(
        *(member_status(endpoint, current=endpoint is current, timeout=timeout) for endpoint in endpoints)
    )
    reachable = [member for member in members if member.reachable]
    error = "" if reachable else "no etcd member answered"
    revision = compacted = -1
    if reachable:
        try:
            revision, compacted = await revisions()
        except StorageError as error_reading:  # reported in the snapshot, as the contract requires
            error = str(error_reading) or type(error_reading).__name__
    return StorageStatus(
        backend=BACKEND, revision=revision, compacted_revision=compacted,
        size=max((member.db_size for member in reachable), default=0), members=tuple(members), error=error,
    )
