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

The two storage checks are rate limited as upstream's (kubernetes#112046, since 1.26): each reads storage at most
once per half of its timeout, with no burst, and a check in between answers with the outcome of the latest read
sent. A probe, a load balancer or the console's health history then costs storage nothing more. One deviation:
upstream's check that is due a read waits for it (a goroutine blocking on a ping); here that check starts the read
and, when the latest outcome is from a read sent within the check's timeout, answers with it at once, as the
checks around it do. On one event loop under overload that read took 36-51 ms, the tail of /readyz, though its
outcome is no fresher than what the checks just before and after it report (bench/cluster_overload.py;
docs/compatibility.md). A check whose latest outcome is older (nothing read yet, or probes 10 s apart) waits for
the read as upstream's does, so an infrequent probe never reports a stale outcome.
"""
from __future__ import annotations

import asyncio
import time
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


def storage_check(storage: StorageHandle, *, timeout: float = STORAGE_CHECK_TIMEOUT,
                  clock: Callable[[], float] = time.monotonic) -> Callable[[], Awaitable[None]]:
    return RateLimitedStorageCheck(storage, timeout=timeout, clock=clock).check


class RateLimitedStorageCheck:
    """One storage check: a read at most every `timeout / 2` seconds (see the module docstring), answered with the
    latest read's outcome while that read was sent within `timeout`; otherwise the check waits for the newest read.
    A read's outcome is recorded when it ends, also when no check waits for it."""

    def __init__(self, storage: StorageHandle, *, timeout: float, clock: Callable[[], float]) -> None:
        self._storage = storage
        self._timeout = timeout
        self._clock = clock
        self._next_read = float("-inf")
        self._latest_sent = float("-inf")
        self._latest_error: BaseException | None = None
        self._newest: asyncio.Future[None] | None = None  # the latest read started, until it is recorded

    async def check(self) -> None:
        storage = self._storage.get()  # before start-up opened storage (or after stop): that error, at once
        sent = self._clock()
        if sent >= self._next_read:
            self._next_read = sent + self._timeout / 2
            read = asyncio.ensure_future(asyncio.wait_for(storage.check(), self._timeout))
            read.add_done_callback(lambda done: self._record(sent, done))
            self._newest = read
        if sent - self._latest_sent > self._timeout and self._newest is not None:
            return await asyncio.shield(self._newest)
        if self._latest_error is not None:
            raise self._latest_error.with_traceback(None)

    def _record(self, sent: float, read: asyncio.Future[None]) -> None:
        if read is self._newest:
            self._newest = None
        if read.cancelled():  # only when the loop itself is going away
            return
        error = read.exception()  # retrieved here also when no check waits for this read
        if sent >= self._latest_sent:  # a slow read never overwrites what a later one found
            self._latest_sent, self._latest_error = sent, error


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
