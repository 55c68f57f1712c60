"""WithRequestInfo: stores the RequestInfo for everything inside; unreadable API paths get upstream's 500 text."""
from __future__ import annotations

import pytest

from apiserver.filters.requestinfo import WithRequestInfo
from apiserver.http.asgi import Receive, Scope, Send
from apiserver.http.request import request_info_of
from apiserver.meta.requestinfo import RequestInfo
from tests.http.asgi_harness import call, http_scope


async def test_request_info_is_available_inside() -> None:
    seen: list[RequestInfo] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(request_info_of(scope))

    await call(WithRequestInfo(app), method="GET", path="/api/v1/namespaces/default/pods",
               query=b"fieldSelector=metadata.name%3Dx&watch=1")
    [info] = seen
    assert (info.verb, info.namespace, info.resource, info.name, info.field_selector) == (
        "watch", "default", "pods", "x", "metadata.name=x"
    )


@pytest.mark.parametrize(
    ("path", "raw_path", "query", "body"),
    [
        ("/api/v1/watch", b"/api/v1/watch", b"",
         b'Internal Server Error: "/api/v1/watch": failed to create RequestInfo: '
         b"unable to determine kind and namespace from url, /api/v1/watch\n"),
        ("/apis/apps/v1/proxy/", b"/apis/apps/v1/proxy/", b"x=<b>&y=\"",
         b'Internal Server Error: "/apis/apps/v1/proxy/?x=&lt;b&gt;&amp;y=\\"": failed to create RequestInfo: '
         b'unable to determine kind and namespace from url, /apis/apps/v1/proxy/?x=&lt;b&gt;&amp;y="\n'),
    ],
    ids=["watch-without-resource", "html-escaped"],
)
async def test_unreadable_api_path_is_upstreams_internal_error(
    path: str, raw_path: bytes, query: bytes, body: bytes
) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise AssertionError("must not be called")

    response = await call(WithRequestInfo(app), scope=http_scope("GET", path, query=query, raw_path=raw_path))
    assert (response.status, response.body) == (500, body)
    assert (b"content-type", b"text/plain; charset=utf-8") in response.headers
    assert (b"x-content-type-options", b"nosniff") in response.headers


async def test_non_http_scopes_pass_through() -> None:
    seen: list[Scope] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope)

    await call(WithRequestInfo(app), scope={**http_scope(path="/api/v1/watch"), "type": "websocket"})
    assert "state" not in seen[0]
