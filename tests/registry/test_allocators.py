"""The Service allocators: bitmaps, stored ranges shared by replicas through compare-and-swap, IP and port
semantics with upstream's messages, and the repair pass. Stored ranges run on memory and SQLite storage."""
from __future__ import annotations

import ipaddress
import random
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest
import pytest_asyncio

from apiserver.registry.allocators.bitmap import AllocationBitmap
from apiserver.registry.allocators.ipallocator import (
    AllocationError,
    IPRange,
    parse_service_cidrs,
    service_cidr_problems,
    static_band,
    usable_size,
)
from apiserver.registry.allocators.portallocator import (
    PortAllocator,
    PortOperation,
    PortRange,
    parse_port_range,
)
from apiserver.registry.allocators.rangestore import RangeNotReady
from apiserver.registry.allocators.repair import LEAK_PASSES, RangeRepair
from apiserver.storage.interface import Storage
from tests.registry.harness import opened_storage

PREFIX = "/registry"


@pytest_asyncio.fixture(params=["memory", "sqlite"])
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    async with opened_storage(request.param, tmp_path, request) as opened:
        yield opened


async def created(ip_range: IPRange | PortAllocator) -> None:
    """Create the empty RangeAllocation, as the repair pass does at start."""
    assert await ip_range.store.replace(ip_range.store.empty(), 0)


def network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return parse_service_cidrs(text)[0]


# --- bitmap -------------------------------------------------------------------------------------------------

def test_bitmap_takes_each_offset_once_and_prefers_the_upper_band() -> None:
    bitmap = AllocationBitmap(64, "r", offset=16, rand=random.Random(1))
    taken = [bitmap.allocate_next() for _ in range(48)]
    assert sorted(taken) == list(range(16, 64))  # the upper band first
    lower = bitmap.allocate_next()
    assert lower is not None and lower < 16 and bitmap.used() == 49
    while bitmap.allocate_next() is not None:
        pass
    assert bitmap.free() == 0 and bitmap.allocate_next() is None


def test_bitmap_snapshot_is_a_big_endian_integer_and_restores() -> None:
    bitmap = AllocationBitmap(20, "10.0.0.0/27")
    bitmap.allocate(0)
    bitmap.allocate(9)
    assert bitmap.snapshot() == ("10.0.0.0/27", (1 | 1 << 9).to_bytes(2, "big"))
    copy = AllocationBitmap(20, "10.0.0.0/27")
    copy.restore(*bitmap.snapshot())
    assert list(copy) == [0, 9] and copy.used() == 2
    with pytest.raises(ValueError, match="does not match"):
        copy.restore("10.0.1.0/27", b"")


def test_releasing_a_free_offset_changes_nothing() -> None:
    bitmap = AllocationBitmap(8, "r")
    bitmap.release(3)
    assert bitmap.free() == 8 and not bitmap.allocate(8) and not bitmap.allocate(-1)


# --- sizes and flags ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("cidr", "size", "band"),
    [("10.96.0.0/12", 2**20 - 2, 256), ("10.0.0.0/24", 254, 16), ("10.0.0.0/28", 14, 0), ("fd00::/108", 65535, 256)],
)
def test_ranges_leave_out_the_network_and_broadcast_addresses(cidr: str, size: int, band: int) -> None:
    assert (usable_size(network(cidr)), static_band(network(cidr))) == (size, band)


@pytest.mark.parametrize(
    ("value", "problems"),
    [
        ("10.96.0.0/12", []),
        ("10.96.0.0/12,fd00::/108", []),
        ("nonsense", ["service-cluster-ip-range[0] is not a valid cidr"]),
        ("10.0.0.0/24,nonsense", ["service-cluster-ip-range[1] is not an ip net"]),
        ("10.0.0.0/8", ["specified --service-cluster-ip-range is too large; for 32-bit addresses, the mask must be "
                        ">= 12"]),
        ("10.0.0.0/24,10.1.0.0/24", ["--service-cluster-ip-range[0] and --service-cluster-ip-range[1] must be of "
                                     "different IP family"]),
        ("10.0.0.0/30", ["error determining service IP ranges for primary service cidr: the service cluster IP range "
                         "must be at least 8 IP addresses"]),
    ],
    ids=["default", "dual-stack", "not-a-cidr", "bad-secondary", "too-large", "same-family", "too-small"],
)
def test_service_cluster_ip_range_flag_problems(value: str, problems: list[str]) -> None:
    assert service_cidr_problems(value) == problems


@pytest.mark.parametrize(
    ("value", "expected"),
    [("30000-32767", PortRange(30000, 2768)), ("1000+9", PortRange(1000, 10)), ("8080", PortRange(8080, 1))],
)
def test_port_ranges_parse_in_every_notation(value: str, expected: PortRange) -> None:
    assert parse_port_range(value) == expected
    assert str(expected) == f"{expected.base}-{expected.base + expected.size - 1}"


@pytest.mark.parametrize(
    ("value", "message"),
    [("abc", 'strconv.Atoi: parsing "abc": invalid syntax'),
     ("70000", "the port range cannot be greater than 65535: 70000"),
     ("30-20", "end port cannot be less than start port: 30-20"),
     ("1+2-3", "unable to parse port range: 1+2-3")],
)
def test_bad_port_ranges_are_refused_with_upstream_wording(value: str, message: str) -> None:
    with pytest.raises(ValueError) as raised:
        parse_port_range(value)
    assert str(raised.value) == message


# --- stored ranges --------------------------------------------------------------------------------------------

async def test_nothing_is_allocated_before_the_range_exists(storage: Storage) -> None:
    ip_range = IPRange(storage, PREFIX, network("10.0.0.0/24"))
    with pytest.raises(RangeNotReady, match="cannot allocate resources of type serviceipallocations at this time"):
        await ip_range.allocate_next()


async def test_two_replicas_never_hand_out_one_address(storage: Storage) -> None:
    first = IPRange(storage, PREFIX, network("10.0.0.0/28"))
    second = IPRange(storage, PREFIX, network("10.0.0.0/28"))
    await created(first)
    taken = [await (first if index % 2 else second).allocate_next() for index in range(14)]
    assert sorted(taken, key=ipaddress.ip_address) == [f"10.0.0.{host}" for host in range(1, 15)]
    for replica in (first, second):
        with pytest.raises(AllocationError) as full:
            await replica.allocate_next()
        assert str(full.value) == "range is full"
    await second.release("10.0.0.7")
    assert await first.allocate_next() == "10.0.0.7"  # the first replica reloads the moved range


async def test_stored_range_is_a_range_allocation_object(storage: Storage) -> None:
    ip_range = IPRange(storage, PREFIX, network("10.0.0.0/24"))
    await created(ip_range)
    await ip_range.allocate("10.0.0.1")
    stored = await storage.get("/registry/ranges/serviceips")
    assert stored is not None
    assert orjson.loads(stored.value) == {"kind": "RangeAllocation", "apiVersion": "v1", "metadata": {},
                                          "range": "10.0.0.0/24", "data": "AQ=="}


@pytest.mark.parametrize(
    ("address", "message"),
    [("10.0.0.5", "provided IP is already allocated"),
     ("10.0.0.0", "the provided IP (10.0.0.0) is not in the valid range. The range of valid IPs is 10.0.0.0/24"),
     ("10.0.0.255", "the provided IP (10.0.0.255) is not in the valid range. The range of valid IPs is 10.0.0.0/24"),
     ("10.1.0.5", "the provided IP (10.1.0.5) is not in the valid range. The range of valid IPs is 10.0.0.0/24")],
    ids=["taken", "network", "broadcast", "outside"],
)
async def test_explicit_addresses_are_refused_with_upstream_messages(storage: Storage, address: str,
                                                                     message: str) -> None:
    ip_range = IPRange(storage, PREFIX, network("10.0.0.0/24"))
    await created(ip_range)
    await ip_range.allocate("10.0.0.5")
    with pytest.raises(AllocationError) as refused:
        await ip_range.allocate(address)
    assert str(refused.value) == message


async def test_a_dry_run_takes_nothing(storage: Storage) -> None:
    ip_range = IPRange(storage, PREFIX, network("10.0.0.0/24"))
    await created(ip_range)
    assert await ip_range.allocate_next(dry_run=True) == "10.0.0.0"
    await ip_range.allocate("10.0.0.9", dry_run=True)
    assert not await ip_range.has("10.0.0.9")


async def test_node_ports_are_refused_with_upstream_messages(storage: Storage) -> None:
    ports = PortAllocator(storage, PREFIX, PortRange(30000, 10))
    await created(ports)
    await ports.allocate(30005)
    for port, message in ((30005, "provided port is already allocated"),
                          (80, "provided port is not in the valid range. The range of valid ports is 30000-30009")):
        with pytest.raises(AllocationError) as refused:
            await ports.allocate(port)
        assert str(refused.value) == message
    taken = {await ports.allocate_next() for _ in range(9)}
    assert taken == set(range(30000, 30010)) - {30005}
    with pytest.raises(AllocationError, match=r"^range is full$"):
        await ports.allocate_next()


async def test_a_port_operation_gives_back_what_it_took_and_releases_on_commit(storage: Storage) -> None:
    ports = PortAllocator(storage, PREFIX, PortRange(30000, 100))
    await created(ports)
    await ports.allocate(30050)
    failed = PortOperation(ports)
    await failed.allocate(30001)
    await failed.allocate_next()
    await failed.revert()
    assert [await ports.has(port) for port in range(30000, 30100)].count(True) == 1
    succeeded = PortOperation(ports)
    succeeded.release_deferred(30050)
    await succeeded.allocate(30002)
    assert await ports.has(30050)  # released only once the request succeeded
    await succeeded.commit()
    assert not await ports.has(30050) and await ports.has(30002)


async def test_a_dry_run_port_operation_checks_conflicts_and_takes_nothing(storage: Storage) -> None:
    ports = PortAllocator(storage, PREFIX, PortRange(30000, 100))
    await created(ports)
    await ports.allocate(30010)
    dry = PortOperation(ports, dry_run=True)
    with pytest.raises(AllocationError, match="provided port is already allocated"):
        await dry.allocate(30010)
    assert await dry.allocate_next() == 32769  # upstream's placeholder
    await dry.revert()
    assert not await ports.has(30011)


# --- repair ---------------------------------------------------------------------------------------------------

async def test_repair_creates_the_range_and_marks_what_services_use(storage: Storage) -> None:
    ip_range = IPRange(storage, PREFIX, network("10.0.0.0/24"))
    in_use = ["10.0.0.1", "10.0.0.20", "10.9.9.9", "10.0.0.20"]

    async def used() -> list[str]:
        return in_use

    report = await RangeRepair(ip_range.store, used, lambda ip: ip_range.offset_of(str(ip))).run_once()
    assert (report.out_of_range, report.duplicates) == (["10.9.9.9"], ["10.0.0.20"])
    assert await ip_range.has("10.0.0.1") and await ip_range.has("10.0.0.20")


async def test_repair_releases_a_leak_only_after_several_passes(storage: Storage) -> None:
    ip_range = IPRange(storage, PREFIX, network("10.0.0.0/24"))
    await created(ip_range)
    await ip_range.allocate("10.0.0.7")  # taken by a request whose object was never stored

    async def nothing() -> list[str]:
        return []

    repair = RangeRepair(ip_range.store, nothing, lambda ip: ip_range.offset_of(str(ip)))
    for _ in range(LEAK_PASSES - 1):
        assert (await repair.run_once()).released == []
        assert await ip_range.has("10.0.0.7")
    assert (await repair.run_once()).released == [ip_range.offset_of("10.0.0.7")]
    assert not await ip_range.has("10.0.0.7")


async def test_repair_survives_a_concurrent_allocation(storage: Storage) -> None:
    ip_range = IPRange(storage, PREFIX, network("10.0.0.0/24"))
    await created(ip_range)
    other = IPRange(storage, PREFIX, network("10.0.0.0/24"))
    raced: list[str] = []

    async def used() -> list[str]:
        if not raced:  # another replica writes between the repair's read and its write
            raced.append(await other.allocate_next())
        return list(raced)

    await RangeRepair(ip_range.store, used, lambda ip: ip_range.offset_of(str(ip))).run_once()
    assert await ip_range.has(raced[0])


async def test_stored_range_of_another_shape_is_reported(storage: Storage) -> None:
    await storage.create("/registry/ranges/serviceips", b'{"range": "10.1.0.0/24", "data": ""}')
    ip_range = IPRange(storage, PREFIX, network("10.0.0.0/24"))
    with pytest.raises(RangeNotReady, match="does not match the current range"):
        await ip_range.allocate_next()




async def test_repair_adopts_a_changed_range(storage: Storage) -> None:
    old = IPRange(storage, PREFIX, network("10.1.0.0/24"))
    await created(old)
    await old.allocate("10.1.0.5")
    new = IPRange(storage, PREFIX, network("10.0.0.0/24"))

    async def used() -> list[str]:
        return ["10.0.0.3"]

    await RangeRepair(new.store, used, lambda ip: new.offset_of(str(ip))).run_once()
    assert await new.has("10.0.0.3") and await new.allocate_next() != "10.0.0.3"
