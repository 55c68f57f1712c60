"""Service cluster IPs: one stored bitmap per CIDR of `--service-cluster-ip-range` (upstream's ipallocator).

The network address is never handed out, nor the broadcast address of an IPv4 range; IPv6 ranges are capped at
65536 addresses, as upstream keeps a bitmap of that size. The lower band (min(max(16, size/16), 256) addresses)
is kept for addresses asked for by name, such as the `kubernetes` Service's first address. Dry runs check the
range only and pick the network address as a placeholder, as upstream's dryRunRange does.
"""
from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from apiserver.registry.allocators.bitmap import AllocationBitmap
from apiserver.registry.allocators.rangestore import StoredRange, range_key
from apiserver.storage.interface import Storage

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

RANGE_NAME = "serviceips"
SECONDARY_RANGE_NAME = "secondaryserviceips"
RESOURCE = "serviceipallocations"
MAX_CIDR_BITS = 20
MIN_RANGE_SIZE = 8
IPV6_MAX = 65536

FULL = "range is full"
ALLOCATED = "provided IP is already allocated"


class AllocationError(Exception):
    """An address cannot be taken; the message is upstream's (ErrFull, ErrAllocated, ErrNotInRange)."""


def family_of(network: IPNetwork) -> str:
    return "IPv6" if network.version == 6 else "IPv4"


def usable_size(network: IPNetwork) -> int:
    """How many addresses the bitmap holds: without the network (and IPv4 broadcast) address."""
    size = network.num_addresses
    if network.version == 6:
        size = min(size, IPV6_MAX)
    else:
        size -= 1
    return max(0, size - 1)


def static_band(network: IPNetwork) -> int:
    """Upstream's calculateRangeOffset: min(max(16, size/16), 256), 0 for ranges of 16 addresses or less."""
    size = network.num_addresses
    if size <= 16:
        return 0
    return int(min(max(16, size // 16), 256))


def parse_service_cidrs(value: str) -> tuple[IPNetwork, ...]:
    """`--service-cluster-ip-range` as kube-apiserver reads it; ValueError with its wording.

    Problems of the parsed values (too many entries, same family, too large) come from `cidr_problems`.
    """
    entries = [entry for entry in value.split(",")] if value else []
    networks: list[IPNetwork] = []
    for index, entry in enumerate(entries[:2]):
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            if index == 0:
                raise ValueError("service-cluster-ip-range[0] is not a valid cidr") from None
            raise ValueError("service-cluster-ip-range[1] is not an ip net") from None
    if networks and min(networks[0].num_addresses, 1 << 16) < MIN_RANGE_SIZE:
        raise ValueError("error determining service IP ranges for primary service cidr: the service cluster IP "
                         f"range must be at least {MIN_RANGE_SIZE} IP addresses")
    return tuple(networks)


def cidr_problems(value: str, networks: Sequence[IPNetwork]) -> list[str]:
    """kube-apiserver's validateClusterIPFlags for parsed ranges."""
    problems = []
    if not networks:
        problems.append("--service-cluster-ip-range must contain at least one valid cidr")
    if len(value.split(",")) > 2:
        problems.append("--service-cluster-ip-range must not contain more than two entries")
    for flag, network in zip(("--service-cluster-ip-range", "--service-cluster-ip-range[1]"), networks, strict=False):
        bits = network.max_prefixlen
        if bits - network.prefixlen > MAX_CIDR_BITS:
            problems.append(f"specified {flag} is too large; for {bits}-bit addresses, the mask must be >= "
                            f"{bits - MAX_CIDR_BITS}")
    if len(networks) == 2 and networks[0].version == networks[1].version:
        problems.append("--service-cluster-ip-range[0] and --service-cluster-ip-range[1] must be of different IP "
                        "family")
    return problems


def first_address(network: IPNetwork) -> str:
    """The address of the `kubernetes` Service: the first after the network address."""
    return str(network.network_address + 1)


class IPRange:
    """The cluster IPs of one CIDR, stored at `<prefix>/ranges/serviceips` (the secondary CIDR of a dual-stack
    cluster at `<prefix>/ranges/secondaryserviceips`, as upstream)."""

    def __init__(self, storage: Storage, prefix: str, network: IPNetwork, *, secondary: bool = False) -> None:
        self.network = network
        self.family = family_of(network)
        self._base = int(network.network_address) + 1
        name = SECONDARY_RANGE_NAME if secondary else RANGE_NAME
        bitmap = AllocationBitmap(usable_size(network), str(network), offset=static_band(network))
        self.store = StoredRange(storage, range_key(prefix, name), bitmap, RESOURCE)

    def not_in_range(self, address: str) -> str:
        return f"the provided IP ({address}) is not in the valid range. The range of valid IPs is {self.network}"

    def offset_of(self, address: str) -> int | None:
        """The bitmap offset of `address`, None when it is not an allocatable address of this range."""
        try:
            parsed = ipaddress.ip_address(address)
        except ValueError:
            return None
        if parsed.version != self.network.version or parsed not in self.network:
            return None
        offset = int(parsed) - self._base
        return offset if 0 <= offset < self.store.size else None

    def address_at(self, offset: int) -> str:
        return str(type(self.network.network_address)(self._base + offset))

    async def allocate(self, address: str, *, dry_run: bool = False) -> None:
        """Take `address`; AllocationError when it is outside the range or taken (a dry run checks the range)."""
        offset = self.offset_of(address)
        if offset is None:
            raise AllocationError(self.not_in_range(address))
        if dry_run:
            return
        if not await self.store.allocate(offset):
            raise AllocationError(ALLOCATED)

    async def allocate_next(self, *, dry_run: bool = False) -> str:
        """Take a free address; AllocationError("range is full") when none is left."""
        if dry_run:
            return str(self.network.network_address)
        offset = await self.store.allocate_next()
        if offset is None:
            raise AllocationError(FULL)
        return self.address_at(offset)

    async def release(self, address: str) -> None:
        """Give `address` back; an address outside the range is ignored."""
        offset = self.offset_of(address)
        if offset is not None:
            await self.store.release(offset)

    async def has(self, address: str) -> bool:
        offset = self.offset_of(address)
        return offset is not None and await self.store.has(offset)


def service_cidr_problems(value: str) -> list[str]:
    """Everything kube-apiserver reports about a `--service-cluster-ip-range` value (empty when it is usable)."""
    try:
        networks = parse_service_cidrs(value)
    except ValueError as error:
        return [str(error)]
    return cidr_problems(value, networks)
