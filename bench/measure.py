"""Timing and verdicts: drive a batch of operations, summarise it, compare ours with raw against a target.

A ratio is always ours / raw. For rates higher is better; for latencies lower is better. A result with any
failed call, lost write or missing watch event is FAIL whatever its numbers (anchors §3: correctness first).
"""
from __future__ import annotations

import asyncio
import math
import os
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

UNSTABLE_SPREAD = 1.5


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (p50 of two values is the lower one); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU of another process (etcd), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class CpuMeter:
    """Reads wall time, this process's CPU and the server's CPU (etcd; none for embedded SQLite)."""

    server_pid: int | None

    def read(self) -> tuple[float, float, float]:
        server = process_cpu_seconds(self.server_pid) if self.server_pid else 0.0
        return time.perf_counter(), time.process_time(), server


@dataclass(frozen=True, slots=True)
class Run:
    """One timed batch of operations. Cores are CPU seconds per wall second."""

    count: int
    seconds: float
    latencies: tuple[float, ...]
    errors: int
    first_error: str
    client_cores: float
    server_cores: float

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0


async def drive(operation: Callable[[int], Awaitable[object]], count: int, in_flight: int, meter: CpuMeter) -> Run:
    """Run operation(0..count-1) with `in_flight` workers; every call is timed."""
    latencies = [0.0] * count
    failures: list[str] = []
    cursor = iter(range(count))

    async def worker() -> None:
        for index in cursor:
            started = time.perf_counter()
            try:
                await operation(index)
            except Exception as error:  # A benchmark counts failures instead of stopping at the first.
                failures.append(repr(error))
            latencies[index] = time.perf_counter() - started

    wall, client, server = meter.read()
    await asyncio.gather(*(worker() for _ in range(max(1, min(in_flight, count)))))
    wall_end, client_end, server_end = meter.read()
    seconds = wall_end - wall
    return Run(
        count, seconds, tuple(latencies), len(failures), failures[0] if failures else "",
        (client_end - client) / seconds, (server_end - server) / seconds,
    )


@dataclass(frozen=True, slots=True)
class Target:
    text: str
    passes: Callable[[float, float], bool]


AT_LEAST_80 = Target("ours >= 80% of raw", lambda ours, raw: ours >= 0.8 * raw)
AT_LEAST_40 = Target("ours >= 40% of raw", lambda ours, raw: ours >= 0.4 * raw)
WITHIN_5_MS = Target("ours p99 <= raw p99 + 5 ms", lambda ours, raw: ours <= raw + 5.0)
TARGETS: dict[tuple[str, str], Target] = {
    ("etcd3", "create"): AT_LEAST_80,
    ("etcd3", "update"): AT_LEAST_80,
    ("sqlite", "create"): AT_LEAST_40,
}


@dataclass(frozen=True, slots=True)
class Result:
    backend: str
    workload: str
    unit: str
    ours: float
    raw: float
    target: str
    verdict: str
    detail: str

    @property
    def ratio(self) -> float:
        return self.ours / self.raw if self.raw else float("nan")


def judge(backend: str, workload: str, unit: str, ours: float, raw: float, detail: str, failures: str) -> Result:
    """Apply the workload's target; any lost write, failed call or missing event fails it regardless."""
    target = WITHIN_5_MS if workload.startswith("watch") else TARGETS.get((backend, workload.split()[0]))
    if failures:
        verdict = "FAIL"
        detail = f"{failures}; {detail}" if detail else failures
    elif target is None:
        verdict = "info"
    else:
        verdict = "PASS" if target.passes(ours, raw) else "FAIL"
    result = Result(backend, workload, unit, ours, raw, target.text if target else "-", verdict, detail)
    print(format_line(result), flush=True)
    return result


def format_number(value: float) -> str:
    if value != value:  # NaN
        return "n/a"
    return f"{value:,.0f}" if value >= 100 else f"{value:.2f}"


def format_line(result: Result) -> str:
    verdict = f"*** {result.verdict} ***" if result.verdict == "FAIL" else result.verdict
    return (
        f"[{result.backend}] {result.workload:<28} ours {format_number(result.ours):>9} {result.unit:<7}"
        f" raw {format_number(result.raw):>9}  ratio {result.ratio:5.2f}  target {result.target:<27} {verdict}\n"
        f"    {result.detail}"
    )


def describe_runs(runs: Sequence[Run]) -> str:
    rates = [run.rate for run in runs]
    latencies = [latency for run in runs for latency in run.latencies]
    spread = max(rates) / min(rates) if min(rates) else float("inf")
    unstable = " UNSTABLE" if spread > UNSTABLE_SPREAD else ""
    client = statistics.median(run.client_cores for run in runs)
    server = statistics.median(run.server_cores for run in runs)
    return (
        f"{min(rates):,.0f}-{max(rates):,.0f}/s over {len(runs)} rep(s){unstable},"
        f" p50 {percentile(latencies, 0.5) * 1e3:.2f} ms p99 {percentile(latencies, 0.99) * 1e3:.2f} ms,"
        f" cpu client {client:.2f} server {server:.2f} cores"
    )


def compare_runs(backend: str, workload: str, ours: Sequence[Run], raw: Sequence[Run]) -> Result:
    failures = "; ".join(
        f"{side} errors {sum(run.errors for run in runs)} ({next(run.first_error for run in runs if run.errors)})"
        for side, runs in (("ours", ours), ("raw", raw))
        if any(run.errors for run in runs)
    )
    detail = f"ours {describe_runs(ours)} | raw {describe_runs(raw)}"
    ours_rate = statistics.median(run.rate for run in ours)
    raw_rate = statistics.median(run.rate for run in raw)
    return judge(backend, workload, "ops/s", ours_rate, raw_rate, detail, failures)


def compare_latencies(
    backend: str, workload: str, ours: Sequence[float], raw: Sequence[float], failures: str
) -> Result:
    """Compare p50 durations (seconds in, milliseconds out)."""

    def describe(values: Sequence[float]) -> str:
        low, high = min(values) * 1e3, max(values) * 1e3
        return f"median {statistics.median(values) * 1e3:.1f} ms, min {low:.1f} max {high:.1f} (n={len(values)})"

    detail = f"ours {describe(ours)} | raw {describe(raw)}"
    ours_p50, raw_p50 = statistics.median(ours) * 1e3, statistics.median(raw) * 1e3
    return judge(backend, workload, "ms p50", ours_p50, raw_p50, detail, failures)


