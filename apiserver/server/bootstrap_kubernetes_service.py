"""The `kubernetes` Service in `default`, with its Endpoints and EndpointSlice listing the live API servers.

Upstream's `bootstrap-controller` post-start hook (pkg/controlplane/controller/kubernetesservice) with the
default `lease` endpoint reconciler: each server keeps a master lease at `<prefix>/masterleases/<ip>` and
rewrites the Endpoints (label `endpointslice.kubernetes.io/skip-mirror: "true"`) and the EndpointSlice
(label `kubernetes.io/service-name: kubernetes`, as upstream's EndpointsAdapter writes it) to the addresses
whose lease is current. Storage has no TTLs, so a lease records its expiry and expired ones are ignored and
removed. The Service (clusterIP: the range's first address, port 443 `https` → --secure-port) is created when
missing and its ports and type put back when changed. Stopping removes this server's lease and address.
"""
from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import time
from collections.abc import Callable
from typing import Any

import orjson

from apiserver.meta.errors import AlreadyExists, ApiError, Conflict, NotFound
from apiserver.registry.context import RequestContext
from apiserver.registry.store import ResourceStore
from apiserver.registry.stores import Registry
from apiserver.resources.core.endpoints_validation import SERVER_WRITER
from apiserver.storage.errors import KeyExists, KeyNotFound, RevisionConflict, StorageError
from apiserver.storage.interface import Storage

logger = logging.getLogger(__name__)

NAME, NAMESPACE = "kubernetes", "default"
RECONCILE_INTERVAL = 10.0  # upstream's --endpoint-reconciler interval
LEASE_TTL = 15.0  # upstream's master lease TTL
SKIP_MIRROR = "endpointslice.kubernetes.io/skip-mirror"
SERVICE_NAME_LABEL = "kubernetes.io/service-name"

JSONDict = dict[str, Any]


def kubernetes_service(cluster_ip: str, secure_port: int) -> JSONDict:
    return {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": {"component": "apiserver",
                                                                         "provider": "kubernetes"}},
        "spec": {"ports": _service_ports(secure_port), "clusterIP": cluster_ip, "sessionAffinity": "None",
                 "type": "ClusterIP"},
    }


def _service_ports(secure_port: int) -> list[JSONDict]:
    return [{"name": "https", "protocol": "TCP", "port": 443, "targetPort": secure_port}]


def _endpoint_ports(secure_port: int) -> list[JSONDict]:
    return [{"name": "https", "port": secure_port, "protocol": "TCP"}]


def endpoints_subsets(addresses: list[str], secure_port: int) -> list[JSONDict]:
    if not addresses:
        return []
    return [{"addresses": [{"ip": ip} for ip in addresses], "ports": _endpoint_ports(secure_port)}]


def endpoint_slice(addresses: list[str], secure_port: int) -> JSONDict:
    """endpointSliceFromEndpoints: one endpoint per address, ready, IPv6 only when every address is."""
    is_ipv6 = bool(addresses) and all(ipaddress.ip_address(ip).version == 6 for ip in addresses)
    body: JSONDict = {
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": {SERVICE_NAME_LABEL: NAME}},
        "addressType": "IPv6" if is_ipv6 else "IPv4",
        "endpoints": [{"addresses": [ip], "conditions": {"ready": True}} for ip in addresses],
    }
    if addresses:
        body["ports"] = _endpoint_ports(secure_port)
    return body


class KubernetesServiceHook:
    """Post-start hook `bootstrap-controller` (see the module docstring)."""

    name = "bootstrap-controller"

    def __init__(self, registry: Callable[[], Registry], *, cluster_ip: Callable[[], str], advertise_address: str,
                 secure_port: int, prefix: str, interval: float = RECONCILE_INTERVAL, lease_ttl: float = LEASE_TTL,
                 clock: Callable[[], float] = time.time) -> None:
        self._registry = registry
        self._cluster_ip = cluster_ip
        self._address = advertise_address
        self._port = secure_port
        self._leases = f"{prefix.rstrip('/')}/masterleases/"
        self._interval = interval
        self._ttl = lease_ttl
        self._clock = clock
        self._storage: Storage | None = None
        self._task: asyncio.Task[None] | None = None

    def _store(self, group: str, plural: str) -> ResourceStore:
        store = self._registry().store_for(group, "v1", plural)
        if not isinstance(store, ResourceStore):
            raise RuntimeError(f"{plural} are not served: cannot bootstrap the kubernetes Service")
        return store

    async def start(self, storage: Storage) -> None:
        """One pass, then the loop; a failed first pass (say, the first address is taken) is logged and retried
        by the loop, as upstream's controller keeps retrying instead of failing the server's start."""
        self._storage = storage
        try:
            await self.reconcile()
        except ApiError as error:
            logger.warning("kubernetes_service_reconcile_failed", extra={"error": str(error)})
        self._task = asyncio.create_task(self._run(), name="kubernetes-service-reconciler")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        try:  # upstream's stop-kubernetes-service-controller: take this server out of the endpoints
            await self._drop_lease()
            await self._reconcile_endpoints(await self._live_addresses())
        except (ApiError, StorageError) as error:
            logger.warning("kubernetes_endpoints_removal_failed", extra={"error": str(error)})

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.reconcile()
            except (ApiError, StorageError) as error:
                logger.warning("kubernetes_service_reconcile_failed", extra={"error": str(error)})

    async def reconcile(self) -> None:
        """One pass: the Service, this server's lease, then the Endpoints and EndpointSlice."""
        await self._ensure_service()
        await self._renew_lease()
        await self._reconcile_endpoints(await self._live_addresses())

    async def _ensure_service(self) -> None:
        store = self._store("", "services")
        context = RequestContext(namespace=NAMESPACE)
        try:
            current = (await store.get(NAMESPACE, NAME)).copy()
        except NotFound:
            try:
                await store.create(NAMESPACE, kubernetes_service(self._cluster_ip(), self._port), context)
            except AlreadyExists:
                return
            logger.info("kubernetes_service_created", extra={"cluster_ip": self._cluster_ip()})
            return
        spec = current.setdefault("spec", {})
        if spec.get("type") == "ClusterIP" and _same_ports(spec.get("ports"), _service_ports(self._port)):
            return
        spec["type"] = "ClusterIP"
        spec["ports"] = _service_ports(self._port)
        try:
            await store.update(NAMESPACE, NAME, current, context)
        except (Conflict, NotFound):
            return

    # --- leases --------------------------------------------------------------------------------------------

    async def _renew_lease(self) -> None:
        assert self._storage is not None
        key = self._leases + self._address
        value = orjson.dumps({"ip": self._address, "port": self._port, "expires": self._clock() + self._ttl})
        existing = await self._storage.get(key)
        try:
            if existing is None:
                await self._storage.create(key, value)
            else:
                await self._storage.update(key, value, expected=existing.mod_revision)
        except (KeyExists, KeyNotFound, RevisionConflict):
            return

    async def _drop_lease(self) -> None:
        if self._storage is None:
            return
        try:
            await self._storage.delete(self._leases + self._address)
        except KeyNotFound:
            return

    async def _live_addresses(self) -> list[str]:
        assert self._storage is not None
        page = await self._storage.list(self._leases)
        now, live = self._clock(), []
        for kv in page.items:
            try:
                lease = orjson.loads(kv.value)
                expires, ip = float(lease["expires"]), str(lease["ip"])
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                continue
            if expires >= now:
                live.append(ip)
                continue
            with contextlib.suppress(KeyNotFound, RevisionConflict):
                await self._storage.delete(kv.key, expected=kv.mod_revision)
        return sorted(live, key=_address_order)

    # --- endpoints -----------------------------------------------------------------------------------------

    async def _reconcile_endpoints(self, addresses: list[str]) -> None:
        subsets = endpoints_subsets(addresses, self._port)
        await _ensure(self._store("", "endpoints"), {
            "apiVersion": "v1", "kind": "Endpoints",
            "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": {SKIP_MIRROR: "true"}},
            "subsets": subsets,
        }, ("subsets",))
        await _ensure(self._store("discovery.k8s.io", "endpointslices"), endpoint_slice(addresses, self._port),
                      ("addressType", "endpoints", "ports"))


async def _ensure(store: ResourceStore, desired: JSONDict, fields: tuple[str, ...]) -> None:
    """Create `desired`, or bring `fields` and its labels to the desired values; a lost race waits for the
    next pass. Written as SERVER_WRITER: the advertised address may be a loopback one (upstream's validation
    refuses those; our endpoint strategies let the server's own reconciler through)."""
    context = RequestContext(namespace=NAMESPACE, user=SERVER_WRITER)
    try:
        current = (await store.get(NAMESPACE, NAME)).copy()
    except NotFound:
        body = {key: value for key, value in desired.items() if value or key not in fields}
        with contextlib.suppress(AlreadyExists):
            await store.create(NAMESPACE, body, context)
        return
    labels = current.setdefault("metadata", {}).setdefault("labels", {})
    wanted_labels = desired["metadata"]["labels"]
    if all((current.get(key) or None) == (desired.get(key) or None) for key in fields) and \
            all(labels.get(key) == value for key, value in wanted_labels.items()):
        return
    labels.update(wanted_labels)
    for key in fields:
        if desired.get(key):
            current[key] = desired[key]
        else:
            current.pop(key, None)
    try:
        await store.update(NAMESPACE, NAME, current, context)
    except (Conflict, NotFound):
        return


def _same_ports(current: object, wanted: list[JSONDict]) -> bool:
    if not isinstance(current, list) or len(current) != len(wanted):
        return False
    return all(isinstance(port, dict) and all(port.get(key) == value for key, value in expected.items())
               for port, expected in zip(current, wanted, strict=True))


def _address_order(ip: str) -> tuple[int, int]:
    parsed = ipaddress.ip_address(ip)
    return parsed.version, int(parsed)
