"""APIServer identity leases: the name derived from the host, the Lease a started server keeps in kube-system,
its renewal, and the garbage collector of expired ones."""
from __future__ import annotations

import base64
import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from apiserver.client.client import ApiClient
from apiserver.client.transports import InProcessTransport
from apiserver.controllers.leaderelection import LEASES
from apiserver.meta.errors import NotFound
from apiserver.registry.stores import Registry
from apiserver.server.identity_lease import (
    IdentityLeaseGCHook,
    IdentityLeaseHook,
    apiserver_identity,
    is_lease_expired,
)
from tests.controllers.test_serviceaccounts import ADMIN
from tests.server.security_harness import InMemoryServer, in_memory_server

JSONDict = dict[str, Any]
NOW = datetime(2026, 3, 1, 10, 0, 0, tzinfo=UTC)


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[InMemoryServer]:
    async with in_memory_server(tmp_path, leader_elect=False, hostname_override="node-a") as server:
        yield server


def admin(served: InMemoryServer) -> ApiClient:
    return ApiClient(InProcessTransport(served.server.app, ADMIN))


def registry_of(served: InMemoryServer) -> Registry:
    registry = served.server.lifecycle.registry
    assert isinstance(registry, Registry)
    return registry


def test_identity_is_upstreams_hash_of_hostname_and_component() -> None:
    # SHA-256 over 2-byte-length-prefixed "node-a" and "kube-apiserver"; 16 bytes as unpadded lower base32.
    digest = hashlib.sha256(b"\x00\x06node-a\x00\x0ekube-apiserver").digest()[:16]
    assert apiserver_identity("node-a") == "apiserver-" + base64.b32encode(digest).decode().rstrip("=").lower()
    assert apiserver_identity("node-a") == "apiserver-kcaaxytsc3gyd2kyybqqvf4bl4"
    assert apiserver_identity("node-b") != apiserver_identity("node-a")


async def test_a_started_server_keeps_its_identity_lease(served: InMemoryServer) -> None:
    name = apiserver_identity("node-a")
    lease = await admin(served).get(LEASES, name, namespace="kube-system")
    assert lease["metadata"]["labels"] == {"apiserver.kubernetes.io/identity": "kube-apiserver",
                                           "kubernetes.io/hostname": "node-a"}
    spec = lease["spec"]
    assert spec["holderIdentity"].startswith(f"{name}_") and len(spec["holderIdentity"]) == len(name) + 37
    assert spec["leaseDurationSeconds"] == 3600
    assert spec["renewTime"].endswith("Z") and len(spec["renewTime"]) == len("2026-03-01T10:00:00.000000Z")
    assert "acquireTime" not in spec


async def test_renewal_moves_renew_time_and_keeps_the_first_holder(served: InMemoryServer) -> None:
    name = apiserver_identity("node-a")
    before = await admin(served).get(LEASES, name, namespace="kube-system")
    restarted = IdentityLeaseHook(lambda: registry_of(served), hostname="node-a", clock=lambda: NOW)
    await restarted.sync()
    after = await admin(served).get(LEASES, name, namespace="kube-system")
    assert after["spec"] == {**before["spec"], "renewTime": "2026-03-01T10:00:00.000000Z"}
    assert after["metadata"]["uid"] == before["metadata"]["uid"]


def identity_lease(name: str, renew_time: str | None, *, duration: int | None = 3600,
                   labelled: bool = True) -> JSONDict:
    spec: JSONDict = {"holderIdentity": f"{name}_x"}
    if renew_time is not None:
        spec["renewTime"] = renew_time
    if duration is not None:
        spec["leaseDurationSeconds"] = duration
    labels = {"apiserver.kubernetes.io/identity": "kube-apiserver"} if labelled else {"other": "x"}
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": name, "namespace": "kube-system", "labels": labels}, "spec": spec}


async def test_the_collector_deletes_only_expired_identity_leases(served: InMemoryServer) -> None:
    client = admin(served)
    leases = [
        identity_lease("apiserver-expired", "2026-03-01T08:59:59.000000Z"),
        identity_lease("apiserver-fresh", "2026-03-01T09:30:00.000000Z"),
        identity_lease("apiserver-no-renew-time", None),
        identity_lease("apiserver-no-duration", "2026-03-01T09:30:00.000000Z", duration=None),
        identity_lease("not-an-identity", "2020-01-01T00:00:00.000000Z", labelled=False),
    ]
    for lease in leases:
        await client.create(LEASES, lease, namespace="kube-system")
    collector = IdentityLeaseGCHook(lambda: registry_of(served), clock=lambda: NOW)
    assert sorted(await collector.collect()) == ["apiserver-expired", "apiserver-no-duration",
                                                 "apiserver-no-renew-time"]
    for name in ("apiserver-fresh", "not-an-identity", apiserver_identity("node-a")):
        await client.get(LEASES, name, namespace="kube-system")
    with pytest.raises(NotFound):
        await client.get(LEASES, "apiserver-expired", namespace="kube-system")
    assert await collector.collect() == []


@pytest.mark.parametrize(
    ("spec", "expired"),
    [
        ({"renewTime": "2026-03-01T09:00:00.000000Z", "leaseDurationSeconds": 3600}, False),
        ({"renewTime": "2026-03-01T08:59:59.999999Z", "leaseDurationSeconds": 3600}, True),
        ({"leaseDurationSeconds": 3600}, True),
        ({"renewTime": "2026-03-01T09:59:00.000000Z"}, True),
    ],
    ids=["expires-exactly-now", "expired", "no-renew-time", "no-duration"],
)
def test_lease_expiry_follows_upstream(spec: JSONDict, expired: bool) -> None:
    assert is_lease_expired({"spec": spec}, lambda: NOW) is expired


def test_renew_interval_defaults_match_upstream() -> None:
    hook = IdentityLeaseHook(lambda: None, hostname="h")  # type: ignore[arg-type, return-value]
    assert (hook._interval, hook._duration) == (10.0, 3600)
    assert (hook.name, IdentityLeaseGCHook.name) == ("start-kube-apiserver-identity-lease-controller",
                                                     "start-kube-apiserver-identity-lease-garbage-collector")
