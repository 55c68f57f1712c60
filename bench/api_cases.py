"""The API workloads, each beside its baseline measured in the same run, with the issue's targets.

- GET one 2.2 KB pod, 50 connections: `?resourceVersion=0` (watch cache) and `""` (storage), each against
  `GET /version` on the same server (filter chain, no storage): ours >= 50% of it.
- LIST 1k and 10k pods: `resourceVersion=0`, `""` and pages of 500, against a raw aetcd range of the same
  keys (one range, or pages of 500): ours p50 <= raw p50.
- CREATE pods, 64 in flight, against raw aetcd create transactions at 64 in flight: ours >= 40% of raw.
- Watch latency, paced writer process: the HTTP watch line against raw aetcd's watch: p99 <= raw p99 + 10 ms.
- Watch fan-out, 100 HTTP watchers in a worker: all delivered, p99 <= raw watch p99 + 50 ms (anchors B8).

Repetitions interleave the sides (even repetitions baseline first), so drift does not always land on one side.
"""
from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import orjson

from bench.api_client import Connection
from bench.api_load import LoadRun, WatchersReport, watch_lines
from bench.api_stack import Stack
from bench.api_workload import (
    DATASET_NAMESPACES,
    ApiProfile,
    PodShape,
    create_namespaces,
    dataset_namespace,
    namespace_body,
    pod_name,
    pods_path,
    stamp_and_name,
)
from bench.measure import CpuMeter, Result, Run, drive, format_line, percentile
from bench.watchlatency import (
    WatchOutcome,
    WriterPlan,
    WriterReport,
    describe_watches,
    watch_case,
    watch_raw_etcd,
    write_from_process,
)
from bench.workload import pod_value

NODE_BODY = orjson.dumps({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-1"}})

GET_CONNECTIONS = 50
CREATE_IN_FLIGHT = 64
WATCH_RATE = 200.0
WATCH_IN_FLIGHT = 8
WATCH_DRAIN_SECONDS = 10.0
WARMUP_TIMEOUT = 30.0
FANOUT_WATCHERS = 100
FANOUT_RATE = 500.0
FANOUT_IN_FLIGHT = 16
FANOUT_DRAIN_SECONDS = 30.0
PAGE_SIZE = 500
PROBE_NAMESPACE = "probe"  # stays empty: a list of it from the cache reports the cache's revision cheaply
CATCH_UP_TIMEOUT = 60.0
UNSTABLE_SPREAD = 1.5


# ---------------------------------------------------------------- verdicts


@dataclass(frozen=True, slots=True)
class Goal:
    text: str
    passes: Callable[[float, float], bool]


GET_GOAL = Goal("ours >= 50% of /version", lambda ours, ceiling: ours >= 0.5 * ceiling)
LIST_GOAL = Goal("ours p50 <= raw p50", lambda ours, raw: ours <= raw)
CREATE_GOAL = Goal("ours >= 40% of raw", lambda ours, raw: ours >= 0.4 * raw)
WATCH_GOAL = Goal("ours p99 <= raw p99 + 10 ms", lambda ours, raw: ours <= raw + 10.0)
FANOUT_GOAL = Goal("all delivered, p99 <= raw + 50 ms", lambda ours, raw: ours <= raw + 50.0)


def verdict(stack: Stack, workload: str, unit: str, ours: float, raw: float, goal: Goal | None, detail: str,
            failures: str = "") -> Result:
    """Apply the goal; any failed request, wrong count or missing event fails the row regardless (anchors §3)."""
    if failures:
        outcome, detail = "FAIL", f"{failures}; {detail}"
    elif goal is None:
        outcome = "info"
    else:
        outcome = "PASS" if goal.passes(ours, raw) else "FAIL"
    result = Result(stack.backend, workload, unit, ours, raw, goal.text if goal else "-", outcome, detail)
    print(format_line(result), flush=True)
    return result


def _unstable(rates: Sequence[float]) -> str:
    """Anchors §3: a spread of more than 1.5x between repetitions marks the result unstable."""
    return " UNSTABLE" if min(rates) and max(rates) / min(rates) > UNSTABLE_SPREAD else ""


def describe_loads(runs: Sequence[LoadRun]) -> str:
    rates = [run.rate for run in runs]
    latencies = [latency for run in runs for latency in run.latencies]
    return (
        f"{min(rates):,.0f}-{max(rates):,.0f}/s over {len(runs)} rep(s){_unstable(rates)},"
        f" p50 {percentile(latencies, 0.5) * 1e3:.2f} ms p99 {percentile(latencies, 0.99) * 1e3:.2f} ms,"
        f" cpu client {statistics.median(run.client_cores for run in runs):.2f}"
        f" server {statistics.median(run.server_cores for run in runs):.2f}"
        f" etcd {statistics.median(run.etcd_cores for run in runs):.2f} cores"
    )


def describe_raw(runs: Sequence[Run]) -> str:
    rates = [run.rate for run in runs]
    latencies = [latency for run in runs for latency in run.latencies]
    client = statistics.median(run.client_cores for run in runs)
    etcd = statistics.median(run.server_cores for run in runs)
    return (
        f"{min(rates):,.0f}-{max(rates):,.0f}/s over {len(runs)} rep(s){_unstable(rates)},"
        f" p50 {percentile(latencies, 0.5) * 1e3:.2f} ms"
        f" p99 {percentile(latencies, 0.99) * 1e3:.2f} ms, cpu client {client:.2f} etcd {etcd:.2f} cores"
    )


def load_failures(runs: Sequence[LoadRun | Run]) -> str:
    failed = [run for run in runs if run.errors]
    return f"{sum(run.errors for run in failed)} requests failed ({failed[0].first_error})" if failed else ""


def _median_rate(runs: Sequence[LoadRun | Run]) -> float:
    return statistics.median(run.rate for run in runs)


# ---------------------------------------------------------------- setup


CALIBRATION_NAMESPACE = "calibration"


async def prepare(stack: Stack, profile: ApiProfile) -> PodShape:
    """Create every namespace a workload writes into (pods need one) and the pods' Node, and size the pods against
    the server.

    One unpadded pod is created, read back and deleted: the padding then makes every benchmark pod, as the server
    stores and serves it (managedFields included), POD_SIZE bytes in a three-letter namespace like the dataset's.
    """
    names = [name for rep in range(profile.create_reps) for name in create_namespaces(rep)]
    names += [f"watch{rep}" for rep in range(profile.watch_reps)]
    names += [f"fanout{rep}" for rep in range(profile.fanout_reps)]
    names += [PROBE_NAMESPACE, CALIBRATION_NAMESPACE]
    connection = await Connection.open(stack.endpoint)
    try:
        for name in names:
            await connection.request("POST", "/api/v1/namespaces", namespace_body(name), 201)
        # The pods are bound to node-1: without that Node, the pod garbage collector deletes them all once its
        # quarantine ends, as upstream's would.
        await connection.request("POST", "/api/v1/nodes", NODE_BODY, 201)
        path = pods_path(CALIBRATION_NAMESPACE)
        await connection.request("POST", path, PodShape(0).body(pod_name(0), CALIBRATION_NAMESPACE), 201)
        stored = len(await connection.request("GET", f"{path}/{pod_name(0)}"))
        # Gone at once (it is bound to a node, so a plain delete would only mark it): lists must count 10,000.
        await connection.request("DELETE", f"{path}/{pod_name(0)}?gracePeriodSeconds=0")
    finally:
        await connection.close()
    shape = PodShape.calibrated(stored - len(CALIBRATION_NAMESPACE) + len(dataset_namespace(0)))
    print(f"[{stack.backend}] an unpadded pod is stored as {stored:,} bytes; padding {shape.padding:,} bytes",
          flush=True)
    return shape


# ---------------------------------------------------------------- create


class CreateBench:
    """POST pods at 64 in flight (a worker process) against raw aetcd create txns at 64 in flight."""

    def __init__(self, stack: Stack, profile: ApiProfile, shape: PodShape) -> None:
        self.stack = stack
        self.profile = profile
        self.shape = shape
        self.ours: list[LoadRun] = []
        self.raw: list[Run] = []

    def count(self, rep: int) -> int:
        return self.profile.dataset if rep == 0 else self.profile.create_count

    async def rep(self, rep: int) -> None:
        sides = (self._raw_rep, self._ours_rep) if rep % 2 == 0 else (self._ours_rep, self._raw_rep)
        for side in sides:
            await side(rep)

    async def _ours_rep(self, rep: int) -> None:
        stack = self.stack
        with stack.sampled(f"create{rep}"):
            run = await stack.workers[0].run("create", stack.endpoint, stack.pids, self.shape, create_namespaces(rep),
                                             0, self.count(rep), CREATE_IN_FLIGHT)
        self.ours.append(run)

    async def _raw_rep(self, rep: int) -> None:
        count, raw = self.count(rep), self.stack.raw
        keys = [f"/raw/create{rep}/pods/{dataset_namespace(index)}/{pod_name(index)}" for index in range(count)]
        values = [pod_value(index) for index in range(count)]

        async def create(index: int) -> None:
            await raw.create(keys[index], values[index])

        self.raw.append(await drive(create, count, CREATE_IN_FLIGHT, CpuMeter(self.stack.raw_etcd_pid)))

    def result(self) -> Result:
        detail = f"ours {describe_loads(self.ours)} | raw {describe_raw(self.raw)}"
        return verdict(self.stack, f"CREATE pods ({CREATE_IN_FLIGHT} in flight)", "ops/s", _median_rate(self.ours),
                       _median_rate(self.raw), CREATE_GOAL, detail, load_failures([*self.ours, *self.raw]))


# ---------------------------------------------------------------- watch cache lag


async def cache_revision(connection: Connection) -> int:
    body = await connection.request("GET", f"{pods_path(PROBE_NAMESPACE)}?resourceVersion=0")
    return int(orjson.loads(body)["metadata"]["resourceVersion"])


async def cache_catch_up(stack: Stack) -> list[Result]:
    """After the dataset burst: how far behind the pods watch cache is, and how long it takes to catch up.

    Only on etcd, whose revision this process can read (the raw client on the server's etcd). Reads of the cache
    only (resourceVersion=0), so the server's consistent-read bookkeeping is left alone; later workloads start
    from a caught-up cache.
    """
    if stack.data_raw is stack.raw:
        return []
    connection = await Connection.open(stack.endpoint)
    try:
        target, started = await stack.data_raw.current_revision(), time.perf_counter()
        first = revision = await cache_revision(connection)
        while revision < target and time.perf_counter() - started < CATCH_UP_TIMEOUT:
            await asyncio.sleep(0.02)
            revision = await cache_revision(connection)
    finally:
        await connection.close()
    seconds = time.perf_counter() - started
    failure = "" if revision >= target else f"cache at {revision} of {target} after {CATCH_UP_TIMEOUT:.0f} s"
    detail = (f"when the {CREATE_IN_FLIGHT}-in-flight create burst ended the pods cache was at revision {first:,}"
              f" of etcd's {target:,} ({max(0, target - first):,} events behind)")
    return [verdict(stack, "cache catch-up after creates", "s", seconds, float("nan"), None, detail, failure)]


# ---------------------------------------------------------------- get


def pod_paths(dataset: int, query: str) -> list[str]:
    """Every GET reads another pod of the dataset, in a fixed stride."""
    indexes = [(index * 7919) % dataset for index in range(min(dataset, 5000))]
    return [f"{pods_path(dataset_namespace(i))}/{pod_name(i)}{query}" for i in indexes]


async def get_workload(stack: Stack, profile: ApiProfile) -> list[Result]:
    """GET /version (ceiling), hello /pod (raw ASGI), a pod from the cache and from storage; 50 connections."""
    cases = {
        "version": (stack.endpoint, stack.pids, ["/version"]),
        "hello": (stack.hello_endpoint, stack.hello_pids, ["/pod"]),
        "cache": (stack.endpoint, stack.pids, pod_paths(profile.dataset, "?resourceVersion=0")),
        "storage": (stack.endpoint, stack.pids, pod_paths(profile.dataset, "")),
    }
    runs: dict[str, list[LoadRun]] = {name: [] for name in cases}
    order = list(cases)
    for rep in range(profile.get_reps):
        for name in order[rep % len(order):] + order[: rep % len(order)]:
            endpoint, pids, paths = cases[name]
            with stack.sampled(f"get-{name}{rep}"):
                runs[name].append(await stack.workers[0].run("get", endpoint, pids, paths, profile.get_count,
                                                             GET_CONNECTIONS))
    version = _median_rate(runs["version"])
    ceiling = f"/version {describe_loads(runs['version'])}"
    return [
        verdict(stack, "GET /version vs raw ASGI hello", "req/s", version, _median_rate(runs["hello"]), None,
                f"{ceiling} | hello /pod {describe_loads(runs['hello'])}", load_failures(runs["hello"])),
        verdict(stack, "GET pod rv=0 (cache)", "req/s", _median_rate(runs["cache"]), version, GET_GOAL,
                f"ours {describe_loads(runs['cache'])} | {ceiling}", load_failures([*runs["cache"], *runs["version"]])),
        verdict(stack, "GET pod rv=\"\" (storage)", "req/s", _median_rate(runs["storage"]), version, GET_GOAL,
                f"ours {describe_loads(runs['storage'])} | {ceiling}", load_failures(runs["storage"])),
    ]


# ---------------------------------------------------------------- list


@dataclass(frozen=True, slots=True)
class ListCase:
    label: str
    namespace: str  # "" lists every namespace
    query: str  # resourceVersion query of the first request
    page_size: int  # 0: one response
    expected: int
    reps: int


def continue_token(body: bytes) -> str:
    """The list's `metadata.continue`, read from the front of the body (ListMeta precedes the items)."""
    head = body[:4096]
    at = head.find(b'"continue":"')
    if at < 0:
        return ""
    start = at + len(b'"continue":"')
    return head[start : head.index(b'"', start)].decode()


async def list_through_api(connection: Connection, case: ListCase) -> tuple[float, list[bytes]]:
    """One list (every page of it): the seconds it took, and the bodies to count afterwards."""
    path = pods_path(case.namespace)
    bodies: list[bytes] = []
    started = time.perf_counter()
    if not case.page_size:
        bodies.append(await connection.request("GET", f"{path}?{case.query}" if case.query else path))
    else:
        token = ""
        while True:
            query = f"limit={case.page_size}" + (f"&continue={token}" if token else "")
            bodies.append(await connection.request("GET", f"{path}?{query}"))
            token = continue_token(bodies[-1])
            if not token:
                break
    return time.perf_counter() - started, bodies


def count_items(bodies: Sequence[bytes]) -> int:
    return sum(len(orjson.loads(body)["items"]) for body in bodies)


def list_cases(profile: ApiProfile) -> list[ListCase]:
    small, large = profile.dataset // DATASET_NAMESPACES, profile.dataset
    cases = []
    for count, namespace, reps in ((small, dataset_namespace(0), profile.small_list_reps),
                                   (large, "", profile.large_list_reps)):
        cases += [
            ListCase(f"LIST {count} rv=0 (cache)", namespace, "resourceVersion=0", 0, count, reps),
            ListCase(f"LIST {count} rv=\"\" (consistent)", namespace, "", 0, count, reps),
            ListCase(f"LIST {count} paged {PAGE_SIZE}", namespace, "", PAGE_SIZE, count, reps),
        ]
    return cases


async def copy_dataset_to_raw(stack: Stack) -> None:
    """SQLite backend: put the very objects the server lists into the raw etcd, for its range baseline."""
    connection = await Connection.open(stack.endpoint)
    try:
        items = orjson.loads(await connection.request("GET", pods_path()))["items"]
    finally:
        await connection.close()
    values = [(f"/registry/pods/{item['metadata']['namespace']}/{item['metadata']['name']}",
               orjson.dumps({"apiVersion": "v1", "kind": "Pod", **item})) for item in items]

    async def put(index: int) -> None:
        await stack.raw.client.put(values[index][0].encode(), values[index][1])

    await drive(put, len(values), CREATE_IN_FLIGHT, CpuMeter(None))


async def list_workload(stack: Stack, profile: ApiProfile) -> list[Result]:
    if stack.data_raw is stack.raw:
        await copy_dataset_to_raw(stack)
    connection = await Connection.open(stack.endpoint)
    hello = await Connection.open(stack.hello_endpoint)
    try:
        return [await _list_case(stack, connection, hello, case) for case in list_cases(profile)]
    finally:
        await connection.close()
        await hello.close()


async def _transport_floor(hello: Connection, sizes: Sequence[int], reps: int) -> list[float]:
    """The hello app sending the same response sizes: what the server stack, TLS and this client cost alone."""
    durations = []
    for _ in range(reps):
        started = time.perf_counter()
        for size in sizes:
            await hello.request("GET", f"/blob/{size}")
        durations.append(time.perf_counter() - started)
    return durations


def _describe_durations(values: Sequence[float]) -> str:
    return (f"median {statistics.median(values) * 1e3:.1f} ms, min {min(values) * 1e3:.1f}"
            f" max {max(values) * 1e3:.1f} (n={len(values)})")


async def _list_case(stack: Stack, connection: Connection, hello: Connection, case: ListCase) -> Result:
    durations: dict[str, list[float]] = {"ours": [], "raw": []}
    wrong: set[str] = set()
    sizes: list[int] = []
    raw_prefix = f"/registry/pods/{case.namespace + '/' if case.namespace else ''}"
    sample = f"list-{case.expected}-{case.query.replace('resourceVersion=', 'rv') or 'consistent'}-{case.page_size}"
    with stack.sampled(sample):  # the raw side does not touch the server
        for rep in range(case.reps):
            for side in ("raw", "ours") if rep % 2 == 0 else ("ours", "raw"):
                if side == "raw":
                    started = time.perf_counter()
                    count = await stack.data_raw.list_count(raw_prefix, case.page_size)
                    durations["raw"].append(time.perf_counter() - started)
                else:
                    seconds, bodies = await list_through_api(connection, case)
                    durations["ours"].append(seconds)
                    count, sizes = count_items(bodies), [len(body) for body in bodies]
                if count != case.expected:
                    wrong.add(f"{side} listed {count} of {case.expected}")
    floor = await _transport_floor(hello, sizes, case.reps)
    raw_kind = f"paged {case.page_size}" if case.page_size else "one range"
    detail = (f"ours {_describe_durations(durations['ours'])}, {sum(sizes) / 1e6:.1f} MB in {len(sizes)} response(s)"
              f" | raw aetcd {raw_kind}, bytes only: {_describe_durations(durations['raw'])}"
              f" | transport floor (hello app, same bytes): {_describe_durations(floor)}")
    return verdict(stack, case.label, "ms p50", statistics.median(durations["ours"]) * 1e3,
                   statistics.median(durations["raw"]) * 1e3, LIST_GOAL, detail, "; ".join(sorted(wrong)))


# ---------------------------------------------------------------- watch latency


class LineSink:
    """Write-start → event-line latencies of one HTTP watch; the warm-up pod only proves the watch live."""

    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.seen: set[bytes] = set()
        self.duplicates = 0
        self.warmed = asyncio.Event()

    def record(self, line: bytes, now: float) -> None:
        found = stamp_and_name(line)
        if found is None:
            return
        stamp, name = found
        if name == b"warmup":
            self.warmed.set()
        elif name in self.seen:
            self.duplicates += 1
        else:
            self.seen.add(name)
            self.latencies.append(now - stamp)


async def create_warmup(stack: Stack, namespace: str) -> None:
    connection = await Connection.open(stack.endpoint)
    try:
        await connection.request("POST", pods_path(namespace), PodShape(0).body("warmup", namespace), 201)
    finally:
        await connection.close()


async def _until(condition: Callable[[], bool], seconds: float) -> None:
    deadline = time.perf_counter() + seconds
    while not condition() and time.perf_counter() < deadline:
        await asyncio.sleep(0.005)


async def ours_watch(stack: Stack, shape: PodShape, rep: int, seconds: float) -> WatchOutcome:
    """One HTTP watch in this process; a worker process creates pods paced at WATCH_RATE."""
    namespace = f"watch{rep}"
    sink = LineSink()
    connection = await Connection.open(stack.endpoint)
    task = asyncio.create_task(watch_lines(connection, f"{pods_path(namespace)}?watch=1", sink.record))
    error = ""
    try:
        await create_warmup(stack, namespace)
        async with asyncio.timeout(WARMUP_TIMEOUT):
            await sink.warmed.wait()
        with stack.sampled(f"watch{rep}"):
            report: WriterReport = await stack.workers[0].run("paced_create", stack.endpoint, shape, namespace,
                                                              WATCH_RATE, seconds, WATCH_IN_FLIGHT)
            await _until(lambda: len(sink.seen) >= report.written or task.done(), WATCH_DRAIN_SECONDS)
    finally:
        task.cancel()
        outcome = (await asyncio.gather(task, return_exceptions=True))[0]
        if isinstance(outcome, Exception):
            error = repr(outcome)
        await connection.close()
    missing = max(0, report.written - len(sink.seen))
    return WatchOutcome(tuple(sink.latencies), report, sink.duplicates, missing, error)


async def raw_watch(stack: Stack, shape: PodShape, rep: int, seconds: float) -> WatchOutcome:
    """aetcd's watch in this process; a spawned writer process creates keys paced at WATCH_RATE (bench.storage's)."""
    prefix = f"/raw/watch{rep}/"
    raw = stack.raw
    return await watch_case(
        lambda sink: watch_raw_etcd(raw, prefix, sink),
        lambda: raw.create(f"{prefix}warmup", pod_value(0)),
        lambda: write_from_process(WriterPlan("raw", "etcd3", stack.raw_etcd.url, prefix, WATCH_RATE, seconds)),
    )


def watch_problems(name: str, outcome: WatchOutcome) -> list[str]:
    report = outcome.report
    problems = [
        f"{outcome.missing} events missing" if outcome.missing else "",
        f"{outcome.duplicates} duplicates" if outcome.duplicates else "",
        f"{report.errors} writes failed ({report.first_error})" if report.errors else "",
        f"watch failed {outcome.error}" if outcome.error else "",
    ]
    return [f"{name}: {problem}" for problem in problems if problem]


def p99_ms(latencies: Sequence[float]) -> float:
    return percentile(latencies, 0.99) * 1e3


async def watch_workload(stack: Stack, profile: ApiProfile, shape: PodShape) -> list[Result]:
    """One row; its raw value (raw etcd's watch p99, ms) is what the fan-out row is judged against."""
    outcomes: dict[str, list[WatchOutcome]] = {"ours": [], "raw": []}
    cases = {"ours": ours_watch, "raw": raw_watch}
    for rep in range(profile.watch_reps):
        for name in ("raw", "ours") if rep % 2 == 0 else ("ours", "raw"):
            outcomes[name].append(await cases[name](stack, shape, rep, profile.watch_seconds))
    failures = "; ".join(problem for name, runs in outcomes.items() for run in runs
                         for problem in watch_problems(name, run))
    ours_p99 = statistics.median(p99_ms(run.latencies) for run in outcomes["ours"])
    raw_p99 = statistics.median(p99_ms(run.latencies) for run in outcomes["raw"])
    detail = f"ours {describe_watches(outcomes['ours'])} | raw {describe_watches(outcomes['raw'])}"
    workload = f"watch latency ({WATCH_RATE:.0f}/s)"
    return [verdict(stack, workload, "ms p99", ours_p99, raw_p99, WATCH_GOAL, detail, failures)]


# ---------------------------------------------------------------- fan-out


async def fanout_rep(stack: Stack, shape: PodShape, rep: int, seconds: float) -> tuple[WatchersReport, WriterReport]:
    """100 watchers in worker 1; worker 0 creates pods paced at FANOUT_RATE once all watchers are live."""
    namespace = f"fanout{rep}"
    expected = int(FANOUT_RATE * seconds)
    watchers, writer = stack.workers[1], stack.workers[0]
    deadline = WARMUP_TIMEOUT + seconds * 3 + FANOUT_DRAIN_SECONDS
    watchers.submit("watchers", stack.endpoint, namespace, FANOUT_WATCHERS, expected, deadline)
    await watchers.wait_note("open")
    await create_warmup(stack, namespace)
    await watchers.wait_note("ready")
    with stack.sampled(f"fanout{rep}"):
        report: WriterReport = await writer.run("paced_create", stack.endpoint, shape, namespace, FANOUT_RATE,
                                                seconds, FANOUT_IN_FLIGHT)
        received: WatchersReport = await watchers.result()
    return received, report


def describe_fanout(received: WatchersReport, report: WriterReport) -> str:
    span = received.last_delivery - received.first_delivery
    rate = received.delivered / span if span > 0 else 0.0
    return (
        f"{received.delivered:,} deliveries at {rate:,.0f}/s, p50 {percentile(received.latencies, 0.5) * 1e3:.1f} ms"
        f" p99 {p99_ms(received.latencies):.1f} ms max {max(received.latencies, default=0) * 1e3:.0f} ms,"
        f" writes {report.written} at {report.written / report.seconds if report.seconds else 0:,.0f}/s,"
        f" watcher cpu {received.client_cores:.2f} cores"
    )


def fanout_problems(received: WatchersReport, report: WriterReport) -> list[str]:
    problems = [
        f"{received.missing} of {received.expected * received.watchers} deliveries missing" if received.missing else "",
        f"{received.duplicates} duplicates" if received.duplicates else "",
        f"the server ended {received.ended} of {received.watchers} watches" if received.ended else "",
        f"{report.errors} writes failed ({report.first_error})" if report.errors else "",
        f"watch failed {received.error}" if received.error else "",
    ]
    return [problem for problem in problems if problem]


async def fanout_workload(stack: Stack, profile: ApiProfile, shape: PodShape, raw_p99: float,
                          hello_rate: float) -> list[Result]:
    reps = [await fanout_rep(stack, shape, rep, profile.fanout_seconds) for rep in range(profile.fanout_reps)]
    rates = []
    for received, _ in reps:
        span = received.last_delivery - received.first_delivery
        rates.append(received.delivered / span if span > 0 else 0.0)
    p99 = statistics.median(p99_ms(received.latencies) for received, _ in reps)
    failures = "; ".join(problem for received, report in reps for problem in fanout_problems(received, report))
    detail = " | ".join(describe_fanout(received, report) for received, report in reps)
    if hello_rate:
        ratio = statistics.median(rates) / hello_rate
        detail += f" | median deliveries/s = {ratio:.2f}x the raw ASGI hello req/s (anchors B8: >= 1.0)"
    workload = f"watch fan-out ({FANOUT_WATCHERS} x {FANOUT_RATE:.0f}/s)"
    return [verdict(stack, workload, "ms p99", p99, raw_p99, FANOUT_GOAL, detail, failures)]
