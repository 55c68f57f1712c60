"""The overload's load and its probes: paced creates as a ServiceAccount, and the traffic that must stay fast.

`creates_job` (a spawned-process job) POSTs small ConfigMaps at `rate`/s over `connections` keep-alive
connections with a bearer token, timing each from when it was due, and counts answers: 201, 429 with a
Retry-After header, 429 without one, anything else. A connection answered 429 with Retry-After is not used again
for that long (client-go waits the same before its retry), so refused clients do not hammer the server. An
unbounded rate with few connections measures the sustainable rate.

`Probes` runs in the benchmark's own process: GET /readyz (anonymous, like a kubelet probe or a load balancer:
upstream's `probes` FlowSchema, exempt), and a Lease renewal in kube-system (a PUT of the whole
Lease with a new spec.renewTime, the update client-go's leader election sends) as a kube-system ServiceAccount
(upstream's `system-leader-election` FlowSchema: the `leader-election` priority level, limited but with its own
seats) and as a system:masters client (the `exempt` FlowSchema), each renewing a Lease of its own as each leader
does (two clients renewing one Lease, as before session 6, conflicted: about half of the renewals under overload
met the other's write and were retried); and, as a control, GET /readyz on the other replica, which shares the
box, etcd and the neighbours' load but not the overload.
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

LEASE_NAMESPACE = "kube-system"
LEADER = "lease as kube-system ServiceAccount"
MASTERS = "lease as system:masters"
LEASE_NAMES = {LEADER: "bench-lease-leader", MASTERS: "bench-lease-admin"}  # the holder is the Lease's name too
CONTROL = "readyz on the other replica"


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


def retry_after(head: bytes) -> float:
    """The Retry-After of a lower-cased response head, in seconds; 0 without one."""
    start = head.find(b"retry-after:")
    if start < 0:
        return 0.0
    return float(head[start + 12 : head.index(b"\r\n", start)].strip() or 0)


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
        if status == 429 and (wait := retry_after(head)):
            # As client-go does: a 429 with Retry-After holds the connection back that long, not the schedule.
            asyncio.get_running_loop().call_later(wait, idle.put_nowait, connection)
        else:
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


def lease(name: str, holder: str) -> bytes:
    return orjson.dumps({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                         "metadata": {"name": name, "namespace": LEASE_NAMESPACE},
                         "spec": {"holderIdentity": holder, "leaseDurationSeconds": 15, "renewTime": renew_time()}})


class Probes:
    """Keep-alive connections for /readyz (anonymous), Lease renewals (the leader-election token; admin) and probe
    creates (the workload token)."""

    def __init__(self, endpoint: Endpoint, token: str, namespace: str, leader_token: str, control: Endpoint) -> None:
        self.endpoint, self.token, self.namespace, self.leader_token = endpoint, token, namespace, leader_token
        self.control = control
        self.connections: dict[str, BenchConnection] = {}
        self.broken: list[str] = []
        self.leases_path = f"/apis/coordination.k8s.io/v1/namespaces/{LEASE_NAMESPACE}/leases"

    def _token_of(self, name: str) -> str:
        return {LEADER: self.leader_token, MASTERS: "", "readyz": "-", CONTROL: "-"}.get(name, self.token)

    async def _anonymous(self, name: str) -> BenchConnection:
        endpoint = self.control if name == CONTROL else self.endpoint
        connection = (await connect_many(endpoint, 1, token="-"))[0]  # no certificate; an unverifiable token
        connection._auth = b""  # and then no token either
        return connection

    async def open(self) -> None:
        self.connections = {name: await self._anonymous(name) for name in ("readyz", CONTROL)}
        for name in (LEADER, MASTERS, "create"):
            self.connections[name] = (await connect_many(self.endpoint, 1, self._token_of(name)))[0]
        for name in (LEADER, MASTERS):
            status, _, payload = await self.connections[name].exchange(
                "POST", self.leases_path, lease(LEASE_NAMES[name], LEASE_NAMES[name]))
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
            if name in ("readyz", CONTROL):
                self.connections[name] = await self._anonymous(name)
            else:
                self.connections[name] = (await connect_many(self.endpoint, 1, self._token_of(name)))[0]
            return time.perf_counter() - began, 0

    async def _probe(self, name: str, index: int) -> tuple[float, int]:
        connection = self.connections[name]
        began = time.perf_counter()
        if name in ("readyz", CONTROL):
            status, _, _ = await connection.exchange("GET", "/readyz")
        elif name == "create":
            status, _, _ = await connection.exchange("POST", f"/api/v1/namespaces/{self.namespace}/configmaps",
                                                     configmap(f"probe-{index}"))
        else:  # an unconditional update (no resourceVersion), as a leader renewing its own Lease
            status, _, _ = await connection.exchange("PUT", f"{self.leases_path}/{LEASE_NAMES[name]}",
                                                     lease(LEASE_NAMES[name], LEASE_NAMES[name]))
        return time.perf_counter() - began, status

    async def close(self) -> None:
        await asyncio.gather(*(connection.close() for connection in self.connections.values()))
