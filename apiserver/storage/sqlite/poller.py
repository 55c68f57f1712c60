"""The poller: one thread that turns committed log rows into watch events, in strict revision order.

It is woken by the writer after each commit (in process); every few milliseconds it also checks SQLite's
`data_version` counter, and it polls every second anyway, so writes made by other processes on the same file
are seen within milliseconds too. It reads with its own connection, so a watch never waits for
the reader pool, and it hands each batch to the event loop, where it is fanned out to every watcher: one
query per tick for the whole storage, not one per watcher.

Gaps. SQLite has a single write lock and the log's ids are assigned under it, so ids become visible in commit
order and an in-flight transaction can never leave a hole behind it (unlike kine on MySQL or Postgres, where
a gap can be a transaction still committing and kine inserts a "gap fill" row after a timeout). A hole in the
ids above the compacted revision therefore means rows were removed by something other than this backend.
The poller waits GAP_WAIT for the hole to fill, in case it can, then logs `revision gap skipped` and goes on:
a filler row could not bring those events back, and stalling every watch forever would be worse. Holes below
the compacted revision are expected (compaction removes superseded rows); a watcher that has not yet seen
them gets Compacted, as etcd cancels a watcher that fell behind a compaction.
"""
from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time
from collections.abc import Sequence
from typing import Any

from apiserver.storage.errors import Compacted, StorageError, StorageUnavailable
from apiserver.storage.interface import Event
from apiserver.storage.sqlite import log, schema

logger = logging.getLogger(__name__)

POLL_INTERVAL = 1.0
# Between full polls, a cheap `PRAGMA data_version` check notices commits by other processes within a few ms
# (measured 3 us per check) instead of waiting up to POLL_INTERVAL.
CHANGE_CHECK_INTERVAL = 0.002
GAP_WAIT = 1.0
GAP_RECHECK = 0.05
BATCH_ROWS = 500


class Watcher:
    """One watch's queue of event batches. Lives on the event loop; fed only by `Poller`."""

    def __init__(self, prefix: str, after: int, start: int) -> None:
        self.prefix = prefix
        # Events up to `start` come from the history read; the live feed delivers only later ones.
        self.start = start
        self._floor = max(after, start)
        self._queue: asyncio.Queue[list[Event] | StorageError | None] = asyncio.Queue()

    def offer(self, events: Sequence[Event]) -> None:
        batch = [event for event in events if event.revision > self._floor and event.key.startswith(self.prefix)]
        if batch:
            self._queue.put_nowait(batch)

    def end(self, error: StorageError | None) -> None:
        self._queue.put_nowait(error)

    async def next_batch(self) -> list[Event] | None:
        """The next batch, None once the watch has ended; raises the error that ended it."""
        item = await self._queue.get()
        if isinstance(item, StorageError):
            raise item
        return item


class Poller:
    """Reads rows after the last revision it delivered and fans them out to every registered `Watcher`.

    `position` (read on the event loop) is the newest revision handed to watchers; it only grows.
    """

    def __init__(self, path: str, synchronous: str, loop: asyncio.AbstractEventLoop) -> None:
        self.position = 0
        self._path = path
        self._synchronous = synchronous
        self._loop = loop
        self._watchers: set[Watcher] = set()
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqlite-poller", daemon=True)

    def start(self, position: int) -> None:
        """Start delivering rows after `position` (the current revision at open)."""
        self.position = position
        self._thread.start()

    def wake(self) -> None:
        """Ask for a poll now. Thread-safe; the writer calls it after every commit."""
        self._wake.set()

    def register(self, prefix: str, after: int) -> Watcher:
        """A watcher fed with every event after `position` (call on the event loop)."""
        watcher = Watcher(prefix, after, self.position)
        self._watchers.add(watcher)
        return watcher

    def unregister(self, watcher: Watcher) -> None:
        self._watchers.discard(watcher)

    async def wait_for(self, revision: int, timeout: float) -> bool:
        """Wait until every revision up to `revision` has been delivered; False if `timeout` passed first."""
        if self.position >= revision:
            return True
        waiter = self._loop.create_future()
        self._waiters.append((revision, waiter))
        self.wake()
        try:
            async with asyncio.timeout(timeout):
                await waiter
        except TimeoutError:
            return False
        finally:
            self._waiters = [(wanted, other) for wanted, other in self._waiters if other is not waiter]
        return True

    async def stop(self) -> None:
        """Stop the thread and end every watch (call on the event loop)."""
        self._stopping.set()
        self._wake.set()
        if self._thread.is_alive():
            await asyncio.to_thread(self._thread.join)
        self._end_all(None)

    def _dispatch(self, events: list[Event], position: int) -> None:
        self.position = max(self.position, position)
        for watcher in self._watchers:
            watcher.offer(events)
        waiting = []
        for revision, waiter in self._waiters:
            if revision <= self.position:
                if not waiter.done():
                    waiter.set_result(None)
            else:
                waiting.append((revision, waiter))
        self._waiters = waiting

    def _end_all(self, error: StorageError | None) -> None:
        watchers, self._watchers = self._watchers, set()
        for watcher in watchers:
            watcher.end(error)

    def _post(self, callback: Any, *args: object) -> None:
        try:
            self._loop.call_soon_threadsafe(callback, *args)
        except RuntimeError:
            self._stopping.set()  # The event loop is gone: nobody is left to deliver to.

    def _run(self) -> None:
        connection = schema.connect(self._path, self._synchronous)
        last = self.position
        gap_since: float | None = None
        data_version = _data_version(connection)
        next_full_poll = time.monotonic() + POLL_INTERVAL
        try:
            while not self._stopping.is_set():
                woken = self._wake.wait(CHANGE_CHECK_INTERVAL if gap_since is None else GAP_RECHECK)
                self._wake.clear()
                if self._stopping.is_set():
                    break
                seen_version = _data_version(connection)
                if not woken and seen_version == data_version and time.monotonic() < next_full_poll:
                    continue
                data_version, next_full_poll = seen_version, time.monotonic() + POLL_INTERVAL
                try:
                    last, gap_since = self._poll(connection, last, gap_since)
                except sqlite3.Error as error:
                    logger.warning("watch poll failed", extra={"error": str(error)})
                    self._post(self._end_all, StorageUnavailable(f"watch poll failed: {error}"))
        finally:
            connection.close()

    def _poll(self, connection: sqlite3.Connection, last: int, gap_since: float | None) -> tuple[int, float | None]:
        """Deliver every row after `last` that can be delivered in order; return the new `last` and gap state."""
        while True:
            rows, compacted = log.rows_after(connection, last, BATCH_ROWS)
            if compacted > last + 1:
                # Rows after `last` may have been compacted away before they were seen.
                self._post(self._end_all, Compacted(last + 1, compacted))
                last, gap_since = compacted - 1, None
                continue
            events, last, gap_since, blocked = self._in_order(rows, last, gap_since)
            if events:
                self._post(self._dispatch, events, last)
            if blocked or len(rows) < BATCH_ROWS:
                return last, gap_since

    @staticmethod
    def _in_order(
        rows: list[tuple[Any, ...]], last: int, gap_since: float | None
    ) -> tuple[list[Event], int, float | None, bool]:
        """The events of `rows` that follow `last` without a hole; `blocked` when stopped at a fresh hole."""
        events: list[Event] = []
        for row in rows:
            revision = int(row[0])
            if revision != last + 1:
                now = time.monotonic()
                if gap_since is None:
                    gap_since = now
                if now - gap_since < GAP_WAIT:
                    return events, last, gap_since, True
                logger.warning("revision gap skipped", extra={"after": last, "next": revision})
            events.append(log.event_of(row))
            last, gap_since = revision, None
        return events, last, gap_since, False


def _data_version(connection: sqlite3.Connection) -> int:
    """SQLite's counter of commits made through other connections (other processes and our writer).

    -1 when it cannot be read, which forces a poll that reports the error.
    """
    try:
        return int(connection.execute("PRAGMA data_version").fetchone()[0])
    except sqlite3.Error:
        return -1
