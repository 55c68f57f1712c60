"""Bounds every request that is not long-running by `?timeout=` or the server's request timeout.

Upstream splits this over WithRequestDeadline (reads `?timeout=` as a Go duration, caps it at
--request-timeout, 60 s by default; a malformed value is a 400) and WithTimeoutForNonLongRunningRequests
(answers 504 when the deadline passes first). Watches, proxying and exec/attach/log/portforward are exempt.

On timeout the handler is cancelled. If it had not started its response, the client gets upstream's 504
body, which Go writes with a bare JSON encoder: a Status without kind and apiVersion, sent as sniffed text.
If it had, the response is left unfinished and the server aborts the connection, as upstream does.
"""
from __future__ import annotations

import asyncio
import re

from apiserver.http.asgi import ASGIApp, Message, Receive, Scope, Send
from apiserver.http.request import Request, request_info_of
from apiserver.http.responses import TEXT_PLAIN, encode_json, send_bytes, send_status
from apiserver.meta.errors import BadRequest, Timeout

DEFAULT_REQUEST_TIMEOUT = 60.0
_INVALID_TIMEOUT = "invalid timeout specified in the request URL"

_NANOSECONDS = {"ns": 1, "us": 10**3, "µs": 10**3, "μs": 10**3, "ms": 10**6, "s": 10**9, "m": 60 * 10**9,
                "h": 3600 * 10**9}
_NUMBER = re.compile(r"([0-9]*)(?:\.([0-9]*))?")
_UNIT = re.compile(r"[^.0-9]*")
_LIMIT = 1 << 63


class WithRequestTimeout:
    def __init__(self, app: ASGIApp, *, request_timeout: float = DEFAULT_REQUEST_TIMEOUT) -> None:
        if request_timeout <= 0:
            raise ValueError("request_timeout must be positive")
        self.app = app
        self._maximum = request_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or request_info_of(scope).is_long_running:
            return await self.app(scope, receive, send)
        requested = Request(scope, receive).query_value("timeout") or ""
        try:
            timeout = self._effective_timeout(requested)
        except ValueError as error:
            return await send_status(send, BadRequest(f"{_INVALID_TIMEOUT} - {error}"))
        await self._run_with_timeout(scope, receive, send, timeout)

    def _effective_timeout(self, requested: str) -> float:
        """`?timeout=0s`, or one at or above the maximum, means the maximum."""
        if not requested:
            return self._maximum
        seconds = parse_go_duration(requested)
        return seconds if 0 < seconds < self._maximum else self._maximum

    async def _run_with_timeout(self, scope: Scope, receive: Receive, send: Send, timeout: float) -> None:
        started = False

        async def send_tracking_start(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        deadline = asyncio.timeout(timeout)
        try:
            async with deadline:
                await self.app(scope, receive, send_tracking_start)
        except TimeoutError:
            if not deadline.expired():
                raise  # a handler's own timeout is its error, not this request's deadline
            if not started:
                await send_bytes(send, 504, _timeout_body(), content_type=TEXT_PLAIN)


def _timeout_body() -> bytes:
    status = Timeout("request did not complete within the allotted timeout").to_status()
    del status["kind"], status["apiVersion"]
    return encode_json(status) + b"\n"


def parse_go_duration(text: str) -> float:
    """Seconds in a Go duration string (`32s`, `1m30s`, `1.5h`, `-2ms`), parsed as time.ParseDuration does.

    Raises ValueError with Go's own message, e.g. `time: missing unit in duration "5"`.
    """
    rest = text
    negative = rest[:1] == "-"
    if rest[:1] in ("-", "+"):
        rest = rest[1:]
    if rest == "0":
        return 0.0
    if not rest:
        raise ValueError(f"time: invalid duration {_time_quote(text)}")
    total = 0
    while rest:
        nanoseconds, rest = _leading_term(rest, text)
        total += nanoseconds
        if total > _LIMIT:
            raise ValueError(f"time: invalid duration {_time_quote(text)}")
    if not negative and total > _LIMIT - 1:
        raise ValueError(f"time: invalid duration {_time_quote(text)}")
    return (-total if negative else total) / 1e9


def _leading_term(rest: str, text: str) -> tuple[int, str]:
    """One `<number><unit>` term in nanoseconds, and what follows it."""
    number = _NUMBER.match(rest)
    assert number is not None  # the pattern matches the empty string
    whole, fraction = number.group(1), number.group(2)
    if rest[0] not in ".0123456789" or (not whole and not fraction):
        raise ValueError(f"time: invalid duration {_time_quote(text)}")
    rest = rest[number.end():]
    unit_match = _UNIT.match(rest)
    unit = unit_match.group(0) if unit_match else ""
    if not unit:
        raise ValueError(f"time: missing unit in duration {_time_quote(text)}")
    if unit not in _NANOSECONDS:
        raise ValueError(f"time: unknown unit {_time_quote(unit)} in duration {_time_quote(text)}")
    scale = _NANOSECONDS[unit]
    value = int(whole or "0")
    if value > _LIMIT // scale:
        raise ValueError(f"time: invalid duration {_time_quote(text)}")
    value *= scale
    if fraction:
        value += _fraction_nanoseconds(fraction, scale)
    if value > _LIMIT:
        raise ValueError(f"time: invalid duration {_time_quote(text)}")
    return value, rest[len(unit):]


def _fraction_nanoseconds(digits: str, scale: int) -> int:
    """Go's leadingFraction: digits beyond uint64 precision are consumed but ignored."""
    fraction, divisor = 0, 1.0
    for digit in digits:
        candidate = fraction * 10 + int(digit)
        if fraction > _LIMIT // 10 or candidate > _LIMIT:
            break
        fraction, divisor = candidate, divisor * 10
    return int(fraction * (scale / divisor))


def _time_quote(text: str) -> str:
    """The time package's own quoting: `"` and `\\` escaped, non-ASCII and control bytes as `\\xHH`."""
    out: list[str] = []
    for char in text:
        if ord(char) >= 0x80 or ord(char) < 0x20:
            out.extend(f"\\x{byte:02x}" for byte in char.encode("utf-8", "surrogateescape"))
        else:
            out.append("\\" + char if char in '"\\' else char)
    return '"' + "".join(out) + '"'
