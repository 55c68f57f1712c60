"""The controller manager's shared informers: one Informer per resource and view for every running controller.

The shape of kube-controller-manager's SharedInformerFactory and its metadata-only twin (client-go's
`informers.NewSharedInformerFactory`, `metadatainformer.NewSharedInformerFactory`): a resource is listed and
watched once however many controllers read it, each controller adding its own handler, so one copy of every
object is held (a decoded pod costs several times its stored size). The garbage collector asks for the
metadata view, which caches PartialObjectMetadata only.

Unlike upstream's factory, whose informers live as long as the process, an informer here runs while some
controller holds it: it starts with the first `acquire` and stops (dropping its cache) with the last `release`,
so a replica that loses the leader election holds no copy of what only the elected controllers read.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from apiserver.client.client import ApiClient, Resource
from apiserver.client.informer import Informer, MetadataOnlyTransport
from apiserver.client.transports import Transport

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class _Shared:
    informer: Informer
    task: asyncio.Task[None]
    holders: int = 0


class InformerFactory:
    """Hands out running informers by (resource, view); every list and watch reads through `transport`.

    `acquire` starts an informer unless one for the same resource and view runs already, and counts a holder;
    `release` un-counts one and stops the informer with its last holder. Holders add and remove their own handlers
    (`Informer.add_handler` replays the cache, so a late holder sees what an early one saw). `stop` stops all.
    """

    def __init__(self, transport: Transport) -> None:
        self._clients = {False: ApiClient(transport), True: ApiClient(MetadataOnlyTransport(transport))}
        self._shared: dict[tuple[str, str, str, bool], _Shared] = {}

    def acquire(self, resource: Resource, *, metadata_only: bool = False) -> Informer:
        """The informer of `resource` (PartialObjectMetadata objects when `metadata_only`), started if need be."""
        # By group, version and plural: two controllers that declare one resource differently scoped (the path of
        # an all-namespaces list is the same) still share it.
        key = (resource.group, resource.version, resource.plural, metadata_only)
        shared = self._shared.get(key)
        if shared is None:
            view = "metadata" if metadata_only else "objects"
            informer = Informer(self._clients[metadata_only], resource, name=f"{resource.plural}/{view}")
            task = asyncio.create_task(informer.run(), name=f"informer-{resource.plural}.{resource.group}-{view}")
            shared = self._shared[key] = _Shared(informer, task)
            logger.info("informer_started", extra={"resource": resource.plural, "group": resource.group,
                                                   "view": view})
        shared.holders += 1
        return shared.informer

    async def release(self, informer: Informer) -> None:
        """One holder of `informer` is done with it; the last one stops it."""
        for key, shared in self._shared.items():
            if shared.informer is informer:
                shared.holders -= 1
                if shared.holders <= 0:
                    del self._shared[key]  # before awaiting: an acquire meanwhile starts a fresh informer
                    await _cancel(shared.task)
                    logger.info("informer_stopped", extra={"resource": key[2], "group": key[0]})
                return

    def running(self) -> list[tuple[Resource, bool]]:
        """(resource, metadata_only) of every running informer."""
        return [(shared.informer.resource, key[3]) for key, shared in self._shared.items()]

    async def stop(self) -> None:
        shared, self._shared = list(self._shared.values()), {}
        for entry in shared:
            await _cancel(entry.task)


async def _cancel(task: asyncio.Task[None]) -> None:
    # asyncio.wait, not `await task`: the informer's cancellation must not be mistaken for the caller's own.
    task.cancel()
    await asyncio.wait({task})
    if not task.cancelled() and task.exception() is not None:
        logger.warning("informer_failed", extra={"informer": task.get_name(), "error": str(task.exception())})


class ControllerInformers(dict[Resource, Informer]):
    """What a controller's `start` receives: its informers by resource, plus the factory they came from, for a
    controller that acquires informers of its own as it runs (the garbage collector's monitors)."""

    def __init__(self, informers: dict[Resource, Informer], factory: InformerFactory) -> None:
        super().__init__(informers)
        self.factory = factory
