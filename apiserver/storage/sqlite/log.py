"""The statements over the log table: append a write, read the current revision, list at a revision, read after.

Every function takes a connection and runs on the thread that owns it (writer, reader or poller), never on
the event loop. Write functions expect to run inside the writer's open transaction and check their
preconditions before inserting, so a failed precondition inserts nothing and consumes no revision.
"""
from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from apiserver.storage.errors import Compacted, FutureRevision, KeyExists, KeyNotFound, RevisionConflict
from apiserver.storage.interface import Event, EventType, KeyValue, Page

ROW_COLUMNS = "id, name, created, deleted, create_revision, value, old_value"
# The largest code point sorts last in UTF-8 too; it cannot be incremented, so it is dropped instead.
MAX_CODE_POINT = 0x10FFFF
SURROGATES = range(0xD800, 0xE000)


@dataclass(frozen=True, slots=True)
class Latest:
    """The newest row of one key: what a write's precondition is checked against."""

    revision: int
    deleted: bool
    create_revision: int
    value: bytes


def current_revision(connection: sqlite3.Connection) -> int:
    """The newest revision ever assigned (0 for an empty log); AUTOINCREMENT never hands one out twice."""
    row = connection.execute("SELECT seq FROM sqlite_sequence WHERE name = 'log'").fetchone()
    return int(row[0]) if row else 0


def compacted_revision(connection: sqlite3.Connection) -> int:
    row = connection.execute("SELECT value FROM meta WHERE name = 'compact_revision'").fetchone()
    return int(row[0]) if row else 0


def latest(connection: sqlite3.Connection, key: str) -> Latest | None:
    row = connection.execute(
        "SELECT id, deleted, create_revision, value FROM log WHERE name = ? ORDER BY id DESC LIMIT 1", (key,)
    ).fetchone()
    if row is None:
        return None
    return Latest(int(row[0]), bool(row[1]), int(row[2]), bytes(row[3]))


def get(connection: sqlite3.Connection, key: str) -> KeyValue | None:
    """The current value of `key`, or None when it does not exist (never written, or deleted)."""
    newest = latest(connection, key)
    if newest is None or newest.deleted:
        return None
    return KeyValue(key, newest.value, newest.create_revision, newest.revision)


def append_create(connection: sqlite3.Connection, key: str, value: bytes) -> int:
    """Create `key`; return the new revision. Raises KeyExists."""
    previous = latest(connection, key)
    if previous is not None and not previous.deleted:
        raise KeyExists(key)
    revision = current_revision(connection) + 1
    prev_revision = previous.revision if previous else 0
    _insert(connection, (revision, key, 1, 0, revision, prev_revision, value, None))
    return revision


def append_update(connection: sqlite3.Connection, key: str, value: bytes, expected: int) -> int:
    """Replace `key` at mod revision `expected`; return the new revision. Raises KeyNotFound, RevisionConflict."""
    previous = _existing(connection, key)
    if previous.revision != expected:
        raise RevisionConflict(key, expected, previous.revision)
    revision = current_revision(connection) + 1
    _insert(
        connection,
        (revision, key, 0, 0, previous.create_revision, previous.revision, value, previous.value),
    )
    return revision


def append_delete(connection: sqlite3.Connection, key: str, expected: int) -> KeyValue:
    """Delete `key` (at mod revision `expected` unless 0); return the old value stamped with the delete revision."""
    previous = _existing(connection, key)
    if expected and previous.revision != expected:
        raise RevisionConflict(key, expected, previous.revision)
    revision = current_revision(connection) + 1
    _insert(
        connection,
        (revision, key, 0, 1, previous.create_revision, previous.revision, b"", previous.value),
    )
    return KeyValue(key, previous.value, previous.create_revision, revision)


def compact(connection: sqlite3.Connection, revision: int) -> int:
    """Drop the rows no read at or after `revision` can see; return how many. Raises FutureRevision.

    Kept: every row at or above `revision` (watches replay them, with their old values) and, below it, the
    newest row of each key unless that row is a delete, so that a list at `revision` still sees every key.
    """
    current = current_revision(connection)
    if revision > current:
        raise FutureRevision(revision, current)
    if revision <= compacted_revision(connection):
        return 0
    cursor = connection.execute(
        """
        DELETE FROM log WHERE id < :revision AND (
            deleted = 1 OR id NOT IN (SELECT MAX(id) FROM log WHERE id <= :revision GROUP BY name)
        )
        """,
        {"revision": revision},
    )
    connection.execute("UPDATE meta SET value = ? WHERE name = 'compact_revision'", (revision,))
    return int(cursor.rowcount)


def list_at(connection: sqlite3.Connection, prefix: str, revision: int, limit: int, start: str) -> Page:
    """List keys under `prefix` from `start` as of `revision` (0 = current), in one read transaction."""
    with _snapshot(connection):
        current = current_revision(connection)
        compacted = compacted_revision(connection)
        if revision and revision < compacted:
            raise Compacted(revision, compacted)
        if revision > current:
            raise FutureRevision(revision, current)
        at = revision or current
        where, parameters = _key_range(prefix, start)
        parameters["at"] = at
        visible = f"""
            FROM log AS row WHERE {where} AND row.deleted = 0
            AND row.id = (SELECT MAX(id) FROM log WHERE name = row.name AND id <= :at)
        """
        rows = connection.execute(
            f"SELECT name, value, create_revision, id {visible} ORDER BY name LIMIT :limit",
            {**parameters, "limit": limit or -1},
        ).fetchall()
        remaining = 0
        if limit and len(rows) == limit:
            total = connection.execute(f"SELECT COUNT(*) {visible}", parameters).fetchone()
            remaining = int(total[0]) - len(rows)
    items = [KeyValue(str(name), bytes(value), int(create), int(mod)) for name, value, create, mod in rows]
    return Page(items, at, remaining > 0, remaining)


def history(
    connection: sqlite3.Connection, prefix: str, after: int, until: int, limit: int
) -> tuple[list[Event], int]:
    """Events under `prefix` with after < revision <= until, oldest first, at most `limit` rows.

    Returns the events and the revision the next call should continue after. Raises Compacted when rows
    after `after` may already be gone.
    """
    with _snapshot(connection):
        compacted = compacted_revision(connection)
        if after + 1 < compacted:
            raise Compacted(after + 1, compacted)
        where, parameters = _key_range(prefix, "")
        rows = connection.execute(
            f"""
            SELECT {ROW_COLUMNS} FROM log AS row WHERE {where} AND id > :after AND id <= :until
            ORDER BY id LIMIT :limit
            """,
            {**parameters, "after": after, "until": until, "limit": limit},
        ).fetchall()
    reached = int(rows[-1][0]) if len(rows) == limit else until
    return [event_of(row) for row in rows], reached


def rows_after(connection: sqlite3.Connection, revision: int, limit: int) -> tuple[list[tuple[Any, ...]], int]:
    """The next `limit` rows after `revision` in id order, with the compacted revision of the same snapshot."""
    with _snapshot(connection):
        compacted = compacted_revision(connection)
        rows = connection.execute(
            f"SELECT {ROW_COLUMNS} FROM log WHERE id > ? ORDER BY id LIMIT ?", (revision, limit)
        ).fetchall()
    return rows, compacted


def event_of(row: Sequence[Any]) -> Event:
    """The watch event a row of ROW_COLUMNS stands for; updates and deletes carry the previous value."""
    revision, key, created, deleted, create_revision, value, old_value = row
    if deleted:
        return Event(EventType.DELETE, str(key), b"", bytes(old_value or b""), int(revision), int(create_revision))
    if created:
        return Event(EventType.CREATE, str(key), bytes(value), None, int(revision), int(create_revision))
    previous = bytes(old_value) if old_value is not None else None
    return Event(EventType.UPDATE, str(key), bytes(value), previous, int(revision), int(create_revision))


def prefix_end(prefix: str) -> str | None:
    """The smallest string above every string that starts with `prefix` (None: no bound).

    Code point order equals UTF-8 byte order, which is how SQLite's BINARY collation compares TEXT, so
    incrementing the last code point bounds the prefix bytewise.
    """
    while prefix:
        last = ord(prefix[-1])
        if last < MAX_CODE_POINT:
            following = last + 1
            if following in SURROGATES:
                following = SURROGATES.stop
            return prefix[:-1] + chr(following)
        prefix = prefix[:-1]
    return None


def _existing(connection: sqlite3.Connection, key: str) -> Latest:
    previous = latest(connection, key)
    if previous is None or previous.deleted:
        raise KeyNotFound(key)
    return previous


def _insert(connection: sqlite3.Connection, row: tuple[object, ...]) -> None:
    connection.execute(
        "INSERT INTO log (id, name, created, deleted, create_revision, prev_revision, value, old_value)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        row,
    )


def _key_range(prefix: str, start: str) -> tuple[str, dict[str, object]]:
    lower = max(prefix, start)
    upper = prefix_end(prefix)
    if upper is None:
        return "row.name >= :lower", {"lower": lower}
    return "row.name >= :lower AND row.name < :upper", {"lower": lower, "upper": upper}


@contextmanager
def _snapshot(connection: sqlite3.Connection) -> Iterator[None]:
    """A read transaction: every statement inside sees the same committed state."""
    connection.execute("BEGIN")
    try:
        yield
    finally:
        connection.execute("COMMIT")
