"""The etcd start-up read (storage/startup.py, storage/etcd/startup.py) against a real etcd: what it answers is
exactly what etcd lists at its revision, it holds one revision across pages, and any failure leaves the lists to
etcd."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from concurrent.futures import Future
from typing import Any

import grpc
import pytest
from aetcd import rpc

from apiserver.storage.backends import StorageOptions, begin_startup_read
from apiserver.storage.errors import StorageUnavailable
from apiserver.storage.etcd.backend import EtcdStorage
from apiserver.storage.etcd.endpoints import TlsFiles, channel_options, grpc_target, open_blocking_channel
from apiserver.storage.etcd.startup import read_range
from apiserver.storage.interface import KeyValue
from apiserver.storage.startup import StartupSnapshot
from tests.support.etcd import EtcdProcess
from tests.support.ports import free_port

WAIT = 10.0
# Sibling prefixes ("pods/" beside "podsecurity/"), several namespaces, a non-ASCII name, one key at the prefix's
# very end ("\U0010ffff" sorts after every other name).
NAMES = ("pods/a/p1", "pods/a/p2", "pods/a/p3", "pods/b/p1", "pods/b/\u00e9t\u00e9", "podsecurity/x",
         "services/a/s1", "services/a/\U0010ffff")


def etcd_options(*servers: str, timeout: float = 5.0) -> StorageOptions:
    return StorageOptions(backend="etcd3", etcd_servers=servers, request_timeout=timeout)


@pytest.fixture
async def plain(etcd: EtcdProcess) -> AsyncIterator[EtcdStorage]:
    storage = await EtcdStorage.open(etcd_options(etcd.url))
    try:
        yield storage
    finally:
        await storage.close()


async def fill(storage: EtcdStorage, prefix: str) -> None:
    for index, name in enumerate(NAMES):
        await storage.create(prefix + name, f"value {index}".encode())


async def test_lists_at_its_revision_are_what_etcd_lists(etcd: EtcdProcess, plain: EtcdStorage, prefix: str) -> None:
    await plain.create(prefix[:-1] + "0/outside", b"after the prefix")  # the first key past the prefix's range
    await fill(plain, prefix)
    options = etcd_options(etcd.url)
    snapshot = begin_startup_read(options, prefix)
    assert isinstance(snapshot, StartupSnapshot)
    revision = await snapshot.wait(WAIT)
    assert revision == await plain.current_revision()
    # Changes after the snapshot: the lists at its revision must not show them, the current ones must.
    await plain.create(prefix + "pods/a/p0", b"new")
    changed = await plain.get(prefix + "pods/a/p2")
    assert changed is not None
    await plain.update(prefix + "pods/a/p2", b"changed", expected=changed.mod_revision)
    await plain.delete(prefix + "pods/b/p1")

    served = StorageOptions(backend="etcd3", etcd_servers=(etcd.url,), startup_snapshot=snapshot)
    storage = await EtcdStorage.open(served)
    try:
        for sub in ("", "pods/", "pods/a/", "pods/b/", "podsecurity/", "services/", "services/a/", "nodes/"):
            for start, limit in [("", 0), ("", 1), ("", 2), (prefix + "pods/a/p2", 0), (prefix + "pods/a/p2", 2),
                                 (prefix + "pods/a/p2\x00", 1), (prefix + "zzz", 0)]:
                expected = await plain.list(prefix + sub, revision=revision, start=start, limit=limit)
                before = snapshot.lists_served
                answer = await storage.list(prefix + sub, revision=revision, start=start, limit=limit)
                assert answer == expected, (sub, start, limit)
                assert snapshot.lists_served == before + 1
        # Only lists at the snapshot's revision come from it; the current state comes from etcd.
        before = snapshot.lists_served
        current = await storage.list(prefix)
        assert [kv.key for kv in current.items] == sorted(
            [prefix + name for name in NAMES if name != "pods/b/p1"] + [prefix + "pods/a/p0"])
        assert (await storage.list(prefix, revision=revision - 1)) == await plain.list(prefix, revision=revision - 1)
        assert snapshot.lists_served == before
        snapshot.release()
        assert snapshot.page(prefix, revision=revision) is None
        assert await storage.list(prefix, revision=revision) == await plain.list(prefix, revision=revision)
        assert snapshot.lists_served == before
    finally:
        await storage.close()


async def test_a_list_outside_its_prefix_is_not_answered(etcd: EtcdProcess, plain: EtcdStorage, prefix: str) -> None:
    await fill(plain, prefix + "inner/")
    snapshot = begin_startup_read(etcd_options(etcd.url), prefix + "inner/")
    assert snapshot is not None
    revision = await snapshot.wait(WAIT)
    assert snapshot.page(prefix, revision=revision) is None
    assert snapshot.page(prefix + "inne", revision=revision) is None
    page = snapshot.page(prefix + "inner/pods/", revision=revision)
    assert page is not None and len(page.items) == 5


class InterleavedKV:
    """The real KV stub, with a write to etcd (through a second stub) after every range has answered: a read of
    several pages then sees the keyspace change between its pages."""

    def __init__(self, kv: Any, writer: Any, prefix: bytes) -> None:
        self.Range = _InterleavedRange(kv.Range, writer, prefix)


class _InterleavedRange:
    def __init__(self, call: Any, writer: Any, prefix: bytes) -> None:
        self._call, self._writer, self._prefix = call, writer, prefix
        self.ranges = self.futures = 0

    def __call__(self, request: Any, timeout: float) -> Any:
        response = self._call(request, timeout=timeout)
        self.ranges += 1
        self._writer.Put(rpc.PutRequest(key=self._prefix + b"pods/a/p%d" % (10 + self.ranges), value=b"late"))
        self._writer.DeleteRange(rpc.DeleteRangeRequest(key=self._prefix + b"services/a/s1"))
        return response

    def future(self, request: Any, timeout: float) -> Any:
        done: Future[Any] = Future()
        done.set_result(self(request, timeout=timeout))
        self.futures += 1
        return done


async def test_every_page_is_read_at_the_first_pages_revision(
    etcd: EtcdProcess, plain: EtcdStorage, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    await fill(plain, prefix)
    revision = await plain.current_revision()
    monkeypatch.setattr("apiserver.storage.etcd.startup.LIST_PAGE_SIZE", 2)
    channel = open_blocking_channel(etcd.url, TlsFiles(), 5.0)
    try:
        kv = InterleavedKV(rpc.KVStub(channel), rpc.KVStub(channel), prefix.encode())
        items, read_at = await asyncio.to_thread(read_range, kv, prefix.encode(), 5.0)
    finally:
        channel.close()
    assert (kv.Range.ranges, kv.Range.futures) == (4, 2)  # 8 keys, 2 a page; the last two asked for ahead
    assert read_at == revision
    assert items == list((await plain.list(prefix, revision=revision)).items)
    assert len((await plain.list(prefix)).items) == len(NAMES) - 1 + 4  # the writes did happen meanwhile


async def test_a_page_over_the_receive_limit_is_read_in_smaller_pages(
    etcd: EtcdProcess, plain: EtcdStorage, prefix: str
) -> None:
    for index in range(8):
        await plain.create(f"{prefix}big/{index}", bytes([65 + index]) * 3000)
    target, _ = grpc_target(etcd.url)
    limited = [*(option for option in channel_options(5.0) if option[0] != "grpc.max_receive_message_length"),
               ("grpc.max_receive_message_length", 10_000)]  # three values fit, not ten thousand keys' worth
    channel = grpc.insecure_channel(target, options=limited)
    try:
        items, revision = await asyncio.to_thread(read_range, rpc.KVStub(channel), prefix.encode(), 5.0)
    finally:
        channel.close()
    assert items == list((await plain.list(prefix, revision=revision)).items)
    assert len(items) == 8


async def test_the_next_member_is_read_when_the_first_does_not_answer(etcd: EtcdProcess, plain: EtcdStorage,
                                                                      prefix: str) -> None:
    await fill(plain, prefix)
    snapshot = begin_startup_read(etcd_options(f"http://127.0.0.1:{free_port()}", etcd.url), prefix)
    assert snapshot is not None
    revision = await snapshot.wait(WAIT)
    assert revision >= (await plain.list(prefix)).items[-1].mod_revision
    page = snapshot.page(prefix, revision=revision)
    assert page is not None and [kv.key for kv in page.items] == sorted(prefix + name for name in NAMES)


async def test_no_member_answering_fails_it_and_etcd_answers_the_lists(etcd: EtcdProcess, plain: EtcdStorage,
                                                                        prefix: str) -> None:
    await fill(plain, prefix)
    dead = f"http://127.0.0.1:{free_port()}"
    snapshot = begin_startup_read(etcd_options(dead, timeout=1.0), prefix)
    assert snapshot is not None
    assert await snapshot.wait(WAIT) == 0
    revision = await plain.current_revision()
    storage = await EtcdStorage.open(StorageOptions(backend="etcd3", etcd_servers=(etcd.url,),
                                                    startup_snapshot=snapshot))
    try:
        assert await storage.list(prefix, revision=revision) == await plain.list(prefix, revision=revision)
    finally:
        await storage.close()
    assert snapshot.lists_served == 0


async def test_an_unreadable_tls_file_fails_it(prefix: str) -> None:
    options = StorageOptions(backend="etcd3", etcd_servers=("https://127.0.0.1:1",), etcd_cafile="/nonexistent/ca")
    snapshot = begin_startup_read(options, prefix)
    assert snapshot is not None
    assert await snapshot.wait(WAIT) == 0


async def test_a_late_read_is_given_up_and_its_result_discarded(prefix: str) -> None:
    snapshot = StartupSnapshot(prefix)
    assert await snapshot.wait(0.05) == 0  # nobody completed it in time: released
    snapshot.complete([KeyValue(prefix + "a", b"1", 5, 5)], 5)  # the reader finishing late does not raise
    assert await snapshot.wait(WAIT) == 0
    assert snapshot.page(prefix, revision=5) is None


async def test_release_while_waiting_ends_the_wait(prefix: str) -> None:
    snapshot = StartupSnapshot(prefix)
    waiting = asyncio.ensure_future(snapshot.wait(WAIT))
    await asyncio.sleep(0.01)
    snapshot.release()
    assert await asyncio.wait_for(waiting, 1.0) == 0
    snapshot.fail(StorageUnavailable("late"))  # does not raise either


async def test_cancelling_the_waiter_leaves_the_read_usable(prefix: str) -> None:
    snapshot = StartupSnapshot(prefix)
    waiting = asyncio.ensure_future(snapshot.wait(WAIT))
    await asyncio.sleep(0.01)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    snapshot.complete([KeyValue(prefix + "a", b"1", 5, 5)], 7)
    assert await snapshot.wait(WAIT) == 7
    page = snapshot.page(prefix, revision=7)
    assert page is not None and [kv.key for kv in page.items] == [prefix + "a"]


def test_sqlite_and_memory_have_no_startup_read(prefix: str) -> None:
    assert begin_startup_read(StorageOptions(backend="sqlite"), prefix) is None
    assert begin_startup_read(StorageOptions(backend="memory"), prefix) is None


async def test_a_reader_reporting_no_revision_fails_it_instead_of_raising(prefix: str) -> None:
    snapshot = StartupSnapshot(prefix)
    snapshot.complete([], 0)
    assert await snapshot.wait(WAIT) == 0
