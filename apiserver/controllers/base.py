"""Controllers and what runs them: the Controller protocol, a de-duplicating work queue with exponential
backoff, and ControllerManager, the post-start hook that runs every controller through the public API (with
leader election, kube-controller-manager's controllers only while this replica holds the Lease: leaderelection.py).

Each controller acts as its own user (upstream's `--use-service-account-credentials`:
`system:serviceaccount:kube-system:<controller>`, bound by the bootstrap policy to
`system:controller:<controller>`), through an ApiClient over the in-process transport, so authentication,
authorization, admission and audit apply to everything it does. What controllers read comes from informers
the manager shares among them (informers.py: one list and watch per resource, as kube-controller-manager's
SharedInformerFactory), read as kube-controller-manager's own credential.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, Protocol

from apiserver.auth.user import SYSTEM_MASTERS, UserInfo, service_account_groups, service_account_username
from apiserver.client.client import ApiClient, Resource
from apiserver.client.informer import Handler, Informer
from apiserver.client.transports import InProcessTransport
from apiserver.controllers.informers import ControllerInformers, InformerFactory
from apiserver.controllers.leaderelection import LeaderElectionConfig, LeaderElector
from apiserver.http.asgi import ASGIApp
from apiserver.meta.tasks import cancel_and_wait

logger = logging.getLogger(__name__)

JSONDict = dict[str, Any]
CONTROLLER_NAMESPACE = "kube-system"
# Informers read as kube-controller-manager's own credential, as upstream's shared informer factory does.
CONTROLLER_MANAGER = UserInfo("system:kube-controller-manager")
# The API server's own loopback identity, as which upstream's in-server controllers (apiextensions', the
# aggregator's, the admission policy status controller) act.
LOOPBACK_USER = UserInfo("system:apiserver", groups=(SYSTEM_MASTERS, "system:authenticated"))
BASE_DELAY = 0.005
MAX_DELAY = 60.0


def controller_user(name: str) -> UserInfo:
    """The ServiceAccount identity a controller named `name` acts as."""
    return UserInfo(service_account_username(CONTROLLER_NAMESPACE, name),
                    groups=service_account_groups(CONTROLLER_NAMESPACE))


class Controller(Protocol):
    """A reconciler: `watches` are the resources whose events become keys through `keys_for`; `reconcile(key)`
    is idempotent, reads the informers, writes through the client, and raises to be retried with backoff.

    The client acts as `controller_user(name)`; a controller with a `user` attribute (a UserInfo) acts as that
    user instead (upstream's controllers that use the manager's root credential, like the token controller).
    """

    # Read-only members, so a controller may declare them as plain class attributes of narrower types (a tuple).
    @property
    def name(self) -> str: ...

    @property
    def workers(self) -> int: ...

    @property
    def watches(self) -> Sequence[Resource]: ...

    def keys_for(self, resource: Resource, event_type: str, obj: JSONDict) -> list[str]:
        """The work keys an event of `resource` produces (none to ignore it)."""
        ...

    async def start(self, client: ApiClient, informers: dict[Resource, Informer]) -> None:
        """Keep the client and informers; called once, before any reconcile."""
        ...

    async def reconcile(self, key: str) -> None: ...


class RequeueAfter(Exception):
    """Raised by `reconcile` to look at the key again after `delay` seconds (client-go's AddAfter): not a failure,
    so the key's backoff is reset. A controller may also have an `async def run(self)`: the runner starts it after
    `start` as a task of its own and cancels it on stop (for work that is not keyed by informer events)."""

    def __init__(self, delay: float) -> None:
        super().__init__(f"requeue after {delay:.3f}s")
        self.delay = delay


class WorkQueue:
    """Keys to process: a key waits at most once however often it is added, is never processed by two workers
    at once (added again while processing, it is processed again after), and `retry` re-adds it after
    `BASE_DELAY * 2**failures` seconds (capped at MAX_DELAY) until `forget` resets its count."""

    def __init__(self, *, base_delay: float = BASE_DELAY, max_delay: float = MAX_DELAY) -> None:
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._waiting: set[str] = set()
        self._processing: set[str] = set()
        self._dirty: set[str] = set()
        self._failures: dict[str, int] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._base_delay = base_delay
        self._max_delay = max_delay

    def add(self, key: str) -> None:
        if key in self._processing:
            self._dirty.add(key)
        elif key not in self._waiting:
            self._waiting.add(key)
            self._queue.put_nowait(key)

    async def get(self) -> str:
        key = await self._queue.get()
        self._waiting.discard(key)
        self._processing.add(key)
        return key

    def done(self, key: str) -> None:
        self._processing.discard(key)
        if key in self._dirty:
            self._dirty.discard(key)
            self.add(key)

    def retry(self, key: str) -> float:
        """Add `key` again after its backoff; returns the delay."""
        failures = self._failures.get(key, 0)
        self._failures[key] = failures + 1
        delay = min(self._base_delay * 2 ** failures, self._max_delay)
        if (pending := self._timers.pop(key, None)) is not None:
            pending.cancel()
        self._timers[key] = asyncio.get_running_loop().call_later(delay, self._fire, key)
        return delay

    def add_after(self, key: str, delay: float) -> None:
        """Add `key` once `delay` seconds have passed (at once when not positive); an earlier pending add wins."""
        if delay <= 0:
            self.add(key)
            return
        loop = asyncio.get_running_loop()
        pending = self._timers.get(key)
        if pending is not None and pending.when() <= loop.time() + delay:
            return
        if pending is not None:
            pending.cancel()
        self._timers[key] = loop.call_later(delay, self._fire, key)

    def _fire(self, key: str) -> None:
        self._timers.pop(key, None)
        self.add(key)

    def forget(self, key: str) -> None:
        self._failures.pop(key, None)

    def failures(self, key: str) -> int:
        return self._failures.get(key, 0)

    def __len__(self) -> int:
        return len(self._waiting)

    def shut_down(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()


class _Running:
    """One controller at work: its handlers on the shared informers, its queue and worker tasks."""

    def __init__(self, controller: Controller, client: ApiClient, factory: InformerFactory) -> None:
        self.controller = controller
        self.client = client
        self.queue = WorkQueue()
        self.factory = factory
        self.informers: dict[Resource, Informer] = {}
        self.handlers: list[tuple[Informer, Handler]] = []
        self.tasks: list[asyncio.Task[None]] = []

    def _handler(self, resource: Resource) -> Handler:
        def handle(event_type: str, obj: JSONDict) -> None:
            for key in self.controller.keys_for(resource, event_type, obj):
                self.queue.add(key)
        return handle

    async def start(self) -> None:
        try:
            await self._start()
        except BaseException:
            await self.stop()  # gives back the informers acquired so far
            raise

    async def _start(self) -> None:
        watched = dict.fromkeys(self.controller.watches)  # each once: one holder count per informer
        self.informers = {resource: self.factory.acquire(resource) for resource in watched}
        await self.controller.start(self.client, ControllerInformers(self.informers, self.factory))
        # Handlers only after `start`: keys_for may rely on what start keeps, and an informer that has listed
        # already replays its cache to a new handler at once.
        for resource, informer in self.informers.items():
            handler = self._handler(resource)
            informer.add_handler(handler)
            self.handlers.append((informer, handler))
        name = self.controller.name
        self.tasks = [asyncio.create_task(self._work(), name=f"{name}-worker-{index}")
                      for index in range(self.controller.workers)]
        run: Callable[[], Coroutine[Any, Any, None]] | None = getattr(self.controller, "run", None)
        if run is not None:
            self.tasks.append(asyncio.create_task(run(), name=f"{name}-run"))

    async def _work(self) -> None:
        for informer in list(self.informers.values()):
            await informer.wait_synced()
        while True:
            key = await self.queue.get()
            try:
                await self.controller.reconcile(key)
            except asyncio.CancelledError:
                raise
            except RequeueAfter as requeue:
                self.queue.forget(key)
                self.queue.add_after(key, requeue.delay)
            except Exception as error:
                delay = self.queue.retry(key)
                logger.warning("controller_sync_failed", extra={
                    "controller": self.controller.name, "key": key, "error": str(error), "retry_in": delay})
            else:
                self.queue.forget(key)
            finally:
                self.queue.done(key)

    async def stop(self) -> None:
        self.queue.shut_down()
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            try:
                await task
            except asyncio.CancelledError:
                pass
            except Exception as error:
                logger.warning("controller_task_failed", extra={"controller": self.controller.name,
                                                                "error": str(error)})
        self.tasks = []
        handlers, self.handlers = self.handlers, []
        for informer, handler in handlers:
            informer.remove_handler(handler)
        informers, self.informers = self.informers, {}
        for informer in informers.values():
            await self.factory.release(informer)


class ControllerManager:
    """A lifecycle runner (server/lifecycle.py): started after the post-start hooks (bootstrap done), stopped
    first (before the hooks, the registry and storage). `serve_through(app)` must name the API app before start.

    With `election`, kube-controller-manager's controllers run only while this replica holds the election Lease
    (leaderelection.py): they start when it is won and stop when it is lost or released; `start()` returns after
    the first attempt, so a lone server has its controllers running when it does. The API server's own
    controllers (those acting as LOOPBACK_USER, or with `leader_elected = False`) run in every replica, as
    kube-apiserver's apiextensions and aggregator controllers do.
    """

    def __init__(self, controllers: Sequence[Callable[[], Controller]], *,
                 election: LeaderElectionConfig | None = None) -> None:
        self._factories = tuple(controllers)
        self._election = election
        self._app: ASGIApp | None = None
        self._running: list[_Running] = []  # the replica's own controllers
        self._elected: list[_Running] = []  # kube-controller-manager's, while leading
        self._elector: LeaderElector | None = None
        self._campaign: asyncio.Task[None] | None = None
        self._informers: InformerFactory | None = None

    @property
    def informers(self) -> InformerFactory | None:
        """The informers every controller of this replica shares (None before start)."""
        return self._informers

    def serve_through(self, app: ASGIApp) -> None:
        self._app = app

    @property
    def running(self) -> list[Controller]:
        return [running.controller for running in (*self._running, *self._elected)]

    @property
    def elector(self) -> LeaderElector | None:
        """The candidate of this replica (None without leader election or before start)."""
        return self._elector

    async def start(self) -> None:
        if self._app is None:
            raise RuntimeError("ControllerManager.start: no API app to call (serve_through was not called)")
        app = self._app
        informers = self._informers = InformerFactory(InProcessTransport(app, CONTROLLER_MANAGER))
        elected: list[Callable[[], Controller]] = []
        for factory in self._factories:
            controller = factory()
            if self._election is not None and is_leader_elected(controller):
                elected.append(factory)
                continue
            self._running.append(await _start(app, controller, informers))
        if self._election is None:
            return
        self._elector = LeaderElector(ApiClient(InProcessTransport(app, CONTROLLER_MANAGER)), self._election)

        async def lead() -> None:
            for factory in elected:
                self._elected.append(await _start(app, factory(), informers))

        self._campaign = asyncio.create_task(self._elector.run(lead, self._stop_elected),
                                             name="leader-election")
        settled = asyncio.create_task(self._elector.settled.wait())
        await asyncio.wait({settled, self._campaign}, return_when=asyncio.FIRST_COMPLETED)
        settled.cancel()
        if self._campaign.done():
            self._campaign.result()  # re-raise what ended the campaign

    async def _stop_elected(self) -> None:
        running, self._elected = self._elected, []
        for entry in reversed(running):
            await entry.stop()

    async def stop(self) -> None:
        campaign, self._campaign = self._campaign, None
        # Cancelling the campaign stops the elected controllers, then releases the Lease.
        await cancel_and_wait(campaign, quiet=True)
        await self._stop_elected()
        running, self._running = self._running, []
        for entry in reversed(running):
            await entry.stop()
        informers, self._informers = self._informers, None
        if informers is not None:
            await informers.stop()


def is_leader_elected(controller: Controller) -> bool:
    """Whether `controller` is kube-controller-manager's (run by the elected replica only): an explicit
    `leader_elected` attribute wins; otherwise every controller but the API server's own (LOOPBACK_USER) is."""
    explicit = getattr(controller, "leader_elected", None)
    if isinstance(explicit, bool):
        return explicit
    return getattr(controller, "user", None) != LOOPBACK_USER


async def _start(app: ASGIApp, controller: Controller, informers: InformerFactory) -> _Running:
    user = getattr(controller, "user", None) or controller_user(controller.name)
    client = ApiClient(InProcessTransport(app, user))
    running = _Running(controller, client, informers)
    await running.start()
    logger.info("controller_started", extra={"controller": controller.name})
    return running
