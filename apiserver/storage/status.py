"""StorageStatus: what the backend under the server can say about itself, for operators (the console's Health page).

A snapshot, never cached: revision, compacted revision, size on disk and the members or files behind it. Each
backend that knows more than the `Storage` contract offers implements `StatusReporter` (SQLite: file and WAL
sizes; etcd: one Status RPC per member). Wrappers (metered, encrypted storage) expose the wrapped backend as
`inner`; `storage_status` looks through them. A backend without `status()` (memory) reports its revision only.

Reading status never writes and never raises for an unreachable backend: the snapshot says what failed.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Protocol, runtime_checkable

from apiserver.storage.errors import StorageError
from apiserver.storage.interface import Storage


@dataclass(frozen=True, slots=True)
class MemberStatus:
    """One etcd member (or the one SQLite file) as the server reaches it.

    `reachable` is False when the status request failed (`error` says why); the other fields are then empty.
    `latency` is the round trip of the status request, in seconds.
    """

    endpoint: str
    reachable: bool
    current: bool = False  # the member this server sends its requests to
    latency: float = 0.0
    error: str = ""
    member_id: str = ""
    version: str = ""
    db_size: int = 0
    db_size_in_use: int = 0
    is_leader: bool = False
    leader_id: str = ""
    raft_term: int = 0
    raft_index: int = 0
    is_learner: bool = False
    errors: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class StorageStatus:
    """A backend's state at one moment. Sizes are bytes; 0 when the backend has no such notion.

    `revision` and `compacted_revision` are -1 when they could not be read (`error` says why).
    `files` maps a file role (`database`, `wal`) to its size for file-based backends.
    """

    backend: str
    revision: int = -1
    compacted_revision: int = -1
    size: int = 0
    members: tuple[MemberStatus, ...] = ()
    files: dict[str, int] = field(default_factory=dict)
    error: str = ""
    read_seconds: float = 0.0  # how long the whole snapshot took


@runtime_checkable
class StatusReporter(Protocol):
    """A backend that can describe itself."""

    async def status(self) -> StorageStatus:
        """A snapshot of the backend. Must not write, must bound its I/O by the backend's request timeout, and
        reports failures inside the snapshot (`error`, unreachable members) instead of raising."""
        ...


def innermost(storage: Storage) -> Storage:
    """The backend under any wrappers that expose what they wrap as `inner`."""
    seen = 0
    while (inner := getattr(storage, "inner", None)) is not None and seen < 10:
        storage, seen = inner, seen + 1
    return storage


async def storage_status(storage: Storage, *, backend_name: str = "") -> StorageStatus:
    """The snapshot of the backend under `storage`, timed; `backend_name` names backends without `status()`."""
    backend = innermost(storage)
    started = time.perf_counter()
    if isinstance(backend, StatusReporter):
        status = await backend.status()
    else:
        status = await _revision_only(backend, backend_name or type(backend).__name__)
    return replace(status, read_seconds=time.perf_counter() - started)


async def _revision_only(backend: Storage, name: str) -> StorageStatus:
    try:
        return StorageStatus(backend=name, revision=await backend.current_revision())
    except StorageError as error:
        return StorageStatus(backend=name, error=str(error))

