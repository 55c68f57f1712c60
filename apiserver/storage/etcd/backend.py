"""EtcdStorage: the `Storage` contract over etcd v3 (kube-apiserver's `--storage-backend=etcd3`).

aetcd's `Client` can neither speak TLS nor range at a revision with a limit, and its watcher flattens responses
and never resumes, so this backend uses aetcd's generated gRPC stubs (`aetcd.rpc`) on channels of its own.
Conditional writes are single etcd transactions comparing create/mod revisions, as kube-apiserver's etcd3 store
does; a failed comparison reads the key in the same transaction to tell a missing key from a conflict.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any, Self

import grpc
import grpc.aio
from aetcd import rpc

from apiserver.storage.backends import StorageOptions
from apiserver.storage.errors import (
    Compacted,
    FutureRevision,
    KeyExists,
    KeyNotFound,
    RevisionConflict,
    StorageError,
    StorageUnavailable,
)
from apiserver.storage.etcd import status as etcd_status
from apiserver.storage.etcd.endpoints import (
    Endpoint,
    EndpointSet,
    TlsFiles,
    is_cancelled_locally,
    open_endpoint,
    storage_error,
)
from apiserver.storage.etcd.failover import Answer, CallFailed, HedgeBudget, call_with_failover
from apiserver.storage.etcd.watch import StreamBroken, WatchStream, first_change, prefix_range_end, watch_events
from apiserver.storage.interface import Event, KeyValue, Page
from apiserver.storage.startup import StartupSnapshot
from apiserver.storage.status import StorageStatus

logger = logging.getLogger(__name__)

# Keys per range request when listing (the watch cache's page: one round trip each); halved while a page is too large.
LIST_PAGE_SIZE = 10_000
CHECK_TIMEOUT = 2.0
# A key no object uses: reading it costs etcd nothing and its header carries the current revision.
SENTINEL_KEY = b"\0"
COMPACTED_MESSAGE = "required revision has been compacted"
FUTURE_MESSAGE = "required revision is a future revision"
RESUME_WINDOW_OPTION = "etcd_watch_resume_window"


class EtcdStorage:
    """A `Storage` on an etcd v3 cluster. Keys are stored exactly as given (the caller adds `--etcd-prefix`).

    With a start-up snapshot (storage/startup.py), lists at its revision are answered from it until it is released.
    """

    def __init__(self, endpoints: EndpointSet, *, request_timeout: float, resume_window: float | None = None,
                 startup_snapshot: StartupSnapshot | None = None) -> None:
        self._endpoints = endpoints
        self._snapshot = startup_snapshot
        self._timeout = request_timeout
        # Long enough to ride out an etcd restart; after it the watcher is told and relists.
        self._resume_window = resume_window if resume_window is not None else max(10.0, 2 * request_timeout)
        self._hedges = HedgeBudget()
        self._closed = False

    @classmethod
    async def open(cls, options: StorageOptions) -> Self:
        """Connect to `options.etcd_servers`, preferring the first that answers within `request_timeout`.

        Never fails because etcd is down: calls raise StorageUnavailable until a member answers.
        `options.extra["etcd_watch_resume_window"]` (seconds) overrides how long a broken watch is resumed.
        """
        tls = TlsFiles(options.etcd_cafile, options.etcd_certfile, options.etcd_keyfile)
        endpoints = EndpointSet([open_endpoint(url, tls, options.request_timeout) for url in options.etcd_servers])
        window = options.extra.get(RESUME_WINDOW_OPTION)
        storage = cls(
            endpoints, request_timeout=options.request_timeout, resume_window=float(window) if window else None,
            startup_snapshot=options.startup_snapshot,
        )
        await storage._prefer_reachable()
        return storage

    async def get(self, key: str) -> KeyValue | None:
        response = await self._call("Range", rpc.RangeRequest(key=key.encode()))
        return key_value(response.kvs[0]) if response.kvs else None

    async def list(self, prefix: str, *, revision: int = 0, limit: int = 0, start: str = "") -> Page:
        if self._snapshot is not None and revision:
            self._ensure_open()
            served = self._snapshot.page(prefix, revision=revision, start=start, limit=limit)
            if served is not None:
                return served
            if self._snapshot.released:  # lists at a revision (exact, continue tokens) skip it from now on
                self._snapshot = None
        lower = max(prefix, start).encode() or b"\0"
        end = prefix_range_end(prefix.encode())
        items: list[KeyValue] = []
        at = revision
        page_size = LIST_PAGE_SIZE
        while True:
            want = min(page_size, limit - len(items)) if limit else page_size
            request = rpc.RangeRequest(key=lower, range_end=end, revision=at, limit=want)
            try:
                response = await self._read_at(request)
            except _TooLarge:
                if page_size == 1:
                    raise StorageError(f"one key under {prefix!r} is larger than the receive limit") from None
                page_size //= 2
                continue
            at = at or response.header.revision
            items.extend(key_value(kv) for kv in response.kvs)
            remaining = response.count - len(response.kvs)
            if not response.more or (limit and len(items) >= limit):
                return Page(items, at, remaining > 0, remaining)
            lower = response.kvs[-1].key + b"\0"

    async def create(self, key: str, value: bytes) -> int:
        encoded = key.encode()
        answer = await self._txn(
            compare=[_compare_create(encoded, rpc.Compare.EQUAL, 0)],
            success=[rpc.RequestOp(request_put=rpc.PutRequest(key=encoded, value=value))],
            failure=[rpc.RequestOp(request_range=rpc.RangeRequest(key=encoded))],
        )
        response = answer.response
        if response.succeeded:
            return int(response.header.revision)
        found = response.responses[0].response_range.kvs
        if answer.uncertain and found:
            # The key's creation is the first change from its create revision: ours if it stored our value.
            event = await self._first_change(encoded, found[0].create_revision)
            if event.type == rpc.Event.PUT and event.kv.value == value:
                return int(event.kv.mod_revision)
        raise KeyExists(key)

    async def update(self, key: str, value: bytes, *, expected: int) -> int:
        encoded = key.encode()
        answer = await self._txn(
            # A missing key compares as mod revision 0: the create comparison keeps update from creating it.
            compare=[_compare_create(encoded, rpc.Compare.GREATER, 0), _compare_mod(encoded, expected)],
            success=[rpc.RequestOp(request_put=rpc.PutRequest(key=encoded, value=value))],
            failure=[rpc.RequestOp(request_range=rpc.RangeRequest(key=encoded))],
        )
        if answer.response.succeeded:
            return int(answer.response.header.revision)
        if answer.uncertain:
            event = await self._change_after(encoded, expected)
            if event is not None and event.type == rpc.Event.PUT and event.kv.value == value:
                return int(event.kv.mod_revision)
        raise _failed_write(key, expected, answer.response)

    async def delete(self, key: str, *, expected: int = 0) -> KeyValue:
        encoded = key.encode()
        compare = [_compare_create(encoded, rpc.Compare.GREATER, 0)]
        if expected:
            compare.append(_compare_mod(encoded, expected))
        answer = await self._txn(
            compare=compare,
            success=[rpc.RequestOp(request_delete_range=rpc.DeleteRangeRequest(key=encoded, prev_kv=True))],
            failure=[rpc.RequestOp(request_range=rpc.RangeRequest(key=encoded))],
        )
        response = answer.response
        if not response.succeeded and answer.uncertain and expected:
            # An unconditional delete has no revision to look from, and reports what it finds.
            event = await self._change_after(encoded, expected)
            if event is not None and event.type == rpc.Event.DELETE:
                previous = event.prev_kv
                return KeyValue(key, previous.value, previous.create_revision, event.kv.mod_revision)
        if not response.succeeded:
            raise _failed_write(key, expected, response)
        deleted = response.responses[0].response_delete_range.prev_kvs[0]
        return KeyValue(key, deleted.value, deleted.create_revision, response.header.revision)

    def watch(self, prefix: str, *, after: int) -> AsyncIterator[Sequence[Event]]:
        return self._watch(prefix, after)

    async def current_revision(self) -> int:
        response = await self._call("Range", rpc.RangeRequest(key=SENTINEL_KEY, count_only=True))
        return int(response.header.revision)

    async def compact(self, revision: int) -> None:
        if revision <= 0:
            self._ensure_open()
            return
        try:
            await self._call("Compact", rpc.CompactionRequest(revision=revision, physical=False), is_write=True)
        except _OutOfRange as error:
            if COMPACTED_MESSAGE in error.details:
                return
            raise FutureRevision(revision, await self.current_revision()) from None
        logger.debug("etcd_compacted", extra={"revision": revision})

    async def check(self) -> None:
        await self._call(
            "Range", rpc.RangeRequest(key=SENTINEL_KEY, count_only=True), timeout=min(self._timeout, CHECK_TIMEOUT)
        )

    async def status(self) -> StorageStatus:
        """Each member's Status and the revisions (storage/status.py's StatusReporter); never raises StorageError."""
        if self._closed:
            return StorageStatus(backend=etcd_status.BACKEND, error="storage is closed")
        return await etcd_status.read_status(
            self._endpoints.all, self._endpoints.pick(), timeout=min(self._timeout, CHECK_TIMEOUT),
            revisions=self._revisions,
        )

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._snapshot is not None:
            self._snapshot.release()
        await self._endpoints.close()

    async def _revisions(self) -> tuple[int, int]:
        """(current revision, compacted revision): etcd refuses a read at revision 1 only once it compacted."""
        revision = await self.current_revision()
        try:
            await self._read_at(rpc.RangeRequest(key=SENTINEL_KEY, count_only=True, revision=1))
        except Compacted as error:
            return revision, error.compacted
        return revision, 0

    async def _watch(self, prefix: str, after: int) -> AsyncIterator[Sequence[Event]]:
        self._ensure_open()
        events = watch_events(
            self._endpoints, prefix, after,
            timeout=self._timeout, resume_window=self._resume_window, is_closed=lambda: self._closed,
        )
        try:
            async for batch in events:
                yield batch
        finally:
            await events.aclose()

    async def _read_at(self, request: Any) -> Any:
        """A range at `request.revision`, with etcd's out-of-range errors as Compacted or FutureRevision."""
        try:
            return await self._call("Range", request)
        except _OutOfRange as error:
            if COMPACTED_MESSAGE in error.details:
                raise Compacted(request.revision, await self._compacted_revision(request.revision)) from None
            if FUTURE_MESSAGE in error.details:
                raise FutureRevision(request.revision, await self.current_revision()) from None
            raise StorageError(f"etcd: {error.details}") from None

    async def _txn(self, *, compare: Sequence[Any], success: Sequence[Any], failure: Sequence[Any]) -> Answer:
        """A conditional write; `Answer.uncertain` when an attempt that failed on the way may have been applied."""
        request = rpc.TxnRequest(compare=compare, success=success, failure=failure)
        return await self._answer("Txn", request, timeout=self._timeout, is_write=True)

    async def _call(self, method: str, request: Any, *, timeout: float | None = None, is_write: bool = False) -> Any:
        """One unary KV call, moved to another member when its member fails or hangs (failover.py). Bounded by the
        request timeout (or `timeout`).

        Raises StorageUnavailable when etcd cannot be reached in time, _OutOfRange and _TooLarge for the
        callers that translate them, StorageError for anything else etcd refuses.
        """
        answer = await self._answer(method, request, timeout=timeout or self._timeout, is_write=is_write)
        return answer.response

    async def _answer(self, method: str, request: Any, *, timeout: float, is_write: bool) -> Answer:
        self._ensure_open()
        try:
            return await call_with_failover(
                self._endpoints, self._hedges, method, request, timeout=timeout, is_write=is_write
            )
        except CallFailed as failed:
            raise self._translate(failed.error, failed.endpoint) from None
        except asyncio.CancelledError:
            if not (self._closed and is_cancelled_locally()):
                raise
            raise StorageUnavailable("storage is closed") from None

    async def _change_after(self, key: bytes, expected: int) -> Any | None:
        """The change of `key` right after its version `expected`: the only one a write comparing its mod revision
        to `expected` can have made. None when `key` had no version `expected` (so no such write ever applied)."""
        try:
            version = await self._read_at(rpc.RangeRequest(key=key, revision=expected))
        except FutureRevision:
            return None
        except Compacted:
            raise StorageUnavailable(f"etcd: cannot tell whether a retried write applied: revision {expected} "
                                     "is compacted") from None
        if not version.kvs or version.kvs[0].mod_revision != expected:
            return None
        return await self._first_change(key, expected + 1)

    async def _first_change(self, key: bytes, start_revision: int) -> Any:
        """The first change of `key` at or after `start_revision` (an mvccpb.Event with prev_kv), which must exist
        (else this waits for it until the request timeout). StorageUnavailable when it cannot be read."""
        endpoint = self._endpoints.pick()
        try:
            event = await first_change(endpoint, key, start_revision, timeout=self._timeout)
        except (grpc.aio.AioRpcError, TimeoutError) as error:
            message = f"etcd {endpoint.url}: cannot tell whether a retried write applied: {error}"
            raise StorageUnavailable(message) from None
        if event is None:
            raise StorageUnavailable(f"etcd: cannot tell whether a retried write applied: revision {start_revision} "
                                     "is compacted")
        return event

    def _translate(self, error: grpc.aio.AioRpcError, endpoint: Endpoint) -> Exception:
        if self._closed:
            return StorageUnavailable("storage is closed")
        if error.code() is grpc.StatusCode.OUT_OF_RANGE:
            return _OutOfRange(error.details() or "")
        if error.code() is grpc.StatusCode.RESOURCE_EXHAUSTED and "larger than max" in (error.details() or ""):
            return _TooLarge()
        return storage_error(error, endpoint)

    async def _compacted_revision(self, requested: int) -> int:
        """etcd's compacted revision, which only a watch below it reports; `requested` if it cannot be had."""
        stream = WatchStream(self._endpoints.pick(), "\0", 1)
        try:
            await stream.open(self._timeout)
            async with asyncio.timeout(self._timeout):
                await stream.next_events()
        except Compacted as error:
            return error.compacted
        except (StreamBroken, TimeoutError):
            pass
        finally:
            stream.cancel()
        return requested

    async def _prefer_reachable(self) -> None:
        probes = [self._probe(endpoint) for endpoint in self._endpoints.all]
        reachable = await asyncio.gather(*probes)
        for endpoint, answered in zip(self._endpoints.all, reachable, strict=True):
            if answered:
                self._endpoints.prefer(endpoint)
                return
        logger.warning("etcd_unreachable", extra={"servers": [endpoint.url for endpoint in self._endpoints.all]})

    async def _probe(self, endpoint: Endpoint) -> bool:
        request = rpc.RangeRequest(key=SENTINEL_KEY, count_only=True)
        try:
            await endpoint.kv.Range(request, timeout=self._timeout, wait_for_ready=True)
        except grpc.aio.AioRpcError:
            return False
        return True

    def _ensure_open(self) -> None:
        if self._closed:
            raise StorageUnavailable("storage is closed")


class _OutOfRange(Exception):
    def __init__(self, details: str) -> None:
        super().__init__(details)
        self.details = details


class _TooLarge(Exception):
    """One range response exceeded the channel's receive limit."""


def key_value(kv: Any) -> KeyValue:
    return KeyValue(kv.key.decode(), kv.value, kv.create_revision, kv.mod_revision)


def _compare_create(key: bytes, result: int, create_revision: int) -> Any:
    return rpc.Compare(key=key, target=rpc.Compare.CREATE, result=result, create_revision=create_revision)


def _compare_mod(key: bytes, mod_revision: int) -> Any:
    return rpc.Compare(key=key, target=rpc.Compare.MOD, result=rpc.Compare.EQUAL, mod_revision=mod_revision)


def _failed_write(key: str, expected: int, response: Any) -> StorageError:
    """KeyNotFound or RevisionConflict from the range a failed conditional write ran instead."""
    found = response.responses[0].response_range.kvs
    if not found:
        return KeyNotFound(key)
    return RevisionConflict(key, expected, found[0].mod_revision)
