"""The compactor: compacts to the revision seen one tick earlier, keeps the newest revisions, survives outages."""
from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest

from apiserver.storage.backends import StorageOptions
from apiserver.storage.compactor import Compactor
from apiserver.storage.errors import Compacted, StorageUnavailable
from apiserver.storage.etcd.backend import EtcdStorage
from apiserver.storage.interface import Storage
from apiserver.storage.memory.backend import MemoryStorage
from tests.support.etcd import EtcdProcess

INTERVAL = 300.0


class SteppedSleep:
    """A sleep that returns only when the test calls `tick()`, so the loop runs one tick at a time."""

    def __init__(self) -> None:
        self.requested: list[float] = []
        self._changed = asyncio.Condition()
        self._released = 0

    async def __call__(self, seconds: float) -> None:
        async with self._changed:
            self.requested.append(seconds)
            ticket = len(self.requested)
            self._changed.notify_all()
            await self._changed.wait_for(lambda: self._released >= ticket)

    async def tick(self) -> None:
        """End the current sleep and wait until the loop has finished the tick and sleeps again."""
        async with asyncio.timeout(10), self._changed:
            ticket = self._released + 1
            await self._changed.wait_for(lambda: len(self.requested) >= ticket)
            self._released = ticket
            self._changed.notify_all()
            await self._changed.wait_for(lambda: len(self.requested) > ticket)


@pytest.fixture
async def memory() -> AsyncIterator[MemoryStorage]:
    storage = MemoryStorage()
    yield storage
    await storage.close()


@pytest.fixture
async def sleep() -> SteppedSleep:
    return SteppedSleep()


@pytest.fixture
async def etcd_storage(etcd: EtcdProcess) -> AsyncIterator[EtcdStorage]:
    storage = await EtcdStorage.open(StorageOptions(backend="etcd3", etcd_servers=(etcd.url,), request_timeout=2.0))
    yield storage
    await storage.close()


@pytest.fixture
def prefix() -> str:
    return f"/test-compactor/{uuid.uuid4().hex}/"


async def write(storage: Storage, prefix: str, count: int) -> int:
    """`count` writes under `prefix`; the revision of the last one."""
    key = f"{prefix}{uuid.uuid4().hex}"
    revision = await storage.create(key, b"0")
    for _ in range(count - 1):
        revision = await storage.update(key, b"1", expected=revision)
    return revision


@pytest.fixture
async def running(memory: MemoryStorage, sleep: SteppedSleep) -> AsyncIterator[Compactor]:
    compactor = Compactor(memory, INTERVAL, sleep=sleep)
    compactor.start()
    yield compactor
    await compactor.stop()


async def test_second_tick_compacts_to_the_revision_seen_at_the_first(
    memory: MemoryStorage, sleep: SteppedSleep, running: Compactor, prefix: str
) -> None:
    seen = await write(memory, prefix, 5)
    await sleep.tick()
    assert running.compacted_revision == 0
    await write(memory, prefix, 1200)
    await sleep.tick()
    assert running.compacted_revision == seen
    with pytest.raises(Compacted):
        await memory.list(prefix, revision=seen - 1)
    await memory.list(prefix, revision=seen)


async def test_the_newest_revisions_are_never_compacted(
    memory: MemoryStorage, sleep: SteppedSleep, running: Compactor, prefix: str
) -> None:
    await write(memory, prefix, 2000)
    await sleep.tick()
    current = await write(memory, prefix, 10)
    await sleep.tick()
    assert running.compacted_revision == current - 1000


async def test_loop_sleeps_the_interval_between_ticks(sleep: SteppedSleep, running: Compactor) -> None:
    await sleep.tick()
    await sleep.tick()
    assert sleep.requested == [INTERVAL] * 3


async def test_interval_zero_disables_compaction(memory: MemoryStorage, sleep: SteppedSleep) -> None:
    compactor = Compactor(memory, 0, sleep=sleep)
    compactor.start()
    await compactor.stop()
    async with asyncio.timeout(1):
        await compactor.run()
    assert sleep.requested == []


async def test_stop_ends_the_loop(memory: MemoryStorage, sleep: SteppedSleep) -> None:
    compactor = Compactor(memory, INTERVAL, sleep=sleep)
    compactor.start()
    await sleep.tick()
    async with asyncio.timeout(1):
        await compactor.stop()
        await compactor.stop()


async def test_compaction_is_logged_with_its_revision(
    memory: MemoryStorage, sleep: SteppedSleep, running: Compactor, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    seen = await write(memory, prefix, 3)
    await sleep.tick()
    await write(memory, prefix, 1100)
    with caplog.at_level(logging.INFO, logger="apiserver.storage.compactor"):
        await sleep.tick()
    [record] = [record for record in caplog.records if record.getMessage() == "compacted"]
    assert record.__dict__["revision"] == seen


async def test_compactor_compacts_etcd(etcd_storage: EtcdStorage, sleep: SteppedSleep, prefix: str) -> None:
    compactor = Compactor(etcd_storage, INTERVAL, keep_revisions=0, sleep=sleep)
    compactor.start()
    try:
        await write(etcd_storage, prefix, 2)
        await sleep.tick()
        seen = await etcd_storage.current_revision()
        await write(etcd_storage, prefix, 2)
        await sleep.tick()
        assert compactor.compacted_revision == seen
        with pytest.raises(Compacted):
            await etcd_storage.list(prefix, revision=seen - 1)
    finally:
        await compactor.stop()


@pytest.fixture
def own_etcd() -> Iterator[EtcdProcess]:
    process = EtcdProcess()
    process.start()
    yield process
    process.destroy()


async def test_compactor_survives_etcd_being_unavailable(
    own_etcd: EtcdProcess, sleep: SteppedSleep, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    options = StorageOptions(backend="etcd3", etcd_servers=(own_etcd.url,), request_timeout=0.5)
    storage = await EtcdStorage.open(options)
    compactor = Compactor(storage, INTERVAL, keep_revisions=0, sleep=sleep)
    compactor.start()
    try:
        seen = await write(storage, prefix, 3)
        await sleep.tick()
        own_etcd.stop()
        with caplog.at_level(logging.WARNING, logger="apiserver.storage.compactor"):
            await sleep.tick()
        assert "compaction_failed" in [record.getMessage() for record in caplog.records]
        await asyncio.to_thread(own_etcd.start)
        await write_when_available(storage, prefix)
        await sleep.tick()
        assert compactor.compacted_revision == seen
    finally:
        await compactor.stop()
        await storage.close()


async def write_when_available(storage: Storage, prefix: str) -> None:
    """gRPC may take up to its reconnect backoff (about a second) to notice etcd is back."""
    async with asyncio.timeout(10):
        while True:
            try:
                await storage.check()
                await write(storage, prefix, 1)
                return
            except StorageUnavailable:
                await asyncio.sleep(0.05)
