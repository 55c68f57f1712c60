"""build_server: the API server assembled from a ServerConfig — health, lifecycle, router and filter chain.

The result is a plain ASGI app plus the lifecycle that must be started before it is ready; nothing here knows
about Daphne, so the same assembly runs under any ASGI server.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from apiserver.endpoints.health import HealthRegistry
from apiserver.endpoints.router import build_router
from apiserver.endpoints.version import build_version_info
from apiserver.filters.chain import build_chain
from apiserver.http.asgi import ASGIApp
from apiserver.server.config import ServerConfig
from apiserver.server.healthchecks import register_health_checks
from apiserver.server.lifecycle import CompactorHook, Lifecycle, PostStartHook
from apiserver.storage.backends import StorageOptions


@dataclass(frozen=True, slots=True)
class ApiServer:
    """The API app and what it needs running. `lifecycle.start()` must finish before /readyz passes."""

    app: ASGIApp
    lifecycle: Lifecycle
    health: HealthRegistry


def build_server(config: ServerConfig, *, progress: Callable[[str], None] = lambda line: None) -> ApiServer:
    """Assemble the server; opens nothing (storage is opened by `lifecycle.start()`)."""
    lifecycle = Lifecycle(
        storage_options=storage_options(config),
        storage_description=describe_storage(config),
        hooks=post_start_hooks(config),
        storage_start_timeout=config.storage_start_timeout,
        progress=progress,
    )
    health = HealthRegistry(livez_grace_period=config.livez_grace_period, clock=time.monotonic)
    register_health_checks(health, lifecycle)
    health.mark_started()  # --livez-grace-period counts from here
    app = build_chain(build_router(health=health, version=build_version_info()))
    return ApiServer(app=app, lifecycle=lifecycle, health=health)


def storage_options(config: ServerConfig) -> StorageOptions:
    return StorageOptions(
        backend=config.storage_backend,
        sqlite_path=str(config.sqlite_path),
        etcd_servers=config.etcd_servers,
        etcd_cafile=config.etcd_cafile,
        etcd_certfile=config.etcd_certfile,
        etcd_keyfile=config.etcd_keyfile,
    )


def describe_storage(config: ServerConfig) -> str:
    if config.storage_backend == "sqlite":
        return f"sqlite {config.sqlite_path}"
    if config.storage_backend == "etcd3":
        return f"etcd3 {','.join(config.etcd_servers)} (prefix {config.etcd_prefix})"
    return config.storage_backend


def post_start_hooks(config: ServerConfig) -> list[PostStartHook]:
    hooks: list[PostStartHook] = []
    if config.etcd_compaction_interval > 0:
        hooks.append(CompactorHook(config.etcd_compaction_interval))
    return hooks
