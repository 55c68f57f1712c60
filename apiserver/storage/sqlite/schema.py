"""The log table, its indexes and the connection PRAGMAs.

Every row of `log` is one write; its `id` is the revision. The current value of a key is its row with the
highest id, unless that row is a delete. `UNIQUE(name, prev_revision)` makes two writes based on the same
previous revision of a key impossible, even from two processes. The compacted revision lives in `meta`, not
in a marker row of `log`, so that compacting does not consume a revision (as in etcd).
"""
from __future__ import annotations

import sqlite3

SYNCHRONOUS_MODES = frozenset({"FULL", "NORMAL"})
BUSY_TIMEOUT_MS = 5000
SCHEMA_VERSION = 1

TABLES = (
    """
    CREATE TABLE IF NOT EXISTS log (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL,
        created INTEGER NOT NULL,
        deleted INTEGER NOT NULL,
        create_revision INTEGER NOT NULL,
        prev_revision INTEGER NOT NULL,
        value BLOB NOT NULL,
        old_value BLOB
    )
    """,
    # (name, id) serves "latest row of a key" and the list query; a separate (name) index would only be its
    # prefix, so it is left out.
    "CREATE INDEX IF NOT EXISTS log_name_id_index ON log (name, id)",
    "CREATE INDEX IF NOT EXISTS log_id_deleted_index ON log (id, deleted)",
    "CREATE INDEX IF NOT EXISTS log_prev_revision_index ON log (prev_revision)",
    "CREATE UNIQUE INDEX IF NOT EXISTS log_name_prev_revision_uindex ON log (name, prev_revision)",
    "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID",
    "INSERT OR IGNORE INTO meta (name, value) VALUES ('compact_revision', 0)",
)


def connect(path: str, synchronous: str) -> sqlite3.Connection:
    """Open a connection with the PRAGMAs every connection needs.

    `isolation_level=None` leaves transactions to explicit BEGIN/COMMIT, so a single statement is its own
    consistent snapshot and the writer decides exactly what one transaction holds.
    """
    if synchronous not in SYNCHRONOUS_MODES:
        raise ValueError(f"sqlite synchronous must be one of {sorted(SYNCHRONOUS_MODES)}, not {synchronous!r}")
    connection = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
    connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    connection.execute("PRAGMA journal_mode = WAL")
    # FULL: an acknowledged write survives power loss. NORMAL in WAL mode survives a process crash but may lose
    # the last commits on power loss.
    connection.execute(f"PRAGMA synchronous = {synchronous}")
    connection.execute("PRAGMA foreign_keys = OFF")
    return connection


def create_schema(connection: sqlite3.Connection) -> None:
    """Create the tables and indexes if missing; safe when another process does the same at the same time."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        for statement in TABLES:
            connection.execute(statement)
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")
