"""Cluster benchmarks: issue 9's load workloads on the process cluster, each beside a raw baseline of the same run.

`python -m bench.cluster [--only churn,caches,overload] [--large] [--churn-rate OPS] [--churn-seconds S]
[--json PATH]`

One cluster (tests/support/cluster.py: three etcd members, two replicas, HAProxy) and a raw three-member etcd
cluster serve every workload, in this order: churn (bench/cluster_churn.py), caches (bench/cluster_caches.py:
10k pods, 100k with --large) and overload (bench/cluster_overload.py). The soak is its own command
(`python -m bench.soak`). The exit code is 0 even when a target fails: this is a benchmark, not a test.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import signal
import time
from dataclasses import asdict
from pathlib import Path

from bench.api import server_code
from bench.cluster_stack import open_cluster
from bench.measure import Result, judge
from bench.storage import load_average, machine_facts, print_summary

FAMILIES = ("churn", "caches", "overload")
WORKLOAD_TIMEOUT = 1800.0
NAN = float("nan")


async def guarded(name: str, run: object) -> list[Result]:
    try:
        async with asyncio.timeout(WORKLOAD_TIMEOUT):
            return await run  # type: ignore[misc,no-any-return]
    except Exception as error:  # A benchmark reports every failure instead of stopping at the first.
        return [judge("cluster", name, "-", NAN, NAN, "", f"ERROR {error!r}")]


async def bench_cluster(arguments: argparse.Namespace, families: set[str]) -> list[Result]:
    from bench.cluster_churn import churn_workload

    results: list[Result] = []
    async with open_cluster() as stack:
        print(f"cluster up: etcd {stack.cluster.etcd.servers}, replicas"
              f" {', '.join(replica.url for replica in stack.cluster.replicas)}, balancer {stack.cluster.url}",
              flush=True)
        if "churn" in families:
            results += await guarded("churn", churn_workload(stack, arguments.churn_rate, arguments.churn_seconds,
                                                             arguments.informers))
        if "caches" in families:
            from bench.cluster_caches import caches_workload

            results += await guarded("caches", caches_workload(stack, 100_000 if arguments.large else 10_000))
        if "overload" in families:
            from bench.cluster_overload import overload_workload

            results += await guarded("overload", overload_workload(stack))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cluster", description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(FAMILIES), help="comma-separated workloads")
    parser.add_argument("--large", action="store_true", help="hold 100,000 pods in the caches instead of 10,000")
    parser.add_argument("--churn-rate", type=float, default=100.0, help="churn operations per second")
    parser.add_argument("--churn-seconds", type=float, default=30.0)
    parser.add_argument("--informers", type=int, default=100)
    parser.add_argument("--json", type=Path, help="also write the facts and results to this JSON file")
    arguments = parser.parse_args(argv)
    families = {family.strip() for family in arguments.only.split(",") if family.strip()}
    if unknown := families - set(FAMILIES):
        parser.error(f"unknown workloads {sorted(unknown)}; choose from {', '.join(FAMILIES)}")
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stop like Ctrl-C: the cluster is torn down
    facts = machine_facts() | {"server code": server_code()}
    print("\n".join(f"{name}: {value}" for name, value in facts.items()), flush=True)
    started = time.perf_counter()
    results = asyncio.run(bench_cluster(arguments, families))
    facts["load average at end"] = load_average()
    print_summary(results, facts, time.perf_counter() - started)
    if arguments.json:
        rows = [asdict(result) | {"ratio": result.ratio} for result in results]
        arguments.json.write_text(json.dumps({"facts": facts, "results": rows}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
