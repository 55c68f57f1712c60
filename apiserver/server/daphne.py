"""PilothouseServer: Daphne with client certificates in the scope and the server lifecycle in its loop.

Daphne has no ASGI lifespan, so the lifecycle is driven from Twisted's hooks
(reference/daphne-tls-and-lifecycle.md §2):
- start: `reactor.callWhenRunning` creates the `lifecycle.start()` task on Daphne's asyncio loop before any
  socket I/O; if it fails the server stops and `startup_failed` is set;
- stop: SIGTERM/SIGINT stop the reactor, whose "before shutdown" trigger is Daphne's `kill_all_applications`.
  It is replaced (Daphne's cancels every request at once) by kube-apiserver's sequence: /readyz fails at once,
  serving goes on for `shutdown_delay`, the listener closes, in-flight requests get up to `drain_timeout` to
  finish, the rest are cancelled, then `lifecycle.stop()`.

Daphne's internals used here (`create_application`, `listen_success`, `listen_error`, `kill_all_applications`,
`connections`, `http_factory`) are pinned by the exact daphne version in pyproject.toml and exercised by
tests/server/test_serve_live.py.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, Protocol

import daphne.http_protocol
import daphne.server
from twisted.internet import reactor
from twisted.internet.defer import Deferred, maybeDeferred
from twisted.python.failure import Failure
from twisted.web import http

from apiserver.server.tls import tls_extension
from apiserver.server.websocket_headers import handshake_headers, remember_handshake_headers

logger = logging.getLogger(__name__)

IDLE_TIMEOUT_SECONDS = 90.0  # kube-apiserver's keep-alive idle timeout (Go's client default too)
CANCEL_WAIT_SECONDS = 2.0

# Twisted knows no reason phrase for these, and sends "Unknown Status"; clients (the Python client among them)
# show the phrase, and Go's net/http sends the standard one.
http.RESPONSES.setdefault(422, b"Unprocessable Entity")
http.RESPONSES.setdefault(429, b"Too Many Requests")


class ServerLifecycle(Protocol):
    """What the server starts and stops besides serving requests."""

    async def start(self) -> None:
        """Bring storage and background work up; raising aborts the server start (exit 1)."""
        ...

    def begin_shutdown(self) -> None:
        """Flip readiness to failing and tell long-running streams to end. Synchronous, idempotent."""
        ...

    async def stop(self) -> None:
        """Stop background work and release storage. Safe after a partial or failed start. Idempotent."""
        ...


class ApiRequest(daphne.http_protocol.WebRequest):  # type: ignore[misc]
    """Daphne's request without Twisted's HTML-form parsing of POST bodies.

    The ASGI app reads bodies itself; Twisted would otherwise parse every POST's Content-Type with the email
    package (measured at 3.5-6% of a create's CPU) only to learn whether it is a form."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._parsePOSTFormSubmission = False

    def process(self) -> Any:
        remember_handshake_headers(self)  # Daphne joins repeated headers of a WebSocket handshake
        return super().process()


class PilothouseServer(daphne.server.Server):  # type: ignore[misc]
    """A Daphne server carrying the TLS extension and the lifecycle.

    `on_listening(host, port)` is called per listening port, `on_started()` once `lifecycle.start()` finished,
    and `on_failure(message)` with one line for each start-up failure (the listener or the lifecycle).
    """

    def __init__(
        self,
        application: Any,
        endpoints: list[str],
        *,
        lifecycle: ServerLifecycle,
        shutdown_delay: float = 0.0,
        drain_timeout: float = 60.0,
        idle_timeout: float = IDLE_TIMEOUT_SECONDS,
        on_listening: Callable[[str, int], None] = lambda host, port: None,
        on_started: Callable[[], None] = lambda: None,
        on_failure: Callable[[str], None] = lambda message: None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("verbosity", 1)
        kwargs.setdefault("server_name", "")  # kube-apiserver sends no Server header
        super().__init__(application, endpoints=endpoints, **kwargs)
        self.lifecycle = lifecycle
        self.shutdown_delay = shutdown_delay
        self.drain_timeout = drain_timeout
        self.idle_timeout = idle_timeout
        self.on_listening = on_listening
        self.on_started = on_started
        self.on_failure = on_failure
        self.ports: list[Any] = []
        self.startup_failed = False
        self._start_task: asyncio.Task[None] | None = None

    def run(self) -> None:
        if http.H2_ENABLED:
            logger.warning("h2 is importable; ALPN stays pinned to http/1.1 (HTTP/2 would lose client identities)")
        reactor.callWhenRunning(self._start)
        super().run()

    def _start(self) -> None:
        self.http_factory.timeOut = self.idle_timeout  # copied into each connection by buildProtocol
        build_protocol = self.http_factory.buildProtocol

        def build_api_protocol(address: Any) -> Any:
            protocol = build_protocol(address)
            if protocol is not None:
                protocol.requestFactory = ApiRequest
            return protocol

        self.http_factory.buildProtocol = build_api_protocol
        # The loop is not running yet inside callWhenRunning, but Server.run() made it the current one.
        self._start_task = asyncio.get_event_loop().create_task(self.lifecycle.start(), name="lifecycle-start")
        self._start_task.add_done_callback(self._after_start)

    def _after_start(self, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            return  # shutdown began while starting
        error = task.exception()
        if error is None:
            self.on_started()
            return
        self.startup_failed = True
        logger.debug("startup_failed", exc_info=error)
        self.on_failure(str(error) or type(error).__name__)
        if reactor.running:
            reactor.stop()

    def listen_success(self, port: Any) -> None:
        self.ports.append(port)
        super().listen_success(port)
        host = port.getHost()
        self.on_listening(host.host, host.port)

    def listen_error(self, failure: Failure) -> None:
        self.startup_failed = True
        self.on_failure(describe_listen_failure(failure))
        self.stop()

    def create_application(self, protocol: Any, scope: dict[str, Any]) -> Any:
        extension = tls_extension(getattr(protocol, "transport", None))
        if extension is not None:
            scope.setdefault("extensions", {})["tls"] = extension
            if scope["type"] == "websocket":
                scope.setdefault("scheme", "wss")  # Daphne leaves it out of WebSocket scopes
        if scope["type"] == "websocket" and (headers := handshake_headers(protocol)) is not None:
            scope["headers"] = headers  # one entry per header line (server/websocket_headers.py)
        return super().create_application(protocol, scope)

    def kill_all_applications(self) -> Deferred[None]:
        """Daphne's "before shutdown" trigger: the reactor waits for the returned Deferred."""
        shutdown = Deferred.fromFuture(asyncio.ensure_future(self._shutdown()))
        shutdown.addErrback(_log_shutdown_failure)  # Daphne mutes Twisted's log at verbosity 1
        return shutdown

    async def _shutdown(self) -> None:
        await self._cancel_start()
        self.lifecycle.begin_shutdown()
        if self.shutdown_delay > 0 and not self.startup_failed:
            await asyncio.sleep(self.shutdown_delay)  # still serving; /readyz reports `shutdown` failing
        await self._stop_listening()
        await self._drain()
        await self.lifecycle.stop()

    async def _cancel_start(self) -> None:
        task = self._start_task
        if task is not None and not task.done():
            task.cancel()
            await asyncio.wait([task])

    async def _stop_listening(self) -> None:
        loop = asyncio.get_running_loop()
        ports, self.ports = self.ports, []
        await asyncio.gather(*(maybeDeferred(port.stopListening).asFuture(loop) for port in ports))

    async def _drain(self) -> None:
        running = [
            instance
            for details in list(self.connections.values())
            if (instance := details.get("application_instance")) is not None and not instance.done()
        ]
        if not running:
            return
        _, pending = await asyncio.wait(running, timeout=self.drain_timeout)
        for instance in pending:
            instance.cancel()
        if pending:
            await asyncio.wait(pending, timeout=CANCEL_WAIT_SECONDS)


def describe_listen_failure(failure: Failure) -> str:
    """kube-apiserver's wording: `failed to listen on 0.0.0.0:6443: listen tcp ...: bind: address already in use`."""
    error = failure.value
    socket_error = getattr(error, "socketError", None)
    interface = getattr(error, "interface", "") or "0.0.0.0"
    port = getattr(error, "port", "")
    reason = (getattr(socket_error, "strerror", None) or failure.getErrorMessage()).lower()
    address = f"{interface}:{port}"
    return f"failed to create listener: failed to listen on {address}: listen tcp {address}: bind: {reason}"


def _log_shutdown_failure(failure: Failure) -> None:
    logger.error("shutdown_failed", exc_info=(failure.type, failure.value, failure.getTracebackObject()))
