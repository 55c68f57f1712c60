"""The raw baseline of the churn: the same schedule and bodies straight to an etcd cluster with aetcd.

A create is a put-if-absent transaction (what the API server's create is), an update a plain put, a delete a
delete; watchers are aetcd prefix watches from the revision before the writer starts, one per informer, each
stopping at the end marker key. Same pacing, same in-flight bound, same spawned-process layout as the API side.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from bench.cluster_churn_load import (
    END_MARKER,
    RESOURCES,
    InformerReport,
    Operation,
    WriterReport,
    body,
    object_name,
    paced,
    schedule,
    stamp_in,
)
from bench.sides import RawEtcdSide

RAW_PREFIX = "/raw-churn/"


def raw_key(resource: str, name: str) -> str:
    return f"{RAW_PREFIX}{resource}/churn/{name}"


async def raw_writer_job(ready: Callable[[], None], url: str, rate: float, seconds: float,
                         in_flight: int) -> WriterReport:
    side = await RawEtcdSide.open(url)
    report = WriterReport()

    async def perform(index: int, operation: Operation, due: float) -> None:
        verb, resource, number = operation
        key = raw_key(resource, object_name(number))
        if verb == "create":
            await side.create(key, body(resource, "churn", object_name(number), due, 1))
        elif verb == "update":
            await side.client.put(key.encode(), body(resource, "churn", object_name(number), due, 2))
        else:
            await side.client.delete(key.encode())

    ready()
    try:
        await paced(schedule(rate, seconds), rate, in_flight, perform, report)
    finally:
        await side.close()
    return report


async def write_end_markers(url: str) -> None:
    side = await RawEtcdSide.open(url)
    try:
        for resource in RESOURCES:
            await side.client.put(raw_key(resource, END_MARKER).encode(), b"{}")
    finally:
        await side.close()


async def raw_watchers_job(ready: Callable[[], None], url: str, count: int,
                           deadline_seconds: float) -> InformerReport:
    """`count` aetcd prefix watches, alternating the two resources' prefixes, from the current revision."""
    side = await RawEtcdSide.open(url)
    report = InformerReport()
    start = await side.current_revision() + 1
    resources = [RESOURCES[index % len(RESOURCES)] for index in range(count)]
    watches = [await side.client.watch_prefix(f"{RAW_PREFIX}{resource}/".encode(), start_revision=start)
               for resource in resources]
    counts = [0] * count
    stores: list[set[str]] = [set() for _ in range(count)]

    async def pump(index: int) -> None:
        last = 0
        async for event in watches[index]:
            key = event.kv.key.decode()
            if key.endswith("/" + END_MARKER):
                return
            revision = int(event.kv.mod_revision)
            if revision <= last:
                report.out_of_order += 1
            last = revision
            counts[index] += 1
            name = key.rsplit("/", 1)[1]
            if str(event.kind).endswith("DELETE"):
                stores[index].discard(name)
            else:
                stores[index].add(name)
                if stamp := stamp_in(event.kv.value):
                    report.latencies.append(time.perf_counter() - stamp)

    tasks = [asyncio.create_task(pump(index)) for index in range(count)]
    ready()
    try:
        async with asyncio.timeout(deadline_seconds):
            await asyncio.gather(*tasks, return_exceptions=True)
    except TimeoutError:
        pass
    report.unfinished = sum(1 for task in tasks if not task.done())
    for task in tasks:
        task.cancel()
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    report.errors = [repr(outcome) for outcome in outcomes
                     if isinstance(outcome, BaseException) and not isinstance(outcome, asyncio.CancelledError)]
    for index, resource in enumerate(resources):
        report.events.setdefault(resource, []).append(counts[index])
        report.stores.setdefault(resource, []).append(frozenset(stores[index]))
    for watch in watches:
        await watch.cancel()
    await side.close()
    return report
