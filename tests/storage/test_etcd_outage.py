"""EtcdStorage while etcd is down, paused or restarting: bounded failures, then recovery on the same instance.

These tests stop and pause an etcd of their own, so the shared one is never disturbed.
"""
from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import TypeVar

import pytest

from apiserver.storage.backends import StorageOptions
from apiserver.storage.errors import StorageUnavailable
from apiserver.storage.etcd.backend import RESUME_WINDOW_OPTION, EtcdStorage
from apiserver.storage.interface import Event
from tests.support.etcd import EtcdProcess

T = TypeVar("T")

TIMEOUT = 1.0
# Allowed beyond the request timeout for a failing call to come back.
MARGIN = 1.0


@pytest.fixture(scope="module")
def own_etcd() -> Iterator[EtcdProcess]:
    process = EtcdProcess()
    process.start()
    yield process
    process.destroy()


@pytest.fixture
def outage(own_etcd: EtcdProcess) -> Iterator[EtcdProcess]:
    """The module's etcd, running again (and not paused) after the test whatever the test did to it."""
    yield own_etcd
    if own_etcd.process is None:
        own_etcd.start()
    else:
        own_etcd.resume()


def options_for(url: str, **extra: str) -> StorageOptions:
    return StorageOptions(backend="etcd3", etcd_servers=(url,), request_timeout=TIMEOUT, extra=extra)


@pytest.fixture
async def storage(outage: EtcdProcess) -> AsyncIterator[EtcdStorage]:
    opened = await EtcdStorage.open(options_for(outage.url))
    yield opened
    await opened.close()


@pytest.fixture
def prefix() -> str:
    return f"/test-outage/{uuid.uuid4().hex}/"


def calls(storage: EtcdStorage, prefix: str) -> dict[str, Callable[[], Awaitable[object]]]:
    return {
        "get": lambda: storage.get(f"{prefix}a"),
        "create": lambda: storage.create(f"{prefix}new-{uuid.uuid4().hex}", b"v"),
        "list": lambda: storage.list(prefix),
        "current_revision": storage.current_revision,
        "check": storage.check,
    }


async def unavailable_within(call: Callable[[], Awaitable[object]]) -> float:
    """Seconds until `call` raised StorageUnavailable (fails the test if it returned)."""
    started = time.monotonic()
    with pytest.raises(StorageUnavailable):
        await call()
    return time.monotonic() - started


async def assert_each_call_is_unavailable_in_time(storage: EtcdStorage, prefix: str) -> None:
    named = calls(storage, prefix)
    durations = await asyncio.gather(*(unavailable_within(call) for call in named.values()))
    assert all(duration < TIMEOUT + MARGIN for duration in durations), dict(zip(named, durations, strict=True))


async def eventually(call: Callable[[], Awaitable[T]], deadline: float = 10) -> T:
    """The result of the first `call` that does not raise StorageUnavailable within `deadline` seconds.

    gRPC retries a lost connection with a backoff of up to a second, so the first call after etcd comes back
    may still miss it; the storage must recover by itself without being reopened.
    """
    async with asyncio.timeout(deadline):
        while True:
            try:
                return await call()
            except StorageUnavailable:
                await asyncio.sleep(0.05)


async def next_batch(events: AsyncIterator[list[Event]], timeout: float = 10) -> list[Event]:
    async with asyncio.timeout(timeout):
        return await anext(events)


async def test_calls_fail_while_etcd_is_stopped_and_work_again_after_restart(
    storage: EtcdStorage, outage: EtcdProcess, prefix: str
) -> None:
    await storage.create(f"{prefix}a", b"1")
    outage.stop()
    await assert_each_call_is_unavailable_in_time(storage, prefix)
    await asyncio.to_thread(outage.start)
    kept = await eventually(lambda: storage.get(f"{prefix}a"))
    assert kept is not None and kept.value == b"1"
    await storage.create(f"{prefix}b", b"2")


async def test_calls_fail_while_etcd_is_paused_and_work_again_after_resume(
    storage: EtcdStorage, outage: EtcdProcess, prefix: str
) -> None:
    await storage.create(f"{prefix}a", b"1")
    outage.pause()
    await assert_each_call_is_unavailable_in_time(storage, prefix)
    outage.resume()
    kept = await eventually(lambda: storage.get(f"{prefix}a"))
    assert kept is not None and kept.value == b"1"


async def test_open_while_etcd_is_stopped_succeeds_and_works_once_it_starts(outage: EtcdProcess, prefix: str) -> None:
    outage.stop()
    storage = await EtcdStorage.open(options_for(outage.url))
    try:
        with pytest.raises(StorageUnavailable):
            await storage.check()
        await asyncio.to_thread(outage.start)
        await eventually(lambda: storage.create(f"{prefix}a", b"1"))
    finally:
        await storage.close()


async def test_watch_resumes_across_an_etcd_restart_without_gaps_or_duplicates(
    storage: EtcdStorage, outage: EtcdProcess, prefix: str
) -> None:
    before = await storage.current_revision()
    revisions = [await storage.create(f"{prefix}{index}", b"v") for index in range(3)]
    events = storage.watch(prefix, after=before)
    seen = [event.revision for event in await next_batch(events)]
    while len(seen) < 3:
        seen.extend(event.revision for event in await next_batch(events))
    outage.stop()
    await asyncio.to_thread(outage.start)
    revisions.append(await eventually(lambda: storage.create(f"{prefix}after-0", b"v")))
    revisions += [await storage.create(f"{prefix}after-{index}", b"v") for index in (1, 2)]
    while len(seen) < 6:
        seen.extend(event.revision for event in await next_batch(events))
    await events.aclose()
    assert seen == revisions


async def test_watch_raises_storage_unavailable_when_etcd_stays_down(outage: EtcdProcess, prefix: str) -> None:
    storage = await EtcdStorage.open(options_for(outage.url, **{RESUME_WINDOW_OPTION: "1.5"}))
    try:
        events = storage.watch(prefix, after=await storage.current_revision())
        waiting = asyncio.ensure_future(next_batch(events))
        await asyncio.sleep(0.2)
        outage.stop()
        started = time.monotonic()
        with pytest.raises(StorageUnavailable):
            await waiting
        assert time.monotonic() - started < 1.5 + TIMEOUT + MARGIN
    finally:
        await storage.close()


async def test_watch_started_while_etcd_is_stopped_raises_storage_unavailable(
    storage: EtcdStorage, outage: EtcdProcess, prefix: str
) -> None:
    outage.stop()
    started = time.monotonic()
    with pytest.raises(StorageUnavailable):
        await next_batch(storage.watch(prefix, after=0))
    assert time.monotonic() - started < TIMEOUT + MARGIN


async def test_calls_fail_over_to_the_next_server(outage: EtcdProcess, etcd: EtcdProcess, prefix: str) -> None:
    options = StorageOptions(backend="etcd3", etcd_servers=(outage.url, etcd.url), request_timeout=TIMEOUT)
    storage = await EtcdStorage.open(options)
    try:
        await storage.create(f"{prefix}on-first", b"1")
        outage.stop()
        # The first call after the member goes away may still be sent to it and fail; the next goes elsewhere.
        outcomes: list[object] = []
        while len(outcomes) < 2 and (not outcomes or outcomes[-1] == "unavailable"):
            try:
                outcomes.append(await storage.get(f"{prefix}on-first"))
            except StorageUnavailable:
                outcomes.append("unavailable")
        assert outcomes[-1] is None
        await storage.create(f"{prefix}on-second", b"2")
    finally:
        await storage.close()
