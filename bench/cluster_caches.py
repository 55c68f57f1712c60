"""Caches: N 2.2 KB pods held in both replicas' watch caches; memory against their size, cold start against etcd.

- The pods name a live owner (a ConfigMap per namespace, which no controller manages): with the template's
  ReplicaSet, which does not exist, the controller leader's garbage collector deletes every pod, as upstream's
  does (gracefully: with no kubelet they stay, terminating), and at 100k it was still at it when replica 2 was
  restarted, taking a core from the restart being timed.
- Memory. Replica 2 is restarted before the dataset exists and after it is created: the difference of the two
  fresh RSS readings is what holding the pods costs (no garbage from creating them), divided by the pods'
  serialised size (the sum of their values in etcd). Target <= 3x. The replicas that created the dataset are
  reported too (their growth includes the heap the create traffic left behind).
- Cold start. The same restarts, RESTARTS of each, timed from launch to the server's `ready` line (printed when
  start-up has finished, /readyz passing from then on: informer-sync means every watch cache has listed). The
  difference of the fastest with and without the pods is the time the dataset adds, compared with the fastest of
  RAW_REPS raw aetcd range reads of the same pods on the same etcd cluster (the same statistic on both sides: one
  restart against the best raw read swung the ratio by 0.5 on this box), read once the cluster is idle again
  like the restarts (read right after the last restart, the best of three took 77-237 ms over five runs).
  Target <= 1.5x. The whole restart is reported beside it. On etcd a starting replica reads every stored object
  on a thread from the moment it has parsed its flags (apiserver/storage/startup.py), so etcd's part of the fill
  overlaps the rest of start-up; the difference counts what the pods still add to the time to ready.
- Replica 1 leads the controllers before either set of restarts (`lead_from_replica_1`): when replica 2 led, the
  first timed restart handed the lease to replica 1, whose controllers then started over every pod during the
  restarts being timed (9.5 s of its CPU at 100k pods).
"""
from __future__ import annotations

import asyncio
import time

import orjson

from bench.api_client import Endpoint
from bench.api_load import Pids, create_job
from bench.api_workload import ESTIMATED, pod_name, pods_path
from bench.cluster_churn import row
from bench.cluster_jobs import spawn
from bench.cluster_stack import ClusterStack, call, connect_many, create_namespaces, rss_bytes
from bench.measure import Result, process_cpu_seconds
from bench.sides import RawEtcdSide
from tests.support.cluster import Replica

NAMESPACES = [f"cache{index}" for index in range(10)]
CREATE_CONNECTIONS = 64
OWNER = "bench-owner"
NODE_BODY = b'{"apiVersion":"v1","kind":"Node","metadata":{"name":"node-1"}}'
RESTART_TIMEOUT = 600.0
CATCH_UP_TIMEOUT = 300.0
RAW_REPS = 3
RESTARTS = 3
CONTROLLER_LEASE = "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-controller-manager"
LEADER_TIMEOUT = 120.0
READY_POLL = 0.002
QUIET_TIMEOUT = 180.0


def restart_seconds(stack: ClusterStack, index: int) -> float:
    """Stop replica `index` (SIGTERM) and start it again, RESTARTS times; the fastest launch to its `ready` line."""
    replica = stack.cluster.replicas[index]
    best = float("inf")
    for _ in range(RESTARTS):
        replica.stop(30)
        began = time.perf_counter()
        replica.launch()
        best = min(best, announced(replica, began + RESTART_TIMEOUT) - began)
        replica.wait_ready(RESTART_TIMEOUT)  # and /readyz answers 200
    return best


def announced(replica: Replica, deadline: float) -> float:
    """When `serve` printed `ready` (start-up finished: /readyz passes from then on), seen in its output every
    READY_POLL seconds: ServerProcess polls /readyz only every 50 ms, coarse against a 0.1 s difference."""
    output = replica.data_dir / "serve.stdout"
    while time.perf_counter() < deadline:
        if b"\nready\n" in b"\n" + output.read_bytes():
            return time.perf_counter()
        if replica.process is not None and replica.process.poll() is not None:
            raise RuntimeError(f"replica exited with {replica.process.returncode}:\n{replica.output()}")
        time.sleep(READY_POLL)
    raise TimeoutError(f"replica did not print ready within {RESTART_TIMEOUT} s")


async def lead_from_replica_1(stack: ClusterStack) -> int:
    """Make replica 1 the controller leader (stop replica 2 until replica 1 holds the Lease, then start it again);
    returns how many times replica 2 had to be stopped (0 or 1)."""
    connection = (await connect_many(stack.replicas[0], 1))[0]
    replica = stack.cluster.replicas[1]
    stopped = False
    deadline = time.monotonic() + LEADER_TIMEOUT
    try:
        while True:
            status, _, payload = await connection.exchange("GET", CONTROLLER_LEASE)
            holder = str(orjson.loads(payload)["spec"].get("holderIdentity", "")) if status == 200 else ""
            if holder.startswith("replica1_"):
                return int(stopped)
            if holder.startswith("replica2_") and not stopped:
                await asyncio.to_thread(replica.stop, 30)
                stopped = True
            if time.monotonic() > deadline:
                raise TimeoutError(f"replica 1 did not take the controllers' Lease (holder {holder!r})")
            await asyncio.sleep(0.5)
    finally:
        await connection.close()
        if stopped:
            await asyncio.to_thread(replica.launch)
            await asyncio.to_thread(replica.wait_ready, RESTART_TIMEOUT)


async def caught_up(endpoint: Endpoint, count: int) -> None:
    """Wait until the replica's cache (resourceVersion=0 reads) holds the last pod of every namespace."""
    connection = (await connect_many(endpoint, 1))[0]
    deadline = time.monotonic() + CATCH_UP_TIMEOUT
    try:
        for index, namespace in enumerate(NAMESPACES):
            last = count - len(NAMESPACES) + index
            path = f"{pods_path(namespace)}/{pod_name(last)}?resourceVersion=0"
            while (await connection.exchange("GET", path))[0] != 200:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"replica {endpoint.host} did not cache {path}")
                await asyncio.sleep(0.2)
    finally:
        await connection.close()


async def raw_range(side: RawEtcdSide) -> tuple[float, int, int]:
    """The fastest of RAW_REPS unpaginated range reads of /registry/pods/: seconds, keys, value bytes."""
    best, keys, size = float("inf"), 0, 0
    for _ in range(RAW_REPS):
        began = time.perf_counter()
        response = await side.client.get_prefix(b"/registry/pods/")
        best = min(best, time.perf_counter() - began)
        keys, size = len(response.kvs), sum(len(kv.value) for kv in response.kvs)
    return best, keys, size


class OwnedPods:
    """ESTIMATED's pods with their ownerReference pointing at each namespace's live OWNER ConfigMap."""

    def __init__(self, owner_uids: dict[str, str]) -> None:
        self._owner_uids = owner_uids

    def body(self, name: str, namespace: str, stamp: float = 0.0) -> bytes:
        body = orjson.loads(ESTIMATED.body(name, namespace, stamp))
        body["metadata"]["ownerReferences"] = [{"apiVersion": "v1", "kind": "ConfigMap", "name": OWNER,
                                                "uid": self._owner_uids[namespace]}]
        return orjson.dumps(body)


async def create_dataset(stack: ClusterStack, count: int) -> float:
    await create_namespaces(stack.balancer, NAMESPACES)
    connection = (await connect_many(stack.balancer, 1))[0]
    owner_uids: dict[str, str] = {}
    try:
        await call(connection, "POST", "/api/v1/nodes", NODE_BODY, 201)  # pods bound to a missing node are collected
        for namespace in NAMESPACES:
            owner = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": OWNER}}
            created = await call(connection, "POST", f"/api/v1/namespaces/{namespace}/configmaps",
                                 orjson.dumps(owner), 201)
            owner_uids[namespace] = orjson.loads(created)["metadata"]["uid"]
    finally:
        await connection.close()
    # Straight to the replicas, half each: under this load HAProxy's 300 ms /readyz check times out, marks both
    # replicas down and cuts every session (see docs/benchmarks.md), which would end the run, not measure it.
    began = time.perf_counter()
    share = count // len(stack.replicas)
    shape = OwnedPods(owner_uids)
    jobs = [spawn(create_job, endpoint, Pids(stack.replica_pid(index)), shape, NAMESPACES, index * share, share,
                  CREATE_CONNECTIONS // len(stack.replicas)) for index, endpoint in enumerate(stack.replicas)]
    for job in jobs:
        run = await job.result(3600.0)
        if run.errors:
            raise RuntimeError(f"{run.errors} creates failed: {run.first_error}")
    return time.perf_counter() - began


def other_pids(stack: ClusterStack) -> dict[str, int]:
    """Every process of the cluster but the replica being restarted: replica 1 and the etcd members."""
    pids = {"replica 1": stack.replica_pid(0)}
    for member in stack.cluster.etcd.members:
        assert member.process is not None
        pids[member.name] = member.process.pid
    return pids


async def quiesce(stack: ClusterStack) -> float:
    """Wait until replica 1 and etcd are idle (under 5 % of a core for a second), up to QUIET_TIMEOUT: replica 1's
    controllers digest the create burst for a while, and a restart timed meanwhile measures that contention
    (0.9-1.3 s of replica 1's CPU during a 10k-pod restart), not the fill."""
    began = time.perf_counter()
    pids = other_pids(stack)
    while time.perf_counter() - began < QUIET_TIMEOUT:
        before = sum(process_cpu_seconds(pid) for pid in pids.values())
        await asyncio.sleep(1.0)
        if sum(process_cpu_seconds(pid) for pid in pids.values()) - before < 0.05:
            break
    return time.perf_counter() - began


async def caches_workload(stack: ClusterStack, count: int) -> list[Result]:
    print(f"caches: {count:,} pods", flush=True)
    moves = await lead_from_replica_1(stack)
    empty_seconds = await asyncio.to_thread(restart_seconds, stack, 1)
    empty_rss = rss_bytes(stack.replica_pid(1))
    grown_before = rss_bytes(stack.replica_pid(0))
    create_seconds = await create_dataset(stack, count)
    for endpoint in stack.replicas:
        await caught_up(endpoint, count)
    grown_after = rss_bytes(stack.replica_pid(0))
    moves += await lead_from_replica_1(stack)
    quiet_seconds = await quiesce(stack)
    others = {name: process_cpu_seconds(pid) for name, pid in other_pids(stack).items()}
    full_seconds = await asyncio.to_thread(restart_seconds, stack, 1)
    others = {name: process_cpu_seconds(pid) - others[name] for name, pid in other_pids(stack).items()}
    full_rss = rss_bytes(stack.replica_pid(1))
    raw_quiet_seconds = await quiesce(stack)  # the restarted replica's start-up traffic is over too
    side = await stack.data_side()
    try:
        range_seconds, keys, size = await raw_range(side)
    finally:
        await side.close()
    held, grown = full_rss - empty_rss, grown_after - grown_before
    detail = (f"{keys:,} pods, {size / 2**20:.1f} MiB serialised; fresh replica {empty_rss / 2**20:.0f} MiB empty,"
              f" {full_rss / 2**20:.0f} MiB with the pods; replica 1 (created them, {create_seconds:.0f} s):"
              f" +{grown / 2**20:.0f} MiB = {grown / size:.2f}x")
    results = [row(f"caches {count // 1000}k RSS / serialised", "MiB", held / 2**20, size / 2**20, "ours <= 3x raw",
                   "PASS" if held <= 3 * size else "FAIL", detail)]
    fill = full_seconds - empty_seconds
    detail = (f"restart to ready {empty_seconds:.2f} s without the pods, {full_seconds:.2f} s with them (best of"
              f" {RESTARTS});"
              f" raw range of the same {keys:,} keys {range_seconds * 1e3:.0f} ms (best of {RAW_REPS}, read after"
              f" {raw_quiet_seconds:.0f} s for the cluster to go idle); restarted"
              f" after {quiet_seconds:.0f} s for the cluster to go idle; replica 1 leading the controllers"
              f" ({moves} untimed restarts of replica 2 to move the lease there); CPU of the others during the"
              " restarts: "
              + ", ".join(f"{name} {seconds:.2f} s" for name, seconds in others.items()))
    results.append(row(f"caches {count // 1000}k cold start fill", "s", fill, range_seconds, "ours <= 1.5x raw",
                       "PASS" if fill <= 1.5 * range_seconds else "FAIL", detail))
    return results
