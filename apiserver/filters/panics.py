"""The outermost filter: an exception that escapes the chain becomes a 500 and a logged traceback.

Upstream's WithPanicRecovery answers a panic with Go's http.Error text `This request caused apiserver to
panic. Look in the logs for details.`; a Python exception escaping every handler is the same kind of bug.
"""
from __future__ import annotations

import logging

from apiserver.http.asgi import ASGIApp, Message, Receive, Scope, Send
from apiserver.http.request import ClientDisconnected, Request
from apiserver.http.responses import send_plain_error, send_status
from apiserver.meta.errors import ApiError

logger = logging.getLogger(__name__)

PANIC_MESSAGE = "This request caused apiserver to panic. Look in the logs for details."
# In Go the cache-control filter has already set its header on the shared writer when a handler panics.
_CACHE_CONTROL = (b"cache-control", b"no-cache, private")


class RecoverPanics:
    """Answer for the handler that could not: keep the server serving whatever a request does.

    - An ApiError raised before the response started is sent as its Status (so any layer may raise one).
    - Any other exception before the response started: 500 with upstream's panic text; logged with traceback.
    - Once the response has started nothing more can be said: the error is logged and the response left
      unfinished, so the server aborts the connection and the client sees a truncated response.
    - A client that went away (ClientDisconnected) is not an error. Cancellation passes through untouched.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = False

        async def send_tracking_start(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, send_tracking_start)
        except ClientDisconnected:
            return
        except ApiError as error:
            if started:
                return _log_unsendable(scope, receive, error)
            await send_status(send, error)
        except Exception:  # the one place a request's unexpected errors end (STYLE.md §5)
            request = Request(scope, receive)
            logger.exception("apiserver panic'd", extra={"method": request.method, "uri": request.request_uri})
            if not started:
                await send_plain_error(send, 500, PANIC_MESSAGE, headers=[_CACHE_CONTROL])


def _log_unsendable(scope: Scope, receive: Receive, error: ApiError) -> None:
    request = Request(scope, receive)
    logger.warning(
        "error after response started",
        extra={"method": request.method, "uri": request.request_uri, "code": error.code, "reason": error.reason},
    )
