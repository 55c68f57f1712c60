"""Churn: a paced create/update/delete mix of ConfigMaps and Pods while 100 informers follow, against raw etcd.

Ours: the writer goes through the balancer (so both replicas take writes); half the informers watch replica 1,
half replica 2 (so most events cross replicas through etcd). Raw: the same schedule and bodies on a second
three-member etcd cluster, followed by as many aetcd prefix watches. Reported: p50/p99 per resource and verb,
write-to-delivery latency of ADDED and MODIFIED events (a DELETED event carries the object's last stamp, so it
has none), and the stream checks: every informer saw exactly one event per acknowledged write, in order, no
duplicates, and ended with the final LIST's names.
"""
from __future__ import annotations

from collections.abc import Sequence

import orjson

from bench.cluster_churn_load import (
    END_MARKER,
    RESOURCES,
    InformerReport,
    WriterReport,
    api_writer_job,
    body,
    informers_job,
)
from bench.cluster_churn_raw import raw_watchers_job, raw_writer_job, write_end_markers
from bench.cluster_jobs import spawn
from bench.cluster_stack import ClusterStack, call, connect_many, create_namespaces
from bench.measure import Result, format_line, percentile

NAMESPACE = "churn"
IN_FLIGHT = 16
INFORMER_SLACK = 180.0
NAN = float("nan")


def row(workload: str, unit: str, ours: float, raw: float, target: str, verdict: str, detail: str) -> Result:
    result = Result("cluster", workload, unit, ours, raw, target, verdict, detail)
    print(format_line(result), flush=True)
    return result


def millis(values: Sequence[float], fraction: float) -> float:
    return percentile(values, fraction) * 1e3


async def end_markers(stack: ClusterStack, namespace: str = NAMESPACE) -> None:
    connection = (await connect_many(stack.balancer, 1))[0]
    try:
        for resource in RESOURCES:
            await call(connection, "POST", f"/api/v1/namespaces/{namespace}/{resource}",
                       body(resource, namespace, END_MARKER, 0.0, 0), 201)
    finally:
        await connection.close()


async def final_names(stack: ClusterStack, namespace: str = NAMESPACE) -> dict[str, frozenset[str]]:
    connection = (await connect_many(stack.balancer, 1))[0]
    try:
        names = {}
        for resource in RESOURCES:
            items = orjson.loads(await call(connection, "GET", f"/api/v1/namespaces/{namespace}/{resource}"))["items"]
            names[resource] = frozenset(item["metadata"]["name"] for item in items) - {END_MARKER}
        return names
    finally:
        await connection.close()


def print_timeline(timeline: Sequence[tuple[float, float]], bucket: float = 2.0) -> None:
    """Delivery latency p50/p99 by when the write was due, in `bucket`-second slices of the run."""
    if not timeline:
        return
    start = min(due for due, _ in timeline)
    slices: dict[int, list[float]] = {}
    for due, latency in timeline:
        slices.setdefault(int((due - start) / bucket), []).append(latency)
    print("churn: delivery latency by when the write was due: " + ", ".join(
        f"{index * bucket:.0f}s p50 {millis(values, 0.5):.0f} p99 {millis(values, 0.99):.0f} ms"
        for index, values in sorted(slices.items())), flush=True)


def merge(reports: Sequence[InformerReport]) -> InformerReport:
    merged = InformerReport()
    for report in reports:
        for resource, counts in report.events.items():
            merged.events.setdefault(resource, []).extend(counts)
        for resource, stores in report.stores.items():
            merged.stores.setdefault(resource, []).extend(stores)
        merged.latencies += report.latencies
        merged.timeline += report.timeline
        merged.out_of_order += report.out_of_order
        merged.duplicates += report.duplicates
        merged.unfinished += report.unfinished
        merged.rewatches += report.rewatches
        merged.errors += report.errors
    return merged


def expected_events(writer: WriterReport, resource: str, api: bool) -> int:
    """One event per acknowledged write; through the API a Pod delete is two writes (the graceful-delete path
    stamps deletionTimestamp even with gracePeriodSeconds=0, then deletes), so two events: MODIFIED, DELETED."""
    twice = len(writer.latencies.get("pods delete", [])) if api and resource == "pods" else 0
    return writer.acknowledged.get(resource, 0) + twice


def stream_defects(writer: WriterReport, informers: InformerReport, final: dict[str, frozenset[str]] | None) -> str:
    """Everything wrong with the streams, as text ('' when every informer saw exactly the acknowledged writes)."""
    defects = []
    for resource, counts in informers.events.items():
        expected = expected_events(writer, resource, final is not None)
        # A write whose connection broke before the answer may have happened (up to two events for a Pod delete).
        most = expected + 2 * writer.unknown
        if wrong := [count for count in counts if not expected <= count <= most]:
            defects.append(f"{len(wrong)} {resource} informers saw {min(wrong)}..{max(wrong)} events,"
                           f" not {expected}..{most}")
        if final is not None and (stale := sum(1 for store in informers.stores[resource] if store != final[resource])):
            defects.append(f"{stale} {resource} informer stores differ from the final list")
    for name, count in (("out of order", informers.out_of_order), ("duplicated", informers.duplicates),
                        ("informers unfinished", informers.unfinished), ("writes failed", writer.failures),
                        ("of them unanswered (connection broke)", writer.unknown)):
        if count:
            defects.append(f"{count} {name}")
    if informers.errors:
        defects.append(f"errors: {informers.errors[0]}")
    if writer.first_failure:
        defects.append(f"first failure: {writer.first_failure}")
    return "; ".join(defects)


async def run_ours(stack: ClusterStack, rate: float, seconds: float, informers: int) -> tuple[WriterReport,
                                                                                              InformerReport, str]:
    await create_namespaces(stack.balancer, [NAMESPACE])
    share = informers // len(stack.replicas)
    watchers = [spawn(informers_job, endpoint, NAMESPACE, share, seconds + INFORMER_SLACK)
                for endpoint in stack.replicas]
    for job in watchers:
        await job.wait_ready()
    writer: WriterReport = await spawn(api_writer_job, stack.balancer, NAMESPACE, rate, seconds, IN_FLIGHT).result()
    await end_markers(stack)
    reports = [await job.result() for job in watchers]
    for index, report in enumerate(reports):
        print(f"churn: informers on replica {index + 1}: delivery p50 {millis(report.latencies, 0.5):.1f} ms"
              f" p99 {millis(report.latencies, 0.99):.1f} ms", flush=True)
    merged = merge(reports)
    print_timeline(merged.timeline)
    return writer, merged, stream_defects(writer, merged, await final_names(stack))


async def run_raw(stack: ClusterStack, rate: float, seconds: float, informers: int) -> tuple[WriterReport,
                                                                                             InformerReport, str]:
    url = stack.raw_etcd.leader().url
    watchers = [spawn(raw_watchers_job, url, informers // 2, seconds + INFORMER_SLACK) for _ in range(2)]
    for job in watchers:
        await job.wait_ready()
    writer: WriterReport = await spawn(raw_writer_job, url, rate, seconds, IN_FLIGHT).result()
    await write_end_markers(url)
    merged = merge([await job.result() for job in watchers])
    return writer, merged, stream_defects(writer, merged, None)


async def churn_workload(stack: ClusterStack, rate: float, seconds: float, informers: int) -> list[Result]:
    print(f"churn: {rate:.0f} ops/s for {seconds:.0f} s, {informers} informers", flush=True)
    ours_writer, ours_informers, ours_defects = await run_ours(stack, rate, seconds, informers)
    raw_writer, raw_informers, raw_defects = await run_raw(stack, rate, seconds, informers)
    results = []
    raw_verbs = {"create": "put-if-absent txn", "update": "put", "delete": "delete"}
    for key in sorted(ours_writer.latencies):
        ours, raw = ours_writer.latencies[key], raw_writer.latencies.get(key, [])
        detail = (f"ours p50 {millis(ours, 0.5):.1f} ms (n={len(ours)}) | raw {raw_verbs[key.split()[1]]}"
                  f" p50 {millis(raw, 0.5):.1f} ms (n={len(raw)})")
        results.append(row(f"churn {key} p99", "ms", millis(ours, 0.99), millis(raw, 0.99), "-", "info", detail))
    ours_latency, raw_latency = ours_informers.latencies, raw_informers.latencies
    late = sum(1 for latency in ours_latency if latency > 1.0)
    detail = (f"ours p50 {millis(ours_latency, 0.5):.1f} ms p90 {millis(ours_latency, 0.9):.1f} ms max"
              f" {max(ours_latency, default=0) * 1e3:.0f} ms, {late:,} over 1 s, {len(ours_latency):,} deliveries,"
              f" {ours_writer.offered / ours_writer.seconds:.0f} ops/s offered | raw p50 {millis(raw_latency, 0.5):.1f}"
              f" ms, {len(raw_latency):,} deliveries")
    verdict = "FAIL" if ours_defects else "info"
    results.append(row("churn watch delivery p99", "ms", millis(ours_latency, 0.99), millis(raw_latency, 0.99), "-",
                       verdict, detail + (f"; ours: {ours_defects}" if ours_defects else "")))
    checks = (f"ours: {ours_defects or 'every informer saw every acknowledged write once, in order'}"
              f" | raw: {raw_defects or 'complete'}")
    total = sum(ours_writer.acknowledged.values())
    results.append(row("churn streams complete", "writes", total, sum(raw_writer.acknowledged.values()),
                       "0 lost/dup/out-of-order", "FAIL" if ours_defects else "PASS", checks))
    return results
