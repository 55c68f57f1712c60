"""RecoverPanics: upstream's 500 for an escaped exception, Status for ApiError, nothing after the response started."""
from __future__ import annotations

import asyncio
import logging

import pytest

from apiserver.filters.panics import PANIC_MESSAGE, RecoverPanics
from apiserver.http.asgi import Receive, Scope, Send
from apiserver.http.request import ClientDisconnected
from apiserver.meta.errors import Conflict
from tests.http.asgi_harness import call, http_scope


async def _raises_runtime_error(scope: Scope, receive: Receive, send: Send) -> None:
    raise RuntimeError("nil map")


async def _raises_conflict(scope: Scope, receive: Receive, send: Send) -> None:
    raise Conflict("configmaps", "x", "the object has been modified")


async def _fails_mid_stream(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b'{"type":"ADDED"}\n', "more_body": True})
    raise RuntimeError("watch broke")


async def test_exception_becomes_upstreams_panic_response_and_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    response = await call(RecoverPanics(_raises_runtime_error), method="GET", path="/api/v1/pods",
                          query=b"limit=1")
    assert (response.status, response.body) == (500, PANIC_MESSAGE.encode() + b"\n")
    assert response.headers == [
        (b"content-type", b"text/plain; charset=utf-8"), (b"content-length", b"%d" % len(response.body)),
        (b"x-content-type-options", b"nosniff"), (b"cache-control", b"no-cache, private"),
    ]
    [record] = [r for r in caplog.records if r.getMessage() == "apiserver panic'd"]
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None and isinstance(record.exc_info[1], RuntimeError)
    assert vars(record)["uri"] == "/api/v1/pods?limit=1"


async def test_api_error_becomes_its_status() -> None:
    response = await call(RecoverPanics(_raises_conflict), method="PUT", path="/api/v1/namespaces/d/configmaps/x")
    assert response.status == 409
    assert response.body == (
        b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",'
        b'"message":"Operation cannot be fulfilled on configmaps \\"x\\": the object has been modified",'
        b'"reason":"Conflict","details":{"name":"x","kind":"configmaps"},"code":409}\n'
    )


async def test_error_after_the_response_started_leaves_it_unfinished(caplog: pytest.LogCaptureFixture) -> None:
    response = await call(RecoverPanics(_fails_mid_stream), method="GET", path="/api/v1/pods", query=b"watch=1")
    assert response.status == 200
    assert response.body == b'{"type":"ADDED"}\n'
    assert not response.complete
    assert len([m for m in response.messages if m["type"] == "http.response.start"]) == 1
    assert any(r.getMessage() == "apiserver panic'd" and r.exc_info for r in caplog.records)


async def test_client_disconnect_is_not_an_error(caplog: pytest.LogCaptureFixture) -> None:
    async def reads_body_of_gone_client(scope: Scope, receive: Receive, send: Send) -> None:
        raise ClientDisconnected()

    response = await call(RecoverPanics(reads_body_of_gone_client), method="POST", path="/api/v1/namespaces")
    assert response.messages == []
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_cancellation_passes_through() -> None:
    async def cancelled(scope: Scope, receive: Receive, send: Send) -> None:
        raise asyncio.CancelledError()

    with pytest.raises(asyncio.CancelledError):
        await call(RecoverPanics(cancelled), method="GET", path="/")


async def test_non_http_scopes_pass_through_untouched() -> None:
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])
        raise RuntimeError("websocket handlers manage their own errors")

    with pytest.raises(RuntimeError):
        await call(RecoverPanics(app), scope={**http_scope(), "type": "websocket"})
    assert seen == ["websocket"]
