"""The SQLite backend's StorageStatus: revisions from the log, sizes of the database file and its WAL.

Read on a reader thread (one statement each, plus two stat calls), so nothing touches the disk on the event loop.
"""
from __future__ import annotations

import os
import sqlite3

from apiserver.storage.sqlite import log
from apiserver.storage.status import MemberStatus, StorageStatus

BACKEND = "sqlite"


def file_size(path: str) -> int:
    """The size of `path` in bytes; 0 when it does not exist (no WAL after a clean checkpoint)."""
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        return 0


def read_status(connection: sqlite3.Connection, path: str) -> StorageStatus:
    """The snapshot for the database at `path`, read through `connection` (a reader's)."""
    files = {"database": file_size(path), "wal": file_size(f"{path}-wal")}
    return StorageStatus(
        backend=BACKEND,
        revision=log.current_revision(connection),
        compacted_revision=log.compacted_revision(connection),
        size=sum(files.values()),
        files=files,
        members=(MemberStatus(endpoint=path, reachable=True, current=True),),
    )


def failed_status(path: str, error: str) -> StorageStatus:
    """What is known when the readers cannot answer: the file sizes and the error."""
    files = {"database": file_size(path), "wal": file_size(f"{path}-wal")}
    return StorageStatus(
        backend=BACKEND, size=sum(files.values()), files=files, error=error,
        members=(MemberStatus(endpoint=path, reachable=False, current=True, error=error),),
    )
