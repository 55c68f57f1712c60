"""StorageStatus of each backend: revisions, compaction, sizes and members, read through the server's wrappers."""
from __future__ import annotations

from pathlib import Path

from apiserver.observability.metrics import ApiServerMetrics
from apiserver.storage.backends import StorageOptions, open_storage
from apiserver.storage.etcd.backend import EtcdStorage
from apiserver.storage.memory.backend import MemoryStorage
from apiserver.storage.metered import MeteredStorage
from apiserver.storage.status import storage_status
from tests.support.etcd import EtcdProcess
from tests.support.ports import free_port


async def test_sqlite_status_reports_revisions_and_file_sizes(sqlite_options: StorageOptions, prefix: str) -> None:
    storage = await open_storage(sqlite_options)
    try:
        for index in range(5):
            revision = await storage.create(f"{prefix}k{index}", b"x" * 1000)
        await storage.compact(revision - 1)
        metered = MeteredStorage(storage, backend_name="sqlite", metrics=ApiServerMetrics())
        status = await storage_status(metered)
        path = Path(sqlite_options.sqlite_path)
        on_disk = path.stat().st_size, Path(f"{path}-wal").stat().st_size
    finally:
        await storage.close()
    assert (status.backend, status.revision, status.compacted_revision, status.error) == (
        "sqlite", revision, revision - 1, "")
    assert (status.files["database"], status.files["wal"]) == on_disk
    assert on_disk[0] > 0
    assert status.size == status.files["database"] + status.files["wal"]
    assert [(member.endpoint, member.reachable, member.current) for member in status.members] == [
        (str(path), True, True)]
    assert status.read_seconds > 0


async def test_sqlite_status_after_close_reports_the_error(sqlite_options: StorageOptions) -> None:
    storage = await open_storage(sqlite_options)
    await storage.create("/a", b"v")
    await storage.close()
    status = await storage_status(storage)
    assert (status.revision, status.error) == (-1, "storage is closed")
    assert status.files["database"] > 0
    assert not status.members[0].reachable


async def test_etcd_status_reports_each_member(etcd: EtcdProcess, prefix: str) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    storage = await EtcdStorage.open(StorageOptions(backend="etcd3", etcd_servers=(etcd.url, dead),
                                                    request_timeout=1.0))
    try:
        first = await storage.create(f"{prefix}a", b"1")
        revision = await storage.create(f"{prefix}b", b"2")
        await storage.compact(first)
        status = await storage_status(MeteredStorage(storage, backend_name="etcd3", metrics=ApiServerMetrics()))
    finally:
        await storage.close()
    assert (status.backend, status.error) == ("etcd3", "")
    assert status.revision >= revision
    assert first <= status.compacted_revision <= status.revision  # the etcd is shared: others compact too
    live, down = status.members
    assert (live.endpoint, live.reachable, live.current, live.is_leader, live.error) == (etcd.url, True, True, True, "")
    assert live.version.startswith("3.")
    assert live.db_size >= live.db_size_in_use > 0
    assert live.member_id == live.leader_id and live.raft_term >= 1 and live.raft_index > 0
    assert status.size == live.db_size
    assert (down.endpoint, down.reachable, down.current) == (dead, False, False)
    assert down.error.startswith(("UNAVAILABLE", "DEADLINE_EXCEEDED"))


async def test_etcd_status_without_compaction_below_revision_one() -> None:
    # A fresh etcd of this test's own: nothing compacted yet.
    own = EtcdProcess()
    own.start()
    try:
        storage = await EtcdStorage.open(StorageOptions(backend="etcd3", etcd_servers=(own.url,)))
        try:
            await storage.create("/x", b"1")
            status = await storage_status(storage)
        finally:
            await storage.close()
    finally:
        own.destroy()
    assert (status.revision, status.compacted_revision) == (2, 0)


async def test_backend_without_status_reports_its_revision() -> None:
    storage = await MemoryStorage.open()
    await storage.create("/a", b"v")
    status = await storage_status(MeteredStorage(storage, backend_name="memory", metrics=ApiServerMetrics()),
                                  backend_name="memory")
    assert (status.backend, status.revision, status.compacted_revision, status.members) == ("memory", 1, -1, ())
