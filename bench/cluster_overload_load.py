"""The overload's load and its probes: paced creates as a ServiceAccount, and the traffic that must stay fast.

`creates_job` (a spawned-process job) POSTs small ConfigMaps at `rate`/s over `connections` keep-alive
connections with a bearer token, timing each from when it was due, and counts answers: 201, 429 with a
Retry-After header, 429 without one, anything else. An unbounded rate with few connections measures the
sustainable rate. `Probes` runs in the benchmark's own process: GET /readyz (anonymous, like a kubelet probe or a
load balancer), and a Lease renewal (PUT of spec.renewTime) as the ServiceAccount (counted by the in-flight
limit, as an external kube-controller-manager's identity would be) and as a system:masters client (never
counted, like the replicas' own loopback leader election).
"""
from __future__ import annotations

import asyncio
import datetime
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import orjson

from bench.api_client import Endpoint
from bench.cluster_stack import BenchConnection, connect_many

LEASE_NAME = "bench-lease"


@dataclass(slots=True)
class CreatesReport:
    created: int = 0
    throttled: int = 0  # 429 with Retry-After
    throttled_bare: int = 0  # 429 without Retry-After
    other: int = 0
    first_other: str = ""
    latencies: list[float] = field(default_factory=list)  # of the 201s
    throttle_latencies: list[float] = field(default_factory=list)
    began: float = 0.0
    ended: float = 0.0

    @property
    def answered(self) -> int:
        return self.created + self.throttled + self.throttled_bare + self.other


def configmap(name: str) -> bytes:
    return orjson.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name},
                         "data": {"payload": "x" * 256}})


async def creates_job(ready: Callable[[], None], endpoint: Endpoint, token: str, namespace: str, prefix: str,
                      rate: float, seconds: float, connections: int) -> CreatesReport:
    """See the module docstring; rate 0 means as fast as `connections` allow."""
    opened = await connect_many(endpoint, connections, token)
    idle: asyncio.Queue[BenchConnection] = asyncio.Queue()
    for connection in opened:
        idle.put_nowait(connection)
    report = CreatesReport()
    path = f"/api/v1/namespaces/{namespace}/configmaps"

    async def one(index: int, due: float) -> None:
        connection = await idle.get()
        try:
            status, head, payload = await connection.exchange("POST", path, configmap(f"{prefix}-{index}"))
        except (OSError, asyncio.IncompleteReadError) as error:
            report.other += 1
            report.first_other = report.first_other or repr(error)
            return  # the connection is gone; it is not given back
        idle.put_nowait(connection)
        latency = time.perf_counter() - due
        if status == 201:
            report.created += 1
            report.latencies.append(latency)
        elif status == 429:
            report.throttle_latencies.append(latency)
            if b"retry-after:" in head:
                report.throttled += 1
            else:
                report.throttled_bare += 1
        else:
            report.other += 1
            report.first_other = report.first_other or f"HTTP {status} {payload[:200]!r}"

    ready()
    report.began = began = time.perf_counter()
    if not rate:  # as fast as the connections allow: each connection sends its next request when one returns
        counter = iter(range(1 << 62))

        async def flat_out() -> None:
            while time.perf_counter() < began + seconds and not idle.empty():
                await one(next(counter), time.perf_counter())

        await asyncio.gather(*(flat_out() for _ in opened))
        report.ended = time.perf_counter()
        await asyncio.gather(*(connection.close() for connection in opened))
        return report
    tasks: set[asyncio.Task[None]] = set()
    index = 0
    while (now := time.perf_counter()) < began + seconds:
        due = began + index / rate
        if (delay := due - now) > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(one(index, max(due, began)))
        tasks.add(task)
        index += 1
        if len(tasks) > 4 * connections:
            tasks = {task for task in tasks if not task.done()}
    await asyncio.gather(*tasks)
    report.ended = time.perf_counter()
    await asyncio.gather(*(connection.close() for connection in opened))
    return report


def renew_time() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Probes:
    """Keep-alive connections for /readyz (anonymous), Lease renewals (token; admin) and probe creates (token)."""

    def __init__(self, endpoint: Endpoint, token: str, namespace: str) -> None:
        self.endpoint, self.token, self.namespace = endpoint, token, namespace
        self.connections: dict[str, BenchConnection] = {}
        self.broken: list[str] = []
        self.lease_path = f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/{LEASE_NAME}"

    async def open(self) -> None:
        anonymous = await connect_many(self.endpoint, 1, token="-")  # no certificate; an unverifiable token
        anonymous[0]._auth = b""
        self.connections = {"readyz": anonymous[0], "lease as ServiceAccount": (await connect_many(
            self.endpoint, 1, self.token))[0], "lease as system:masters": (await connect_many(self.endpoint, 1))[0],
            "create": (await connect_many(self.endpoint, 1, self.token))[0]}
        lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": LEASE_NAME},
                 "spec": {"holderIdentity": "bench", "leaseDurationSeconds": 15, "renewTime": renew_time()}}
        status, _, payload = await self.connections["create"].exchange(
            "POST", f"/apis/coordination.k8s.io/v1/namespaces/{self.namespace}/leases", orjson.dumps(lease))
        if status != 201:
            raise RuntimeError(f"lease create: HTTP {status} {payload[:200]!r}")

    async def probe(self, name: str, index: int = 0) -> tuple[float, int]:
        """One probe: (seconds, status); status 0 when the connection broke (it is then opened again)."""
        began = time.perf_counter()
        try:
            return await self._probe(name, index)
        except (OSError, asyncio.IncompleteReadError) as error:
            self.broken.append(f"{name}: {error!r}")
            await self.connections[name].close()
            token = "" if name == "lease as system:masters" else self.token
            self.connections[name] = (await connect_many(self.endpoint, 1, token or ""))[0]
            if name == "readyz":
                self.connections[name]._auth = b""
            return time.perf_counter() - began, 0

    async def _probe(self, name: str, index: int) -> tuple[float, int]:
        connection = self.connections[name]
        began = time.perf_counter()
        if name == "readyz":
            status, _, _ = await connection.exchange("GET", "/readyz")
        elif name == "create":
            status, _, _ = await connection.exchange("POST", f"/api/v1/namespaces/{self.namespace}/configmaps",
                                                     configmap(f"probe-{index}"))
        else:
            patch = {"spec": {"renewTime": renew_time()}}
            status, _, _ = await connection.exchange("PATCH", self.lease_path, orjson.dumps(patch),
                                                     "application/merge-patch+json")
        return time.perf_counter() - began, status

    async def close(self) -> None:
        await asyncio.gather(*(connection.close() for connection in self.connections.values()))
