"""Impersonation: `Impersonate-User`, `-Group`, `-Uid` and `-Extra-*` switch the user, each element authorised.

Upstream: WithImpersonation (k8s.io/apiserver/pkg/endpoints/filters/impersonation.go); the rules and messages
live in `apiserver.auth.impersonation`. The authenticated user needs the `impersonate` verb on every requested
element; the first one it lacks answers 403 with upstream's message. Inconsistent headers (groups without a
user) answer upstream's plain-text 500. On success the request acts as the impersonated user from here on
(authorization, admission, the handlers), the audit event records it as `impersonatedUser`, and the
impersonation headers are removed. WebSocket upgrades are impersonated alike; a refusal closes them unaccepted.
"""
from __future__ import annotations

import logging

from apiserver.audit.events import log_impersonated_user
from apiserver.auth.impersonation import Authorize, ImpersonationRequestError, impersonate, is_impersonation_header
from apiserver.filters.authentication import refuse_websocket
from apiserver.http.asgi import ASGIApp, Receive, Scope, Send
from apiserver.http.request import Request, set_user, user_of
from apiserver.http.responses import send_plain_error, send_status
from apiserver.meta.errors import Forbidden

logger = logging.getLogger(__name__)


class WithImpersonation:
    """Switch the request's user as its impersonation headers ask, when `authorize` allows each element."""

    def __init__(self, app: ASGIApp, *, authorize: Authorize) -> None:
        self.app = app
        self._authorize = authorize

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        requester = user_of(scope)
        if scope["type"] not in ("http", "websocket") or requester is None:
            return await self.app(scope, receive, send)
        request = Request(scope, receive)
        try:
            impersonated = await impersonate(requester, request.headers, self._authorize)
        except (Forbidden, ImpersonationRequestError) as error:
            logger.info("impersonation_refused", extra={"user": requester.name, "error": str(error)})
            return await self._refuse(scope, receive, send, error, request.request_uri)
        if impersonated is None:
            return await self.app(scope, receive, send)
        scope = {**scope, "headers": [
            (name, value) for name, value in scope.get("headers", ())
            if not is_impersonation_header(name.decode("latin-1"))
        ]}
        set_user(scope, impersonated)
        log_impersonated_user(scope, impersonated)
        await self.app(scope, receive, send)

    @staticmethod
    async def _refuse(
        scope: Scope, receive: Receive, send: Send, error: Forbidden | ImpersonationRequestError, request_uri: str,
    ) -> None:
        if scope["type"] == "websocket":
            return await refuse_websocket(receive, send)
        if isinstance(error, Forbidden):
            return await send_status(send, error)
        await send_plain_error(send, 500, error.body(request_uri).decode().rstrip("\n"))
