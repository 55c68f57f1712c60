"""Lifecycle: everything the server runs besides answering requests, started and stopped in a fixed order.

start(): start the services (the audit log writer), open storage (retrying while it is unreachable, like
kube-apiserver waiting for etcd), then start the registry (the watch caches, listed at one revision) when there
is one, at the revision of the storage's start-up snapshot when it has one (storage/startup.py: read while the
process started, so the caches fill from memory; released once they have), then run each post-start hook in
order (the storage compactor, the system namespaces, the bootstrap RBAC policy), then start the runners (the
controllers, which need everything before them), then report started.
begin_shutdown(): synchronous; /readyz's `shutdown` check fails from here on and `stopping` is set, so
long-running streams (watches) can end.
stop(): stop the runners, then the hooks in reverse order, then the registry, then close storage, then stop the
services (so the audit log records every request served until the end). Safe after a partial or failed start.

Storage start-up: kube-apiserver keeps retrying etcd while it comes up, with /readyz failing meanwhile; here the
wait is bounded by `storage_start_timeout` (settings.STORAGE_START_TIMEOUT, 60 s by default) so a wrong
`--etcd-servers` ends in one clear error and exit code 1 instead of a server that never becomes ready.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Protocol

from apiserver.meta.errors import ServiceUnavailable
from apiserver.storage.backends import StorageOptions, open_storage
from apiserver.storage.compactor import Compactor
from apiserver.storage.errors import StorageUnavailable
from apiserver.storage.interface import Storage

logger = logging.getLogger(__name__)

STORAGE_RETRY_SECONDS = 1.0
MIN_CHECK_SECONDS = 0.1
# How long the controllers wait for the watch caches to show what the post-start hooks wrote.
RUNNER_CATCH_UP_SECONDS = 5.0


class StorageStartError(Exception):
    """Storage did not become reachable within the start-up timeout."""


class PostStartHook(Protocol):
    """One step run after storage is open, reported as `poststarthook/<name>` in the health checks.

    `start` must return once the step is done (it may leave a task running, owned by the hook); `stop` must
    end whatever `start` left running and be safe to call when `start` never ran or failed.
    """

    name: str

    async def start(self, storage: Storage) -> None:
        """Do the step; raising aborts the server start."""
        ...

    async def stop(self) -> None:
        """Undo what `start` left running. Idempotent."""
        ...


class ServedRegistry(Protocol):
    """The part of the Registry the lifecycle drives (apiserver.registry.stores.Registry)."""

    async def start(self, revision: int = 0) -> None:
        """Start filling the watch caches (listed at `revision`, else at the current one) and following storage."""
        ...

    async def wait_ready(self, timeout: float) -> None:
        """Return once every watch cache serves; raise after `timeout` seconds."""
        ...

    async def stop(self) -> None:
        """Stop following storage. Idempotent."""
        ...

    async def wait_caught_up(self, timeout: float) -> bool:
        """Wait until every watch cache has applied the storage's current revision; False after `timeout`."""
        ...

    def is_ready(self) -> bool:
        """Whether every watch cache has synced."""
        ...


class Service(Protocol):
    """Something that runs for the whole life of the server, independent of storage, with no health check."""

    async def start(self) -> None: ...

    async def stop(self) -> None:
        """Idempotent; safe when `start` never ran."""
        ...


RegistryFactory = Callable[[Storage], ServedRegistry]


class StorageHandle:
    """The storage once the lifecycle has opened it; checks and handlers reach storage through this."""

    def __init__(self) -> None:
        self._storage: Storage | None = None

    def get(self) -> Storage:
        """The open storage. Raises StorageUnavailable before start opened it or after stop closed it."""
        if self._storage is None:
            raise StorageUnavailable("storage is not open")
        return self._storage

    def set(self, storage: Storage | None) -> None:
        self._storage = storage


class CompactorHook:
    """Runs the compaction loop (for every backend: kine leaves compaction to its client, as etcd does)."""

    name = "start-storage-compactor"

    def __init__(self, interval: float) -> None:
        self._interval = interval
        self._compactor: Compactor | None = None

    async def start(self, storage: Storage) -> None:
        self._compactor = Compactor(storage, self._interval)
        self._compactor.start()

    async def stop(self) -> None:
        compactor, self._compactor = self._compactor, None
        if compactor is not None:
            await compactor.stop()


class Lifecycle:
    """Starts and stops storage and the post-start hooks; the `ServerLifecycle` of PilothouseServer."""

    def __init__(
        self,
        *,
        storage_options: StorageOptions,
        storage_description: str,
        hooks: Sequence[PostStartHook] = (),
        storage_start_timeout: float = 60.0,
        progress: Callable[[str], None] = lambda line: None,
        registry_factory: RegistryFactory | None = None,
        storage_wrapper: Callable[[Storage], Storage] = lambda storage: storage,
        services: Sequence[Service] = (),
        runners: Sequence[Service] = (),
    ) -> None:
        self.storage = StorageHandle()
        self.services = tuple(services)
        self.runners = tuple(runners)  # run while the server is fully up; no health check of their own
        self._storage_wrapper = storage_wrapper
        self._registry_factory = registry_factory
        self._registry: ServedRegistry | None = None
        self.hooks = tuple(hooks)
        self.stopping = asyncio.Event()
        self._storage_options = storage_options
        self._storage_description = storage_description
        self._storage_start_timeout = storage_start_timeout
        self._progress = progress
        self._finished_hooks: set[str] = set()
        self._started = False
        self._shutting_down = False

    @property
    def is_started(self) -> bool:
        """True once start() has finished successfully."""
        return self._started

    @property
    def is_shutting_down(self) -> bool:
        return self._shutting_down

    def has_finished(self, hook_name: str) -> bool:
        return hook_name in self._finished_hooks

    @property
    def registry(self) -> ServedRegistry:
        """The started registry. Raises ServiceUnavailable before start() started it or after stop()."""
        if self._registry is None:
            raise ServiceUnavailable("the server is not ready to serve resources")
        return self._registry

    @property
    def has_registry(self) -> bool:
        """Whether this lifecycle runs a registry at all."""
        return self._registry_factory is not None

    def is_registry_ready(self) -> bool:
        """Whether the registry runs and its caches have synced (False when the server has none)."""
        return self._registry is not None and self._registry.is_ready()

    async def start(self) -> None:
        """Open storage, start the registry, then run the hooks in order.

        Raises StorageStartError or whatever a step raised.
        """
        for service in self.services:
            await service.start()
        storage = await self._open_storage()
        self.storage.set(storage)
        self._progress(f"storage: {self._storage_description}")
        if self._registry_factory is not None:
            self._registry = self._registry_factory(storage)
            await self._registry.start(await self._snapshot_revision())
            await self._registry.wait_ready(self._storage_start_timeout)
        self._release_snapshot()
        for hook in self.hooks:
            await hook.start(storage)
            self._finished_hooks.add(hook.name)
        if self.runners and self._registry is not None:
            await self._registry.wait_caught_up(RUNNER_CATCH_UP_SECONDS)
        for runner in self.runners:
            await runner.start()
        self._started = True

    def begin_shutdown(self) -> None:
        self._shutting_down = True
        self.stopping.set()

    async def stop(self) -> None:
        self.begin_shutdown()
        self._release_snapshot()
        for runner in reversed(self.runners):
            await runner.stop()
        for hook in reversed(self.hooks):
            await hook.stop()
        self._finished_hooks.clear()
        self._started = False
        registry, self._registry = self._registry, None
        if registry is not None:
            await registry.stop()
        try:
            storage = self.storage.get()
        except StorageUnavailable:
            storage = None
        if storage is not None:
            self.storage.set(None)
            await storage.close()
        for service in reversed(self.services):
            await service.stop()

    async def _snapshot_revision(self) -> int:
        """The start-up snapshot's revision once it is read; 0 (list at the current revision) without one."""
        snapshot = self._storage_options.startup_snapshot
        if snapshot is None:
            return 0
        return await snapshot.wait(self._storage_start_timeout)

    def _release_snapshot(self) -> None:
        if self._storage_options.startup_snapshot is not None:
            self._storage_options.startup_snapshot.release()

    async def _open_storage(self) -> Storage:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._storage_start_timeout
        try:
            opened = await asyncio.wait_for(open_storage(self._storage_options), self._storage_start_timeout)
            storage = self._storage_wrapper(opened)
        except TimeoutError:
            raise self._unreachable("opening timed out") from None
        self.storage.set(storage)  # the `etcd` health check reports the real error while waiting
        waiting = False
        while True:
            try:
                await asyncio.wait_for(storage.check(), max(deadline - loop.time(), MIN_CHECK_SECONDS))
                return storage
            except (StorageUnavailable, TimeoutError) as error:
                if loop.time() >= deadline:
                    self.storage.set(None)
                    await storage.close()
                    raise self._unreachable(str(error) or "timed out") from None
                if not waiting:
                    self._progress(f"storage: waiting for {self._storage_description} ({error or 'timed out'})")
                    waiting = True
            await asyncio.sleep(min(STORAGE_RETRY_SECONDS, max(0.0, deadline - loop.time())))

    def _unreachable(self, reason: str) -> StorageStartError:
        return StorageStartError(
            f"storage {self._storage_description} unreachable after {self._storage_start_timeout:g}s: {reason}"
        )
