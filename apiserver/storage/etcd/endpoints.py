"""gRPC channels to the etcd members named by `--etcd-servers`, with TLS and failover between them.

One channel per member, so each keeps its own TLS server name. Calls go to the current member; when its
channel is failing, or a call to it could not reach it or went unanswered (failover.py moves that call on), the
member is demoted: the next healthy member becomes current and the watches on the demoted one resume elsewhere.
gRPC reconnects each channel by itself, so a member that comes back is usable again without reopening anything.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import grpc
import grpc.aio
from aetcd import rpc

from apiserver.storage.errors import StorageError, StorageUnavailable

logger = logging.getLogger(__name__)

DEFAULT_CLIENT_PORT = 2379
# A list of 10k objects is far above gRPC's 4 MiB default; lists are also paged, this only bounds one page.
MAX_RECEIVE_BYTES = 256 * 1024 * 1024
# etcd refuses client pings more often than every 5 s (--grpc-keepalive-min-time) and pings without a stream.
KEEPALIVE_INTERVAL_MS = 10_000
# gRPC's default reconnect backoff grows to 120 s; a restarted etcd should be used again within about a second.
MAX_RECONNECT_BACKOFF_MS = 1_000

UNAVAILABLE_CODES = frozenset(
    {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED}
)
FAILING_STATES = frozenset({grpc.ChannelConnectivity.TRANSIENT_FAILURE, grpc.ChannelConnectivity.SHUTDOWN})


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """PEM files for TLS to etcd (`--etcd-cafile`, `--etcd-certfile`, `--etcd-keyfile`); empty means unset."""

    cafile: str = ""
    certfile: str = ""
    keyfile: str = ""


class BlockingChannel:
    """A synchronous gRPC channel to one member, made on first use: watches read on threads of their own."""

    def __init__(self, make: Callable[[], grpc.Channel]) -> None:
        self._make = make
        self._lock = threading.Lock()
        self._channel: grpc.Channel | None = None
        self._watch: Any = None

    def watch_stub(self) -> Any:
        with self._lock:
            if self._channel is None:
                self._channel = self._make()
                self._watch = rpc.WatchStub(self._channel)
            return self._watch

    def close(self) -> None:
        with self._lock:
            if self._channel is not None:
                self._channel.close()
            self._channel = self._watch = None


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One etcd member: its URL, its channel and the stubs bound to that channel, and a blocking channel for
    watches."""

    url: str
    channel: grpc.aio.Channel
    kv: Any
    watch: Any
    blocking: BlockingChannel | None = None

    def is_failing(self) -> bool:
        return self.channel.get_state(try_to_connect=True) in FAILING_STATES


def grpc_target(url: str) -> tuple[str, bool]:
    """The gRPC target (`host:port`) of an etcd client URL, and whether it uses TLS.

    Raises ValueError for a scheme other than http or https.
    """
    parts = urlsplit(url if "://" in url else f"http://{url}")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"unsupported etcd server URL {url!r}: expected http://host:port or https://host:port")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{host}:{parts.port or DEFAULT_CLIENT_PORT}", parts.scheme == "https"


def channel_options(timeout: float) -> list[tuple[str, int]]:
    return [
        ("grpc.max_receive_message_length", MAX_RECEIVE_BYTES),
        ("grpc.keepalive_time_ms", KEEPALIVE_INTERVAL_MS),
        ("grpc.keepalive_timeout_ms", max(1000, int(timeout * 1000))),
        # Current gRPC bounds an unanswered ping by this, not by the keepalive timeout alone.
        ("grpc.http2.ping_timeout_ms", max(1000, int(timeout * 1000))),
        ("grpc.min_reconnect_backoff_ms", 100),
        ("grpc.initial_reconnect_backoff_ms", 100),
        ("grpc.max_reconnect_backoff_ms", MAX_RECONNECT_BACKOFF_MS),
    ]


def open_endpoint(url: str, tls: TlsFiles, timeout: float) -> Endpoint:
    """Create the (lazily connecting) channel to one member. Reads the TLS files now."""
    target, secure = grpc_target(url)
    options = channel_options(timeout)
    if secure or tls.certfile:
        credentials = channel_credentials(tls)
        channel = grpc.aio.secure_channel(target, credentials, options=options)
    else:
        credentials = None
        channel = grpc.aio.insecure_channel(target, options=options)
    blocking = BlockingChannel(lambda: _blocking_channel(target, credentials, options))
    return Endpoint(url, channel, rpc.KVStub(channel), rpc.WatchStub(channel), blocking)


def open_blocking_channel(url: str, tls: TlsFiles, timeout: float) -> grpc.Channel:
    """A synchronous channel to one member, for a thread of its own; the caller closes it."""
    target, secure = grpc_target(url)
    credentials = channel_credentials(tls) if secure or tls.certfile else None
    return _blocking_channel(target, credentials, channel_options(timeout))


def _blocking_channel(target: str, credentials: grpc.ChannelCredentials | None,
                      options: list[tuple[str, int]]) -> grpc.Channel:
    if credentials is None:
        return grpc.insecure_channel(target, options=options)
    return grpc.secure_channel(target, credentials, options=options)


def channel_credentials(tls: TlsFiles) -> grpc.ChannelCredentials:
    def read(path: str) -> bytes | None:
        return Path(path).read_bytes() if path else None

    return grpc.ssl_channel_credentials(
        root_certificates=read(tls.cafile), private_key=read(tls.keyfile), certificate_chain=read(tls.certfile)
    )


class EndpointSet:
    """The members, and which one calls go to."""

    def __init__(self, endpoints: Sequence[Endpoint]) -> None:
        if not endpoints:
            raise ValueError("at least one etcd server is required")
        self._endpoints = tuple(endpoints)
        self._current = 0
        self._listeners: dict[Endpoint, list[Callable[[], None]]] = {}

    @property
    def all(self) -> tuple[Endpoint, ...]:
        return self._endpoints

    @property
    def current(self) -> Endpoint:
        """The member calls go to first (no health check: see `pick`)."""
        return self._endpoints[self._current]

    def prefer(self, endpoint: Endpoint) -> None:
        self._current = self._endpoints.index(endpoint)

    def pick(self) -> Endpoint:
        """The member for the next call: the current one unless its channel is failing and another is not."""
        current = self._endpoints[self._current]
        if len(self._endpoints) == 1 or not current.is_failing():
            return current
        count = len(self._endpoints)
        others = [self._endpoints[(self._current + step) % count] for step in range(1, count)]
        ready = [endpoint for endpoint in others if endpoint.channel.get_state() is grpc.ChannelConnectivity.READY]
        healthy = ready or [endpoint for endpoint in others if not endpoint.is_failing()]
        if healthy:
            self._switch(healthy[0])
        return self._endpoints[self._current]

    def in_order(self) -> list[Endpoint]:
        """Every member in the order a call should try them: the current one, then the next ones round the ring,
        those whose channel is failing last."""
        count = len(self._endpoints)
        ring = [self._endpoints[(self._current + step) % count] for step in range(count)]
        return sorted(ring, key=lambda endpoint: endpoint.channel.get_state() in FAILING_STATES)

    def demote(self, endpoint: Endpoint) -> None:
        """A call to `endpoint` could not reach it, or it did not answer in time: send the next calls to the next
        member, and tell the watches on `endpoint` (a hung member keeps their streams open but silent). With a
        single member there is nowhere else to go: nothing changes."""
        if len(self._endpoints) == 1:
            return
        for listener in tuple(self._listeners.get(endpoint, ())):
            listener()
        if self._endpoints[self._current] is endpoint:
            self._switch(self._endpoints[(self._current + 1) % len(self._endpoints)])

    def on_demote(self, endpoint: Endpoint, listener: Callable[[], None]) -> Callable[[], None]:
        """Call `listener` whenever `endpoint` is demoted, until the returned function is called."""
        listeners = self._listeners.setdefault(endpoint, [])
        listeners.append(listener)

        def remove() -> None:
            with contextlib.suppress(ValueError):
                listeners.remove(listener)

        return remove

    def _switch(self, endpoint: Endpoint) -> None:
        logger.warning(
            "etcd_endpoint_switched", extra={"from": self._endpoints[self._current].url, "to": endpoint.url}
        )
        self.prefer(endpoint)

    async def close(self) -> None:
        for endpoint in self._endpoints:
            await endpoint.channel.close()
            if endpoint.blocking is not None:
                endpoint.blocking.close()


def is_cancelled_locally() -> bool:
    """Whether a CancelledError just caught came from grpc (its channel closed), not from cancelling this task."""
    task = asyncio.current_task()
    return task is None or not task.cancelling()


def is_unavailable(error: grpc.aio.AioRpcError) -> bool:
    return error.code() in UNAVAILABLE_CODES


def storage_error(error: grpc.aio.AioRpcError, endpoint: Endpoint) -> StorageError:
    """The storage error for a failed call that is neither a compaction nor a future-revision error."""
    if is_unavailable(error):
        return StorageUnavailable(f"etcd {endpoint.url}: {error.code().name}: {error.details()}")
    return StorageError(f"etcd {endpoint.url}: {error.code().name}: {error.details()}")
