"""Service allocation at start-up: the ranges from the flags, and upstream's repair controllers.

`ServiceRanges` turns `--service-cluster-ip-range` and `--service-node-port-range` into the allocators of a
registry (`ServiceRegistry`, resources/core/service_store.py). `ServiceRepairHook` is upstream's
`start-service-ip-repair-controllers` post-start hook: it creates the RangeAllocation objects when missing and
rebuilds them from the stored Services (so values taken by a request that never stored its object, say after a
crash, are released after a few passes), once before the server reports ready and then every `interval`.
"""
from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Callable
from dataclasses import dataclass

from apiserver.meta.errors import ApiError
from apiserver.meta.objects import format_time, utc_now
from apiserver.registry.allocators.ipallocator import IPRange, parse_service_cidrs
from apiserver.registry.allocators.portallocator import PortAllocator, PortRange
from apiserver.registry.allocators.repair import RangeRepair
from apiserver.registry.context import ListOptions
from apiserver.registry.store import ResourceStore
from apiserver.registry.stores import Registry
from apiserver.resources.core.service_alloc import ServiceAllocators
from apiserver.resources.core.service_defaults import cluster_ips, node_port, ports_of, spec_of
from apiserver.resources.core.service_store import ServiceRegistry
from apiserver.storage.errors import StorageError
from apiserver.storage.interface import Storage

logger = logging.getLogger(__name__)

REPAIR_INTERVAL = 180.0  # upstream repairs every 3 minutes
DEFAULT_NODE_PORTS = PortRange(30000, 2768)


@dataclass(frozen=True, slots=True)
class ServiceRanges:
    """The validated range flags; `allocators(storage, prefix)` builds the allocators on one storage."""

    cluster_ip_range: str = "10.96.0.0/12"
    node_ports: PortRange = DEFAULT_NODE_PORTS

    def allocators(self, storage: Storage, prefix: str) -> ServiceAllocators:
        networks = parse_service_cidrs(self.cluster_ip_range)
        ranges = [IPRange(storage, prefix, network, secondary=index > 0) for index, network in enumerate(networks)]
        return ServiceAllocators(ranges, PortAllocator(storage, prefix, self.node_ports))

    @property
    def kubernetes_service_ip(self) -> str:
        """The first address of the primary range: the `kubernetes` Service's cluster IP."""
        return str(parse_service_cidrs(self.cluster_ip_range)[0].network_address + 1)


def service_allocators(registry: Registry) -> ServiceAllocators:
    if not isinstance(registry, ServiceRegistry):
        raise RuntimeError("the registry does not allocate for Services")
    return registry.service_allocators


class ServiceRepairHook:
    """Post-start hook `start-service-ip-repair-controllers` (see the module docstring)."""

    name = "start-service-ip-repair-controllers"

    def __init__(self, registry: Callable[[], Registry], *, interval: float = REPAIR_INTERVAL) -> None:
        self._registry = registry
        self._interval = interval
        self._task: asyncio.Task[None] | None = None
        self._repairs: list[RangeRepair] = []

    async def start(self, storage: Storage) -> None:
        allocators = service_allocators(self._registry())
        store = self._registry().store_for("", "v1", "services")
        if not isinstance(store, ResourceStore):
            raise RuntimeError("services are not served: cannot repair the service ranges")
        self._repairs = [_ip_repair(store, ip_range) for ip_range in allocators.ranges.values()]
        self._repairs.append(_port_repair(store, allocators.node_ports))
        await self.repair_once()
        self._task = asyncio.create_task(self._run(), name="service-range-repair")

    async def repair_once(self) -> None:
        for repair in self._repairs:
            await repair.run_once()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.repair_once()
            except (ApiError, StorageError, RuntimeError) as error:
                logger.warning("service_range_repair_failed", extra={"error": str(error)})

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


def _created() -> str:
    return format_time(utc_now())


def _ip_repair(store: ResourceStore, ip_range: IPRange) -> RangeRepair:
    async def in_use() -> list[object]:
        return list(await _cluster_ips(store, ip_range.family))

    def offset_of(value: object) -> int | None:
        return ip_range.offset_of(str(value))

    return RangeRepair(ip_range.store, in_use, offset_of, _created)


def _port_repair(store: ResourceStore, ports: PortAllocator) -> RangeRepair:
    async def in_use() -> list[object]:
        return list(await _node_ports(store))

    def offset_of(value: object) -> int | None:
        return value - ports.ports.base if isinstance(value, int) and value in ports.ports else None

    return RangeRepair(ports.store, in_use, offset_of, _created)


async def _services(store: ResourceStore) -> list[dict[str, object]]:
    listed = await store.list("", ListOptions())
    return [item.obj for item in listed.items]


async def _cluster_ips(store: ResourceStore, family: str) -> list[str]:
    found = []
    for service in await _services(store):
        for ip in cluster_ips(service):  # type: ignore[arg-type]
            try:
                version = ipaddress.ip_address(ip).version
            except ValueError:
                continue
            if ("IPv6" if version == 6 else "IPv4") == family:
                found.append(ip)
    return found


async def _node_ports(store: ResourceStore) -> list[int]:
    found: list[int] = []
    for service in await _services(store):
        spec = spec_of(service)  # type: ignore[arg-type]
        ports = {node_port(port) for port in ports_of(spec) if node_port(port)}
        health = spec.get("healthCheckNodePort")
        if isinstance(health, int) and health:
            ports.add(health)
        found.extend(sorted(ports))
    return found
