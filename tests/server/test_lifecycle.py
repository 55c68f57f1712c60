"""Lifecycle and health checks in-process: the API app runs under any ASGI server, Daphne is not needed."""
from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from apiserver.endpoints.health import ENDPOINTS, HealthRegistry
from apiserver.server.assembly import build_server
from apiserver.server.config import ServerConfig
from apiserver.server.healthchecks import register_health_checks
from apiserver.server.lifecycle import CompactorHook, Lifecycle
from apiserver.storage.backends import StorageOptions
from apiserver.storage.errors import StorageUnavailable


def memory_lifecycle(lines: list[str] | None = None) -> Lifecycle:
    return Lifecycle(
        storage_options=StorageOptions(backend="memory"),
        storage_description="memory",
        hooks=[CompactorHook(300.0)],
        progress=(lines if lines is not None else []).append,
    )


async def failing(registry: HealthRegistry, endpoint: str) -> list[str]:
    return [check.name for check in registry.checks(endpoint) if await registry.run(endpoint, check) is not None]


async def test_start_opens_storage_then_runs_the_hooks() -> None:
    lines: list[str] = []
    lifecycle = memory_lifecycle(lines)
    await lifecycle.start()
    assert (lifecycle.is_started, lifecycle.has_finished("start-storage-compactor")) == (True, True)
    assert lines == ["storage: memory"]
    await lifecycle.stop()


async def test_stop_closes_storage_and_is_idempotent() -> None:
    lifecycle = memory_lifecycle()
    await lifecycle.start()
    await lifecycle.stop()
    await lifecycle.stop()
    with pytest.raises(StorageUnavailable):
        lifecycle.storage.get()
    assert lifecycle.is_shutting_down and lifecycle.stopping.is_set()


async def test_stop_without_start_is_safe() -> None:
    lifecycle = memory_lifecycle()
    await lifecycle.stop()
    assert not lifecycle.is_started


def test_checks_are_registered_with_upstream_names_per_endpoint() -> None:
    registry = HealthRegistry()
    register_health_checks(registry, memory_lifecycle())
    names = {endpoint: [check.name for check in registry.checks(endpoint)] for endpoint in ENDPOINTS}
    hooks_and_storage = ["ping", "log", "etcd"]
    assert names["healthz"] == [*hooks_and_storage, "poststarthook/start-storage-compactor"]
    assert names["livez"] == [*hooks_and_storage, "poststarthook/start-storage-compactor"]
    assert names["readyz"] == [
        *hooks_and_storage, "etcd-readiness", "informer-sync", "poststarthook/start-storage-compactor", "shutdown"
    ]


async def test_readiness_follows_start_and_shutdown() -> None:
    registry = HealthRegistry()
    lifecycle = memory_lifecycle()
    register_health_checks(registry, lifecycle)
    assert await failing(registry, "readyz") == [
        "etcd", "etcd-readiness", "informer-sync", "poststarthook/start-storage-compactor"
    ]
    await lifecycle.start()
    assert await failing(registry, "readyz") == []
    lifecycle.begin_shutdown()
    assert await failing(registry, "readyz") == ["shutdown"]
    assert await failing(registry, "livez") == []
    await lifecycle.stop()


async def test_built_server_answers_over_plain_asgi(tmp_path: Path) -> None:
    server = build_server(ServerConfig(data_dir=tmp_path, storage_backend="memory"))
    transport = httpx.ASGITransport(app=server.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://apiserver") as client:
        # Anonymous until RBAC is bootstrapped: nothing grants /readyz yet.
        assert (await client.get("/readyz")).status_code == 403
        await server.lifecycle.start()
        ready = await client.get("/readyz", params={"verbose": ""})
        assert (ready.status_code, ready.text.splitlines()[-1]) == (200, "readyz check passed")
        assert (await client.get("/version")).json()["minor"] == "32"
    await server.lifecycle.stop()


async def test_disabled_compaction_runs_no_hook(tmp_path: Path) -> None:
    server = build_server(ServerConfig(data_dir=tmp_path, storage_backend="memory", etcd_compaction_interval=0))
    assert [hook.name for hook in server.lifecycle.hooks] == [
        "bootstrap-system-namespaces", "rbac/bootstrap-roles", "start-service-ip-repair-controllers",
        "bootstrap-controller", "scheduling/bootstrap-system-priority-classes",
        "start-cluster-authentication-info-controller", "bootstrap-cluster-info",
        "start-kube-apiserver-identity-lease-controller", "start-kube-apiserver-identity-lease-garbage-collector",
        "start-kube-aggregator-informers", "apiservice-status-local-available-controller",
        "apiservice-status-remote-available-controller", "apiservice-registration-controller",
        "apiservice-discovery-controller", "kube-apiserver-autoregistration",
    ]
    assert "poststarthook/start-storage-compactor" not in [check.name for check in server.health.checks("readyz")]
