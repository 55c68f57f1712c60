"""The two sides of every comparison: ours (a `Storage` from `open_storage`) and raw (the client underneath).

Raw etcd is aetcd 1.0.0: its `Client` for get, get_prefix, watch and compact, and its KV stub for the
transactions (so the header revision is available) and for ranges with a limit, which the client lacks. The
gRPC receive limit is raised, or an unpaginated 10k list (23 MB) fails. Raw SQLite is Python's sqlite3 on the
very same log table (`apiserver.storage.sqlite.schema`): autocommit, one transaction and one fsync per row.
"""
from __future__ import annotations

from typing import Any, Protocol

from bench.workload import IN_FLIGHT

GRPC_LIMIT = 1024 * 1024 * 1024  # one unpaged range of 100,000 4 KB pods is 445 MB (bench.cluster --large)
RPC_TIMEOUT = 60.0


class Side(Protocol):
    """One way of talking to the store: ours (a `Storage`) or raw (the client underneath)."""

    name: str
    in_flight: int

    async def create(self, key: str, value: bytes) -> int: ...

    async def update(self, key: str, value: bytes, expected: int) -> int: ...

    async def get(self, key: str) -> bytes | None: ...

    async def list_count(self, prefix: str, page_size: int) -> int: ...

    async def compact(self) -> None: ...

    async def close(self) -> None: ...


def storage_options(backend: str, address: str) -> Any:
    from apiserver.storage.backends import StorageOptions

    if backend == "sqlite":
        return StorageOptions(backend="sqlite", sqlite_path=address, sqlite_synchronous="FULL")
    return StorageOptions(backend="etcd3", etcd_servers=(address,), request_timeout=RPC_TIMEOUT)


class OursSide:
    """The backend under test, opened exactly as the server opens it."""

    name = "ours"
    in_flight = IN_FLIGHT

    def __init__(self, storage: Any) -> None:
        self.storage = storage

    @classmethod
    async def open(cls, backend: str, address: str) -> OursSide:
        from apiserver.storage.backends import open_storage

        return cls(await open_storage(storage_options(backend, address)))

    async def create(self, key: str, value: bytes) -> int:
        return int(await self.storage.create(key, value))

    async def update(self, key: str, value: bytes, expected: int) -> int:
        return int(await self.storage.update(key, value, expected=expected))

    async def get(self, key: str) -> bytes | None:
        item = await self.storage.get(key)
        return None if item is None else bytes(item.value)

    async def list_count(self, prefix: str, page_size: int) -> int:
        page = await self.storage.list(prefix, limit=page_size)
        count = len(page.items)
        while page.more:
            start = page.items[-1].key + "\x00"
            page = await self.storage.list(prefix, revision=page.revision, limit=page_size, start=start)
            count += len(page.items)
        return count

    async def compact(self) -> None:
        await self.storage.compact(await self.storage.current_revision())

    async def close(self) -> None:
        await self.storage.close()


class RawEtcdSide:
    """aetcd 1.0.0: its `Client` for get/get_prefix/watch/compact, its KV stub for txns and limited ranges."""

    name = "raw"
    in_flight = IN_FLIGHT

    def __init__(self, client: Any) -> None:
        self.client = client

    @classmethod
    async def open(cls, url: str) -> RawEtcdSide:
        import aetcd

        host, _, port = url.removeprefix("http://").partition(":")
        options = {"grpc.max_receive_message_length": GRPC_LIMIT, "grpc.max_send_message_length": GRPC_LIMIT}
        client = aetcd.Client(host=host, port=int(port), timeout=RPC_TIMEOUT, options=options)
        await client.connect()
        return cls(client)

    async def _txn(self, key: bytes, compare: Any, value: bytes) -> int:
        from aetcd import rpc

        put = rpc.RequestOp(request_put=rpc.PutRequest(key=key, value=value))
        request = rpc.TxnRequest(compare=[compare], success=[put])
        response = await self.client.kvstub.Txn(request, timeout=RPC_TIMEOUT)
        if not response.succeeded:
            raise RuntimeError(f"raw txn failed on {key!r}")
        return int(response.header.revision)

    async def create(self, key: str, value: bytes) -> int:
        from aetcd import rpc

        encoded = key.encode()
        compare = rpc.Compare(key=encoded, target=rpc.Compare.CREATE, result=rpc.Compare.EQUAL, create_revision=0)
        return await self._txn(encoded, compare, value)

    async def update(self, key: str, value: bytes, expected: int) -> int:
        from aetcd import rpc

        encoded = key.encode()
        compare = rpc.Compare(key=encoded, target=rpc.Compare.MOD, result=rpc.Compare.EQUAL, mod_revision=expected)
        return await self._txn(encoded, compare, value)

    async def get(self, key: str) -> bytes | None:
        item = await self.client.get(key.encode())
        return None if item is None else bytes(item.value)

    async def list_count(self, prefix: str, page_size: int) -> int:
        if not page_size:
            return len((await self.client.get_prefix(prefix.encode())).kvs)
        return await self._paged_count(prefix.encode(), page_size)

    async def _paged_count(self, prefix: bytes, page_size: int) -> int:
        from aetcd import rpc, utils

        end, lower, revision, count = utils.prefix_range_end(prefix), prefix, 0, 0
        while True:
            request = rpc.RangeRequest(key=lower, range_end=end, limit=page_size, revision=revision)
            response = await self.client.kvstub.Range(request, timeout=RPC_TIMEOUT)
            revision = revision or response.header.revision
            count += len(response.kvs)
            if not response.more:
                return count
            lower = response.kvs[-1].key + b"\0"

    async def current_revision(self) -> int:
        from aetcd import rpc

        response = await self.client.kvstub.Range(rpc.RangeRequest(key=b"\0", count_only=True), timeout=RPC_TIMEOUT)
        return int(response.header.revision)

    async def compact(self) -> None:
        await self.client.compact(await self.current_revision(), physical=True)

    async def close(self) -> None:
        await self.client.close()


RAW_INSERT = (
    "INSERT INTO log (name, created, deleted, create_revision, prev_revision, value, old_value)"
    " VALUES (?, ?, 0, ?, ?, ?, ?)"
)
RAW_GET = "SELECT id, deleted, value FROM log WHERE name = ? ORDER BY id DESC LIMIT 1"
# The kine list: the newest row of every key in the range at or below a revision, deletes left out.
RAW_LIST = """
    SELECT name, value, id FROM log AS row
    WHERE name > ? AND name < ? AND deleted = 0
    AND id = (SELECT MAX(id) FROM log WHERE name = row.name AND id <= ?)
    ORDER BY name LIMIT ?
"""


class RawSQLiteSide:
    """Python's sqlite3 on the same log table: autocommit, one transaction (and one fsync) per row.

    Blocking calls on the caller's thread, one at a time (in_flight 1): the raw rate of a single writer.
    An update inserts the new revision with prev_revision = expected (the UNIQUE (name, prev_revision) index
    is the compare-and-swap) and the previous value, as the backend's rows carry it.
    """

    name = "raw"
    in_flight = 1

    def __init__(self, path: str) -> None:
        from apiserver.storage.sqlite import schema

        self.path = path
        self.connection = schema.connect(path, "FULL")
        schema.create_schema(self.connection)
        self._values: dict[str, tuple[int, bytes]] = {}

    def create_now(self, key: str, value: bytes) -> int:
        revision = int(self.connection.execute(RAW_INSERT, (key, 1, 0, 0, value, None)).lastrowid or 0)
        self._values[key] = (revision, value)
        return revision

    async def create(self, key: str, value: bytes) -> int:
        return self.create_now(key, value)

    async def update(self, key: str, value: bytes, expected: int) -> int:
        created, previous = self._values[key]
        cursor = self.connection.execute(RAW_INSERT, (key, 0, created, expected, value, previous))
        self._values[key] = (created, value)
        return int(cursor.lastrowid or 0)

    async def get(self, key: str) -> bytes | None:
        row = self.connection.execute(RAW_GET, (key,)).fetchone()
        return None if row is None or row[1] else bytes(row[2])

    async def list_count(self, prefix: str, page_size: int) -> int:
        end = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        self.connection.execute("BEGIN")
        try:
            revision = self.connection.execute("SELECT MAX(id) FROM log").fetchone()[0]
            lower, count = prefix, 0
            while True:
                rows = self.connection.execute(RAW_LIST, (lower, end, revision, page_size or -1)).fetchall()
                count += len(rows)
                if not page_size or len(rows) < page_size:
                    return count
                lower = rows[-1][0]
        finally:
            self.connection.execute("COMMIT")

    async def compact(self) -> None:
        self.connection.execute("DELETE FROM log WHERE id NOT IN (SELECT MAX(id) FROM log GROUP BY name)")

    async def close(self) -> None:
        self.connection.close()


