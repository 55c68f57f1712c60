"""The SQLite writer: group commit, per-write preconditions inside a batch, and no SQLite on the event loop."""
from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from apiserver.storage.backends import StorageOptions
from apiserver.storage.errors import KeyExists, StorageUnavailable
from apiserver.storage.sqlite import schema
from apiserver.storage.sqlite.backend import SQLiteStorage


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[int, str]]]:
    """Every SQL statement any storage connection runs, with the thread that ran it."""
    seen: list[tuple[int, str]] = []
    original = schema.connect

    def traced(path: str, synchronous: str) -> sqlite3.Connection:
        connection = original(path, synchronous)
        connection.set_trace_callback(lambda statement: seen.append((threading.get_ident(), statement)))
        return connection

    monkeypatch.setattr(schema, "connect", traced)
    yield seen


async def test_concurrent_creates_are_grouped_into_few_commits(
    sqlite_options: StorageOptions, statements: list[tuple[int, str]]
) -> None:
    storage = await SQLiteStorage.open(sqlite_options)
    try:
        before = storage.commits
        revisions = await asyncio.gather(*(storage.create(f"/g/{index:03}", b"v") for index in range(200)))
        commits = storage.commits - before
    finally:
        await storage.close()
    assert sorted(revisions) == list(range(min(revisions), min(revisions) + 200))
    assert 1 <= commits <= 50
    inserts = sum(1 for _, statement in statements if statement.startswith("INSERT INTO log"))
    transactions = sum(1 for _, statement in statements if statement == "BEGIN IMMEDIATE")
    assert inserts == 200
    assert transactions == commits + 1  # the schema transaction at open


async def test_a_failed_precondition_fails_only_its_own_write(sqlite_options: StorageOptions) -> None:
    storage = await SQLiteStorage.open(sqlite_options)
    try:
        before = storage.commits
        writes = [storage.create("/b/same", b"v") for _ in range(50)]
        writes += [storage.create(f"/b/{index:02}", b"v") for index in range(50)]
        results = await asyncio.gather(*writes, return_exceptions=True)
        commits = storage.commits - before
        page = await storage.list("/b/")
    finally:
        await storage.close()
    revisions = [result for result in results if isinstance(result, int)]
    assert sum(isinstance(result, KeyExists) for result in results) == 49
    assert sorted(revisions) == list(range(min(revisions), min(revisions) + 51))
    assert len(page.items) == 51
    assert commits < len(writes)


async def test_sqlite_never_runs_on_the_event_loop_thread(
    sqlite_options: StorageOptions, statements: list[tuple[int, str]]
) -> None:
    loop_thread = threading.get_ident()
    storage = await SQLiteStorage.open(sqlite_options)
    try:
        created = await storage.create("/l/a", b"1")
        updated = await storage.update("/l/a", b"2", expected=created)
        await storage.get("/l/a")
        await storage.list("/l/", revision=created)
        stream = storage.watch("/l/", after=0)
        async with asyncio.timeout(10):
            await anext(stream)
        await stream.aclose()
        await storage.delete("/l/a")
        await storage.compact(updated)
        await storage.check()
        await storage.current_revision()
    finally:
        await storage.close()
    writing_threads = {thread for thread, statement in statements if statement.startswith(("INSERT", "DELETE"))}
    assert len(writing_threads) == 1
    assert statements
    assert all(thread != loop_thread for thread, _ in statements)


@pytest.mark.parametrize("synchronous", ["OFF", "EXTRA", "full"])
async def test_open_rejects_unknown_synchronous_modes(sqlite_options: StorageOptions, synchronous: str) -> None:
    options = StorageOptions(backend="sqlite", sqlite_path=sqlite_options.sqlite_path, sqlite_synchronous=synchronous)
    with pytest.raises(ValueError, match="synchronous"):
        await SQLiteStorage.open(options)


@pytest.mark.parametrize(("synchronous", "level"), [("FULL", 2), ("NORMAL", 1)])
def test_connections_use_wal_busy_timeout_and_the_chosen_synchronous_level(
    tmp_path: Path, synchronous: str, level: int
) -> None:
    connection = schema.connect(str(tmp_path / "state.db"), synchronous)
    try:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert connection.execute("PRAGMA synchronous").fetchone() == (level,)
        assert connection.execute("PRAGMA busy_timeout").fetchone() == (schema.BUSY_TIMEOUT_MS,)
        assert connection.execute("PRAGMA foreign_keys").fetchone() == (0,)
    finally:
        connection.close()



async def test_open_on_a_path_that_is_not_a_database_raises_storage_unavailable(tmp_path: Path) -> None:
    (tmp_path / "state.db").write_bytes(b"this is not a sqlite file" * 100)
    with pytest.raises(StorageUnavailable):
        await SQLiteStorage.open(StorageOptions(backend="sqlite", sqlite_path=str(tmp_path / "state.db")))
