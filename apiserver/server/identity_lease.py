"""APIServer identity leases (kube-apiserver's APIServerIdentity feature, on by default since 1.26).

Each replica keeps a Lease `kube-system/apiserver-<hash>` labelled `apiserver.kubernetes.io/identity:
kube-apiserver` and `kubernetes.io/hostname: <host>`, renewed every 10 s with a 3600 s duration; `<hash>` is
derived from the host name as upstream's (so the name is stable across restarts of one host; replicas sharing a
host need `--hostname-override`). Its holderIdentity is `<lease name>_<uuid>`, set when the Lease is created.
A garbage collector deletes the identity Leases whose renewTime plus duration has passed, once at start and then
every hour. The two are upstream's post-start hooks `start-kube-apiserver-identity-lease-controller` and
`start-kube-apiserver-identity-lease-garbage-collector` (pkg/controlplane/apiserver/server.go); like upstream's,
neither deletes the Lease of a replica that stops (the `kubernetes` Service endpoints drop a stopped replica
through its master lease: bootstrap_kubernetes_service.py).
"""
from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import random
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from apiserver.meta.errors import AlreadyExists, ApiError, Conflict, NotFound
from apiserver.meta.objects import Clock, format_micro_time, parse_time, utc_now
from apiserver.meta.selectors import LabelSelector
from apiserver.meta.tasks import cancel_and_wait, repeat_forever
from apiserver.registry.context import DeleteOptions, ListOptions, RequestContext
from apiserver.registry.store import ResourceStore
from apiserver.registry.stores import Registry
from apiserver.storage.errors import StorageError
from apiserver.storage.interface import Storage

logger = logging.getLogger(__name__)

JSONDict = dict[str, Any]
NAMESPACE = "kube-system"
COMPONENT = "kube-apiserver"
IDENTITY_LABEL = "apiserver.kubernetes.io/identity"
HOSTNAME_LABEL = "kubernetes.io/hostname"
LEASE_DURATION_SECONDS = 3600  # upstream's IdentityLeaseDurationSeconds
RENEW_INTERVAL = 10.0  # IdentityLeaseRenewIntervalPeriod
GC_PERIOD = 3600.0  # IdentityLeaseGCPeriod
RENEW_JITTER = 0.04  # the lease controller's JitterUntil factor
UPDATE_ATTEMPTS = 5  # the lease controller's maxUpdateRetries


def apiserver_identity(hostname: str, component: str = COMPONENT) -> str:
    """The lease name of the API server on `hostname`: `apiserver-` and the lower-case unpadded base32 of the
    first 16 bytes of SHA-256 over the host name and the component, each prefixed by its 2-byte length
    (k8s.io/apiserver's server config, with its cryptobyte length-prefixed encoding)."""
    data = b"".join(len(part).to_bytes(2, "big") + part for part in (hostname.encode(), component.encode()))
    digest = hashlib.sha256(data).digest()[:16]
    return "apiserver-" + base64.b32encode(digest).decode().rstrip("=").lower()


def _leases(registry: Callable[[], Registry]) -> ResourceStore:
    store = registry().store_for("coordination.k8s.io", "v1", "leases")
    if not isinstance(store, ResourceStore):
        raise RuntimeError("leases are not served: cannot keep the API server identity lease")
    return store


class IdentityLeaseHook:
    """`start-kube-apiserver-identity-lease-controller`: creates this replica's identity Lease and renews it."""

    name = "start-kube-apiserver-identity-lease-controller"

    def __init__(self, registry: Callable[[], Registry], *, hostname: str, interval: float = RENEW_INTERVAL,
                 duration_seconds: int = LEASE_DURATION_SECONDS, clock: Clock = utc_now,
                 jitter: Callable[[], float] = random.random) -> None:
        self._registry = registry
        self.lease_name = apiserver_identity(hostname)
        self.holder_identity = f"{self.lease_name}_{uuid.uuid4()}"
        self._hostname = hostname
        self._interval = interval
        self._duration = duration_seconds
        self._clock = clock
        self._jitter = jitter
        self._task: asyncio.Task[None] | None = None

    async def start(self, storage: Storage) -> None:
        """One renewal (so the Lease exists once the hook has finished), then the loop; failures are logged and
        retried by the loop, as upstream's controller keeps retrying."""
        await self._sync_logged()
        self._task = asyncio.create_task(self._run(), name="identity-lease-controller")

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task, quiet=True)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval * (1 + RENEW_JITTER * self._jitter()))
            await self._sync_logged()

    async def _sync_logged(self) -> None:
        try:
            await self.sync()
        except (ApiError, StorageError) as error:
            logger.warning("identity_lease_renew_failed", extra={"lease": self.lease_name, "error": str(error)})

    async def sync(self) -> None:
        """Create the Lease, or set its renewTime and labels; a conflict reads it again (at most 5 attempts)."""
        store = _leases(self._registry)
        context = RequestContext(namespace=NAMESPACE)
        for _ in range(UPDATE_ATTEMPTS):
            try:
                current = (await store.get(NAMESPACE, self.lease_name)).copy()
            except NotFound:
                try:
                    await store.create(NAMESPACE, self._renewed(self._new_lease()), context)
                except AlreadyExists:
                    continue
                return
            try:
                await store.update(NAMESPACE, self.lease_name, self._renewed(current), context)
            except Conflict:
                continue
            return
        raise Conflict("leases", self.lease_name, "identity lease kept changing while being renewed")

    def _new_lease(self) -> JSONDict:
        return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": {"name": self.lease_name, "namespace": NAMESPACE},
                "spec": {"holderIdentity": self.holder_identity, "leaseDurationSeconds": self._duration}}

    def _renewed(self, lease: JSONDict) -> JSONDict:
        metadata = lease.setdefault("metadata", {})
        metadata["labels"] = {**(metadata.get("labels") or {}), IDENTITY_LABEL: COMPONENT,
                              HOSTNAME_LABEL: self._hostname}
        lease.setdefault("spec", {})["renewTime"] = format_micro_time(self._clock())
        return lease


def is_lease_expired(lease: JSONDict, now: Clock = utc_now) -> bool:
    """Upstream's rule: a Lease without renewTime or leaseDurationSeconds is expired, as is one whose renewTime
    plus duration is before now."""
    spec = lease.get("spec") or {}
    renew_time, duration = spec.get("renewTime"), spec.get("leaseDurationSeconds")
    if not isinstance(renew_time, str) or not isinstance(duration, int):
        return True
    try:
        renewed = parse_time(renew_time)
    except ValueError:
        return True
    return renewed + timedelta(seconds=duration) < now()


class IdentityLeaseGCHook:
    """`start-kube-apiserver-identity-lease-garbage-collector`: deletes expired identity Leases at start and
    every `period` seconds, each read again from storage (and deleted only at that resourceVersion) first."""

    name = "start-kube-apiserver-identity-lease-garbage-collector"

    def __init__(self, registry: Callable[[], Registry], *, period: float = GC_PERIOD,
                 clock: Clock = utc_now) -> None:
        self._registry = registry
        self._period = period
        self._clock = clock
        self._task: asyncio.Task[None] | None = None

    async def start(self, storage: Storage) -> None:
        self._task = asyncio.create_task(self._run(), name="identity-lease-gc")

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task, quiet=True)

    async def _run(self) -> None:
        await repeat_forever(self.collect, pause=self._period, logger=logger, failure_event="identity_lease_gc_failed")

    async def collect(self) -> list[str]:
        """One pass; returns the names of the Leases it deleted."""
        store = _leases(self._registry)
        selector = LabelSelector.parse(f"{IDENTITY_LABEL}={COMPONENT}")
        listed = await store.list(NAMESPACE, ListOptions(label_selector=selector, resource_version="0"))
        deleted = []
        for item in listed.items:
            if not is_lease_expired(item.obj, self._clock):
                continue
            name = str(item.obj["metadata"]["name"])
            try:
                latest = await store.get(NAMESPACE, name)
            except NotFound:
                continue
            if not is_lease_expired(latest.obj, self._clock):
                continue
            version = str(latest.obj["metadata"].get("resourceVersion") or "")
            try:
                await store.delete(NAMESPACE, name, DeleteOptions(preconditions_resource_version=version or None),
                                   RequestContext(namespace=NAMESPACE))
            except (NotFound, Conflict):
                continue
            logger.info("identity_lease_deleted", extra={"lease": name})
            deleted.append(name)
        return deleted


def identity_lease_hooks(registry: Callable[[], Registry], *, hostname: str) -> list[Any]:
    """Both hooks, in upstream's order."""
    return [IdentityLeaseHook(registry, hostname=hostname), IdentityLeaseGCHook(registry)]
