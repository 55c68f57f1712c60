"""API benchmarks: the HTTPS API of a live `manage.py serve`, each workload beside its baseline in the same run.

`python -m bench.api [--backend sqlite|etcd3|all] [--quick] [--only create,get,list,watch,fanout] [--json PATH]
[--py-spy DIR] [--gc-log] [--gc-threshold A,B,C]`

Per backend it starts its own etcd(s), the server (Daphne + TLS, tests.support.server.ServerProcess), a raw
ASGI hello app on the same server stack, and two load-generator processes; then it runs the workloads of
bench/api_cases.py and prints ours, the baseline, the ratio and PASS/FAIL against the issue's targets. Load never
runs in the server's process: GETs, creates, paced writers and the 100 fan-out watchers run in worker processes;
lists, the latency watcher and the raw aetcd baselines run in this process. The dataset (10,000 pods, 1,000 in
each of ns0..ns9) is the first create repetition, so every run creates it. Every loop is bounded and every
workload has a deadline. The exit code is 0 even when a target fails: this is a benchmark, not a test.
docs/benchmarks.md explains every number.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import signal
import subprocess
import time
from dataclasses import asdict
from pathlib import Path

from bench.api_cases import (
    CreateBench,
    cache_catch_up,
    fanout_workload,
    get_workload,
    list_workload,
    prepare,
    watch_workload,
)
from bench.api_gchook import PAUSE_MS, parse_threshold, read_pauses, summarise
from bench.api_stack import PY_SPY, StackOptions, open_stack
from bench.api_workload import FULL, QUICK, ApiProfile
from bench.measure import Result, format_line, judge
from bench.storage import guarded, load_average, machine_facts, print_summary

FAMILIES = ("create", "get", "list", "watch", "fanout")
NAN = float("nan")


async def bench_backend(backend: str, profile: ApiProfile, families: frozenset[str],
                        options: StackOptions) -> list[Result]:
    async with open_stack(backend, options) as stack:
        shape = await prepare(stack, profile)
        creates = CreateBench(stack, profile, shape)
        await creates.rep(0)  # the dataset every read uses
        results = await guarded(backend, "cache catch-up", lambda: cache_catch_up(stack))
        hello_rate = 0.0  # the raw ASGI hello req/s, when GET ran: the fan-out's delivery rate is compared with it
        if "get" in families:
            rows = await guarded(backend, "GET", lambda: get_workload(stack, profile))
            results += rows
            hello_rate = rows[0].raw
        if "list" in families:
            results += await guarded(backend, "LIST", lambda: list_workload(stack, profile))
        if "create" in families:
            for rep in range(1, profile.create_reps):
                await creates.rep(rep)
        results.append(creates.result())
        raw_p99 = NAN
        if "watch" in families:
            rows = await guarded(backend, "watch", lambda: watch_workload(stack, profile, shape))
            results += rows
            raw_p99 = rows[0].raw
        if "fanout" in families:
            results += await guarded(backend, "fan-out",
                                     lambda: fanout_workload(stack, profile, shape, raw_p99, hello_rate))
        if stack.gc_log is not None:
            results.append(gc_result(backend, stack.gc_log, options.gc_threshold))
        return results


def gc_result(backend: str, log: Path, threshold: tuple[int, ...]) -> Result:
    """The server's GC pauses over the whole run, as an info row."""
    pauses = read_pauses(log)
    workload = f"server GC pauses > {PAUSE_MS:.0f} ms" + (f" (threshold {threshold})" if threshold else "")
    result = Result(backend, workload, "pauses", sum(len(values) for values in pauses.values()), NAN, "-", "info",
                    summarise(pauses))
    print(format_line(result), flush=True)
    return result


def run_backend(backend: str, profile: ApiProfile, families: frozenset[str], options: StackOptions) -> list[Result]:
    try:
        return asyncio.run(bench_backend(backend, profile, families, options))
    except Exception as error:  # The stack could not start, or the dataset could not be created: say so, go on.
        return [judge(backend, "start", "-", NAN, NAN, "", f"ERROR {error!r}")]


def server_code() -> str:
    """The commit under test, and whether the working tree differs from it (other work in progress)."""
    root = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(["git", "log", "-1", "--format=%h %cI"], cwd=root, capture_output=True, text=True,
                              timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "apiserver"], cwd=root,
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head or 'unknown'}{' + uncommitted changes under apiserver/' if dirty else ''}"


def selected_families(text: str, parser: argparse.ArgumentParser) -> frozenset[str]:
    families = {family.strip() for family in text.split(",") if family.strip()}
    if unknown := families - set(FAMILIES):
        parser.error(f"unknown workloads {sorted(unknown)}; choose from {', '.join(FAMILIES)}")
    if "fanout" in families:
        families.add("watch")  # the fan-out p99 is judged against raw etcd's watch p99 of the same run
    return frozenset(families)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.api", description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "etcd3", "all"), default="all")
    parser.add_argument("--quick", action="store_true", help="one repetition of most workloads: ~1 min per backend")
    parser.add_argument("--only", default=",".join(FAMILIES),
                        help="comma-separated workloads (the 10k-pod dataset is always created; fanout implies watch)")
    parser.add_argument("--json", type=Path, help="also write the facts and results to this JSON file")
    parser.add_argument("--py-spy", type=Path, metavar="DIR",
                        help=f"sample the server with {PY_SPY.name} during each workload; folded stacks into DIR")
    parser.add_argument("--gc-log", action="store_true", help="log the server's GC pauses (bench/api_gchook.py)")
    parser.add_argument("--gc-threshold", type=parse_threshold, default=(), metavar="A,B,C",
                        help="run the server with gc.set_threshold(A, B, C) (implies --gc-log)")
    arguments = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stop like Ctrl-C: the stacks are torn down
    profile = QUICK if arguments.quick else FULL
    families = selected_families(arguments.only, parser)
    if arguments.py_spy:
        if not PY_SPY.exists():
            parser.error(f"{PY_SPY} is not installed (.venv/bin/pip install py-spy)")
        arguments.py_spy.mkdir(parents=True, exist_ok=True)
    options = StackOptions(arguments.py_spy, arguments.gc_log, arguments.gc_threshold)
    facts = machine_facts() | {"server code": server_code()}
    print("\n".join(f"{name}: {value}" for name, value in facts.items()) + f"\nprofile: {profile}", flush=True)
    started = time.perf_counter()
    results: list[Result] = []
    for backend in ("sqlite", "etcd3") if arguments.backend == "all" else (arguments.backend,):
        print(f"\n== {backend} ==", flush=True)
        results += run_backend(backend, profile, families, options)
    facts["load average at end"] = load_average()
    print_summary(results, facts, time.perf_counter() - started)
    if arguments.json:
        rows = [asdict(result) | {"ratio": result.ratio} for result in results]
        arguments.json.write_text(json.dumps({"facts": facts, "profile": asdict(profile), "results": rows}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
