"""Storage benchmarks: each `Storage` backend against the raw client it is built on, in one run on one box.

`python -m bench.storage [--backend sqlite|etcd3|all] [--quick] [--only create,update,get,list,watch] [--json PATH]`

For every workload it prints our number (through `apiserver.storage.backends.open_storage`), the raw
baseline's number measured in the same run, the ratio ours/raw and PASS/FAIL against the targets of
perf-reliability-anchors.md §3. It starts its own etcd on free loopback ports and keeps SQLite files in a
temporary directory. Every loop is bounded. The exit code is 0 even when a target fails: this is a benchmark,
not a test. docs/benchmarks.md explains every number.
"""
from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from pathlib import Path

from bench.keyvalue import KeyValueBench
from bench.measure import CpuMeter, Result, format_number, judge, percentile
from bench.sides import OursSide, RawEtcdSide, RawSQLiteSide
from bench.watchlatency import (
    WATCH_RATE,
    CommitSignal,
    WatchOutcome,
    WriterPlan,
    WriterReport,
    compare_watches,
    paced_writes,
    paced_writes_blocking,
    repeat_watches,
    watch_case,
    watch_raw_etcd,
    watch_raw_sqlite,
    watch_storage,
    write_from_process,
)
from bench.workload import FULL, IN_FLIGHT, QUICK, Profile, pod_value

WORKLOAD_TIMEOUT = 300.0
FAMILIES = ("create", "update", "get", "list", "watch")
# Reads and updates use the objects the creates wrote.
NEEDS_DATASET = frozenset({"update", "get", "list"})


# ---------------------------------------------------------------- per-backend runs

Workload = Callable[[], Awaitable[list[Result]]]
NAN = float("nan")


async def guarded(backend: str, workload: str, run: Workload) -> list[Result]:
    """Run one workload under a deadline; a broken one becomes a FAIL line and the others still report."""
    try:
        async with asyncio.timeout(WORKLOAD_TIMEOUT):
            return await run()
    except Exception as error:  # A benchmark reports every failure instead of stopping at the first.
        return [judge(backend, workload, "-", NAN, NAN, "", f"ERROR {error!r}")]


async def key_value_workloads(bench: KeyValueBench, families: frozenset[str]) -> list[Result]:
    backend, profile = bench.backend, bench.profile
    results: list[Result] = []
    if "create" in families:
        workload = f"create {profile.objects} ({IN_FLIGHT} in flight)"
        results += await guarded(backend, workload, lambda: bench.writes(workload, 1))
    if "update" in families:
        workload = f"update {profile.objects} ({IN_FLIGHT} in flight)"
        results += await guarded(backend, workload, lambda: bench.writes(workload, 2))
    if families & {"get", "list"}:
        await guarded(backend, "compact", _no_results(bench.compact))
    if "get" in families:
        sequential, concurrent = "get (sequential)", f"get ({IN_FLIGHT} in flight)"
        results += await guarded(backend, sequential, lambda: bench.gets(sequential, profile.sequential_gets, False))
        results += await guarded(backend, concurrent, lambda: bench.gets(concurrent, profile.concurrent_gets, True))
    if "list" in families:
        results += await guarded(backend, "list", bench.lists)
    return results


def _no_results(step: Callable[[], Awaitable[None]]) -> Workload:
    async def run() -> list[Result]:
        await step()
        return []

    return run


def _plan(side: str, backend: str, address: str, prefix: str, profile: Profile) -> WriterPlan:
    return WriterPlan(side, backend, address, prefix, WATCH_RATE, profile.watch_seconds)


async def etcd_watches(url: str, ours: OursSide, raw: RawEtcdSide, profile: Profile) -> list[Result]:
    """Writer in a separate process for both sides; raw is aetcd's watch."""

    async def raw_case(rep: int) -> WatchOutcome:
        prefix = f"/raw/watchbench{rep}/"
        return await watch_case(
            lambda sink: watch_raw_etcd(raw, prefix, sink),
            lambda: raw.create(f"{prefix}warmup", pod_value(0)),
            lambda: write_from_process(_plan("raw", "etcd3", url, prefix, profile)),
        )

    async def ours_case(rep: int) -> WatchOutcome:
        prefix = f"/registry/watchbench{rep}/"
        return await watch_case(
            lambda sink: watch_storage(ours.storage, prefix, sink),
            lambda: ours.create(f"{prefix}warmup", pod_value(0)),
            lambda: write_from_process(_plan("ours", "etcd3", url, prefix, profile)),
        )

    ours_outcomes, raw_outcomes = await repeat_watches(profile.watch_reps, ours_case, raw_case)
    return [compare_watches("etcd3", "watch, writer process", ours_outcomes, raw_outcomes)]


async def sqlite_watches(ours: OursSide, ours_path: str, raw: RawSQLiteSide, profile: Profile) -> list[Result]:
    """Writer in a separate process (raw: a 1 ms poll reader), then in the watcher's process (raw: notify)."""

    async def raw_case(rep: int) -> WatchOutcome:
        prefix = f"/raw/watchbench{rep}/"
        return await watch_case(
            lambda sink: watch_raw_sqlite(raw.path, prefix, sink, None),
            lambda: raw.create(f"{prefix}warmup", pod_value(0)),
            lambda: write_from_process(_plan("raw", "sqlite", raw.path, prefix, profile)),
        )

    async def ours_case(rep: int) -> WatchOutcome:
        prefix = f"/registry/watchbench{rep}/"
        return await watch_case(
            lambda sink: watch_storage(ours.storage, prefix, sink),
            lambda: ours.create(f"{prefix}warmup", pod_value(0)),
            lambda: write_from_process(_plan("ours", "sqlite", ours_path, prefix, profile)),
        )

    ours_outcomes, raw_outcomes = await repeat_watches(profile.watch_reps, ours_case, raw_case)
    results = [compare_watches("sqlite", "watch, writer process", ours_outcomes, raw_outcomes)]
    ours_outcomes, raw_outcomes = await repeat_watches(
        profile.watch_reps,
        lambda rep: _ours_local_watch(ours, f"/registry/watchlocal{rep}/", profile),
        lambda rep: _raw_local_watch(raw, f"/raw/watchlocal{rep}/", profile),
    )
    results.append(compare_watches("sqlite", "watch, in-process writer", ours_outcomes, raw_outcomes))
    return results


async def _ours_local_watch(ours: OursSide, prefix: str, profile: Profile) -> WatchOutcome:
    """Ours writes on the watcher's own event loop, as the server's handlers would."""
    return await watch_case(
        lambda sink: watch_storage(ours.storage, prefix, sink),
        lambda: ours.create(f"{prefix}warmup", pod_value(0)),
        lambda: paced_writes(ours.create, _plan("ours", "sqlite", "", prefix, profile)),
    )


async def _raw_local_watch(raw: RawSQLiteSide, prefix: str, profile: Profile) -> WatchOutcome:
    """Raw writes on a thread that signals the reader thread after each commit."""
    signal = CommitSignal()
    plan = _plan("raw", "sqlite", raw.path, prefix, profile)

    async def warm_up() -> None:
        raw.create_now(f"{prefix}warmup", pod_value(0))
        signal.notify()

    def write() -> WriterReport:
        writer = RawSQLiteSide(raw.path)
        try:
            return paced_writes_blocking(lambda key, value: (writer.create_now(key, value), signal.notify()), plan)
        finally:
            writer.connection.close()

    return await watch_case(
        lambda sink: watch_raw_sqlite(raw.path, prefix, sink, signal), warm_up, lambda: asyncio.to_thread(write)
    )


async def bench_etcd(profile: Profile, families: frozenset[str]) -> list[Result]:
    from tests.support.etcd import EtcdProcess

    etcd = EtcdProcess()
    etcd.start()
    try:
        assert etcd.process is not None
        meter = CpuMeter(etcd.process.pid)
        raw = await RawEtcdSide.open(etcd.url)
        ours = await OursSide.open("etcd3", etcd.url)
        try:
            results = await key_value_workloads(KeyValueBench("etcd3", profile, ours, raw, meter), families)
            if "watch" in families:
                results += await guarded("etcd3", "watch", lambda: etcd_watches(etcd.url, ours, raw, profile))
            return results
        finally:
            await ours.close()
            await raw.close()
    finally:
        etcd.destroy()


async def bench_sqlite(profile: Profile, families: frozenset[str]) -> list[Result]:
    directory = Path(tempfile.mkdtemp(prefix="pilothouse-bench-"))
    try:
        ours_path = str(directory / "ours.db")
        raw = RawSQLiteSide(str(directory / "raw.db"))
        ours = await OursSide.open("sqlite", ours_path)
        try:
            results = await key_value_workloads(KeyValueBench("sqlite", profile, ours, raw, CpuMeter(None)), families)
            if "watch" in families:
                results += await guarded("sqlite", "watch", lambda: sqlite_watches(ours, ours_path, raw, profile))
            return results
        finally:
            await ours.close()
            await raw.close()
    finally:
        shutil.rmtree(directory, ignore_errors=True)


BENCHES: dict[str, Callable[[Profile, frozenset[str]], Awaitable[list[Result]]]] = {
    "sqlite": bench_sqlite,
    "etcd3": bench_etcd,
}


def run_backend(backend: str, profile: Profile, families: frozenset[str]) -> list[Result]:
    try:
        return asyncio.run(BENCHES[backend](profile, families))
    except Exception as error:  # The backend could not be imported, opened or started: say so and go on.
        return [judge(backend, "open", "-", NAN, NAN, "", f"ERROR {error!r}")]


# ---------------------------------------------------------------- machine facts and the command line


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def etcd_version() -> str:
    from tests.support.etcd import ETCD_BINARY

    if not os.path.exists(ETCD_BINARY):
        return "not installed"
    output = subprocess.run([ETCD_BINARY, "--version"], capture_output=True, text=True, timeout=10).stdout
    return output.splitlines()[0].removeprefix("etcd Version: ") if output else "unknown"


def fdatasync_probe(writes: int = 300) -> str:
    """Median 4 KiB write + fdatasync in the temp directory (where etcd and SQLite keep their files)."""
    durations: list[float] = []
    with tempfile.TemporaryDirectory(prefix="pilothouse-bench-") as directory:
        descriptor = os.open(Path(directory) / "probe", os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            for _ in range(writes):
                started = time.perf_counter()
                os.write(descriptor, b"\0" * 4096)
                os.fdatasync(descriptor)
                durations.append(time.perf_counter() - started)
        finally:
            os.close(descriptor)
    median = percentile(durations, 0.5)
    return f"{median * 1e3:.3f} ms ({1 / median:,.0f}/s)"


def machine_facts() -> dict[str, str]:
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), "unknown")
    packages = ("aetcd", "grpcio", "protobuf", "orjson")
    return {
        "cpus": f"{os.cpu_count()} ({len(os.sched_getaffinity(0))} usable), {model}",
        "kernel": platform.release(),
        "python": sys.version.split()[0],
        "sqlite": sqlite3.sqlite_version,
        "etcd": etcd_version(),
        "packages": ", ".join(f"{name} {importlib.metadata.version(name)}" for name in packages),
        "load average at start": load_average(),
        "fdatasync 4 KiB p50": fdatasync_probe(),
    }


def print_summary(results: list[Result], facts: dict[str, str], seconds: float) -> None:
    print("\n## Summary\n")
    for name, value in facts.items():
        print(f"- {name}: {value}")
    print(f"- wall time: {seconds:.0f} s\n")
    print("| backend | workload | ours | raw | unit | ours/raw | target | verdict |")
    print("|---|---|---:|---:|---|---:|---|---|")
    for result in results:
        print(
            f"| {result.backend} | {result.workload} | {format_number(result.ours)} | {format_number(result.raw)}"
            f" | {result.unit} | {result.ratio:.2f} | {result.target} | {result.verdict} |"
        )
    failed = [result for result in results if result.verdict == "FAIL"]
    verdict = f"{len(failed)} of {len(results)} results FAIL" if failed else "no result FAILs"
    print(f"\n{verdict}")


def selected_families(text: str, parser: argparse.ArgumentParser) -> frozenset[str]:
    families = {family.strip() for family in text.split(",") if family.strip()}
    if unknown := families - set(FAMILIES):
        parser.error(f"unknown workloads {sorted(unknown)}; choose from {', '.join(FAMILIES)}")
    if families & NEEDS_DATASET:
        families.add("create")
    return frozenset(families)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.storage", description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "etcd3", "all"), default="all")
    parser.add_argument(
        "--quick", action="store_true", help="2 write repetitions, 1 read repetition, one 2 s watch: <1 min per backend"
    )
    parser.add_argument(
        "--only", default=",".join(FAMILIES), help="comma-separated workloads; update, get and list imply create"
    )
    parser.add_argument("--json", type=Path, help="also write the facts and results to this JSON file")
    arguments = parser.parse_args(argv)
    profile = QUICK if arguments.quick else FULL
    families = selected_families(arguments.only, parser)
    facts = machine_facts()
    print("\n".join(f"{name}: {value}" for name, value in facts.items()) + f"\nprofile: {profile}", flush=True)
    started = time.perf_counter()
    results: list[Result] = []
    for backend in ("sqlite", "etcd3") if arguments.backend == "all" else (arguments.backend,):
        print(f"\n== {backend} ==", flush=True)
        results += run_backend(backend, profile, families)
    facts["load average at end"] = load_average()
    print_summary(results, facts, time.perf_counter() - started)
    if arguments.json:
        rows = [asdict(result) | {"ratio": result.ratio} for result in results]
        arguments.json.write_text(json.dumps({"facts": facts, "profile": asdict(profile), "results": rows}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
