"""Load generators in spawned processes, apart from the servers and from the benchmark's own event loop.

`spawn(function, *args)` runs `asyncio.run(function(ready, *args))` in a fresh process, where `ready()` tells the
parent the job is set up (its watches are open, its connections made); the parent waits with `wait_ready()` and
collects the job's return value (picklable) with `result()`. Every wait has a deadline.
"""
from __future__ import annotations

import asyncio
import multiprocessing
import queue
from collections.abc import Callable, Coroutine
from typing import Any

JOB_TIMEOUT = 600.0
Job = Callable[..., Coroutine[Any, Any, Any]]


def _main(function: Job, ready: Any, results: Any, args: tuple[Any, ...]) -> None:
    try:
        results.put(("done", asyncio.run(function(ready.set, *args))))
    except BaseException as error:  # Reported to the parent as the job's failure.
        results.put(("error", repr(error)))


class SpawnedJob:
    """One job in its own process; see the module docstring."""

    def __init__(self, function: Job, *args: Any) -> None:
        context = multiprocessing.get_context("spawn")
        self._ready = context.Event()
        self._results = context.Queue()
        self._process = context.Process(target=_main, args=(function, self._ready, self._results, args),
                                        daemon=True)
        self._process.start()

    @property
    def pid(self) -> int:
        return int(self._process.pid or 0)

    async def wait_ready(self, timeout: float = 120.0) -> None:
        if not await asyncio.to_thread(self._ready.wait, timeout):
            raise TimeoutError(f"the load job did not get ready in {timeout:.0f} s")

    async def result(self, timeout: float = JOB_TIMEOUT) -> Any:
        try:
            kind, value = await asyncio.to_thread(self._results.get, True, timeout)
        except queue.Empty:
            raise TimeoutError(f"no result from the load job in {timeout:.0f} s") from None
        finally:
            await asyncio.to_thread(self._process.join, 10)
            if self._process.is_alive():
                self._process.kill()
        if kind == "error":
            raise RuntimeError(f"load job failed: {value}")
        return value


def spawn(function: Job, *args: Any) -> SpawnedJob:
    return SpawnedJob(function, *args)
