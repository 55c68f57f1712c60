"""The storage health checks, rate limited as upstream's etcd checks (kubernetes#112046): one storage read per half
timeout, no burst; checks answer with the outcome of the latest read sent while it is recent, else wait for a read."""
from __future__ import annotations

import asyncio

import pytest

from apiserver.server.healthchecks import storage_check
from apiserver.server.lifecycle import StorageHandle
from apiserver.storage.errors import StorageUnavailable


class Clock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


class CheckedStorage:
    """Only `check` is used: counts calls; fails with `error` while it is set; waits for `gate` when given."""

    def __init__(self) -> None:
        self.checks = 0
        self.error: Exception | None = None
        self.gate: asyncio.Event | None = None

    async def check(self) -> None:
        self.checks += 1
        error, gate = self.error, self.gate
        if gate is not None:
            await gate.wait()
        if error is not None:
            raise error


def handle_for(storage: CheckedStorage | None) -> StorageHandle:
    handle = StorageHandle()
    handle.set(storage)  # type: ignore[arg-type]
    return handle


async def settle() -> None:
    """Let reads started in the background finish (each is a few steps of the loop)."""
    for _ in range(5):
        await asyncio.sleep(0)


async def test_reads_storage_at_most_once_per_half_timeout_and_repeats_the_latest_outcome() -> None:
    storage, clock = CheckedStorage(), Clock()
    check = storage_check(handle_for(storage), timeout=2.0, clock=clock)
    await check()
    clock.now += 0.99
    storage.error = StorageUnavailable("etcd down")
    await check()  # within the second: the last read's success, storage not asked
    assert storage.checks == 1
    clock.now += 0.01
    await check()  # due a read: starts it, and answers with the outcome known so far
    await settle()
    assert storage.checks == 2
    with pytest.raises(StorageUnavailable, match="etcd down"):
        await check()
    storage.error = None
    clock.now += 0.5
    with pytest.raises(StorageUnavailable, match="etcd down"):  # the failure is repeated until the next read
        await check()
    clock.now += 0.5
    with pytest.raises(StorageUnavailable, match="etcd down"):  # the next read is sent...
        await check()
    await settle()
    await check()  # ...and its success answers from then on
    assert storage.checks == 3


async def test_the_check_due_a_read_does_not_wait_for_it() -> None:
    storage, clock = CheckedStorage(), Clock()
    check = storage_check(handle_for(storage), timeout=2.0, clock=clock)
    await check()
    clock.now += 1.0
    storage.gate, storage.error = asyncio.Event(), StorageUnavailable("etcd hangs, then fails")
    await asyncio.wait_for(check(), 0.5)  # the read hangs; the check answers at once with the last outcome
    await settle()
    assert storage.checks == 2
    storage.gate.set()
    await settle()
    with pytest.raises(StorageUnavailable, match="hangs, then fails"):
        await check()


async def test_an_outcome_older_than_the_timeout_is_not_repeated_the_check_waits_for_a_new_read() -> None:
    storage, clock = CheckedStorage(), Clock()
    check = storage_check(handle_for(storage), timeout=2.0, clock=clock)
    await check()
    clock.now += 10.0  # a probe every 10 s, as a kubelet's: the last read is older than the check's timeout
    storage.error = StorageUnavailable("etcd down")
    with pytest.raises(StorageUnavailable, match="etcd down"):
        await check()  # this probe's own read, as upstream's
    assert storage.checks == 2
    clock.now += 2.5
    storage.error = None
    await check()
    assert storage.checks == 3


async def test_before_any_read_answered_checks_wait_for_one() -> None:
    storage, clock = CheckedStorage(), Clock()
    storage.gate = asyncio.Event()
    check = storage_check(handle_for(storage), timeout=2.0, clock=clock)
    first, second = asyncio.create_task(check()), asyncio.create_task(check())
    await settle()
    assert not first.done() and not second.done() and storage.checks == 1  # one read for both
    storage.gate.set()
    await asyncio.gather(first, second)


async def test_a_slow_read_does_not_overwrite_a_later_ones_outcome() -> None:
    storage, clock = CheckedStorage(), Clock()
    check = storage_check(handle_for(storage), timeout=2.0, clock=clock)
    storage.gate, storage.error = asyncio.Event(), StorageUnavailable("slow and failed")
    slow_gate = storage.gate
    slow = asyncio.create_task(check())
    while storage.checks == 0:
        await asyncio.sleep(0)
    clock.now += 1.0
    storage.gate, storage.error = None, None
    await check()  # a later read, answered at once: success
    slow_gate.set()
    with pytest.raises(StorageUnavailable):
        await slow  # the slow read reports its own failure...
    clock.now += 0.1
    await check()  # ...but the latest read sent was the successful one
    assert storage.checks == 2


async def test_without_open_storage_the_check_fails_at_once_and_spends_no_read() -> None:
    storage, clock = CheckedStorage(), Clock()
    handle = handle_for(None)
    check = storage_check(handle, timeout=2.0, clock=clock)
    with pytest.raises(StorageUnavailable, match="storage is not open"):
        await check()
    handle.set(storage)  # type: ignore[arg-type]
    await check()  # right away: the failure before start-up was not a read, and is not repeated
    assert storage.checks == 1


async def test_a_read_past_the_timeout_fails() -> None:
    storage, clock = CheckedStorage(), Clock()
    storage.gate = asyncio.Event()
    check = storage_check(handle_for(storage), timeout=0.05, clock=clock)
    with pytest.raises(TimeoutError):
        await check()


async def test_a_read_whose_caller_hung_up_is_still_recorded() -> None:
    storage, clock = CheckedStorage(), Clock()
    storage.gate, storage.error = asyncio.Event(), StorageUnavailable("etcd down")
    check = storage_check(handle_for(storage), timeout=2.0, clock=clock)
    caller = asyncio.create_task(check())  # the first read: its caller waits for it
    while storage.checks == 0:
        await asyncio.sleep(0)
    caller.cancel()  # the probe went away; the read goes on
    storage.gate.set()
    await settle()
    clock.now += 0.5
    with pytest.raises(StorageUnavailable, match="etcd down"):
        await check()  # within the second: the hung-up read's outcome, storage not asked again
    assert storage.checks == 1
