"""Load generators that run in worker processes, apart from the server and from the benchmark's own loop.

A `Worker` is one spawned process that runs jobs, one at a time, each in a fresh `asyncio.run`. A job is a
function of JOBS; it may post notes (e.g. "ready" once its watches are open) before its result. Every job is
bounded: by a request count, a paced duration, or a deadline.

Jobs time every request from the moment it is written to the moment its last byte is read, and read the CPU of
this process, the server process and etcd (if any) from /proc, so each run reports the CPU split of the box.
"""
from __future__ import annotations

import asyncio
import functools
import multiprocessing
import queue
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

from bench.api_client import Connection, Endpoint, open_connections
from bench.api_workload import PodShape, pod_name, pods_path, stamp_and_name
from bench.measure import process_cpu_seconds
from bench.watchlatency import WriterReport

JOB_TIMEOUT = 300.0
Post = Callable[[Any], None]


@dataclass(frozen=True, slots=True)
class Pids:
    """The processes whose CPU a run reports: the server under test and etcd (0: none)."""

    server: int
    etcd: int = 0

    def read(self) -> tuple[float, float, float, float]:
        """Wall time, this process's CPU, the server's CPU, etcd's CPU (seconds)."""
        etcd = process_cpu_seconds(self.etcd) if self.etcd else 0.0
        return time.perf_counter(), time.process_time(), process_cpu_seconds(self.server), etcd


@dataclass(frozen=True, slots=True)
class LoadRun:
    """One timed batch of requests. Cores are CPU seconds per wall second."""

    count: int
    seconds: float
    latencies: tuple[float, ...]
    errors: int
    first_error: str
    client_cores: float
    server_cores: float
    etcd_cores: float

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0


async def drive(connections: Sequence[Connection], count: int, pids: Pids,
                operation: Callable[[Connection, int], Awaitable[object]]) -> LoadRun:
    """Run operation(connection, 0..count-1), one worker per connection, every call timed."""
    latencies = [0.0] * count
    failures: list[str] = []
    cursor = iter(range(count))

    async def worker(connection: Connection) -> None:
        for index in cursor:
            started = time.perf_counter()
            try:
                await operation(connection, index)
            except Exception as error:  # Counted and reported; a broken connection ends only this worker.
                failures.append(repr(error))
                if isinstance(error, (OSError, asyncio.IncompleteReadError)):
                    return
            latencies[index] = time.perf_counter() - started

    wall, client, server, etcd = pids.read()
    await asyncio.gather(*(worker(connection) for connection in connections))
    wall_end, client_end, server_end, etcd_end = pids.read()
    seconds = wall_end - wall
    done = count - len(failures)
    return LoadRun(done, seconds, tuple(latencies), len(failures), failures[0] if failures else "",
                   (client_end - client) / seconds, (server_end - server) / seconds, (etcd_end - etcd) / seconds)


async def _close(connections: Sequence[Connection]) -> None:
    await asyncio.gather(*(connection.close() for connection in connections))


# ---------------------------------------------------------------- jobs


async def get_job(post: Post, endpoint: Endpoint, pids: Pids, paths: list[str], count: int,
                  connections: int) -> LoadRun:
    """`count` GETs over `connections` keep-alive connections, cycling through `paths`."""
    opened = await open_connections(endpoint, connections)
    try:
        warm = min(count, 2 * connections)  # TLS handshakes done, first requests out of the way
        await drive(opened, warm, pids, lambda connection, index: connection.request("GET", paths[index % len(paths)]))
        return await drive(opened, count, pids,
                           lambda connection, index: connection.request("GET", paths[index % len(paths)]))
    finally:
        await _close(opened)


async def create_job(post: Post, endpoint: Endpoint, pids: Pids, shape: PodShape, namespaces: list[str], first: int,
                     count: int, connections: int) -> LoadRun:
    """POST pods first..first+count-1 (201 each), spread over `namespaces`, `connections` in flight."""
    opened = await open_connections(endpoint, connections)
    bodies = [shape.body(pod_name(first + index), namespaces[index % len(namespaces)]) for index in range(count)]
    paths = [pods_path(namespaces[index % len(namespaces)]) for index in range(count)]
    try:
        return await drive(opened, count, pids,
                           lambda connection, index: connection.request("POST", paths[index], bodies[index], 201))
    finally:
        await _close(opened)


async def paced_create_job(post: Post, endpoint: Endpoint, shape: PodShape, namespace: str, rate: float,
                           seconds: float, in_flight: int) -> WriterReport:
    """Create rate*seconds pods paced at `rate`/s, at most `in_flight` at once; each body carries its start time.

    A request that waits for a free connection is stamped when it was due, not when it went out, so a server
    stall is counted for every write it delays (no coordinated omission).
    """
    total = int(rate * seconds)
    idle: asyncio.Queue[Connection] = asyncio.Queue()
    opened = await open_connections(endpoint, in_flight)
    for connection in opened:
        idle.put_nowait(connection)
    failures: list[str] = []

    async def one(index: int, due: float) -> None:
        connection = await idle.get()
        try:
            await connection.request("POST", pods_path(namespace), shape.body(pod_name(index), namespace, due), 201)
        except Exception as error:  # Counted and reported; the run goes on.
            failures.append(repr(error))
        finally:
            idle.put_nowait(connection)

    began = time.perf_counter()
    tasks = []
    try:
        for index in range(total):
            due = began + index / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(index, max(due, began))))
        await asyncio.gather(*tasks)
    finally:
        await _close(opened)
    return WriterReport(total - len(failures), len(failures), failures[0] if failures else "",
                        time.perf_counter() - began)


@dataclass(frozen=True, slots=True)
class WatchersReport:
    """What a set of watchers of one namespace received."""

    watchers: int
    expected: int  # events each watcher should receive
    latencies: tuple[float, ...]  # write start → event line read, every delivery of every watcher
    delivered: int
    duplicates: int
    missing: int
    ended: int  # watches the server ended before they had every event
    first_delivery: float  # perf_counter
    last_delivery: float
    error: str
    client_cores: float


async def watch_lines(connection: Connection, path: str, on_line: Callable[[bytes, float], None]) -> None:
    """Follow one watch, calling on_line(line, receive time) per event line.

    The server sends the response headers with the first event only, so a caller proves the watch open by
    creating a warm-up object: without a resourceVersion the watch starts with synthetic ADDED events, so the
    warm-up object arrives whether it was created before or after the watch registered.
    """
    await connection.start_stream(path)
    async for line in connection.stream_lines():
        on_line(line, time.perf_counter())


class _Deliveries:
    """What a set of watchers received: per watcher the names seen, pooled latencies, completion."""

    def __init__(self, watchers: int, expected: int) -> None:
        self.expected = expected
        self.seen: list[set[bytes]] = [set() for _ in range(watchers)]
        self.warm = [asyncio.Event() for _ in range(watchers)]
        self.latencies: list[float] = []
        self.duplicates = 0
        self.first = self.last = 0.0
        self.complete = 0
        self.done = asyncio.Event()

    def record(self, watcher: int, line: bytes, now: float) -> None:
        found = stamp_and_name(line)
        if found is None:
            return
        stamp, name = found
        seen = self.seen[watcher]
        if name == b"warmup":
            self.warm[watcher].set()
        elif name in seen:
            self.duplicates += 1
        else:
            seen.add(name)
            self.latencies.append(now - stamp)
            self.first, self.last = self.first or now, now
            if len(seen) == self.expected:
                self.complete += 1
                if self.complete == len(self.seen):
                    self.done.set()

    @property
    def missing(self) -> int:
        return sum(max(0, self.expected - len(names)) for names in self.seen)


async def watchers_job(post: Post, endpoint: Endpoint, namespace: str, watchers: int, expected: int,
                       deadline_seconds: float) -> WatchersReport:
    """`watchers` watches of `namespace` until each saw `expected` events or the deadline.

    Posts "open" once every watch request is sent; the caller then creates the warm-up pod (named `warmup`).
    Posts "ready" once every watcher received it, i.e. every watch is registered: the caller starts its writer.
    """
    opened = await open_connections(endpoint, watchers)
    deliveries = _Deliveries(watchers, expected)
    path = f"{pods_path(namespace)}?watch=1"
    tasks = [
        asyncio.create_task(watch_lines(connection, path, functools.partial(deliveries.record, index)))
        for index, connection in enumerate(opened)
    ]
    cpu, began = time.process_time(), time.perf_counter()
    try:
        async with asyncio.timeout(deadline_seconds):
            await asyncio.sleep(0.05)  # let every task write its request
            post("open")
            await asyncio.gather(*(event.wait() for event in deliveries.warm))
            post("ready")
            cpu, began = time.process_time(), time.perf_counter()
            await _until_complete(deliveries.done, tasks)
    except TimeoutError:
        pass  # reported as missing deliveries
    finally:
        ended = sum(1 for task in tasks if task.done())
        for task in tasks:
            task.cancel()
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
        await _close(opened)
    error = next((repr(outcome) for outcome in outcomes
                  if isinstance(outcome, BaseException) and not isinstance(outcome, asyncio.CancelledError)), "")
    cores = (time.process_time() - cpu) / max(1e-9, time.perf_counter() - began)
    return WatchersReport(watchers, expected, tuple(deliveries.latencies), len(deliveries.latencies),
                          deliveries.duplicates, deliveries.missing, ended, deliveries.first, deliveries.last, error,
                          cores)


async def _until_complete(done: asyncio.Event, tasks: Sequence[asyncio.Task[None]]) -> None:
    """Return when every watcher is complete, or when the server has ended every watch."""
    waiter: asyncio.Task[Any] = asyncio.create_task(done.wait())
    pending: set[asyncio.Task[Any]] = set(tasks)
    try:
        while pending and not waiter.done():
            _, pending = await asyncio.wait({waiter, *pending}, return_when=asyncio.FIRST_COMPLETED)
            pending.discard(waiter)
    finally:
        waiter.cancel()


JOBS: dict[str, Callable[..., Coroutine[Any, Any, Any]]] = {
    "get": get_job,
    "create": create_job,
    "paced_create": paced_create_job,
    "watchers": watchers_job,
}


# ---------------------------------------------------------------- worker processes


def worker_main(jobs: Any, results: Any) -> None:
    """Entry point of a worker process: run jobs until told to stop (None)."""
    while True:
        job = jobs.get()
        if job is None:
            return
        name, args = job
        try:
            results.put(("done", asyncio.run(JOBS[name](lambda note: results.put(("note", note)), *args))))
        except Exception as error:  # Reported to the caller as the job's failure.
            results.put(("error", repr(error)))


class Worker:
    """One spawned load-generator process (see the module docstring)."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._jobs = context.Queue()
        self._results = context.Queue()
        self._process = context.Process(target=worker_main, args=(self._jobs, self._results), daemon=True)
        self._process.start()

    def submit(self, name: str, *args: Any) -> None:
        self._jobs.put((name, args))

    async def next_message(self, timeout: float = JOB_TIMEOUT) -> tuple[str, Any]:
        """The job's next note or its end: ("note", x), ("done", result) or ("error", text)."""
        try:
            message: tuple[str, Any] = await asyncio.to_thread(self._results.get, True, timeout)
        except queue.Empty:
            raise TimeoutError(f"no word from the load worker in {timeout:.0f} s") from None
        return message

    async def result(self, timeout: float = JOB_TIMEOUT) -> Any:
        """Wait for the job's end, skipping notes; raises RuntimeError when the job failed."""
        while True:
            kind, value = await self.next_message(timeout)
            if kind == "done":
                return value
            if kind == "error":
                raise RuntimeError(f"load job failed: {value}")

    async def wait_note(self, expected: str, timeout: float = JOB_TIMEOUT) -> None:
        kind, value = await self.next_message(timeout)
        if (kind, value) != ("note", expected):
            raise RuntimeError(f"load job: expected note {expected!r}, got {kind} {value!r}")

    async def run(self, name: str, *args: Any) -> Any:
        self.submit(name, *args)
        return await self.result()

    def close(self) -> None:
        self._jobs.put(None)
        self._process.join(10)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()
