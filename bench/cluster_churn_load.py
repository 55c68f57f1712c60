"""The churn mix and the informers that follow it, as spawned-process jobs (bench/cluster_jobs.py).

The mix, paced at `rate` operations per second: round r creates ConfigMap and Pod `c-r`, merge-patches the pair
created LAG rounds earlier and deletes the pair created 2*LAG rounds earlier (Pods with gracePeriodSeconds=0:
they are unbound, so they go at once). Every body carries its due time (`perf_counter`, CLOCK_MONOTONIC, so it
compares across processes) in the `bench/stamp` annotation; a request that waits for a free connection is timed
from when it was due (no coordinated omission).

An informer is what client-go's reflector does: LIST, then WATCH from the list's resourceVersion. Each one keeps
its own store (name → resourceVersion), and checks its stream: resourceVersions strictly increasing, no event
twice. Delivery latency is taken from ADDED and MODIFIED events, but not from a MODIFIED that marks a Pod
deleted (it carries the stamp of the Pod's last update). It stops when it sees the end marker `churn-end`
(created after the writer finishes) or at its deadline.
The raw side writes the same schedule as etcd txns/puts/deletes and follows it with aetcd prefix watches.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import orjson

from bench.api_client import Endpoint
from bench.cluster_stack import BenchConnection, connect_many

LAG = 50
END_MARKER = "churn-end"
STAMP_KEY = b'"bench/stamp":"'
STAMP_WIDTH = 20
RESOURCES = ("configmaps", "pods")
MERGE_PATCH = "application/merge-patch+json"
Operation = tuple[str, str, int]  # verb, resource, object number


def schedule(rate: float, seconds: float) -> list[Operation]:
    """The operations of `seconds` of churn at `rate` ops/s (see the module docstring)."""
    operations: list[Operation] = []
    total, round_number = int(rate * seconds), 0
    while len(operations) < total:
        for verb, number in (("create", round_number), ("update", round_number - LAG),
                             ("delete", round_number - 2 * LAG)):
            if number >= 0:
                operations += [(verb, resource, number) for resource in RESOURCES]
        round_number += 1
    return operations[:total]


def object_name(number: int) -> str:
    return f"c-{number}"


def body(resource: str, namespace: str, name: str, stamp: float, generation: int) -> bytes:
    """The object; 'generation' changes its payload so an update is a real change."""
    metadata = {"name": name, "namespace": namespace, "labels": {"app": "churn"},
                "annotations": {"bench/stamp": f"{stamp:020.9f}"}}
    if resource == "configmaps":
        return orjson.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata,
                             "data": {"generation": str(generation), "payload": "x" * 512}})
    container = {"name": "app", "image": "registry.k8s.io/pause:3.10", "env": [{"name": "G", "value": str(generation)}]}
    return orjson.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": metadata,
                         "spec": {"containers": [container], "restartPolicy": "Always"}})


def patch_body(resource: str, stamp: float) -> bytes:
    annotations = {"bench/stamp": f"{stamp:020.9f}"}
    if resource == "configmaps":
        return orjson.dumps({"metadata": {"annotations": annotations}, "data": {"generation": "2"}})
    return orjson.dumps({"metadata": {"annotations": annotations, "labels": {"generation": "2"}}})


def stamp_in(line: bytes) -> float:
    at = line.find(STAMP_KEY)
    return float(line[at + len(STAMP_KEY) : at + len(STAMP_KEY) + STAMP_WIDTH]) if at >= 0 else 0.0


@dataclass(slots=True)
class WriterReport:
    """Per (resource, verb): latencies of acknowledged calls; failures; acknowledged calls per resource."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    acknowledged: dict[str, int] = field(default_factory=dict)
    failures: int = 0
    unknown: int = 0  # failures with no answer (the connection broke): the write may have happened
    first_failure: str = ""
    seconds: float = 0.0
    offered: int = 0

    def record(self, verb: str, resource: str, latency: float) -> None:
        self.latencies.setdefault(f"{resource} {verb}", []).append(latency)
        self.acknowledged[resource] = self.acknowledged.get(resource, 0) + 1

    def fail(self, error: str) -> None:
        self.failures += 1
        self.first_failure = self.first_failure or error


async def paced(operations: list[Operation], rate: float, in_flight: int,
                perform: Callable[[int, Operation, float], object], report: WriterReport) -> None:
    """Start operation i at began + i/rate with at most `in_flight` outstanding; `perform` is a coroutine fn."""
    slots = asyncio.Semaphore(in_flight)

    async def one(index: int, operation: Operation, due: float) -> None:
        try:
            await perform(index, operation, due)  # type: ignore[misc]
            report.record(operation[0], operation[1], time.perf_counter() - due)
        except Exception as error:  # Counted and reported; the run goes on.
            report.fail(repr(error))
        finally:
            slots.release()

    tasks = []
    began = time.perf_counter()
    for index, operation in enumerate(operations):
        due = began + index / rate
        if (delay := due - time.perf_counter()) > 0:
            await asyncio.sleep(delay)
        await slots.acquire()
        tasks.append(asyncio.create_task(one(index, operation, due)))
    await asyncio.gather(*tasks)
    report.seconds, report.offered = time.perf_counter() - began, len(operations)


async def api_writer_job(ready: Callable[[], None], endpoint: Endpoint, namespace: str, rate: float,
                         seconds: float, in_flight: int) -> WriterReport:
    """The churn through the API (the balancer): POST, merge PATCH, DELETE."""
    connections = await connect_many(endpoint, in_flight)
    idle: asyncio.Queue[BenchConnection] = asyncio.Queue()
    for connection in connections:
        idle.put_nowait(connection)
    report = WriterReport()

    async def perform(index: int, operation: Operation, due: float) -> None:
        verb, resource, number = operation
        name, collection = object_name(number), f"/api/v1/namespaces/{namespace}/{resource}"
        connection = await idle.get()
        try:
            if verb == "create":
                status, _, payload = await connection.exchange("POST", collection, body(resource, namespace, name,
                                                                                       due, 1))
                expected = 201
            elif verb == "update":
                status, _, payload = await connection.exchange("PATCH", f"{collection}/{name}",
                                                               patch_body(resource, due), MERGE_PATCH)
                expected = 200
            else:
                status, _, payload = await connection.exchange("DELETE", f"{collection}/{name}?gracePeriodSeconds=0")
                expected = 200
        except (OSError, asyncio.IncompleteReadError):
            report.unknown += 1  # the write may or may not have happened; a client would reconnect
            await connection.close()
            connection = (await connect_many(endpoint, 1))[0]
            raise
        finally:
            idle.put_nowait(connection)
        if status != expected:
            raise RuntimeError(f"{verb} {resource}/{name}: HTTP {status} {payload[:200]!r}")

    ready()
    try:
        await paced(schedule(rate, seconds), rate, in_flight, perform, report)
    finally:
        await asyncio.gather(*(connection.close() for connection in connections))
    return report


@dataclass(slots=True)
class InformerReport:
    """What a set of informers saw, pooled: delivery latencies (ADDED/MODIFIED), counts, stream defects."""

    events: dict[str, list[int]] = field(default_factory=dict)  # resource -> events per informer
    stores: dict[str, list[frozenset[str]]] = field(default_factory=dict)  # resource -> names per informer
    latencies: list[float] = field(default_factory=list)
    timeline: list[tuple[float, float]] = field(default_factory=list)  # (write due, latency) of every delivery
    out_of_order: int = 0
    duplicates: int = 0
    unfinished: int = 0
    rewatches: int = 0  # watch requests, the first of each informer included
    errors: list[str] = field(default_factory=list)


class Informer:
    """One LIST + WATCH of one resource in one namespace, with its own store (see the module docstring)."""

    def __init__(self, resource: str, report: InformerReport) -> None:
        self.resource = resource
        self.report = report
        self.store: dict[str, int] = {}
        self.last_revision = 0
        self.events = 0
        self.seen: set[tuple[bytes, int]] = set()
        self.finished = asyncio.Event()

    async def list(self, connection: BenchConnection, namespace: str) -> int:
        payload = orjson.loads(await connection.request("GET", f"/api/v1/namespaces/{namespace}/{self.resource}"))
        self.store = {item["metadata"]["name"]: int(item["metadata"]["resourceVersion"]) for item in payload["items"]}
        self.last_revision = int(payload["metadata"]["resourceVersion"])
        return self.last_revision

    def on_line(self, line: bytes, now: float) -> None:
        event = orjson.loads(line)
        kind, metadata = event["type"], event["object"]["metadata"]
        revision, name = int(metadata["resourceVersion"]), metadata["name"]
        if name == END_MARKER:
            self.finished.set()
            return
        if revision <= self.last_revision:
            self.report.out_of_order += 1
        key = (kind.encode(), revision)
        if key in self.seen:
            self.report.duplicates += 1
        self.seen.add(key)
        self.last_revision = max(self.last_revision, revision)
        self.events += 1
        if kind == "DELETED":
            self.store.pop(name, None)
        else:
            self.store[name] = revision
            # A Pod's graceful-delete MODIFIED carries the stamp of its last update, not of the delete: no latency.
            if "deletionTimestamp" not in metadata and (stamp := stamp_in(line)):
                self.report.latencies.append(now - stamp)
                self.report.timeline.append((stamp, now - stamp))

    async def follow(self, connection: BenchConnection, namespace: str) -> None:
        # The server ends every watch after its timeout (30-60 min at the default --min-request-timeout); as an
        # informer does, watch again from the last revision seen (a run over half an hour meets this).
        while not self.finished.is_set():
            path = f"/api/v1/namespaces/{namespace}/{self.resource}?watch=1&resourceVersion={self.last_revision}"
            await connection.start_stream(path)
            self.report.rewatches += 1
            async for line in connection.stream_lines():
                if line:
                    self.on_line(line, time.perf_counter())
                    if self.finished.is_set():
                        return


async def informers_job(ready: Callable[[], None], endpoint: Endpoint, namespace: str, count: int,
                        deadline_seconds: float) -> InformerReport:
    """`count` informers, alternating ConfigMaps and Pods; ready once every LIST is done and every WATCH sent."""
    report = InformerReport()
    connections = await connect_many(endpoint, count)
    informers = [Informer(RESOURCES[index % len(RESOURCES)], report) for index in range(count)]
    pairs = list(zip(informers, connections, strict=True))
    await asyncio.gather(*(informer.list(connection, namespace) for informer, connection in pairs))
    tasks = [asyncio.create_task(informer.follow(connection, namespace)) for informer, connection in pairs]
    await asyncio.sleep(0)  # every task has written its watch request; events after each list's revision follow
    ready()
    try:
        async with asyncio.timeout(deadline_seconds):
            await asyncio.gather(*(informer.finished.wait() for informer in informers))
    except TimeoutError:
        pass
    for task in tasks:
        task.cancel()
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    report.errors = [repr(outcome) for outcome in outcomes
                     if isinstance(outcome, BaseException) and not isinstance(outcome, asyncio.CancelledError)]
    report.unfinished = sum(1 for informer in informers if not informer.finished.is_set())
    for informer in informers:
        report.events.setdefault(informer.resource, []).append(informer.events)
        report.stores.setdefault(informer.resource, []).append(frozenset(informer.store))
    await asyncio.gather(*(connection.close() for connection in connections))
    return report
