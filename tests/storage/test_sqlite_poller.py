"""The SQLite poller: writes of other processes, holes in the ids, and compaction under a live watch."""
from __future__ import annotations

import asyncio
import sqlite3
import sys
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from apiserver.storage.backends import StorageOptions
from apiserver.storage.errors import Compacted
from apiserver.storage.interface import Event, EventType
from apiserver.storage.sqlite.backend import SQLiteStorage
from apiserver.storage.sqlite.poller import GAP_WAIT, POLL_INTERVAL

ROOT = Path(__file__).resolve().parents[2]

# Creates `count` keys under `prefix`, 10 in flight, and prints the revision of each.
OTHER_PROCESS_WRITER = """
import asyncio, sys
from apiserver.storage.backends import StorageOptions
from apiserver.storage.errors import Compacted
from apiserver.storage.sqlite.backend import SQLiteStorage

async def main(path, prefix, count):
    storage = await SQLiteStorage.open(StorageOptions(sqlite_path=path))
    for start in range(0, count, 10):
        keys = [f"{prefix}{index}" for index in range(start, start + 10)]
        revisions = await asyncio.gather(*(storage.create(key, b"x") for key in keys))
        print(*revisions, flush=True)
    await storage.close()

asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
"""


async def write_from_another_process(path: str, prefix: str, count: int) -> list[int]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", OTHER_PROCESS_WRITER, path, prefix, str(count), cwd=ROOT, stdout=asyncio.subprocess.PIPE
    )
    async with asyncio.timeout(60):
        output, _ = await process.communicate()
    assert process.returncode == 0
    return [int(revision) for revision in output.decode().split()]


async def collect(stream: AsyncIterator[Sequence[Event]], count: int, timeout: float) -> list[Event]:
    events: list[Event] = []
    async with asyncio.timeout(timeout):
        while len(events) < count:
            events.extend(await anext(stream))
    return events


def insert_raw_row(path: str, revision: int, key: str) -> None:
    """Write a log row behind the backend's back, with an id of our choosing."""
    connection = sqlite3.connect(path, isolation_level=None, timeout=5)
    try:
        connection.execute(
            "INSERT INTO log (id, name, created, deleted, create_revision, prev_revision, value, old_value)"
            " VALUES (?, ?, 1, 0, ?, 0, ?, NULL)",
            (revision, key, revision, key.encode()),
        )
    finally:
        connection.close()


@pytest.fixture
async def storage(sqlite_options: StorageOptions) -> AsyncIterator[SQLiteStorage]:
    opened = await SQLiteStorage.open(sqlite_options)
    try:
        yield opened
    finally:
        await opened.close()


async def test_a_write_by_another_process_reaches_a_watcher_by_polling(
    storage: SQLiteStorage, sqlite_options: StorageOptions
) -> None:
    after = await storage.create("/own/a", b"1")
    stream = storage.watch("/other/", after=after)
    try:
        theirs = await write_from_another_process(sqlite_options.sqlite_path, "/other/", 10)
        written = time.monotonic()
        # Nothing in this process wakes the poller: only its periodic poll can find these rows.
        events = await collect(stream, 10, timeout=POLL_INTERVAL + 1.0)
    finally:
        await stream.aclose()
    assert [event.revision for event in events] == theirs == list(range(after + 1, after + 11))
    assert time.monotonic() - written < POLL_INTERVAL + 1.0


async def test_two_processes_writing_at_once_never_share_a_revision(
    storage: SQLiteStorage, sqlite_options: StorageOptions
) -> None:
    after = await storage.current_revision()
    stream = storage.watch("/", after=after)
    try:
        other = asyncio.ensure_future(write_from_another_process(sqlite_options.sqlite_path, "/theirs/", 100))
        ours = []
        while not other.done():
            ours.append(await storage.create(f"/ours/{len(ours)}", b"y"))
        theirs = await other
        events = await collect(stream, len(ours) + len(theirs), timeout=10)
    finally:
        await stream.aclose()
    everything = sorted(ours + theirs)
    assert everything == list(range(after + 1, after + 1 + len(everything)))
    assert [event.revision for event in events] == everything
    assert await storage.current_revision() == everything[-1]


async def test_a_hole_in_the_ids_holds_back_later_events_until_it_fills(
    storage: SQLiteStorage, sqlite_options: StorageOptions
) -> None:
    path = sqlite_options.sqlite_path
    after = await storage.create("/gap/first", b"")
    stream = storage.watch("/gap/", after=after)
    try:
        await asyncio.to_thread(insert_raw_row, path, after + 2, "/gap/late")
        own = await storage.create("/gap/own", b"")  # wakes the poller, which now sees a hole at after + 1
        pending = asyncio.ensure_future(anext(stream))
        done, _ = await asyncio.wait({pending}, timeout=GAP_WAIT / 4)
        assert not done, "an event was delivered across a hole in the revisions"
        await asyncio.to_thread(insert_raw_row, path, after + 1, "/gap/filled")
        events = list(await pending)
        events += await collect(stream, 3 - len(events), timeout=5) if len(events) < 3 else []
    finally:
        await stream.aclose()
    assert own == after + 3
    assert [(event.key, event.revision) for event in events] == [
        ("/gap/filled", after + 1),
        ("/gap/late", after + 2),
        ("/gap/own", after + 3),
    ]


async def test_a_hole_that_never_fills_is_skipped_after_the_gap_wait(
    storage: SQLiteStorage, sqlite_options: StorageOptions
) -> None:
    after = await storage.create("/skip/first", b"")
    stream = storage.watch("/skip/", after=after)
    try:
        await asyncio.to_thread(insert_raw_row, sqlite_options.sqlite_path, after + 2, "/skip/late")
        started = time.monotonic()
        own = await storage.create("/skip/own", b"")
        events = await collect(stream, 2, timeout=GAP_WAIT + POLL_INTERVAL + 2)
    finally:
        await stream.aclose()
    assert time.monotonic() - started >= GAP_WAIT * 0.9
    assert [(event.key, event.revision) for event in events] == [("/skip/late", after + 2), ("/skip/own", own)]


async def test_compaction_right_after_writes_does_not_cut_off_a_live_watch(storage: SQLiteStorage) -> None:
    after = await storage.create("/live/start", b"")
    stream = storage.watch("/live/", after=after - 1)
    try:
        assert [event.revision for event in await collect(stream, 1, timeout=10)] == [after]
        revision = after
        for step in range(20):
            revision = await storage.create(f"/live/{step}", b"v")
            revision = await storage.update(f"/live/{step}", b"w", expected=revision)
            await storage.compact(revision)
        events = await collect(stream, 40, timeout=10)
    finally:
        await stream.aclose()
    assert [event.revision for event in events] == list(range(after + 1, revision + 1))
    assert [event.type for event in events] == [EventType.CREATE, EventType.UPDATE] * 20


def compact_behind_the_backends_back(path: str, after: int, key: str) -> None:
    """What another process's compaction looks like to this one: rows it never saw are already gone."""
    connection = sqlite3.connect(path, isolation_level=None, timeout=5)
    try:
        connection.execute("BEGIN IMMEDIATE")
        connection.execute(
            "INSERT INTO log (id, name, created, deleted, create_revision, prev_revision, value, old_value)"
            " VALUES (?, ?, 1, 0, ?, 0, x'31', NULL), (?, ?, 0, 0, ?, ?, x'32', x'31')",
            (after + 1, key, after + 1, after + 2, key, after + 1, after + 1),
        )
        connection.execute("DELETE FROM log WHERE id = ?", (after + 1,))
        connection.execute("UPDATE meta SET value = ? WHERE name = 'compact_revision'", (after + 2,))
        connection.execute("COMMIT")
    finally:
        connection.close()


async def test_a_watch_that_falls_behind_a_compaction_gets_compacted(
    storage: SQLiteStorage, sqlite_options: StorageOptions
) -> None:
    after = await storage.create("/behind/start", b"")
    stream = storage.watch("/behind/", after=after - 1)
    try:
        assert [event.revision for event in await collect(stream, 1, timeout=10)] == [after]
        await asyncio.to_thread(compact_behind_the_backends_back, sqlite_options.sqlite_path, after, "/behind/k")
        with pytest.raises(Compacted):
            await collect(stream, 1, timeout=POLL_INTERVAL + 2)
    finally:
        await stream.aclose()
    later = storage.watch("/behind/", after=after + 1)
    try:
        assert [event.revision for event in await collect(later, 1, timeout=10)] == [after + 2]
    finally:
        await later.aclose()
