"""The console's WebSocket app, mounted by the composition root under /console/ws/ (import after Django setup).

Every upgrade passes `OriginCheck` first (cross-site WebSocket hijacking); then the path picks the consumer;
an unknown path is refused before the handshake completes.
"""
from __future__ import annotations

from typing import Any

from console.live.consumer import WatchConsumer
from console.security import ASGIApp, OriginCheck, Receive, Scope, Send

WATCH_PATH = "/console/ws/watch"


async def _refuse(scope: Scope, receive: Receive, send: Send) -> None:
    message = await receive()
    if message["type"] == "websocket.connect":
        await send({"type": "websocket.close", "code": 1008})


def console_websockets() -> ASGIApp:
    consumers: dict[str, Any] = {WATCH_PATH: WatchConsumer.as_asgi()}

    async def dispatch(scope: Scope, receive: Receive, send: Send) -> None:
        app = consumers.get(str(scope.get("path") or "").rstrip("/"), _refuse)
        await app(scope, receive, send)

    return OriginCheck(dispatch)
