"""Marks every response `Cache-Control: no-cache, private` unless its handler chose a policy.

Upstream: WithCacheControl, because every response depends on who is asking (authentication and
authorization apply to all of them). It also keeps kubectl's HTTP cache from storing /version.
"""
from __future__ import annotations

from apiserver.http.asgi import ASGIApp, Message, Receive, Scope, Send

CACHE_CONTROL = (b"cache-control", b"no-cache, private")


class WithCacheControl:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_cache_control(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                if not any(name.lower() == b"cache-control" for name, _ in headers):
                    message = {**message, "headers": [*headers, CACHE_CONTROL]}
            await send(message)

        await self.app(scope, receive, send_with_cache_control)
