"""StartupSnapshot: every key under the storage prefix at one revision, read while the server process starts.

The watch caches cannot list before the event loop runs and storage is open, three quarters of a second into a
start. A backend that reads over the network (etcd) can begin one range read of the whole prefix on a thread as soon
as the flags are parsed, so the storage produces and sends it while the process imports and assembles itself.
The backend then answers the caches' first lists, which are pinned at the snapshot's revision (`WatchFanout`
starts there), from memory. A read at a fixed revision is immutable, so those answers are the ones the storage
would give; the caches' watches resume right after that revision, as after any list.

One reader thread fills it (`complete` or `fail`); the event loop waits for it (`wait`), reads pages of it
(`page`) and drops it once the caches are filled (`release`). A failed, late or released snapshot answers
nothing: the caches then list from storage as without one.
"""
from __future__ import annotations

import asyncio
import bisect
import concurrent.futures
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from apiserver.storage.interface import KeyValue, Page

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Contents:
    revision: int
    keys: list[str]
    items: Sequence[KeyValue]


class StartupSnapshot:
    """Every key under `prefix` at one revision, filled by one reader thread; see the module docstring."""

    def __init__(self, prefix: str) -> None:
        if not prefix:
            raise ValueError("a startup snapshot needs a key prefix")
        self.prefix = prefix
        self._read: concurrent.futures.Future[_Contents] = concurrent.futures.Future()
        self._contents: _Contents | None = None
        self.lists_served = 0

    # --- the reader's side (any thread) --------------------------------------------------------------------------

    def complete(self, items: Sequence[KeyValue], revision: int) -> None:
        """The read succeeded: `items` are every key under the prefix at `revision`, in key order."""
        if revision <= 0:  # failed, not raised: the reader thread would end and leave the loop waiting
            self.fail(ValueError("a snapshot's revision must be positive"))
            return
        contents = _Contents(revision, [item.key for item in items], items)
        with contextlib.suppress(concurrent.futures.InvalidStateError):  # released before the read finished
            self._read.set_result(contents)

    def fail(self, error: BaseException) -> None:
        """The read failed; the caches will list from storage."""
        with contextlib.suppress(concurrent.futures.InvalidStateError):
            self._read.set_exception(error)

    # --- the event loop's side -----------------------------------------------------------------------------------

    async def wait(self, timeout: float) -> int:
        """The snapshot's revision once the read is complete; 0 when it failed, was released, or did not finish
        within `timeout` seconds (the snapshot is then released)."""
        read = self._read
        if read.cancelled():
            return 0
        try:
            # Shielded: cancelling the waiting task must not cancel the read (which would read as released).
            contents = await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(read)), timeout)
        except TimeoutError:
            logger.warning("startup_snapshot_late", extra={"prefix": self.prefix, "timeout": timeout})
            self.release()
            return 0
        except asyncio.CancelledError:
            if read.cancelled():  # released meanwhile
                return 0
            raise
        except Exception as error:  # the reader's failure: not the caller's to handle, the storage will answer
            logger.warning("startup_snapshot_failed", extra={"prefix": self.prefix, "error": str(error)})
            return 0
        self._contents = contents
        return contents.revision

    def page(self, prefix: str, *, revision: int, start: str = "", limit: int = 0) -> Page | None:
        """What `Storage.list(prefix, revision=revision, start=start, limit=limit)` returns, when the snapshot holds
        it (a completed, unreleased snapshot at `revision` whose prefix contains `prefix`); else None."""
        contents = self._contents
        if contents is None or revision != contents.revision or not prefix.startswith(self.prefix):
            return None
        keys = contents.keys
        lower = bisect.bisect_left(keys, max(prefix, start))
        # Code-point order is UTF-8 byte order, so this is the storage's range end for `prefix`.
        upper = bisect.bisect_left(keys, prefix[:-1] + chr(ord(prefix[-1]) + 1), lower)
        stop = min(upper, lower + limit) if limit else upper
        self.lists_served += 1
        return Page(contents.items[lower:stop], revision, stop < upper, upper - stop)

    @property
    def released(self) -> bool:
        """True once dropped (or given up as late): it will never answer again."""
        return self._read.cancelled()

    def release(self) -> None:
        """Drop the keys (the caches keep what they took); from now on `page` answers None. Idempotent."""
        self._contents = None
        # A fresh cancelled future, so nothing keeps the contents alive: a reader still running finds it and its
        # result is discarded.
        released: concurrent.futures.Future[_Contents] = concurrent.futures.Future()
        released.cancel()
        read, self._read = self._read, released
        read.cancel()
