"""Watch latency: time from the start of a write call to the event being yielded to the watcher.

The writer runs paced at WATCH_RATE creates/s with up to WATCH_IN_FLIGHT in flight, in a separate spawned
process (so it shares neither the watcher's event loop nor its GIL), or, for SQLite's in-process case, on the
watcher's own loop (ours) or a writer thread that signals the reader after each commit (raw). Each value
carries its write-start `perf_counter()`; the watcher subtracts it from the time it receives the event.
"""
from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import statistics
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bench.measure import Result, judge, percentile
from bench.sides import OursSide, RawEtcdSide, RawSQLiteSide, Side
from bench.workload import NAMESPACES, pod_value, stamp_of

WATCH_RATE = 1000.0
WATCH_IN_FLIGHT = 8
WATCH_DRAIN_SECONDS = 5.0
WRITER_START_TIMEOUT = 60.0
RAW_POLL_INTERVAL = 0.001


@dataclass(frozen=True, slots=True)
class WriterPlan:
    """What a paced writer writes: `rate` creates per second for `seconds`, under `prefix`."""

    side: str
    backend: str
    address: str
    prefix: str
    rate: float
    seconds: float


@dataclass(frozen=True, slots=True)
class WriterReport:
    written: int
    errors: int
    first_error: str
    seconds: float


def watch_key(prefix: str, index: int) -> str:
    return f"{prefix}ns{index % NAMESPACES}/w-{index}"


async def paced_writes(write: Callable[[str, bytes], Awaitable[object]], plan: WriterPlan) -> WriterReport:
    """Start one create every 1/rate s, at most WATCH_IN_FLIGHT at a time; each value carries its start time."""
    total = int(plan.rate * plan.seconds)
    slots = asyncio.Semaphore(WATCH_IN_FLIGHT)
    failures: list[str] = []

    async def one(index: int) -> None:
        try:
            started = time.perf_counter()
            await write(watch_key(plan.prefix, index), pod_value(index, stamp=started))
        except Exception as error:  # Counted and reported; the run goes on.
            failures.append(repr(error))
        finally:
            slots.release()

    tasks: list[asyncio.Task[None]] = []
    began = time.perf_counter()
    for index in range(total):
        delay = began + index / plan.rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        await slots.acquire()
        tasks.append(asyncio.create_task(one(index)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - began
    return WriterReport(total - len(failures), len(failures), failures[0] if failures else "", elapsed)


def paced_writes_blocking(write: Callable[[str, bytes], object], plan: WriterPlan) -> WriterReport:
    """The same pacing for a blocking writer (raw SQLite): one write at a time."""
    total = int(plan.rate * plan.seconds)
    failures: list[str] = []
    began = time.perf_counter()
    for index in range(total):
        delay = began + index / plan.rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        try:
            started = time.perf_counter()
            write(watch_key(plan.prefix, index), pod_value(index, stamp=started))
        except Exception as error:  # Counted and reported; the run goes on.
            failures.append(repr(error))
    elapsed = time.perf_counter() - began
    return WriterReport(total - len(failures), len(failures), failures[0] if failures else "", elapsed)


def writer_process_main(plan: WriterPlan, ready: Any, go: Any, reports: Any) -> None:
    """Entry point of the spawned writer process: open the side, say ready, wait for go, write, report."""
    if plan.side == "raw" and plan.backend == "sqlite":
        side = RawSQLiteSide(plan.address)
        ready.set()
        go.wait(WRITER_START_TIMEOUT)
        reports.put(paced_writes_blocking(side.create_now, plan))
        return
    reports.put(asyncio.run(_write_from_process(plan, ready, go)))


async def _write_from_process(plan: WriterPlan, ready: Any, go: Any) -> WriterReport:
    opening = OursSide.open(plan.backend, plan.address) if plan.side == "ours" else RawEtcdSide.open(plan.address)
    side: Side = await opening
    try:
        ready.set()
        if not await asyncio.to_thread(go.wait, WRITER_START_TIMEOUT):
            return WriterReport(0, 1, "writer was never told to go", 0.0)
        return await paced_writes(side.create, plan)
    finally:
        await side.close()


async def write_from_process(plan: WriterPlan) -> WriterReport:
    """Run the paced writer in a separate (spawned) process: it shares neither the watcher's loop nor its GIL."""
    context = multiprocessing.get_context("spawn")
    ready, go, reports = context.Event(), context.Event(), context.Queue()
    process = context.Process(target=writer_process_main, args=(plan, ready, go, reports), daemon=True)
    process.start()
    try:
        if not await asyncio.to_thread(ready.wait, WRITER_START_TIMEOUT):
            raise RuntimeError("the writer process did not start")
        go.set()
        report: WriterReport = await asyncio.to_thread(reports.get, True, 3 * plan.seconds + WRITER_START_TIMEOUT)
        return report
    finally:
        await asyncio.to_thread(process.join, 10)
        if process.is_alive():
            process.kill()


class LatencySink:
    """Write-start → event-yielded latencies; the warm-up key only proves the watch is live."""

    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.seen: set[str] = set()
        self.duplicates = 0
        self.error = ""
        self.warmed = threading.Event()

    def record(self, key: str, value: bytes, now: float) -> None:
        if key.endswith("/warmup"):
            self.warmed.set()
        elif key in self.seen:
            self.duplicates += 1
        else:
            self.seen.add(key)
            self.latencies.append(now - stamp_of(value))


Stop = Callable[[], Awaitable[None]]


async def _stop_task(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def watch_storage(storage: Any, prefix: str, sink: LatencySink) -> Stop:
    """Our side: `Storage.watch`; one timestamp per batch, when the batch is yielded."""
    stream = storage.watch(prefix, after=await storage.current_revision())

    async def pump() -> None:
        try:
            async for batch in stream:
                now = time.perf_counter()
                for event in batch:
                    sink.record(event.key, event.value, now)
        except Exception as error:  # Reported as the watch's failure.
            sink.error = repr(error)

    task = asyncio.create_task(pump())

    async def stop() -> None:
        await _stop_task(task)
        if hasattr(stream, "aclose"):
            await stream.aclose()

    return stop


async def watch_raw_etcd(raw: RawEtcdSide, prefix: str, sink: LatencySink) -> Stop:
    """Raw side: aetcd's watch_prefix from the next revision; it yields one event at a time."""
    after = await raw.current_revision()
    watch = await raw.client.watch_prefix(prefix.encode(), start_revision=after + 1)

    async def pump() -> None:
        try:
            async for event in watch:
                sink.record(event.kv.key.decode(), event.kv.value, time.perf_counter())
        except Exception as error:  # Reported as the watch's failure.
            sink.error = repr(error)

    task = asyncio.create_task(pump())

    async def stop() -> None:
        await watch.cancel()
        await _stop_task(task)

    return stop


class CommitSignal:
    """The raw in-process notify: the writer bumps a counter after each commit, the reader waits for a change."""

    def __init__(self) -> None:
        self.condition = threading.Condition()
        self.commits = 0

    def notify(self) -> None:
        with self.condition:
            self.commits += 1
            self.condition.notify_all()

    def wait(self, seen: int, timeout: float) -> int:
        with self.condition:
            self.condition.wait_for(lambda: self.commits != seen, timeout)
            return self.commits


async def watch_raw_sqlite(path: str, prefix: str, sink: LatencySink, signal: CommitSignal | None) -> Stop:
    """Raw side: a reader thread on its own connection reading `id > last`, every 1 ms or when signalled."""
    stopping, started = threading.Event(), threading.Event()

    def read() -> None:
        from apiserver.storage.sqlite import schema

        connection = schema.connect(path, "FULL")
        last = connection.execute("SELECT COALESCE(MAX(id), 0) FROM log").fetchone()[0]
        started.set()
        seen = 0
        while not stopping.is_set():
            if signal is None:
                time.sleep(RAW_POLL_INTERVAL)
            else:
                seen = signal.wait(seen, 0.05)
            rows = connection.execute("SELECT id, name, value FROM log WHERE id > ? ORDER BY id", (last,)).fetchall()
            now = time.perf_counter()
            for _, name, value in rows:
                if name.startswith(prefix):
                    sink.record(name, value, now)
            last = rows[-1][0] if rows else last
        connection.close()

    thread = threading.Thread(target=read, name="raw-sqlite-watch", daemon=True)
    thread.start()
    await asyncio.to_thread(started.wait, 10)

    async def stop() -> None:
        stopping.set()
        await asyncio.to_thread(thread.join, 10)

    return stop


@dataclass(frozen=True, slots=True)
class WatchOutcome:
    latencies: tuple[float, ...]
    report: WriterReport
    duplicates: int
    missing: int
    error: str


async def _wait_until(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.perf_counter() + seconds
    while not condition():
        if time.perf_counter() > deadline:
            return False
        await asyncio.sleep(0.005)
    return True


async def watch_case(start: Callable[[LatencySink], Awaitable[Stop]], warm_up: Callable[[], Awaitable[object]],
                     write: Callable[[], Awaitable[WriterReport]]) -> WatchOutcome:
    """Open the watch, prove it live with one warm-up write, run the paced writer, then drain."""
    sink = LatencySink()
    stop = await start(sink)
    try:
        await warm_up()
        if not await _wait_until(sink.warmed.is_set, WRITER_START_TIMEOUT):
            raise RuntimeError(f"the warm-up event never arrived {sink.error}")
        report = await write()
        await _wait_until(lambda: len(sink.seen) >= report.written, WATCH_DRAIN_SECONDS)
    finally:
        await stop()
    missing = max(0, report.written - len(sink.seen))
    return WatchOutcome(tuple(sink.latencies), report, sink.duplicates, missing, sink.error)


def _problems(outcome: WatchOutcome) -> list[str]:
    report = outcome.report
    problems = [
        f"{outcome.missing} events missing" if outcome.missing else "",
        f"{outcome.duplicates} duplicates" if outcome.duplicates else "",
        f"{report.errors} writes failed ({report.first_error})" if report.errors else "",
        f"watch failed {outcome.error}" if outcome.error else "",
    ]
    return [problem for problem in problems if problem]


def _p99_ms(outcome: WatchOutcome) -> float:
    return percentile(outcome.latencies, 0.99) * 1e3


def describe_watches(outcomes: Sequence[WatchOutcome]) -> str:
    pooled = [latency for outcome in outcomes for latency in outcome.latencies]
    rates = [outcome.report.written / outcome.report.seconds for outcome in outcomes if outcome.report.seconds]
    p99s = ", ".join(f"{_p99_ms(outcome):.2f}" for outcome in outcomes)
    return (
        f"p50 {percentile(pooled, 0.5) * 1e3:.2f} ms, p99 per rep [{p99s}] ms,"
        f" max {max(pooled, default=float('nan')) * 1e3:.1f} ms, {len(pooled)} events"
        f" at {statistics.median(rates) if rates else 0:,.0f}/s"
    )


def compare_watches(
    backend: str, workload: str, ours: Sequence[WatchOutcome], raw: Sequence[WatchOutcome]
) -> Result:
    """Compare the median over repetitions of each side's p99."""
    failures = "; ".join(
        f"{name}: {problem}"
        for name, outcomes in (("ours", ours), ("raw", raw))
        for outcome in outcomes
        for problem in _problems(outcome)
    )
    detail = f"ours {describe_watches(ours)} | raw {describe_watches(raw)}"
    ours_p99 = statistics.median(_p99_ms(outcome) for outcome in ours)
    raw_p99 = statistics.median(_p99_ms(outcome) for outcome in raw)
    return judge(backend, workload, "ms p99", ours_p99, raw_p99, detail, failures)


Case = Callable[[int], Awaitable[WatchOutcome]]


async def repeat_watches(reps: int, ours: Case, raw: Case) -> tuple[list[WatchOutcome], list[WatchOutcome]]:
    """Run both cases `reps` times, alternating which goes first; each case gets the repetition number."""
    outcomes: dict[str, list[WatchOutcome]] = {"ours": [], "raw": []}
    for rep in range(reps):
        order = (("raw", raw), ("ours", ours)) if rep % 2 == 0 else (("ours", ours), ("raw", raw))
        for name, case in order:
            outcomes[name].append(await case(rep))
    return outcomes["ours"], outcomes["raw"]
