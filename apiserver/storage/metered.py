"""MeteredStorage: any `Storage`, with each request to it timed and counted under kube-apiserver's etcd metrics.

kube-apiserver's etcd3 store records every round trip as etcd_request_duration_seconds{operation,type},
etcd_requests_total and etcd_request_errors_total (k8s.io/apiserver/pkg/storage/etcd3/metrics). Wrapping the
backend, rather than instrumenting each one, gives SQLite and memory the same series, and the names keep their
`etcd_` prefix on every backend, as the `etcd` health check keeps its name.

- `operation`: get, list, create, update and delete, as upstream names them; currentRevision and compact for the
  two calls upstream does not meter under a name of its own. check and close are not API traffic and are not
  recorded. A watch is a stream, not a request: its events count in apiserver_storage_events_received_total.
- `type`: upstream's group-resource (`pods`, `deployments.apps`), found from the key by `type_of`. The default
  (`key_type`) reads the segment after the key prefix, qualified by the next one when it is a group (contains a
  dot): right for the core group and for group-qualified storage paths, the bare storage path otherwise
  (`deployments`, `minions`). Pass a `type_of` built from the resource declarations for exact names. Calls
  without a key (currentRevision, compact) have type "".
- Errors: a failed request (StorageUnavailable, Compacted, FutureRevision, cancellation) counts in
  etcd_request_errors_total. KeyExists, KeyNotFound and RevisionConflict do not: etcd answers those with a
  successful response whose comparison failed, and upstream does not count them either.
"""
from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import TypeVar

from apiserver.observability.metrics import ApiServerMetrics, default_metrics
from apiserver.storage.errors import KeyExists, KeyNotFound, RevisionConflict
from apiserver.storage.interface import Event, KeyValue, Page, Storage
from apiserver.storage.keys import DEFAULT_PREFIX

T = TypeVar("T")

# A backend that answered, with a refusal: not a failed request.
_ANSWERS = (KeyExists, KeyNotFound, RevisionConflict)


def key_type(key: str, prefix: str = DEFAULT_PREFIX) -> str:
    """The `type` label for `key`, read from the segments after `prefix` (from the first one, outside it).

    `/registry/pods/ns/p` gives `pods`; `/registry/example.com/widgets/w` gives `widgets.example.com`.
    """
    base = prefix.rstrip("/") + "/"
    rest = key[len(base):] if key.startswith(base) else key.lstrip("/")
    first, _, more = rest.partition("/")
    if "." in first:
        second = more.partition("/")[0]
        if second:
            return f"{second}.{first}"
    return first


class MeteredStorage:
    """A `Storage` that passes every call to `storage` and records it into `metrics` (default: the process's).

    Behaves exactly as the wrapped backend: same results, same exceptions, same watch batches (attributes such
    as `progress_revision` included). `inner` is the wrapped backend; `backend_name` names it for logs and checks.
    """

    def __init__(
        self, storage: Storage, *, backend_name: str, metrics: ApiServerMetrics | None = None,
        type_of: Callable[[str], str] = key_type,
    ) -> None:
        self._storage = storage
        self.backend_name = backend_name
        self._metrics = metrics if metrics is not None else default_metrics()
        self._type_of = type_of

    @property
    def inner(self) -> Storage:
        return self._storage

    async def get(self, key: str) -> KeyValue | None:
        return await self._metered("get", self._type_of(key), self._storage.get(key))

    async def list(self, prefix: str, *, revision: int = 0, limit: int = 0, start: str = "") -> Page:
        call = self._storage.list(prefix, revision=revision, limit=limit, start=start)
        return await self._metered("list", self._type_of(prefix), call)

    async def create(self, key: str, value: bytes) -> int:
        return await self._metered("create", self._type_of(key), self._storage.create(key, value))

    async def update(self, key: str, value: bytes, *, expected: int) -> int:
        return await self._metered("update", self._type_of(key), self._storage.update(key, value, expected=expected))

    async def delete(self, key: str, *, expected: int = 0) -> KeyValue:
        return await self._metered("delete", self._type_of(key), self._storage.delete(key, expected=expected))

    def watch(self, prefix: str, *, after: int) -> AsyncIterator[Sequence[Event]]:
        return self._counted_watch(prefix, after)

    async def current_revision(self) -> int:
        return await self._metered("currentRevision", "", self._storage.current_revision())

    async def compact(self, revision: int) -> None:
        await self._metered("compact", "", self._storage.compact(revision))

    async def check(self) -> None:
        await self._storage.check()

    async def close(self) -> None:
        await self._storage.close()

    async def _metered(self, operation: str, type_: str, call: Awaitable[T]) -> T:
        series = self._metrics.storage_series(operation, type_)
        start = time.perf_counter()
        failed = True
        try:
            result = await call
            failed = False
        except _ANSWERS:
            failed = False
            raise
        finally:
            series.observe(time.perf_counter() - start, failed=failed)
        return result

    async def _counted_watch(self, prefix: str, after: int) -> AsyncIterator[Sequence[Event]]:
        stream = self._storage.watch(prefix, after=after)
        resource = self._type_of(prefix)
        try:
            async for batch in stream:
                if batch:
                    self._metrics.storage_events_received(resource, len(batch))
                yield batch
        finally:
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                await aclose()
