"""Service node ports: one stored bitmap over `--service-node-port-range` (upstream's portallocator).

The lower band (min(max(16, size/32), 128) ports) is kept for ports asked for by number. `PortOperation` is
upstream's PortAllocationOperation: it records what it took so a failed request gives it all back, and
defers releases until the request succeeded; in a dry run it takes nothing and only checks for conflicts.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from apiserver.registry.allocators.bitmap import AllocationBitmap
from apiserver.registry.allocators.ipallocator import FULL, AllocationError
from apiserver.registry.allocators.rangestore import StoredRange, range_key
from apiserver.storage.interface import Storage

RANGE_NAME = "servicenodeports"
RESOURCE = "servicenodeportallocations"
ALLOCATED = "provided port is already allocated"
DRY_RUN_FIRST_PORT = 32768
MAX_PORT = 65535


@dataclass(frozen=True, slots=True)
class PortRange:
    """Ports `base` .. `base + size - 1` (Kubernetes' utilnet.PortRange)."""

    base: int
    size: int

    def __str__(self) -> str:
        return f"{self.base}-{self.base + self.size - 1}" if self.size else ""

    def __contains__(self, port: object) -> bool:
        return isinstance(port, int) and self.base <= port < self.base + self.size


def _atoi(text: str) -> int:
    if not text.lstrip("+-").isdigit() or not text.isascii():
        raise ValueError(f'strconv.Atoi: parsing "{text}": invalid syntax')
    return int(text)


def parse_port_range(value: str) -> PortRange:
    """`a-b`, `a+n` or `a` as utilnet.PortRange.Set reads them; ValueError with its message."""
    value = value.strip()
    if not value:
        return PortRange(0, 0)
    hyphen, plus = value.find("-"), value.find("+")
    if hyphen != -1 and plus != -1:
        raise ValueError(f"unable to parse port range: {value}")
    if hyphen != -1:
        low, high = _atoi(value[:hyphen]), _atoi(value[hyphen + 1:])
    elif plus != -1:
        low = _atoi(value[:plus])
        high = low + _atoi(value[plus + 1:])
    else:
        low = high = _atoi(value)
    if low > MAX_PORT or high > MAX_PORT:
        raise ValueError(f"the port range cannot be greater than 65535: {value}")
    if high < low:
        raise ValueError(f"end port cannot be less than start port: {value}")
    return PortRange(low, 1 + high - low)


def static_band(ports: PortRange) -> int:
    """Upstream's calculateRangeOffset for ports: min(max(16, size/32), 128), 0 for 16 ports or less."""
    if ports.size <= 16:
        return 0
    return min(max(16, ports.size // 32), 128)


class PortAllocator:
    """The node ports of the cluster, stored at `<prefix>/ranges/servicenodeports`."""

    def __init__(self, storage: Storage, prefix: str, ports: PortRange) -> None:
        self.ports = ports
        bitmap = AllocationBitmap(ports.size, str(ports), offset=static_band(ports))
        self.store = StoredRange(storage, range_key(prefix, RANGE_NAME), bitmap, RESOURCE)

    def not_in_range(self) -> str:
        return f"provided port is not in the valid range. The range of valid ports is {self.ports}"

    async def allocate(self, port: int) -> None:
        if port not in self.ports:
            raise AllocationError(self.not_in_range())
        if not await self.store.allocate(port - self.ports.base):
            raise AllocationError(ALLOCATED)

    async def allocate_next(self) -> int:
        offset = await self.store.allocate_next()
        if offset is None:
            raise AllocationError(FULL)
        return self.ports.base + offset

    async def release(self, port: int) -> None:
        if port in self.ports:
            await self.store.release(port - self.ports.base)

    async def has(self, port: int) -> bool:
        return port in self.ports and await self.store.has(port - self.ports.base)


@dataclass
class PortOperation:
    """Node ports taken and to be released by one request (upstream's PortAllocationOperation)."""

    allocator: PortAllocator
    dry_run: bool = False
    allocated: list[int] = field(default_factory=list)
    to_release: list[int] = field(default_factory=list)

    async def allocate(self, port: int) -> None:
        if self.dry_run:
            if port in self.allocated or await self.allocator.has(port):
                raise AllocationError(ALLOCATED)
            self.allocated.append(port)
            return
        await self.allocator.allocate(port)
        self.allocated.append(port)

    async def allocate_next(self) -> int:
        if self.dry_run:
            # A placeholder, as upstream: the next number above what this operation already took.
            port = max(self.allocated, default=DRY_RUN_FIRST_PORT) + 1
            self.allocated.append(port)
            return port
        port = await self.allocator.allocate_next()
        self.allocated.append(port)
        return port

    def release_deferred(self, port: int) -> None:
        self.to_release.append(port)

    async def commit(self) -> None:
        """The request succeeded: release what it gave up."""
        if not self.dry_run:
            for port in self.to_release:
                if port not in self.allocated:
                    await self.allocator.release(port)
        self.allocated, self.to_release = [], []

    async def revert(self) -> None:
        """The request failed: give back what it took."""
        if not self.dry_run:
            for port in self.allocated:
                await self.allocator.release(port)
        self.allocated, self.to_release = [], []
