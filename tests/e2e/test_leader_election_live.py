"""Two live replicas on one etcd (the session's, one --etcd-prefix): each keeps its identity Lease, exactly one
holds the controller-manager Lease, and when the leader is killed (SIGKILL, no release) the other takes over
within the lease duration (plus the candidates' retry periods) and finishes a namespace deletion the dead
leader had started.

The helpers (`start_replicas`, `lease_holder`, `wait_for_holder`) are meant for tests/cluster too."""
from __future__ import annotations

import json
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from apiserver.server.identity_lease import apiserver_identity
from tests.support.etcd import EtcdProcess
from tests.support.server import ServerProcess

pytestmark = pytest.mark.slow

LEASE, RENEW, RETRY = 4.0, 3.0, 0.5
ELECTION_FLAGS = ("--leader-elect-lease-duration", f"{LEASE:g}s", "--leader-elect-renew-deadline", f"{RENEW:g}s",
                  "--leader-elect-retry-period", f"{RETRY * 1000:g}ms")
CONTROLLER_LEASE = "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-controller-manager"
HOLD = "pilothouse.test/hold"


def start_replicas(root: Path, names: tuple[str, ...], etcd_servers: str, prefix: str,
                   extra_args: tuple[str, ...] = ELECTION_FLAGS) -> list[ServerProcess]:
    """Start one replica per name (its --hostname-override) on one etcd prefix, one after the other; every
    replica gets the first one's PKI, so one CA and one ServiceAccount key serve them all."""
    replicas: list[ServerProcess] = []
    for name in names:
        data_dir = root / name
        if replicas:
            shutil.copytree(replicas[0].data_dir / "pki", data_dir / "pki")
        process = ServerProcess(data_dir, storage_backend="etcd3", etcd_servers=etcd_servers,
                                extra_args=["--etcd-prefix", prefix, "--hostname-override", name, *extra_args])
        replicas.append(process)
        process.start()
    return replicas


def call(process: ServerProcess, method: str, path: str, body: Any = None,
         content_type: str = "application/json") -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    status, _, answer = process.request(method, path, client_cert=True, body=data,
                                        headers={"Content-Type": content_type} if data else None)
    return status, json.loads(answer) if answer else None


def lease_holder(process: ServerProcess) -> str:
    """The holderIdentity of the controller-manager Lease, read through `process` ("" when none)."""
    status, lease = call(process, "GET", CONTROLLER_LEASE)
    assert status == 200, lease
    return str(lease["spec"].get("holderIdentity") or "")


def wait_until(condition: Callable[[], bool], within: float, what: str) -> float:
    """Seconds until `condition()` holds; fails after `within`."""
    start = time.monotonic()
    while not condition():
        assert time.monotonic() - start < within, f"{what}: not within {within}s"
        time.sleep(0.05)
    return time.monotonic() - start


def wait_for_holder(process: ServerProcess, hostname: str, within: float) -> float:
    """Seconds until the controller-manager Lease names a candidate of `hostname` (`<hostname>_<uuid>`)."""
    return wait_until(lambda: lease_holder(process).startswith(f"{hostname}_"), within, f"{hostname} leading")


@pytest.fixture(scope="module")
def replicas(etcd: EtcdProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ServerProcess]]:
    root = tmp_path_factory.mktemp("leader-election")
    started: list[ServerProcess] = []
    try:
        started = start_replicas(root, ("replica-a", "replica-b"), etcd.url, f"/le-{uuid.uuid4().hex[:8]}")
        yield {"replica-a": started[0], "replica-b": started[1]}
    finally:
        for process in started:
            process.__exit__(None, None, None)


def live(replicas: dict[str, ServerProcess]) -> dict[str, ServerProcess]:
    return {name: process for name, process in replicas.items()
            if process.process is not None and process.process.poll() is None}


def test_each_replica_keeps_an_identity_lease_and_exactly_one_leads(replicas: dict[str, ServerProcess]) -> None:
    any_replica = next(iter(live(replicas).values()))
    status, leases = call(any_replica, "GET", "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases"
                                              "?labelSelector=apiserver.kubernetes.io%2Fidentity%3Dkube-apiserver")
    assert status == 200
    by_name = {item["metadata"]["name"]: item for item in leases["items"]}
    assert set(by_name) == {apiserver_identity("replica-a"), apiserver_identity("replica-b")}
    for hostname in replicas:
        lease = by_name[apiserver_identity(hostname)]
        assert lease["metadata"]["labels"]["kubernetes.io/hostname"] == hostname
        assert lease["spec"]["leaseDurationSeconds"] == 3600
    holder = lease_holder(any_replica)
    leaders = [name for name in live(replicas) if holder.startswith(f"{name}_")]
    assert len(leaders) == 1, holder
    assert all(lease_holder(process) == holder for process in live(replicas).values())  # one etcd, one answer


def test_killing_the_leader_hands_over_and_a_started_namespace_deletion_completes(
        replicas: dict[str, ServerProcess]) -> None:
    running = live(replicas)
    assert len(running) == 2
    holder = lease_holder(next(iter(running.values())))
    leader_name = next(name for name in running if holder.startswith(f"{name}_"))
    survivor_name = next(name for name in running if name != leader_name)
    leader, survivor = running[leader_name], running[survivor_name]
    namespace = f"handover-{uuid.uuid4().hex[:6]}"
    assert call(survivor, "POST", "/api/v1/namespaces", {"metadata": {"name": namespace}})[0] == 201
    held = {"metadata": {"name": "held", "finalizers": [HOLD]}, "data": {"k": "v"}}
    assert call(survivor, "POST", f"/api/v1/namespaces/{namespace}/configmaps", held)[0] == 201
    assert call(survivor, "DELETE", f"/api/v1/namespaces/{namespace}")[0] == 200
    held_path = f"/api/v1/namespaces/{namespace}/configmaps/held"
    # The leader's namespace controller has started: it deleted the content, which its finalizer keeps.
    wait_until(lambda: bool(call(survivor, "GET", held_path)[1]["metadata"].get("deletionTimestamp")), 20,
               "namespace content deletion")

    leader.kill()
    took = wait_for_holder(survivor, survivor_name, within=LEASE + 4.4 * RETRY + 10)
    assert took <= LEASE + 4.4 * RETRY + 2  # the lease duration plus at most two jittered retry periods
    assert call(survivor, "GET", CONTROLLER_LEASE)[1]["spec"]["leaseTransitions"] == 1  # one hand-over, no flapping

    patch = {"metadata": {"finalizers": None}}
    assert call(survivor, "PATCH", held_path, patch, "application/merge-patch+json")[0] == 200
    wait_until(lambda: call(survivor, "GET", f"/api/v1/namespaces/{namespace}")[0] == 404, 30,
               "namespace deletion finished by the new leader")
