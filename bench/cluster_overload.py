"""Overload: creates at twice the sustainable rate on one replica; 429s for the excess, the vital traffic unharmed.

1. Idle: PROBE_ROUNDS rounds of every probe (bench/cluster_overload_load.py) give the baseline of the same run.
2. Sustainable rate: a ServiceAccount creates ConfigMaps as fast as SUSTAIN_CONNECTIONS connections allow.
3. Overload: two worker processes pace creates at that rate each (twice in all) over OVERLOAD_CONNECTIONS
   connections each: more than --max-mutating-requests-inflight (200) and than one flow may hold under API
   Priority and Fairness (the seats of `workload-low` plus handSize 6 x queueLengthLimit 50 queued), so the excess
   is refused either way; refused connections wait out Retry-After. Meanwhile this process probes, each kind in
   its own loop every PROBE_INTERVAL: /readyz, a Lease renewal as a kube-system ServiceAccount (leader election
   to API Priority and Fairness) and as system:masters, and /readyz on replica 2 as a control (same box, not
   overloaded: the share of the delay that is the machine's, not the replica's); and samples the RSS.
4. Recovery: after the load stops, a create probe every PROBE_INTERVAL; recovered at the first of three in a row
   no slower than the idle create p99 x2 + 10 ms. Target: within 5 s.
"""
from __future__ import annotations

import asyncio
import time

from bench.cluster_churn import millis, row
from bench.cluster_jobs import spawn
from bench.cluster_overload_load import CONTROL, LEADER, MASTERS, CreatesReport, Probes, creates_job
from bench.cluster_stack import ClusterStack, create_namespaces, rss_bytes, service_account_token
from bench.measure import Result

NAMESPACE = "overload"
PROBE_ROUNDS = 40
PROBE_INTERVAL = 0.1
SUSTAIN_CONNECTIONS = 64
SUSTAIN_SECONDS = 8.0
OVERLOAD_CONNECTIONS = 250
OVERLOAD_SECONDS = 15.0
RECOVERY_LIMIT = 60.0
VITAL = ("readyz", LEADER, MASTERS)
PROBED = (*VITAL, CONTROL)


async def probe_round(probes: Probes, samples: dict[str, list[float]], statuses: dict[str, list[int]]) -> None:
    for name in PROBED:
        seconds, status = await probes.probe(name)
        samples.setdefault(name, []).append(seconds)
        statuses.setdefault(name, []).append(status)


async def idle_baseline(probes: Probes) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {}
    for index in range(PROBE_ROUNDS):
        await probe_round(probes, samples, {})
        seconds, _ = await probes.probe("create", index)
        samples.setdefault("create", []).append(seconds)
    return samples


async def recovery_seconds(probes: Probes, stopped: float, threshold: float) -> float:
    """Seconds from `stopped` to the first of three consecutive create probes within `threshold`."""
    streak_start, streak, index = 0.0, 0, PROBE_ROUNDS
    while time.perf_counter() - stopped < RECOVERY_LIMIT:
        index += 1
        began = time.perf_counter()
        seconds, status = await probes.probe("create", index)
        if status == 201 and seconds <= threshold:
            streak_start, streak = (streak_start if streak else began), streak + 1
            if streak == 3:
                return max(0.0, streak_start - stopped)
        else:
            streak = 0
        await asyncio.sleep(max(0.0, PROBE_INTERVAL - (time.perf_counter() - began)))
    return float("inf")


def combine(reports: list[CreatesReport]) -> CreatesReport:
    total = CreatesReport(began=min(report.began for report in reports), ended=max(report.ended for report in reports))
    for report in reports:
        total.created += report.created
        total.throttled += report.throttled
        total.throttled_bare += report.throttled_bare
        total.other += report.other
        total.first_other = total.first_other or report.first_other
        total.latencies += report.latencies
        total.throttle_latencies += report.throttle_latencies
    return total


async def overloaded(stack: ClusterStack, probes: Probes, token: str, rate: float) -> tuple[
        CreatesReport, dict[str, list[float]], dict[str, list[int]], int]:
    """Run the overload; probe and sample RSS until it ends."""
    jobs = [spawn(creates_job, stack.replicas[0], token, NAMESPACE, f"o{index}", rate, OVERLOAD_SECONDS,
                  OVERLOAD_CONNECTIONS) for index in range(2)]
    for job in jobs:
        await job.wait_ready()
    results = asyncio.gather(*(job.result() for job in jobs))
    samples: dict[str, list[float]] = {}
    statuses: dict[str, list[int]] = {}
    peak = 0

    async def probe_loop(name: str) -> None:
        while not results.done():
            began = time.perf_counter()
            seconds, status = await probes.probe(name)
            samples.setdefault(name, []).append(seconds)
            statuses.setdefault(name, []).append(status)
            await asyncio.sleep(max(0.0, PROBE_INTERVAL - (time.perf_counter() - began)))

    loops = [asyncio.create_task(probe_loop(name)) for name in PROBED]
    while not results.done():
        peak = max(peak, rss_bytes(stack.replica_pid(0)))
        await asyncio.wait([results], timeout=PROBE_INTERVAL)
    await asyncio.gather(*loops)
    return combine(list(await results)), samples, statuses, peak


async def overload_workload(stack: ClusterStack) -> list[Result]:
    endpoint = stack.replicas[0]
    await create_namespaces(endpoint, [NAMESPACE])
    token = await service_account_token(endpoint, NAMESPACE)
    probes = Probes(endpoint, token, NAMESPACE, await service_account_token(endpoint, "kube-system"),
                    control=stack.replicas[1])
    await probes.open()
    try:
        idle = await idle_baseline(probes)
        sustain: CreatesReport = await spawn(creates_job, endpoint, token, NAMESPACE, "s", 0.0, SUSTAIN_SECONDS,
                                             SUSTAIN_CONNECTIONS).result()
        rate = sustain.created / (sustain.ended - sustain.began)
        print(f"overload: sustainable {rate:.0f} creates/s; offering {2 * rate:.0f}/s for {OVERLOAD_SECONDS:.0f} s",
              flush=True)
        rss_before = rss_bytes(stack.replica_pid(0))
        load, samples, statuses, peak = await overloaded(stack, probes, token, rate)
        threshold = 2 * percentile_seconds(idle["create"], 0.99) + 0.010
        recovery = await recovery_seconds(probes, load.ended, threshold)
    finally:
        await probes.close()
    if probes.broken:
        print(f"overload: {len(probes.broken)} probe connections broke; first: {probes.broken[0]}", flush=True)
    return report_rows(stack, rate, sustain, load, idle, samples, statuses, (rss_before, peak), recovery)


def percentile_seconds(values: list[float], fraction: float) -> float:
    return millis(values, fraction) / 1e3


def report_rows(stack: ClusterStack, rate: float, sustain: CreatesReport, load: CreatesReport,
                idle: dict[str, list[float]], samples: dict[str, list[float]], statuses: dict[str, list[int]],
                rss: tuple[int, int], recovery: float) -> list[Result]:
    seconds = load.ended - load.began
    results = [row("overload sustainable creates", "ops/s", rate, float("nan"), "-", "info",
                   f"{SUSTAIN_CONNECTIONS} connections, p50 {millis(sustain.latencies, 0.5):.0f} ms p99"
                   f" {millis(sustain.latencies, 0.99):.0f} ms, {sustain.throttled} x 429, {sustain.other} other")]
    share = load.throttled / load.answered if load.answered else 0.0
    detail = (f"{load.answered:,} answered in {seconds:.1f} s ({load.answered / seconds:.0f}/s offered+answered):"
              f" {load.created:,} created ({load.created / seconds:.0f}/s), {load.throttled:,} 429 with Retry-After"
              f" (p50 {millis(load.throttle_latencies, 0.5):.0f} ms), {load.throttled_bare} 429 without,"
              f" {load.other} other {load.first_other}; created p99 {millis(load.latencies, 0.99):.0f} ms")
    passes = load.throttled > 0 and not load.throttled_bare and not load.other
    results.append(row("overload 429 share", "%", 100 * share, float("nan"), "excess -> 429 + Retry-After",
                       "PASS" if passes else "FAIL", detail))
    for name in PROBED:
        during, before = samples.get(name, []), idle[name]
        ours, raw = millis(during, 0.99), millis(before, 0.99)
        bad = sum(1 for status in statuses.get(name, []) if status != 200)
        throttled = sum(1 for status in statuses.get(name, []) if status == 429)
        detail = (f"during p50 {millis(during, 0.5):.1f} ms (n={len(during)}, {bad} not 200 of which {throttled}"
                  f" 429) | idle p50"
                  f" {millis(before, 0.5):.1f} ms")
        if name == CONTROL:  # not overloaded: what the box alone does to a probe meanwhile
            results.append(row(f"overload {name} p99", "ms", ours, raw, "-", "info", detail))
            continue
        results.append(row(f"overload {name} p99", "ms", ours, raw, "during <= idle + 50 ms",
                           "PASS" if ours <= raw + 50 and not bad else "FAIL", detail))
    alive = stack.cluster.replicas[0].running
    results.append(row("overload replica RSS peak", "MiB", rss[1] / 2**20, rss[0] / 2**20, "no OOM",
                       "PASS" if alive else "FAIL", f"before {rss[0] / 2**20:.0f} MiB; replica alive: {alive}"))
    results.append(row("overload recovery", "s", recovery, 5.0, "<= 5 s after the load stops",
                       "PASS" if recovery <= 5.0 else "FAIL",
                       f"create probe back within 2 x idle p99 + 10 ms ({2 * millis(idle['create'], 0.99) + 10:.0f}"
                       f" ms) three times in a row"))
    return results
