"""/healthz, /livez and /readyz, byte for byte as kube-apiserver v1.32 serves them.

Upstream: k8s.io/apiserver/pkg/server/healthz/healthz.go (the handlers) and pkg/server/healthz.go (the three
registries and the livez grace period). What clients and probes rely on:

- `GET /livez` answers `ok`; with `?verbose` (any value, even `false`) one `[+]<name> ok` line per check,
  then `livez check passed`. `?exclude=<name>` (repeatable) skips a check and prints `[+]<name> excluded: ok`;
  names that match no check produce one `warn: ... no matches for "a","b"` line, sorted, before the last line.
- When a check fails the answer is 500 with every line, verbose or not: `[-]<name> failed: reason withheld`
  and `livez check failed`, written like Go's http.Error. The reason goes to the log only.
- `/livez/<name>` runs one check: `ok`, or 500 `internal server error: <reason>`. Names may contain `/`.
  An unknown name is the server's usual 404 Status.
- Every method is answered alike (the handlers never look at it); HEAD bodies are dropped by the server.
- With `--livez-grace-period`, /livez treats failing post-start-hook checks as passing until the grace period
  has elapsed since the server started. /healthz and /readyz never do.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from apiserver.http.asgi import Receive, Scope, Send
from apiserver.http.request import parse_query
from apiserver.http.responses import NOSNIFF, TEXT_PLAIN, send_bytes, send_plain_error, send_status
from apiserver.meta.errors import go_quote, path_not_found

logger = logging.getLogger(__name__)

HEALTHZ, LIVEZ, READYZ = "healthz", "livez", "readyz"
ENDPOINTS = (HEALTHZ, LIVEZ, READYZ)
HEALTH_PATHS = tuple(f"/{endpoint}" for endpoint in ENDPOINTS)

Clock = Callable[[], float]


class HealthCheck(Protocol):
    """One named health check, shared by any of /healthz, /livez and /readyz.

    `name` is unique per endpoint and may contain `/` (`poststarthook/<hook>`). `check` returns when healthy
    and raises any exception when not; the exception's text is logged and shown on the check's own path only.
    It runs on the request path, once per probe: keep it quick and bound any I/O with its own timeout.
    """

    @property
    def name(self) -> str: ...

    async def check(self) -> None:
        """Return when healthy; raise when not."""
        ...


@dataclass(frozen=True, slots=True)
class FunctionCheck:
    """A health check made of a name and an async function with the `check` contract."""

    name: str
    function: Callable[[], Awaitable[None]]

    async def check(self) -> None:
        await self.function()


async def _always_healthy() -> None:
    return None


PING: HealthCheck = FunctionCheck("ping", _always_healthy)


class PostStartHookCheck:
    """`poststarthook/<hook>`: fails with `not finished` until `mark_done()` is called."""

    def __init__(self, hook: str) -> None:
        self.name = f"poststarthook/{hook}"
        self._done = False

    def mark_done(self) -> None:
        self._done = True

    async def check(self) -> None:
        if not self._done:
            raise RuntimeError("not finished")


def _flush_log_handlers() -> None:
    for handler in logging.getLogger().handlers:
        handler.flush()


class LogCheck:
    """`log`: fails with `logging blocked` while one flush of the root log handlers has been stuck too long.

    Upstream flushes klog every minute and fails once the last flush is two minutes old. Here a check starts
    a flush in a short-lived thread when the last one is older than `interval` and none is running, so at
    most one flush thread exists and a blocked stream cannot stall the event loop.
    """

    name = "log"

    def __init__(
        self, *, clock: Clock = time.monotonic, interval: float = 60.0, stall_limit: float = 60.0,
        flush: Callable[[], None] = _flush_log_handlers,
    ) -> None:
        self._clock, self._interval, self._stall_limit, self._flush = clock, interval, stall_limit, flush
        self._lock = threading.Lock()
        self._flushed_at: float | None = None
        self._flush_started_at: float | None = None

    async def check(self) -> None:
        now = self._clock()
        with self._lock:
            if self._flush_started_at is not None:
                if now - self._flush_started_at > self._stall_limit:
                    raise RuntimeError("logging blocked")
                return
            if self._flushed_at is None or now - self._flushed_at >= self._interval:
                self._flush_started_at = now
                threading.Thread(target=self._run_flush, name="log-health-flush", daemon=True).start()

    def _run_flush(self) -> None:
        try:
            self._flush()
        finally:
            with self._lock:
                # The interval counts from the start of a flush, so a slow flush cannot postpone the next one.
                self._flushed_at = self._flush_started_at
                self._flush_started_at = None


LOG: HealthCheck = LogCheck()


@dataclass(frozen=True, slots=True)
class _Registration:
    check: HealthCheck
    endpoints: frozenset[str]
    post_start_hook: bool


class HealthRegistry:
    """The checks behind /healthz, /livez and /readyz, in registration order.

    `register` may be called at any time; a name may be registered once per endpoint (ValueError otherwise).
    An endpoint with no checks serves `ping` alone, as upstream installs it by default.
    """

    def __init__(self, *, livez_grace_period: float = 0.0, clock: Clock = time.monotonic) -> None:
        if livez_grace_period < 0:
            raise ValueError("livez_grace_period must not be negative")
        self._grace_period = livez_grace_period
        self._clock = clock
        self._started_at: float | None = None
        self._registrations: list[_Registration] = []

    def register(
        self, check: HealthCheck, *, healthz: bool = True, livez: bool = True, readyz: bool = True,
        post_start_hook: bool = False,
    ) -> None:
        """Add `check` to the chosen endpoints. `post_start_hook` checks get /livez's grace period."""
        chosen = {endpoint for endpoint, wanted in ((HEALTHZ, healthz), (LIVEZ, livez), (READYZ, readyz)) if wanted}
        if not check.name:
            raise ValueError("a health check needs a name")
        for endpoint in sorted(chosen):
            if any(item.check.name == check.name and endpoint in item.endpoints for item in self._registrations):
                raise ValueError(f"health check {check.name!r} is already registered for /{endpoint}")
        self._registrations.append(_Registration(check, frozenset(chosen), post_start_hook))

    def mark_started(self) -> None:
        """Record the server's start: /livez's grace period for post-start hooks runs from here.

        Until it is called the server has not started, so with a grace period post-start hooks pass /livez.
        """
        self._started_at = self._clock()

    def checks(self, endpoint: str) -> list[HealthCheck]:
        """The checks of `endpoint` ("healthz", "livez" or "readyz"), in registration order."""
        return [item.check for item in self._registrations if endpoint in item.endpoints] or [PING]

    async def run(self, endpoint: str, check: HealthCheck) -> Exception | None:
        """Run one check as `endpoint` sees it: None when it passes, else the exception it raised."""
        if endpoint == LIVEZ and self._in_grace_period(check):
            return None
        try:
            await check.check()
        except Exception as error:  # the HealthCheck contract: any exception means unhealthy
            return error
        return None

    def _in_grace_period(self, check: HealthCheck) -> bool:
        if self._grace_period <= 0 or not any(
            item.check is check and item.post_start_hook for item in self._registrations
        ):
            return False
        # Matches kube-apiserver: the delayed check only runs once the clock is strictly past the deadline.
        return self._started_at is None or self._clock() <= self._started_at + self._grace_period


class HealthEndpoints:
    """The ASGI handler for /healthz, /livez, /readyz and each `/<endpoint>/<check name>`."""

    def __init__(self, registry: HealthRegistry) -> None:
        self._registry = registry

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint, separator, name = scope["path"][1:].partition("/")
        if endpoint not in ENDPOINTS:
            return await send_status(send, path_not_found())
        if not separator:
            query = parse_query(scope.get("query_string", b""))
            return await self._serve_all(endpoint, query, send)
        check = next((check for check in self._registry.checks(endpoint) if check.name == name), None)
        if check is None:
            return await send_status(send, path_not_found())
        await self._serve_one(endpoint, check, send)

    async def _serve_one(self, endpoint: str, check: HealthCheck, send: Send) -> None:
        error = await self._registry.run(endpoint, check)
        if error is not None:
            return await send_plain_error(send, 500, f"internal server error: {_reason(error)}")
        # Upstream writes "ok" without headers; Go sniffs the type and sets no nosniff.
        await send_bytes(send, 200, b"ok", content_type=TEXT_PLAIN)

    async def _serve_all(self, endpoint: str, query: Mapping[str, Sequence[str]], send: Send) -> None:
        excluded = set(query.get("exclude", ()))
        lines: list[str] = []
        failures: list[tuple[str, Exception]] = []
        for check in self._registry.checks(endpoint):
            if check.name in excluded:
                excluded.discard(check.name)
                lines.append(f"[+]{check.name} excluded: ok\n")
            elif (error := await self._registry.run(endpoint, check)) is not None:
                lines.append(f"[-]{check.name} failed: reason withheld\n")
                failures.append((check.name, error))
            else:
                lines.append(f"[+]{check.name} ok\n")
        if excluded:
            names = ",".join(go_quote(name) for name in sorted(excluded))
            lines.append(f"warn: some health checks cannot be excluded: no matches for {names}\n")
            logger.warning("health checks not excludable", extra={"endpoint": endpoint, "names": names})
        if failures:
            _log_failures(endpoint, failures)
            return await send_plain_error(send, 500, f"{''.join(lines)}{endpoint} check failed")
        body = f"{''.join(lines)}{endpoint} check passed\n".encode() if "verbose" in query else b"ok"
        await send_bytes(send, 200, body, content_type=TEXT_PLAIN, headers=[NOSNIFF])


def _reason(error: Exception) -> str:
    return str(error) or type(error).__name__


def _log_failures(endpoint: str, failures: Sequence[tuple[str, Exception]]) -> None:
    logger.info(
        "health check failed",
        extra={
            "endpoint": endpoint,
            "checks": ",".join(name for name, _ in failures),
            "reasons": "; ".join(f"{name}: {_reason(error)}" for name, error in failures),
        },
    )
