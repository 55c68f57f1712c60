"""SQLiteStorage: the `Storage` contract over one SQLite file, with a writer thread, reader threads and a poller.

Writes are queued to one writer thread that owns the only writing connection. It takes every write waiting
in the queue (up to MAX_BATCH), runs them in one BEGIN IMMEDIATE transaction, commits once and only then
resolves their futures: group commit, so synchronous=FULL costs one fsync per batch instead of one per write,
and a write is acknowledged only once it is durable. Each write checks its precondition inside that
transaction before it inserts, so a failed precondition fails that write alone.

Reads run on a small pool of reader threads, each with its own connection; in WAL mode they never wait for
the writer. Nothing here touches SQLite on the event loop thread.
"""
from __future__ import annotations

import asyncio
import logging
import queue
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from apiserver.storage.backends import StorageOptions
from apiserver.storage.errors import StorageError, StorageUnavailable
from apiserver.storage.interface import Event, KeyValue, Page
from apiserver.storage.sqlite import log, schema
from apiserver.storage.sqlite import status as sqlite_status
from apiserver.storage.sqlite.poller import Poller
from apiserver.storage.status import StorageStatus

logger = logging.getLogger(__name__)

MAX_BATCH = 256
READER_THREADS = 2
HISTORY_ROWS = 1000

T = TypeVar("T")
Operation = Callable[[sqlite3.Connection], Any]
Outcome = tuple["asyncio.Future[Any]", Any, BaseException | None]


@dataclass(frozen=True, slots=True)
class _Request:
    """One queued operation. `in_transaction` False runs it alone, outside any transaction (a checkpoint)."""

    operation: Operation
    future: asyncio.Future[Any]
    in_transaction: bool = True


def _resolve(outcomes: list[Outcome]) -> None:
    for future, result, error in outcomes:
        if future.done():
            continue  # The caller gave up (timeout or cancellation); the outcome has nobody to go to.
        if error is None:
            future.set_result(result)
        else:
            future.set_exception(error)


def _unavailable(error: sqlite3.Error) -> StorageUnavailable:
    return StorageUnavailable(f"sqlite: {error}")


class _Writer:
    """The one writing connection and its thread. `commits` counts committed transactions (for tests)."""

    def __init__(self, path: str, synchronous: str, loop: asyncio.AbstractEventLoop, on_commit: Callable[[], None]):
        self.commits = 0
        self._path = path
        self._synchronous = synchronous
        self._loop = loop
        self._on_commit = on_commit
        self._queue: queue.SimpleQueue[_Request | None] = queue.SimpleQueue()
        self._ready: asyncio.Future[int] = loop.create_future()
        self._thread = threading.Thread(target=self._run, name="sqlite-writer", daemon=True)

    async def start(self) -> int:
        """Start the thread, create the schema; return the current revision."""
        self._thread.start()
        return await self._ready

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def submit(self, operation: Operation, *, in_transaction: bool = True) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = self._loop.create_future()
        self._queue.put(_Request(operation, future, in_transaction))
        return future

    async def stop(self) -> None:
        """Finish every write queued so far, then stop the thread."""
        self._queue.put(None)
        if self._thread.is_alive():
            await asyncio.to_thread(self._thread.join)

    def _run(self) -> None:
        try:
            connection = schema.connect(self._path, self._synchronous)
        except sqlite3.Error as error:
            self._post([(self._ready, None, _unavailable(error))])
            return
        try:
            schema.create_schema(connection)
            revision = log.current_revision(connection)
        except sqlite3.Error as error:
            connection.close()
            self._post([(self._ready, None, _unavailable(error))])
            return
        self._post([(self._ready, revision, None)])
        try:
            while (batch := self._next_batch()) is not None:
                self._process(connection, batch)
        finally:
            connection.close()

    def _next_batch(self) -> list[_Request] | None:
        """Block for one request, then take whatever else is already waiting; None once told to stop."""
        first = self._queue.get()
        if first is None:
            return None
        batch = [first]
        while len(batch) < MAX_BATCH:
            try:
                request = self._queue.get_nowait()
            except queue.Empty:
                break
            if request is None:
                self._queue.put(None)  # Stop after this batch: writes queued before close() still happen.
                break
            batch.append(request)
        return batch

    def _process(self, connection: sqlite3.Connection, batch: list[_Request]) -> None:
        group: list[_Request] = []
        for request in batch:
            if request.in_transaction:
                group.append(request)
                continue
            if group:
                self._commit(connection, group)
                group = []
            self._run_alone(connection, request)
        if group:
            self._commit(connection, group)

    def _commit(self, connection: sqlite3.Connection, group: list[_Request]) -> None:
        outcomes: list[Outcome] = []
        try:
            connection.execute("BEGIN IMMEDIATE")
            for request in group:
                try:
                    outcomes.append((request.future, request.operation(connection), None))
                except StorageError as error:
                    outcomes.append((request.future, None, error))
            connection.execute("COMMIT")
        except sqlite3.Error as error:
            self._abort(connection, group, _unavailable(error))
            return
        except BaseException:
            self._abort(connection, group, StorageUnavailable("sqlite writer failed"))
            raise
        self.commits += 1
        self._on_commit()
        self._post(outcomes)

    def _abort(self, connection: sqlite3.Connection, group: list[_Request], error: StorageError) -> None:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        logger.warning("sqlite write failed", extra={"error": str(error), "writes": len(group)})
        self._post([(request.future, None, error) for request in group])

    def _run_alone(self, connection: sqlite3.Connection, request: _Request) -> None:
        try:
            outcome: Outcome = (request.future, request.operation(connection), None)
        except sqlite3.Error as error:
            outcome = (request.future, None, _unavailable(error))
        self._post([outcome])

    def _post(self, outcomes: list[Outcome]) -> None:
        try:
            self._loop.call_soon_threadsafe(_resolve, outcomes)
        except RuntimeError:
            logger.warning("sqlite write acknowledged after its event loop closed")


class _Readers:
    """A few reading connections, each owned by its own thread, serving one shared queue."""

    def __init__(self, path: str, synchronous: str, loop: asyncio.AbstractEventLoop, count: int) -> None:
        self._path = path
        self._synchronous = synchronous
        self._loop = loop
        self._queue: queue.SimpleQueue[tuple[Operation, asyncio.Future[Any]] | None] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._run, name=f"sqlite-reader-{index}", daemon=True) for index in range(count)
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def submit(self, operation: Operation) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = self._loop.create_future()
        self._queue.put((operation, future))
        return future

    async def stop(self) -> None:
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            await asyncio.to_thread(thread.join)

    def _run(self) -> None:
        connection = schema.connect(self._path, self._synchronous)
        try:
            while (job := self._queue.get()) is not None:
                operation, future = job
                self._loop.call_soon_threadsafe(_resolve, [self._perform(connection, operation, future)])
        finally:
            connection.close()

    @staticmethod
    def _perform(connection: sqlite3.Connection, operation: Operation, future: asyncio.Future[Any]) -> Outcome:
        try:
            return future, operation(connection), None
        except StorageError as error:
            return future, None, error
        except sqlite3.Error as error:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            return future, None, _unavailable(error)


class SQLiteStorage:
    """A `Storage` in one SQLite file (kine's model). Open with `await SQLiteStorage.open(options)`.

    Durability: with sqlite_synchronous="FULL" (the default) an acknowledged write survives a crash of the
    process and of the machine; with "NORMAL" it survives a crash of the process only. A write whose call
    timed out (StorageUnavailable) may still commit, as with etcd.
    """

    def __init__(self, path: str, synchronous: str, timeout: float, loop: asyncio.AbstractEventLoop) -> None:
        self._timeout = timeout
        self._path = path
        self._closed = False
        self._poller = Poller(path, synchronous, loop)
        self._writer = _Writer(path, synchronous, loop, self._poller.wake)
        self._readers = _Readers(path, synchronous, loop, READER_THREADS)

    @classmethod
    async def open(cls, options: StorageOptions) -> SQLiteStorage:
        """Open (creating if needed) the file at `options.sqlite_path` and start the threads.

        Raises ValueError for a `sqlite_synchronous` other than FULL or NORMAL, StorageUnavailable when the
        file cannot be opened.
        """
        if options.sqlite_synchronous not in schema.SYNCHRONOUS_MODES:
            raise ValueError(f"sqlite_synchronous must be FULL or NORMAL, not {options.sqlite_synchronous!r}")
        path = Path(options.sqlite_path)
        try:
            await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
        except OSError as error:
            raise StorageUnavailable(f"cannot create the directory of {path}: {error}") from None
        storage = cls(str(path), options.sqlite_synchronous, options.request_timeout, asyncio.get_running_loop())
        await storage._start()
        return storage

    @property
    def commits(self) -> int:
        """How many write transactions have committed since open (each may hold many writes)."""
        return self._writer.commits

    async def get(self, key: str) -> KeyValue | None:
        result: KeyValue | None = await self._read(partial(log.get, key=key))
        return result

    async def list(self, prefix: str, *, revision: int = 0, limit: int = 0, start: str = "") -> Page:
        page: Page = await self._read(partial(log.list_at, prefix=prefix, revision=revision, limit=limit, start=start))
        return page

    async def create(self, key: str, value: bytes) -> int:
        revision: int = await self._write(partial(log.append_create, key=key, value=bytes(value)))
        return revision

    async def update(self, key: str, value: bytes, *, expected: int) -> int:
        revision: int = await self._write(partial(log.append_update, key=key, value=bytes(value), expected=expected))
        return revision

    async def delete(self, key: str, *, expected: int = 0) -> KeyValue:
        deleted: KeyValue = await self._write(partial(log.append_delete, key=key, expected=expected))
        return deleted

    async def watch(self, prefix: str, *, after: int) -> AsyncIterator[Sequence[Event]]:
        self._ensure_open()
        watcher = self._poller.register(prefix, after)
        try:
            # History up to the point the watcher joined the live feed, then the feed: no gap, no overlap.
            cursor = after
            while True:
                history = partial(log.history, prefix=prefix, after=cursor, until=watcher.start, limit=HISTORY_ROWS)
                events, cursor = await self._read(history)
                if events:
                    yield events
                if cursor >= watcher.start:
                    break
            while (batch := await watcher.next_batch()) is not None:
                yield batch
        finally:
            self._poller.unregister(watcher)

    async def current_revision(self) -> int:
        revision: int = await self._read(log.current_revision)
        return revision

    async def compact(self, revision: int) -> None:
        self._ensure_open()
        # Let in-process watches see every row the compaction may remove, so they are not cut off with Compacted.
        current = await self.current_revision()
        await self._poller.wait_for(min(revision - 1, current), self._timeout)
        removed = await self._write(partial(log.compact, revision=revision))
        if removed:
            await self._write(_checkpoint, in_transaction=False)
            logger.info("compacted", extra={"revision": revision, "deleted_rows": removed})

    async def check(self) -> None:
        self._ensure_open()
        if not self._writer.is_alive():
            raise StorageUnavailable("sqlite writer thread is not running")
        await self._read(_ping)

    async def status(self) -> StorageStatus:
        """Revisions and file sizes (storage/status.py's StatusReporter); never raises StorageError."""
        try:
            return await self._read(partial(sqlite_status.read_status, path=self._path))
        except StorageError as error:
            return await asyncio.to_thread(sqlite_status.failed_status, self._path, str(error))

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self._writer.stop()
        await self._poller.stop()
        await self._readers.stop()

    async def _start(self) -> None:
        revision = await self._writer.start()
        self._poller.start(revision)
        self._readers.start()

    async def _read(self, operation: Callable[[sqlite3.Connection], T]) -> T:
        self._ensure_open()
        return await self._bounded(self._readers.submit(operation))

    async def _write(self, operation: Operation, *, in_transaction: bool = True) -> Any:
        self._ensure_open()
        return await self._bounded(self._writer.submit(operation, in_transaction=in_transaction))

    async def _bounded(self, future: asyncio.Future[T]) -> T:
        try:
            async with asyncio.timeout(self._timeout):
                return await future
        except TimeoutError:
            raise StorageUnavailable(f"sqlite did not answer within {self._timeout}s") from None

    def _ensure_open(self) -> None:
        if self._closed:
            raise StorageUnavailable("storage is closed")


def _checkpoint(connection: sqlite3.Connection) -> None:
    """Fold the WAL back into the database file and truncate it, after compaction freed space."""
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()


def _ping(connection: sqlite3.Connection) -> None:
    connection.execute("SELECT 1 FROM meta LIMIT 1").fetchone()
