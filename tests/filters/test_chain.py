"""The chain: order written once, options checked, cache control on every response the filters let through."""
from __future__ import annotations

import pytest

from apiserver.filters.cachecontrol import WithCacheControl
from apiserver.filters.chain import FILTERS, build_chain
from apiserver.http.asgi import Receive, Scope, Send
from apiserver.http.request import request_info_of
from apiserver.http.responses import send_bytes
from tests.http.asgi_harness import call


def test_filters_follow_upstreams_order() -> None:
    assert [entry.name for entry in FILTERS] == [
        "auditid", "panics", "requestinfo", "metrics", "cachecontrol", "timeout", "failedauthenticationaudit",
        "authentication", "audit", "impersonation", "inflight", "authorization",
    ]


def test_unknown_options_are_rejected() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        return None

    with pytest.raises(TypeError, match="request_timout"):
        build_chain(app, request_timout=60)


async def test_a_handler_sees_request_info_and_its_response_gets_cache_control() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        info = request_info_of(scope)
        await send_bytes(send, 200, info.verb.encode(), content_type=b"text/plain")

    response = await call(build_chain(app), method="DELETE", path="/apis/apps/v1/namespaces/n/deployments")
    assert (response.status, response.body) == (200, b"deletecollection")
    assert (b"cache-control", b"no-cache, private") in response.headers


async def test_a_panicking_handler_is_answered_by_the_outermost_filter() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise KeyError("metadata")

    response = await call(build_chain(app), method="GET", path="/api/v1/pods")
    assert response.status == 500
    assert (b"cache-control", b"no-cache, private") in response.headers


async def test_cache_control_keeps_a_handlers_own_policy() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send_bytes(send, 200, b"x", content_type=b"text/plain", headers=[(b"Cache-Control", b"public")])

    response = await call(WithCacheControl(app), method="GET", path="/openapi/v3")
    assert [h for h in response.headers if h[0].lower() == b"cache-control"] == [(b"Cache-Control", b"public")]


def test_request_timeout_option_reaches_the_timeout_filter() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        return None

    with pytest.raises(ValueError, match="request_timeout must be positive"):
        build_chain(app, request_timeout=0)
