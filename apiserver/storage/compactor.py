"""The compaction loop: one per server, owned by the server lifecycle, for any `Storage`.

etcd and kine leave compaction to their client; kube-apiserver compacts every `--etcd-compaction-interval`
(5 minutes by default) to the revision it saw one interval earlier, so watchers and paginated lists always have
at least the last interval of history. The newest `keep_revisions` revisions are never compacted, so a burst of
writes cannot push a slow watcher out of history within one interval.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from apiserver.meta.tasks import cancel_and_wait
from apiserver.storage.errors import StorageError
from apiserver.storage.interface import Storage

logger = logging.getLogger(__name__)

DEFAULT_INTERVAL = 300.0
DEFAULT_KEEP_REVISIONS = 1000


class Compactor:
    """Every `interval` seconds, compact `storage` to the revision observed at the previous tick.

    `interval` 0 disables compaction: `run()` returns at once and `start()` starts nothing. A failing storage
    (StorageUnavailable or any other StorageError) is logged and tried again at the next tick; the loop only
    ends when cancelled. `sleep` and `clock` are injectable so tests drive ticks without waiting.
    """

    def __init__(
        self,
        storage: Storage,
        interval: float = DEFAULT_INTERVAL,
        *,
        keep_revisions: int = DEFAULT_KEEP_REVISIONS,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if interval < 0 or keep_revisions < 0:
            raise ValueError("compaction interval and kept revisions must not be negative")
        self._storage = storage
        self._interval = interval
        self._keep_revisions = keep_revisions
        self._sleep = sleep
        self._clock = clock
        self._observed = 0
        self._compacted = 0
        self._task: asyncio.Task[None] | None = None

    @property
    def compacted_revision(self) -> int:
        """The revision this compactor last compacted to (0 before its first compaction)."""
        return self._compacted

    async def run(self) -> None:
        """Tick forever (until cancelled); returns at once when disabled."""
        if not self._interval:
            return
        while True:
            await self._sleep(self._interval)
            await self.tick()

    async def tick(self) -> None:
        """One step: compact to the revision seen at the previous step, then remember the current one."""
        started = self._clock()
        try:
            current = await self._storage.current_revision()
            target = min(self._observed, current - self._keep_revisions)
            if target > self._compacted:
                await self._storage.compact(target)
                self._compacted = target
                logger.info(
                    "compacted",
                    extra={"revision": target, "current_revision": current, "duration": self._clock() - started},
                )
            self._observed = current
        except StorageError as error:
            logger.warning("compaction_failed", extra={"error": str(error), "observed_revision": self._observed})

    def start(self) -> None:
        """Run the loop in a task owned by this compactor; a no-op when disabled or already started."""
        if self._interval and self._task is None:
            self._task = asyncio.create_task(self.run(), name="storage-compactor")

    async def stop(self) -> None:
        """Cancel the loop and wait for it to end. Idempotent."""
        task, self._task = self._task, None
        await cancel_and_wait(task)
