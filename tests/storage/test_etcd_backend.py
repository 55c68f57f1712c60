"""EtcdStorage behaviour that only etcd has: transactions, paging past gRPC's limit, etcd's errors, failover.

The shared contract is proven by tests/storage/test_conformance.py; these use the shared `etcd` fixture and
isolate themselves by a unique key prefix.
"""
from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlsplit

import aetcd
import pytest

from apiserver.storage.backends import StorageOptions, open_storage
from apiserver.storage.errors import Compacted, FutureRevision, KeyNotFound, RevisionConflict, StorageUnavailable
from apiserver.storage.etcd.backend import EtcdStorage
from apiserver.storage.interface import Event, EventType
from tests.support.etcd import EtcdProcess
from tests.support.ports import free_port

TIMEOUT = 2.0
GRPC_DEFAULT_RECEIVE_LIMIT = 4 * 1024 * 1024
MANY_KEYS = 10_000
VALUE_SIZE = 520


def options_for(*urls: str, timeout: float = TIMEOUT) -> StorageOptions:
    return StorageOptions(backend="etcd3", etcd_servers=urls, request_timeout=timeout)


@pytest.fixture
async def storage(etcd: EtcdProcess) -> AsyncIterator[EtcdStorage]:
    opened = await EtcdStorage.open(options_for(etcd.url))
    yield opened
    await opened.close()


@pytest.fixture
def prefix() -> str:
    return f"/test-etcd/{uuid.uuid4().hex}/"


async def put_many(url: str, keys: list[str], value: bytes) -> None:
    """Write keys with aetcd's own client, 100 per transaction (etcd allows 128 operations per txn)."""
    parts = urlsplit(url)
    async with aetcd.Client(host=parts.hostname or "127.0.0.1", port=parts.port or 2379, timeout=30) as client:
        for first in range(0, len(keys), 100):
            puts = [client.transactions.put(key.encode(), value) for key in keys[first : first + 100]]
            await client.transaction(compare=[], success=puts, failure=[])


async def delete_prefix(url: str, prefix: str) -> None:
    parts = urlsplit(url)
    async with aetcd.Client(host=parts.hostname or "127.0.0.1", port=parts.port or 2379, timeout=30) as client:
        await client.delete_prefix(prefix.encode())


@pytest.fixture(scope="module")
def many_keys(etcd: EtcdProcess) -> Iterator[tuple[str, list[str]]]:
    """10k keys of 520 B under one prefix: more than 4 MiB, gRPC's default receive limit, in one list."""
    prefix = f"/test-etcd-many/{uuid.uuid4().hex}/"
    keys = sorted(f"{prefix}{index:05d}" for index in range(MANY_KEYS))
    asyncio.run(put_many(etcd.url, keys, b"x" * VALUE_SIZE))
    yield prefix, keys
    asyncio.run(delete_prefix(etcd.url, prefix))


async def next_batch(events: AsyncIterator[list[Event]]) -> list[Event]:
    async with asyncio.timeout(5):
        return await anext(events)


async def test_open_storage_selects_the_etcd3_backend(etcd: EtcdProcess) -> None:
    storage = await open_storage(options_for(etcd.url))
    try:
        assert isinstance(storage, EtcdStorage)
        await storage.check()
    finally:
        await storage.close()


async def test_update_of_missing_key_with_expected_zero_does_not_create_it(storage: EtcdStorage, prefix: str) -> None:
    # etcd compares a missing key's mod revision as 0, so a bare mod-revision comparison would create the key.
    with pytest.raises(KeyNotFound):
        await storage.update(f"{prefix}missing", b"v", expected=0)
    assert await storage.get(f"{prefix}missing") is None


async def test_failed_writes_report_the_actual_mod_revision(storage: EtcdStorage, prefix: str) -> None:
    created = await storage.create(f"{prefix}a", b"1")
    with pytest.raises(RevisionConflict) as update_error:
        await storage.update(f"{prefix}a", b"2", expected=created - 1)
    with pytest.raises(RevisionConflict) as delete_error:
        await storage.delete(f"{prefix}a", expected=created + 1)
    assert (update_error.value.actual, delete_error.value.actual) == (created, created)


async def test_delete_returns_the_previous_value_at_the_delete_revision(storage: EtcdStorage, prefix: str) -> None:
    created = await storage.create(f"{prefix}a", b"1")
    deleted = await storage.delete(f"{prefix}a")
    assert (deleted.value, deleted.create_revision) == (b"1", created)
    assert deleted.mod_revision == await storage.current_revision()


async def test_list_of_more_than_grpc_default_limit_returns_every_key(
    storage: EtcdStorage, many_keys: tuple[str, list[str]]
) -> None:
    prefix, keys = many_keys
    page = await storage.list(prefix)
    assert [item.key for item in page.items] == keys
    assert sum(len(item.value) + len(item.key) for item in page.items) > GRPC_DEFAULT_RECEIVE_LIMIT
    assert (page.more, page.remaining) == (False, 0)


async def test_list_with_limit_spanning_internal_pages_counts_remaining_keys(
    storage: EtcdStorage, many_keys: tuple[str, list[str]]
) -> None:
    prefix, keys = many_keys
    first = await storage.list(prefix, limit=7000)
    second = await storage.list(prefix, revision=first.revision, limit=2000, start=first.items[-1].key + "\x00")
    assert [item.key for item in [*first.items, *second.items]] == keys[:9000]
    assert (first.more, first.remaining, second.more, second.remaining) == (True, 3000, True, 1000)


async def test_list_of_one_page_larger_than_grpc_default_limit(storage: EtcdStorage, prefix: str) -> None:
    big = b"y" * (1024 * 1024)
    for index in range(5):
        await storage.create(f"{prefix}{index}", big)
    page = await storage.list(prefix)
    assert [len(item.value) for item in page.items] == [len(big)] * 5


async def test_list_below_compaction_reports_the_compacted_revision(storage: EtcdStorage, prefix: str) -> None:
    first = await storage.create(f"{prefix}a", b"1")
    second = await storage.update(f"{prefix}a", b"2", expected=first)
    await storage.compact(second)
    with pytest.raises(Compacted) as error:
        await storage.list(prefix, revision=first)
    assert (error.value.requested, error.value.compacted) == (first, second)
    assert [item.value for item in (await storage.list(prefix, revision=second)).items] == [b"2"]


async def test_list_at_a_future_revision_reports_the_current_revision(storage: EtcdStorage, prefix: str) -> None:
    current = await storage.current_revision()
    with pytest.raises(FutureRevision) as error:
        await storage.list(prefix, revision=current + 1000)
    assert (error.value.requested, error.value.current) == (current + 1000, current)


async def test_compact_at_or_below_the_compacted_revision_is_a_no_op(storage: EtcdStorage, prefix: str) -> None:
    revision = await storage.create(f"{prefix}a", b"1")
    await storage.compact(revision)
    await storage.compact(revision)
    await storage.compact(revision - 1)
    with pytest.raises(FutureRevision):
        await storage.compact(revision + 1000)


async def test_watch_reports_each_change_with_previous_values(storage: EtcdStorage, prefix: str) -> None:
    before = await storage.current_revision()
    created = await storage.create(f"{prefix}a", b"1")
    updated = await storage.update(f"{prefix}a", b"2", expected=created)
    deleted = await storage.delete(f"{prefix}a")
    events = storage.watch(prefix, after=before)
    seen: list[Event] = []
    while len(seen) < 3:
        seen.extend(await next_batch(events))
    await events.aclose()
    key = f"{prefix}a"
    assert seen == [
        Event(EventType.CREATE, key, b"1", None, created, created),
        Event(EventType.UPDATE, key, b"2", b"1", updated, created),
        Event(EventType.DELETE, key, b"", b"2", deleted.mod_revision, created),
    ]


async def test_watch_below_compaction_raises_compacted_on_first_iteration(storage: EtcdStorage, prefix: str) -> None:
    first = await storage.create(f"{prefix}a", b"1")
    second = await storage.update(f"{prefix}a", b"2", expected=first)
    await storage.compact(second)
    events = storage.watch(prefix, after=first - 1)
    with pytest.raises(Compacted) as error:
        await next_batch(events)
    assert (error.value.requested, error.value.compacted) == (first, second)


async def test_watch_ends_when_the_storage_closes(etcd: EtcdProcess, prefix: str) -> None:
    storage = await EtcdStorage.open(options_for(etcd.url))
    events = storage.watch(prefix, after=await storage.current_revision())
    waiting = asyncio.ensure_future(anext(events))
    await asyncio.sleep(0.2)
    await storage.close()
    with pytest.raises(StopAsyncIteration):
        async with asyncio.timeout(5):
            await waiting


async def test_calls_after_close_raise_storage_unavailable(etcd: EtcdProcess, prefix: str) -> None:
    storage = await EtcdStorage.open(options_for(etcd.url))
    await storage.close()
    await storage.close()
    with pytest.raises(StorageUnavailable):
        await storage.get(f"{prefix}a")


async def test_open_prefers_the_first_reachable_server(etcd: EtcdProcess, prefix: str) -> None:
    unreachable = f"http://127.0.0.1:{free_port()}"
    storage = await EtcdStorage.open(options_for(unreachable, etcd.url, timeout=1.0))
    try:
        started = time.monotonic()
        await storage.create(f"{prefix}a", b"1")
        assert (await storage.get(f"{prefix}a")) is not None
        assert time.monotonic() - started < 1.0
    finally:
        await storage.close()


def test_server_urls_must_be_http_or_https() -> None:
    with pytest.raises(ValueError, match="unsupported etcd server URL"):
        asyncio.run(EtcdStorage.open(options_for("unix:///run/etcd.sock")))


async def test_a_busy_event_loop_takes_everything_etcd_sent_meanwhile_in_one_batch(
    storage: EtcdStorage, etcd: EtcdProcess, prefix: str
) -> None:
    """The watch is read on a thread: while the loop is blocked, responses pile up and arrive as one batch."""
    start = await storage.current_revision()
    watch = storage.watch(prefix, after=start)
    first = asyncio.ensure_future(watch.__anext__())
    await storage.create(f"{prefix}first", b"v")
    batches = [await asyncio.wait_for(first, 10)]
    writes = 50
    parts = urlsplit(etcd.url)
    async with aetcd.Client(host=parts.hostname or "127.0.0.1", port=parts.port or 2379, timeout=30) as client:
        for index in range(writes):  # separate transactions: one watch response each
            await client.put(f"{prefix}k{index:03d}".encode(), b"v")
    time.sleep(0.5)  # the event loop is busy; the reader thread keeps reading
    seen = sum(len(batch) for batch in batches)
    while seen < writes + 1:
        batch = await asyncio.wait_for(watch.__anext__(), 10)
        batches.append(batch)
        seen += len(batch)
    await watch.aclose()  # type: ignore[attr-defined]
    keys = [event.key for batch in batches for event in batch]
    assert keys == [f"{prefix}first", *(f"{prefix}k{index:03d}" for index in range(writes))]
    assert len(batches) <= 3  # one response per loop turn would give 51
