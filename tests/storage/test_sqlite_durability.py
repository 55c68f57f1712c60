"""SQLite files outlive processes: reopening keeps data and revisions, compaction shrinks the file, and an
acknowledged write survives SIGKILL."""
from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
from pathlib import Path

from apiserver.storage.backends import StorageOptions
from apiserver.storage.interface import EventType, KeyValue
from apiserver.storage.sqlite.backend import SQLiteStorage

ROOT = Path(__file__).resolve().parents[2]

# Creates keys forever, 16 in flight, and prints "<revision> <key>" for each acknowledged write.
CRASH_WRITER = """
import asyncio, sys
from apiserver.storage.backends import StorageOptions
from apiserver.storage.sqlite.backend import SQLiteStorage

async def main():
    storage = await SQLiteStorage.open(StorageOptions(sqlite_path=sys.argv[1]))
    async def create(index):
        key = f"/crash/{index:08}"
        revision = await storage.create(key, key.encode() * 10)
        print(revision, key, flush=True)
    index = 0
    while True:
        await asyncio.gather(*(create(index + offset) for offset in range(16)))
        index += 16

asyncio.run(main())
"""


def integrity_of(path: str) -> str:
    connection = sqlite3.connect(path)
    try:
        return str(connection.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        connection.close()


def count_rows(path: str) -> int:
    connection = sqlite3.connect(path)
    try:
        return int(connection.execute("SELECT COUNT(*) FROM log").fetchone()[0])
    finally:
        connection.close()


async def test_reopening_the_file_keeps_data_and_revisions_continue(sqlite_options: StorageOptions) -> None:
    storage = await SQLiteStorage.open(sqlite_options)
    created = await storage.create("/r/a", b"1")
    updated = await storage.update("/r/a", b"2", expected=created)
    deleted = await storage.delete("/r/a")
    kept = await storage.create("/r/b", b"3")
    await storage.close()

    storage = await SQLiteStorage.open(sqlite_options)
    try:
        assert await storage.current_revision() == kept
        assert await storage.get("/r/b") == KeyValue("/r/b", b"3", kept, kept)
        assert await storage.get("/r/a") is None
        assert [item.value for item in (await storage.list("/r/", revision=updated)).items] == [b"2"]
        latest = await storage.create("/r/c", b"4")
        stream = storage.watch("/r/", after=0)
        replayed = []
        async with asyncio.timeout(10):
            while len(replayed) < 5:
                replayed.extend(await anext(stream))
        await stream.aclose()
    finally:
        await storage.close()
    assert latest == kept + 1
    assert [(event.type, event.revision) for event in replayed] == [
        (EventType.CREATE, created),
        (EventType.UPDATE, updated),
        (EventType.DELETE, deleted.mod_revision),
        (EventType.CREATE, kept),
        (EventType.CREATE, latest),
    ]


async def test_compaction_removes_superseded_rows_and_keeps_the_file_intact(sqlite_options: StorageOptions) -> None:
    storage = await SQLiteStorage.open(sqlite_options)
    try:
        revisions = {}
        for index in range(5):
            revisions[index] = await storage.create(f"/c/{index}", b"0")
        for step in (1, 2):
            for index in range(5):
                revisions[index] = await storage.update(f"/c/{index}", f"{step}".encode(), expected=revisions[index])
        await storage.delete("/c/0")
        last = await storage.delete("/c/1")
        await storage.compact(last.mod_revision)
        page = await storage.list("/c/", revision=last.mod_revision)
    finally:
        await storage.close()
    # Left: the newest rows of /c/2../c/4 and the row at the compacted revision itself (the delete of /c/1).
    assert await asyncio.to_thread(count_rows, sqlite_options.sqlite_path) == 4
    assert [(item.key, item.value) for item in page.items] == [("/c/2", b"2"), ("/c/3", b"2"), ("/c/4", b"2")]
    assert await asyncio.to_thread(integrity_of, sqlite_options.sqlite_path) == "ok"


async def test_compaction_checkpoints_the_write_ahead_log(sqlite_options: StorageOptions) -> None:
    storage = await SQLiteStorage.open(sqlite_options)
    try:
        revision = 0
        for index in range(100):
            revision = await storage.create(f"/w/{index}", b"x" * 1000)
        wal = Path(sqlite_options.sqlite_path + "-wal")
        assert wal.stat().st_size > 0
        await storage.delete("/w/0")
        await storage.compact(revision + 1)
        assert wal.stat().st_size == 0
    finally:
        await storage.close()


async def test_acknowledged_writes_survive_sigkill(sqlite_options: StorageOptions) -> None:
    path = sqlite_options.sqlite_path
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    writer = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CRASH_WRITER, path, cwd=ROOT, stdout=asyncio.subprocess.PIPE
    )
    assert writer.stdout is not None
    acknowledged: list[tuple[int, str]] = []
    try:
        async with asyncio.timeout(60):
            while len(acknowledged) < 400:
                line = await writer.stdout.readline()
                assert line, "the writer exited before it was killed"
                revision, key = line.decode().split()
                acknowledged.append((int(revision), key))
    finally:
        os.kill(writer.pid, signal.SIGKILL)
        await writer.wait()
    assert writer.returncode == -signal.SIGKILL
    # Lines written before the kill but not yet read are acknowledged too.
    for line in (await writer.stdout.read()).decode().splitlines(keepends=True):
        if line.endswith("\n"):
            revision, key = line.split()
            acknowledged.append((int(revision), key))

    assert await asyncio.to_thread(integrity_of, path) == "ok"
    storage = await SQLiteStorage.open(sqlite_options)
    try:
        for revision, key in acknowledged:
            assert await storage.get(key) == KeyValue(key, key.encode() * 10, revision, revision)
        assert await storage.current_revision() >= max(revision for revision, _ in acknowledged)
    finally:
        await storage.close()
