"""What the cluster benchmarks run against: tests/support/cluster.py's processes, plus what every workload needs.

- the cluster: three etcd members, two Pilothouse replicas on 127.0.0.1 and 127.0.0.2, HAProxy in front (the
  docker-compose topology as plain processes, exactly as tests/cluster/ starts it);
- a second three-member etcd cluster for the raw baselines: raw writes on the server's etcd would move its
  revision past what the replicas' watch caches have seen (see bench/api_stack.py);
- endpoints (bench/api_client.py) for each replica and the balancer, with the admin client certificate or with a
  ServiceAccount token: members of system:masters are never counted by the in-flight limit, so overload runs as a
  ServiceAccount bound to cluster-admin, as an ordinary client would;
- readers of a process's RSS and open file descriptors from /proc.
"""
from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import ssl
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import orjson

from bench.api_client import STREAM_LIMIT, Connection, Endpoint
from bench.sides import RawEtcdSide
from tests.support.cluster import Balancer, Cluster, EtcdCluster

CLUSTER_START_TIMEOUT = 180.0
BENCH_ACCOUNT = "bench"
TIGHT_CHECK = "inter 300ms fall 2 rise 1"
TOLERANT_CHECK = "inter 1s fall 3 rise 1"


def rss_bytes(pid: int) -> int:
    """Resident set size of a process, from /proc (0 once it has exited)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return 0
    return 0


def open_fds(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


class BenchConnection(Connection):
    """A `Connection` that can carry a bearer token and a content type, and hands back any status."""

    def __init__(self, endpoint: Endpoint, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 token: str = "") -> None:
        super().__init__(endpoint, reader, writer)
        self._auth = b"Authorization: Bearer %s\r\n" % token.encode() if token else b""

    @classmethod
    async def connect(cls, endpoint: Endpoint, context: ssl.SSLContext, token: str = "") -> BenchConnection:
        reader, writer = await asyncio.open_connection(endpoint.host, endpoint.port, ssl=context,
                                                       server_hostname=endpoint.host, limit=STREAM_LIMIT)
        return cls(endpoint, reader, writer, token)

    def _send(self, method: str, path: str, body: bytes, content_type: str = "application/json") -> None:
        head = b"%s %s HTTP/1.1\r\nHost: %s\r\nAccept: application/json\r\n%s" % (
            method.encode(), path.encode(), self._host, self._auth)
        if body or method in ("POST", "PUT", "PATCH"):
            head += b"Content-Type: %s\r\nContent-Length: %d\r\n" % (content_type.encode(), len(body))
        self._writer.write(head + b"\r\n" + body)

    async def exchange(self, method: str, path: str, body: bytes = b"",
                       content_type: str = "application/json") -> tuple[int, bytes, bytes]:
        """One request; (status, lower-cased head, body) whatever the status."""
        self._send(method, path, body, content_type)
        status, head = await self._head()
        if b"transfer-encoding: chunked" in head:
            payload = b"".join([chunk async for chunk in self._chunks()])
        else:
            start = head.find(b"content-length:")
            length = int(head[start + 15 : head.index(b"\r\n", start)]) if start >= 0 else 0
            payload = await self._reader.readexactly(length)
        return status, head, payload


def client_context(endpoint: Endpoint, *, certificate: bool) -> ssl.SSLContext:
    """The CA, and the admin client certificate when `certificate` (else the caller is anonymous or a token)."""
    if certificate:
        return endpoint.ssl_context()
    context = ssl.create_default_context(cafile=endpoint.ca_file)
    context.set_alpn_protocols(["http/1.1"])
    return context


async def connect_many(endpoint: Endpoint, count: int, token: str = "") -> list[BenchConnection]:
    """`count` connections: the admin certificate without a token, the token (and no certificate) with one."""
    context = client_context(endpoint, certificate=not token)
    slots = asyncio.Semaphore(16)

    async def one() -> BenchConnection:
        async with slots:
            return await BenchConnection.connect(endpoint, context, token)

    return list(await asyncio.gather(*(one() for _ in range(count))))


def namespace_body(name: str) -> bytes:
    return orjson.dumps({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})


async def call(connection: BenchConnection, method: str, path: str, body: bytes = b"", expect: int = 200,
               content_type: str = "application/json") -> bytes:
    status, _, payload = await connection.exchange(method, path, body, content_type)
    if status != expect:
        raise RuntimeError(f"{method} {path}: HTTP {status} {payload[:300]!r}")
    return payload


async def create_namespaces(endpoint: Endpoint, names: Sequence[str], timeout: float = 60.0) -> None:
    """Create each namespace and wait for its `default` ServiceAccount (pods are refused until it exists)."""
    connection = (await connect_many(endpoint, 1))[0]
    try:
        for name in names:
            await call(connection, "POST", "/api/v1/namespaces", namespace_body(name), 201)
        deadline = time.monotonic() + timeout
        for name in names:
            while (await connection.exchange("GET", f"/api/v1/namespaces/{name}/serviceaccounts/default"))[0] != 200:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no default ServiceAccount in {name} after {timeout:.0f} s")
                await asyncio.sleep(0.1)
    finally:
        await connection.close()


async def service_account_token(endpoint: Endpoint, namespace: str) -> str:
    """A token for ServiceAccount `bench` in `namespace`, bound to cluster-admin (not a system:masters member)."""
    connection = (await connect_many(endpoint, 1))[0]
    account = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": BENCH_ACCOUNT}}
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": f"bench-{namespace}"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"kind": "ServiceAccount", "name": BENCH_ACCOUNT, "namespace": namespace}],
    }
    request = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
               "spec": {"expirationSeconds": 86400}}
    accounts = f"/api/v1/namespaces/{namespace}/serviceaccounts"
    try:
        await call(connection, "POST", accounts, orjson.dumps(account), 201)
        await call(connection, "POST", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
                   orjson.dumps(binding), 201)
        answer = await call(connection, "POST", f"{accounts}/{BENCH_ACCOUNT}/token", orjson.dumps(request), 201)
    finally:
        await connection.close()
    return str(orjson.loads(answer)["status"]["token"])


class TolerantBalancer(Balancer):
    """tests/support/cluster.py's HAProxy with a health check that survives a busy replica.

    The tests' check (every 300 ms, its timeout the interval, down after 2 failures, sessions shut down) marks
    both replicas down as soon as load pushes /readyz past 300 ms, and cuts every client connection: the
    benchmark would measure the check, not the servers. Here a check may take 5 s and three must fail.
    """

    def config(self) -> str:
        config = super().config()
        if TIGHT_CHECK not in config:
            print("warning: the balancer's health check changed; using it as it is", flush=True)
            return config
        return config.replace(TIGHT_CHECK, TOLERANT_CHECK).replace("defaults\n", "defaults\n    timeout check 5s\n", 1)


@dataclass(frozen=True, slots=True)
class ClusterStack:
    """The running cluster, its raw twin, and endpoints to each replica (`replicas`) and the balancer."""

    cluster: Cluster
    raw_etcd: EtcdCluster
    balancer: Endpoint
    replicas: tuple[Endpoint, ...]

    def pids(self) -> dict[str, int]:
        """Every process of the cluster by name: replicas, etcd members, the balancer."""
        found = {f"replica{index + 1}": replica.process.pid for index, replica in enumerate(self.cluster.replicas)
                 if replica.process is not None and replica.running}
        found |= {f"etcd-{member.name}": member.process.pid for member in self.cluster.etcd.members
                  if member.process is not None and member.running}
        if self.cluster.balancer.process is not None:
            found["haproxy"] = self.cluster.balancer.process.pid
        return found

    def replica_pid(self, index: int) -> int:
        process = self.cluster.replicas[index].process
        assert process is not None
        return process.pid

    async def raw_side(self) -> RawEtcdSide:
        """aetcd on the raw twin's leader."""
        return await RawEtcdSide.open(self.raw_etcd.leader().url)

    async def data_side(self) -> RawEtcdSide:
        """aetcd on the cluster's own etcd (reads only: a write would move the revision under the caches)."""
        return await RawEtcdSide.open(self.cluster.etcd.leader().url)


def _endpoint(host: str, port: int, ca_file: Path, credentials: tuple[Path, Path]) -> Endpoint:
    return Endpoint(host, port, str(ca_file), str(credentials[0]), str(credentials[1]))


@contextlib.asynccontextmanager
async def open_cluster(extra_args: Sequence[str] = (), raw: bool = True,
                       tight_check: bool = False) -> AsyncIterator[ClusterStack]:
    """Start the cluster (and the raw etcd twin); stop every process and remove the directory on the way out.

    Unless `tight_check`, the balancer is `TolerantBalancer`.
    """
    root = Path(tempfile.mkdtemp(prefix="pilothouse-clusterbench-"))
    # Each replica its own host name, as on separate machines: the controllers' Lease then names its holder.
    cluster = Cluster(root / "cluster", extra_args=extra_args,
                      replica_args=lambda index: ("--hostname-override", f"replica{index}"))
    if not tight_check:
        cluster.balancer = TolerantBalancer(cluster.root, cluster.replicas)
    raw_etcd = EtcdCluster(root / "raw-etcd", 3)
    try:
        await asyncio.to_thread(cluster.start, CLUSTER_START_TIMEOUT)
        if raw:
            await asyncio.to_thread(raw_etcd.start)
        credentials = cluster.admin_credentials()
        yield ClusterStack(
            cluster, raw_etcd, _endpoint("127.0.0.1", cluster.balancer.port, cluster.ca_file, credentials),
            tuple(_endpoint(replica.host, replica.port, cluster.ca_file, credentials)
                  for replica in cluster.replicas),
        )
    finally:
        await asyncio.to_thread(cluster.stop)
        await asyncio.to_thread(raw_etcd.stop)
        shutil.rmtree(root, ignore_errors=True)
