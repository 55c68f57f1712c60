"""The health checks of /healthz, /livez and /readyz, with kube-apiserver's names.

| name                 | healthz | livez | readyz | passes when                                              |
|----------------------|---------|-------|--------|----------------------------------------------------------|
| ping                 | yes     | yes   | yes    | always                                                   |
| log                  | yes     | yes   | yes    | logging works                                            |
| etcd                 | yes     | yes   | yes    | storage answers a trivial read (every backend)           |
| etcd-readiness       |         |       | yes    | the same, as upstream's separate readiness check         |
| informer-sync        |         |       | yes    | the registry's watch caches have synced                  |
| poststarthook/<hook> | yes     | yes   | yes    | that hook of `Lifecycle.hooks` has finished              |
| shutdown             |         |       | yes    | no termination signal has arrived                        |

Post-start hooks carry upstream names only when they do what upstream's hook does: `start-storage-compactor`
(ours: upstream compacts inside its etcd3 storage factory, without a hook) and `bootstrap-system-namespaces`
(ours: created once, where upstream's start-system-namespaces-controller keeps them). During
--livez-grace-period, /livez counts unfinished post-start hooks as passing.
"""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from apiserver.endpoints.health import LOG, PING, FunctionCheck, HealthRegistry
from apiserver.server.lifecycle import Lifecycle, StorageHandle

STORAGE_CHECK_TIMEOUT = 2.0  # kube-apiserver's --etcd-healthcheck-timeout and --etcd-readycheck-timeout


def register_health_checks(registry: HealthRegistry, lifecycle: Lifecycle) -> None:
    """Register every check above, in upstream's order (the order of `?verbose` output)."""
    readyz_only = {"healthz": False, "livez": False, "readyz": True}
    registry.register(PING)
    registry.register(LOG)
    registry.register(FunctionCheck("etcd", storage_check(lifecycle.storage)))
    registry.register(FunctionCheck("etcd-readiness", storage_check(lifecycle.storage)), **readyz_only)
    registry.register(FunctionCheck("informer-sync", informer_sync_check(lifecycle)), **readyz_only)
    for hook in lifecycle.hooks:
        check = FunctionCheck(f"poststarthook/{hook.name}", hook_check(lifecycle, hook.name))
        registry.register(check, post_start_hook=True)
        for boot_check in getattr(hook, "boot_sequence_checks", ()):  # upstream's AddBootSequenceHealthChecks
            registry.register(boot_check, livez=False)
    registry.register(FunctionCheck("shutdown", shutdown_check(lifecycle)), **readyz_only)


def storage_check(storage: StorageHandle) -> Callable[[], Awaitable[None]]:
    async def check() -> None:
        await asyncio.wait_for(storage.get().check(), STORAGE_CHECK_TIMEOUT)

    return check


def started_check(lifecycle: Lifecycle) -> Callable[[], Awaitable[None]]:
    async def check() -> None:
        if not lifecycle.is_started:
            raise RuntimeError("server start-up has not finished")

    return check


def informer_sync_check(lifecycle: Lifecycle) -> Callable[[], Awaitable[None]]:
    """The registry's caches have synced; a lifecycle without a registry passes once start-up has finished."""
    started = started_check(lifecycle)

    async def check() -> None:
        await started()
        if lifecycle.has_registry and not lifecycle.is_registry_ready():
            raise RuntimeError("watch caches have not synced")

    return check


def hook_check(lifecycle: Lifecycle, hook_name: str) -> Callable[[], Awaitable[None]]:
    async def check() -> None:
        if not lifecycle.has_finished(hook_name):
            raise RuntimeError("not finished")

    return check


def shutdown_check(lifecycle: Lifecycle) -> Callable[[], Awaitable[None]]:
    async def check() -> None:
        if lifecycle.is_shutting_down:
            raise RuntimeError("process is shutting down")

    return check
