"""WithRequestTimeout: `?timeout=` as a Go duration, 400 when malformed, upstream's 504 body, watches exempt."""
from __future__ import annotations

import asyncio

import pytest

from apiserver.filters.requestinfo import WithRequestInfo
from apiserver.filters.timeout import WithRequestTimeout, parse_go_duration
from apiserver.http.asgi import ASGIApp, Receive, Scope, Send
from apiserver.http.responses import send_bytes
from tests.http.asgi_harness import call

TIMEOUT_BODY = (b'{"metadata":{},"status":"Failure","message":"Timeout: request did not complete within the allotted '
                b'timeout","reason":"Timeout","details":{},"code":504}\n')


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("32s", 32.0), ("5s", 5.0), ("1m30s", 90.0), ("1.5h", 5400.0), ("-2ms", -0.002), ("0", 0.0), ("+0", 0.0),
     (".5s", 0.5), ("1.s", 1.0), ("250us", 0.00025), ("1µs", 0.000001), ("1h2m3.5s", 3723.5)],
)
def test_parse_go_duration(text: str, seconds: float) -> None:
    assert parse_go_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", 'time: invalid duration ""'),
        ("5", 'time: missing unit in duration "5"'),
        ("abc", 'time: invalid duration "abc"'),
        ("1x", 'time: unknown unit "x" in duration "1x"'),
        ("1e3s", 'time: unknown unit "e" in duration "1e3s"'),
        (".s", 'time: invalid duration ".s"'),
        ("9223372036854775808ns", 'time: invalid duration "9223372036854775808ns"'),
        ("é5s", 'time: invalid duration "\\xc3\\xa95s"'),
    ],
)
def test_parse_go_duration_errors_speak_go(text: str, message: str) -> None:
    with pytest.raises(ValueError) as raised:
        parse_go_duration(text)
    assert str(raised.value) == message


def _slow_handler(started_response: bool, finished: asyncio.Event) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            if started_response:
                await send({"type": "http.response.start", "status": 200, "headers": []})
            await asyncio.sleep(3600)
        finally:
            finished.set()

    return app


def _chain(app: ASGIApp, request_timeout: float = 60.0) -> ASGIApp:
    return WithRequestInfo(WithRequestTimeout(app, request_timeout=request_timeout))


async def test_requested_timeout_cuts_a_slow_request_with_upstreams_504() -> None:
    finished = asyncio.Event()
    async with asyncio.timeout(10):
        response = await call(_chain(_slow_handler(False, finished)), method="GET", path="/api/v1/pods",
                              query=b"timeout=50ms")
    assert (response.status, response.body) == (504, TIMEOUT_BODY)
    assert (b"content-type", b"text/plain; charset=utf-8") in response.headers
    assert finished.is_set()


async def test_server_maximum_applies_when_the_request_asks_for_more_or_for_zero() -> None:
    for query in (b"timeout=1h", b"timeout=0s", b""):
        async with asyncio.timeout(10):
            response = await call(_chain(_slow_handler(False, asyncio.Event()), request_timeout=0.05),
                                  method="GET", path="/api/v1/pods", query=query)
        assert response.status == 504


async def test_timeout_after_the_response_started_leaves_it_unfinished() -> None:
    async with asyncio.timeout(10):
        response = await call(_chain(_slow_handler(True, asyncio.Event())), method="GET",
                              path="/api/v1/namespaces/d/configmaps/x", query=b"timeout=50ms")
    assert response.status == 200
    assert not response.complete


async def test_malformed_timeout_is_a_bad_request() -> None:
    response = await call(_chain(_slow_handler(False, asyncio.Event())), method="GET", path="/version",
                          query=b"timeout=5")
    assert response.status == 400
    assert response.body == (
        b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"invalid timeout specified '
        b'in the request URL - time: missing unit in duration \\"5\\"","reason":"BadRequest","code":400}\n'
    )


async def test_long_running_requests_are_exempt() -> None:
    async def watch(scope: Scope, receive: Receive, send: Send) -> None:
        await asyncio.sleep(0.1)
        await send_bytes(send, 200, b"done", content_type=b"text/plain")

    async with asyncio.timeout(10):
        response = await call(_chain(watch), method="GET", path="/api/v1/pods", query=b"watch=1&timeout=10ms")
    assert (response.status, response.body) == (200, b"done")


async def test_fast_requests_are_untouched() -> None:
    async def fast(scope: Scope, receive: Receive, send: Send) -> None:
        await send_bytes(send, 200, b"ok", content_type=b"text/plain")

    response = await call(_chain(fast), method="GET", path="/version", query=b"timeout=32s")
    assert (response.status, response.body) == (200, b"ok")


def test_request_timeout_must_be_positive() -> None:
    with pytest.raises(ValueError):
        WithRequestTimeout(_slow_handler(False, asyncio.Event()), request_timeout=0)


async def test_a_handlers_own_timeout_error_is_not_the_request_deadline() -> None:
    async def storage_timed_out(scope: Scope, receive: Receive, send: Send) -> None:
        raise TimeoutError("etcd did not answer")

    with pytest.raises(TimeoutError, match="etcd did not answer"):
        await call(_chain(storage_timed_out), method="GET", path="/api/v1/pods")
