"""Computes the request's RequestInfo once and stores it in the scope for every filter and handler inside.

Upstream: WithRequestInfo. A path that cannot be read (`/api/v1/watch`) is answered as upstream's
responsewriters.InternalError does: plain text, HTML-significant characters replaced by entities.
"""
from __future__ import annotations

import logging

from apiserver.http.asgi import ASGIApp, Receive, Scope, Send
from apiserver.http.request import Request, set_request_info
from apiserver.http.responses import send_plain_error
from apiserver.meta.errors import go_quote
from apiserver.meta.requestinfo import RequestInfoError, parse_request_info

logger = logging.getLogger(__name__)

_HTML_ENTITIES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


class WithRequestInfo:
    """Store `parse_request_info(...)` in the scope (read it with `http.request.request_info_of`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        request = Request(scope, receive)
        try:
            info = parse_request_info(request.method, request.path, request.query)
        except RequestInfoError as error:
            uri = request.request_uri
            logger.error("failed to create RequestInfo", extra={"uri": uri, "error": str(error)})
            message = f"Internal Server Error: {go_quote(uri)}: failed to create RequestInfo: {error}, {uri}"
            return await send_plain_error(send, 500, message.translate(_HTML_ENTITIES))
        set_request_info(scope, info)
        await self.app(scope, receive, send)
