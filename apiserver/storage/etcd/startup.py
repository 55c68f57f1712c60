"""The etcd backend's start-up read (storage/startup.py): the whole key prefix at one revision, on a thread.

The thread has blocking channels of its own (the event loop does not run yet), tries the members in the order
`--etcd-servers` names them, and reads pages of LIST_PAGE_SIZE keys at the first page's revision, as
`EtcdStorage.list` does. Any failure (no member answers, a TLS error, the revision compacted between pages) fails
the snapshot, and the caches list from the storage instead. A member that accepts connections but does not answer
(stopped, partitioned) holds the read for the storage request timeout (`StorageOptions.request_timeout`, 5 s) per
page before the next member is tried, and the caches wait for it: such a start is that much slower than one
without the read, whose calls fail over one by one.
"""
from __future__ import annotations

import logging
import threading
from typing import Any

import grpc
from aetcd import rpc

from apiserver.storage.backends import StorageOptions
from apiserver.storage.errors import StorageUnavailable
from apiserver.storage.etcd.backend import LIST_PAGE_SIZE, key_value
from apiserver.storage.etcd.endpoints import TlsFiles, open_blocking_channel
from apiserver.storage.etcd.watch import prefix_range_end
from apiserver.storage.interface import KeyValue
from apiserver.storage.startup import StartupSnapshot

logger = logging.getLogger(__name__)


def begin_startup_read(options: StorageOptions, prefix: str) -> StartupSnapshot:
    """Start reading every key under `prefix`; returns at once with the snapshot the thread will fill."""
    snapshot = StartupSnapshot(prefix)
    threading.Thread(target=read_snapshot, args=(options, snapshot), name="etcd-startup-read", daemon=True).start()
    return snapshot


def read_snapshot(options: StorageOptions, snapshot: StartupSnapshot) -> None:
    """Fill `snapshot` from the first member that answers (blocking); fails it when none does."""
    tls = TlsFiles(options.etcd_cafile, options.etcd_certfile, options.etcd_keyfile)
    failures: list[str] = []
    for url in options.etcd_servers:
        try:
            channel = open_blocking_channel(url, tls, options.request_timeout)
        except (OSError, ValueError) as error:  # an unreadable TLS file, a malformed URL: open_storage reports it
            snapshot.fail(error)
            return
        try:
            items, revision = read_range(rpc.KVStub(channel), snapshot.prefix.encode(), options.request_timeout)
        except grpc.RpcError as error:
            failures.append(f"etcd {url}: {error.code().name}: {error.details()}")
            continue
        except Exception as error:  # a reader thread's failure must reach the snapshot, not end the thread
            snapshot.fail(error)
            return
        finally:
            channel.close()
        snapshot.complete(items, revision)
        logger.debug("startup_snapshot_read", extra={"prefix": snapshot.prefix, "keys": len(items),
                                                     "revision": revision, "server": url})
        return
    snapshot.fail(StorageUnavailable("; ".join(failures)))


# Pages are the caches' own (LIST_PAGE_SIZE, 10,000). Pages of 1,000 used a third less CPU on 10k pods (their
# buffers are reused instead of fresh memory touched), but etcd counts every remaining key for each page: 100k pods
# took etcd 7.1 s of CPU instead of 3.0 s and the cold start 2.6 s instead of 1.6 s (docs/benchmarks.md, session 7).
def read_range(kv: Any, prefix: bytes, timeout: float) -> tuple[list[KeyValue], int]:
    """Every key under `prefix` at one revision, page by page; a page over the receive limit is asked for again
    at half the size. Raises grpc.RpcError.

    Past the second page (a large keyspace), the next page is asked for before this one is converted, so etcd
    produces it meanwhile: 100k pods started in 1.54 s instead of 1.88 s. The first two are blocking calls: with
    every page asked for as a future, 10k pods (one page and a small second) looked 40 ms slower to start (three
    pairs of runs, near this box's noise), and they gain nothing from it.
    """
    lower, end = prefix, prefix_range_end(prefix)
    items: list[KeyValue] = []
    revision, page_size = 0, LIST_PAGE_SIZE

    def request(start: bytes) -> Any:
        return rpc.RangeRequest(key=start, range_end=end, revision=revision, limit=page_size)

    pending: Any = None
    while True:
        try:
            response = kv.Range(request(lower), timeout=timeout) if pending is None else pending.result()
        except grpc.RpcError as error:
            if page_size > 1 and error.code() is grpc.StatusCode.RESOURCE_EXHAUSTED:
                page_size //= 2
                pending = None
                continue
            raise
        revision = revision or int(response.header.revision)
        pending = None
        if response.more:
            lower = response.kvs[-1].key + b"\0"
            if items:  # past the second page
                pending = kv.Range.future(request(lower), timeout=timeout)
        items.extend(key_value(found) for found in response.kvs)
        if not response.more:
            return items, revision
