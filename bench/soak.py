"""Soak: a steady churn on the process cluster for an hour, with the RSS and open files of every process sampled.

`python -m bench.soak [--minutes 60] [--rate 20] [--informers 20] [--interval 10] [--json PATH]`

The cluster of bench/cluster_stack.py (three etcd members, two replicas, HAProxy) takes the churn mix of
bench/cluster_churn_load.py through the balancer while informers follow it on both replicas. Every `--interval` seconds
the RSS and the open file descriptors of each process are read from /proc. Reported per process: first and last
readings, and the least-squares slope over the second half of the run (the first half includes warm-up: caches
and the watch window filling, the etcd history growing to its first compaction). Flat means the second-half RSS
slope is under FLAT_FRACTION of the process's mean RSS per hour and its descriptors do not climb. The streams are
checked as in the churn benchmark (every acknowledged write seen once, in order). Exit code 0 whatever happens.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from bench.api import server_code
from bench.cluster_churn import end_markers, final_names, merge, row, stream_defects
from bench.cluster_churn_load import WriterReport, api_writer_job, informers_job
from bench.cluster_jobs import spawn
from bench.cluster_stack import ClusterStack, create_namespaces, open_cluster, open_fds, rss_bytes
from bench.measure import Result
from bench.storage import load_average, machine_facts, print_summary

NAMESPACE = "soak"
IN_FLIGHT = 8
FLAT_FRACTION = 0.10
Sample = tuple[float, dict[str, tuple[int, int]]]  # seconds since start, name -> (rss bytes, fds)


def slope(points: Sequence[tuple[float, float]]) -> float:
    """Least-squares slope of (x, y) points; 0 for fewer than two."""
    if len(points) < 2:
        return 0.0
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / spread if spread else 0.0


def read_processes(stack: ClusterStack) -> dict[str, tuple[int, int]]:
    return {name: (rss_bytes(pid), open_fds(pid)) for name, pid in stack.pids().items()}


async def sample_until(stack: ClusterStack, done: asyncio.Future[object], interval: float) -> list[Sample]:
    samples: list[Sample] = []
    began = time.perf_counter()
    while not done.done():
        now = time.perf_counter() - began
        reading = read_processes(stack)
        samples.append((now, reading))
        summary = ", ".join(f"{name} {rss / 2**20:.0f}M/{fds}" for name, (rss, fds) in reading.items())
        print(f"  t={now:5.0f}s {summary}", flush=True)
        remaining = max(0.0, interval - (time.perf_counter() - began - now))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(done), timeout=remaining)
    return samples


def process_rows(samples: list[Sample]) -> list[Result]:
    results = []
    half = [sample for sample in samples if sample[0] >= samples[-1][0] / 2]
    for name in samples[0][1]:
        rss = [(at / 3600, reading[name][0] / 2**20) for at, reading in half if name in reading]
        fds = [(at / 3600, float(reading[name][1])) for at, reading in half if name in reading]
        if not rss:
            continue
        mean = sum(value for _, value in rss) / len(rss)
        rss_slope, fd_slope = slope(rss), slope(fds)
        first, last = samples[0][1][name], samples[-1][1].get(name, (0, 0))
        early_fds = max(value for _, value in fds[: max(1, len(fds) // 2)])
        flat = rss_slope < FLAT_FRACTION * mean and fds[-1][1] <= early_fds
        detail = (f"RSS {first[0] / 2**20:.0f} -> {last[0] / 2**20:.0f} MiB, fds {first[1]} -> {last[1]};"
                  f" second-half slopes {rss_slope:+.1f} MiB/h, {fd_slope:+.1f} fds/h ({len(rss)} samples)")
        results.append(row(f"soak {name} RSS slope", "MiB/h", rss_slope, mean, f"< {FLAT_FRACTION:.0%} of mean/h",
                           "PASS" if flat else "FAIL", detail))
    return results


async def soak(minutes: float, rate: float, informers: int, interval: float) -> list[Result]:
    seconds = minutes * 60
    async with open_cluster(raw=False) as stack:
        await create_namespaces(stack.balancer, [NAMESPACE])
        share = informers // len(stack.replicas)
        watchers = [spawn(informers_job, endpoint, NAMESPACE, share, seconds + 600) for endpoint in stack.replicas]
        for job in watchers:
            await job.wait_ready()
        print(f"soak: {rate:.0f} ops/s for {minutes:.0f} min, {informers} informers; sampling every {interval:.0f} s",
              flush=True)
        writer_job = spawn(api_writer_job, stack.balancer, NAMESPACE, rate, seconds, IN_FLIGHT)
        writer_task = asyncio.ensure_future(writer_job.result(seconds + 600))
        samples = await sample_until(stack, writer_task, interval)
        writer: WriterReport = await writer_task
        await end_markers(stack, NAMESPACE)
        merged = merge([await job.result() for job in watchers])
        defects = stream_defects(writer, merged, await final_names(stack, NAMESPACE))
        results = process_rows(samples)
        results.append(row("soak streams complete", "writes", sum(writer.acknowledged.values()), float("nan"),
                           "0 lost/dup/out-of-order", "FAIL" if defects else "PASS",
                           defects or f"{len(merged.latencies):,} deliveries, every acknowledged write once, in order;"
                           f" {merged.rewatches - informers} watches renewed after the server's watch timeout"))
        return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--rate", type=float, default=20.0, help="churn operations per second")
    parser.add_argument("--informers", type=int, default=20)
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between samples")
    parser.add_argument("--json", type=Path)
    arguments = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    facts = machine_facts() | {"server code": server_code(), "soak minutes": f"{arguments.minutes:g}"}
    print("\n".join(f"{name}: {value}" for name, value in facts.items()), flush=True)
    started = time.perf_counter()
    results = asyncio.run(soak(arguments.minutes, arguments.rate, arguments.informers, arguments.interval))
    facts["load average at end"] = load_average()
    print_summary(results, facts, time.perf_counter() - started)
    if arguments.json:
        rows = [asdict(result) | {"ratio": result.ratio} for result in results]
        arguments.json.write_text(json.dumps({"facts": facts, "results": rows}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
