"""One process cluster for the whole package: 3 etcd members, 2 replicas, HAProxy in front (tests/support/cluster.py).

Fault tests break it and `healthy_cluster` (autouse) brings every killed or paused member and replica back before
the next test, so one start-up (about 6 s) serves every test of the package.
"""
from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.cluster.streams import Api
from tests.support.cluster import Cluster

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "apiserver.settings")

# Short leases so a killed controller leader is replaced in seconds (part A's flags, kube-controller-manager's names).
LEADER_ELECTION_FLAGS = ("--leader-elect-lease-duration", "4s", "--leader-elect-renew-deadline", "3s",
                         "--leader-elect-retry-period", "500ms")


def serve_flags() -> set[str]:
    from apiserver.server.config import SERVE_FLAGS

    return {flag.name for flag in SERVE_FLAGS}


def leader_election_flags() -> tuple[str, ...]:
    """The leader-election flags when this build has them (empty otherwise)."""
    return LEADER_ELECTION_FLAGS if "leader-elect-lease-duration" in serve_flags() else ()


def replica_identity(index: int) -> tuple[str, ...]:
    """Replicas share one host: each gets its own hostname for its identity Lease and leader-election identity."""
    return ("--hostname-override", f"replica{index}") if "hostname-override" in serve_flags() else ()


@pytest.fixture(scope="package")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    process_cluster = Cluster(tmp_path_factory.mktemp("cluster"), extra_args=leader_election_flags(),
                              replica_args=replica_identity)
    process_cluster.start()
    yield process_cluster
    process_cluster.stop()


@pytest.fixture(autouse=True)
def healthy_cluster(request: pytest.FixtureRequest) -> None:
    """Before each test that uses the cluster: every killed or paused process back, the etcd cluster healthy."""
    if {"cluster", "apis"} & set(request.fixturenames):
        request.getfixturevalue("cluster").heal()


@pytest.fixture(scope="package")
def apis(cluster: Cluster) -> Iterator[dict[str, Api]]:
    """Admin clients: "lb" through the balancer (a connection per request, so requests alternate between the
    replicas), and one per replica by its host ("127.0.0.1", "127.0.0.2")."""
    credentials = cluster.admin_credentials()
    clients = {"lb": Api(cluster.url, cluster.ca_file, credentials, keep_alive=False)}
    clients.update({replica.host: Api(replica.url, cluster.ca_file, credentials) for replica in cluster.replicas})
    yield clients
    for client in clients.values():
        client.close()
