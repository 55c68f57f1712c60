"""Leader election with a `coordination.k8s.io/v1` Lease, as client-go's `tools/leaderelection` does it.

Several replicas share one storage; the controllers of kube-controller-manager must run in one of them at a time.
Each replica's ControllerManager campaigns for one Lease (`kube-system/kube-controller-manager` by default)
through the public API, so it works across replicas that share nothing but etcd:

- A candidate takes the Lease when it does not exist, when its holder released it (empty holderIdentity), or when
  the record has not changed for `leaseDurationSeconds` of the candidate's own clock (client-go judges expiry by
  when it last saw the record change, not by the holder's `renewTime`, so clock skew between replicas does not
  matter). Taking it over from another holder counts a transition.
- The leader renews every `retry_period`; when no renewal succeeds within `renew_deadline` it has lost the lease.
  Upstream's controller-manager exits then; here the controllers are stopped and the replica campaigns again.
- Writes are updates with the resourceVersion that was read, so two candidates never both win (optimistic
  concurrency, as client-go's LeaseLock).
- On a graceful stop the leader releases the Lease (client-go's `ReleaseOnCancel`): holderIdentity empty,
  leaseDurationSeconds 1, so a successor takes over at its next retry instead of waiting out the lease.
"""
from __future__ import annotations

import asyncio
import logging
import random
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from apiserver.client.client import ApiClient, Resource
from apiserver.meta.errors import ApiError, NotFound
from apiserver.meta.objects import Clock, format_micro_time, utc_now

logger = logging.getLogger(__name__)

JSONDict = dict[str, Any]
LEASES = Resource("coordination.k8s.io", "v1", "leases")
JITTER_FACTOR = 1.2  # client-go's leaderelection.JitterFactor
DEFAULT_RESOURCE_NAME = "kube-controller-manager"
DEFAULT_RESOURCE_NAMESPACE = "kube-system"


@dataclass(frozen=True, slots=True)
class LeaderElectionConfig:
    """kube-controller-manager's `--leader-elect-*` flags (durations in seconds) and the candidate's identity."""

    identity: str
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0
    name: str = DEFAULT_RESOURCE_NAME
    namespace: str = DEFAULT_RESOURCE_NAMESPACE
    release_on_cancel: bool = True


def election_problems(lease_duration: float, renew_deadline: float, retry_period: float) -> list[str]:
    """client-go's NewLeaderElector checks, in its order and wording (upstream stops at the first)."""
    problems = []
    if lease_duration <= renew_deadline:
        problems.append("leaseDuration must be greater than renewDeadline")
    if renew_deadline <= JITTER_FACTOR * retry_period:
        problems.append("renewDeadline must be greater than retryPeriod*JitterFactor")
    if lease_duration < 1e-9:
        problems.append("leaseDuration must be greater than zero")
    if renew_deadline < 1e-9:
        problems.append("renewDeadline must be greater than zero")
    if retry_period < 1e-9:
        problems.append("retryPeriod must be greater than zero")
    return problems[:1]


def candidate_identity(hostname: str = "") -> str:
    """kube-controller-manager's holderIdentity: `<hostname>_<uuid>` (unique even for replicas on one host)."""
    return f"{hostname or socket.gethostname()}_{uuid.uuid4()}"


def _seconds(spec: JSONDict, field: str) -> int:
    value = spec.get(field)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


class LeaderElector:
    """One candidate for one Lease. `try_acquire_or_renew` is one step of the state machine; `run` campaigns,
    leads and campaigns again for as long as it is not cancelled.

    The clock gives both the timestamps written to the Lease and the times expiry is judged by.
    """

    def __init__(self, client: ApiClient, config: LeaderElectionConfig, *, clock: Clock = utc_now,
                 jitter: Callable[[], float] = random.random) -> None:
        if not config.identity:
            raise ValueError("Lock identity is empty")  # client-go's wording
        self.config = config
        self._client = client
        self._clock = clock
        self._jitter = jitter
        self._lease: JSONDict | None = None  # the Lease as last read or written
        self._observed: JSONDict = {}  # its spec
        self._observed_at: datetime | None = None  # when the spec last changed, by our clock
        self.settled = asyncio.Event()  # the first campaign attempt is over (and, if it won, leading has begun)

    # --- the state machine ------------------------------------------------------------------------------

    def is_leader(self) -> bool:
        return bool(self._observed) and self._observed.get("holderIdentity") == self.config.identity

    @property
    def leader(self) -> str:
        """The holder as last observed ("" when none)."""
        return str(self._observed.get("holderIdentity") or "")

    def _is_lease_valid(self, now: datetime) -> bool:
        if self._observed_at is None:
            return False
        duration = _seconds(self._observed, "leaseDurationSeconds")
        return self._observed_at + timedelta(seconds=duration) > now

    async def try_acquire_or_renew(self) -> bool:
        """Create, take over or renew the Lease once; True when this candidate holds it afterwards.

        Never raises for API errors (a failed write is a failed attempt, retried by the caller)."""
        now = self._clock()
        record: JSONDict = {"holderIdentity": self.config.identity,
                            "leaseDurationSeconds": max(int(self.config.lease_duration), 1),
                            "acquireTime": format_micro_time(now), "renewTime": format_micro_time(now)}
        if self.is_leader() and self._is_lease_valid(now) and self._lease is not None:
            # client-go's fast path: renew the Lease we hold without reading it first.
            renewed = {**record, "acquireTime": self._observed.get("acquireTime") or record["acquireTime"],
                       "leaseTransitions": _seconds(self._observed, "leaseTransitions")}
            if await self._write(self._lease, renewed, now):
                return True
        try:
            lease = await self._client.get(LEASES, self.config.name, namespace=self.config.namespace)
        except NotFound:
            return await self._create({**record, "leaseTransitions": 0}, now)
        except ApiError as error:
            logger.warning("leader_election_get_failed", extra={"lease": self._lease_name(), "error": str(error)})
            return False
        spec = lease.get("spec") or {}
        if spec != self._observed:
            self._observed, self._observed_at = dict(spec), now
        self._lease = lease
        if spec.get("holderIdentity") and self._is_lease_valid(now) and not self.is_leader():
            return False
        if self.is_leader():
            record["acquireTime"] = spec.get("acquireTime") or record["acquireTime"]
            record["leaseTransitions"] = _seconds(spec, "leaseTransitions")
        else:
            record["leaseTransitions"] = _seconds(spec, "leaseTransitions") + 1
        return await self._write(lease, record, now)

    async def release(self) -> bool:
        """Give the Lease up if this candidate holds it (client-go's ReleaseOnCancel); True when it is not held
        by this candidate afterwards."""
        if not self.is_leader() or self._lease is None:
            return True
        now = format_micro_time(self._clock())
        released = {"holderIdentity": "", "leaseDurationSeconds": 1, "acquireTime": now, "renewTime": now,
                    "leaseTransitions": _seconds(self._observed, "leaseTransitions")}
        if not await self._write(self._lease, released, self._clock()):
            return False
        logger.info("leader_election_released", extra={"lease": self._lease_name()})
        return True

    async def _create(self, spec: JSONDict, now: datetime) -> bool:
        body = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": {"name": self.config.name, "namespace": self.config.namespace}, "spec": spec}
        try:
            created = await self._client.create(LEASES, body, namespace=self.config.namespace)
        except ApiError as error:
            logger.warning("leader_election_create_failed", extra={"lease": self._lease_name(), "error": str(error)})
            return False
        self._remember(created, now)
        return True

    async def _write(self, lease: JSONDict, spec: JSONDict, now: datetime) -> bool:
        body = {**lease, "spec": spec}
        try:
            written = await self._client.update(LEASES, body, namespace=self.config.namespace)
        except ApiError as error:
            logger.info("leader_election_update_failed", extra={"lease": self._lease_name(), "error": str(error)})
            return False
        self._remember(written, now)
        return True

    def _remember(self, lease: JSONDict, now: datetime) -> None:
        self._lease = lease
        self._observed, self._observed_at = dict(lease.get("spec") or {}), now

    def _lease_name(self) -> str:
        return f"{self.config.namespace}/{self.config.name}"

    # --- campaigning --------------------------------------------------------------------------------------

    async def run(self, lead: Callable[[], Awaitable[None]], unlead: Callable[[], Awaitable[None]]) -> None:
        """Campaign; once leading, `lead()` and renew until the renew deadline passes without a renewal, then
        `unlead()` and campaign again. Runs until cancelled; on cancellation `unlead()` runs and, with
        `release_on_cancel`, the Lease is released afterwards (so the controllers stop before a successor
        starts)."""
        try:
            while True:
                await self._acquire()
                logger.info("leader_election_acquired", extra={"lease": self._lease_name(),
                                                               "identity": self.config.identity})
                try:
                    await lead()
                    self.settled.set()
                    await self._renew()
                finally:
                    await unlead()
                logger.warning("leader_election_lost", extra={"lease": self._lease_name(),
                                                              "identity": self.config.identity})
                self._observed, self._observed_at = {}, None
        except asyncio.CancelledError:
            if self.config.release_on_cancel:
                await self.release()
            raise

    async def _acquire(self) -> None:
        while not await self.try_acquire_or_renew():
            self.settled.set()
            await asyncio.sleep(self.config.retry_period * (1 + JITTER_FACTOR * self._jitter()))

    async def _renew(self) -> None:
        while await self._renew_within_deadline():
            await asyncio.sleep(self.config.retry_period)

    async def _renew_within_deadline(self) -> bool:
        """client-go's renew: retry every retry_period until one renewal succeeds or renew_deadline passes."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.config.renew_deadline
        while (remaining := deadline - loop.time()) > 0:
            try:
                async with asyncio.timeout(remaining):
                    if await self.try_acquire_or_renew():
                        return True
            except TimeoutError:
                return False
            await asyncio.sleep(min(self.config.retry_period, max(deadline - loop.time(), 0.0)))
        return False

