"""Authorization: may this user do what the request asks? Otherwise 403 with upstream's message.

Upstream: WithAuthorization (k8s.io/apiserver/pkg/endpoints/filters/authorization.go). The attributes come from
the request's RequestInfo and the user impersonation settled on (`attributes_from_request_info`): verb,
namespace, group, resource, subresource and name for resource requests, the lower-case method and the path for
the others. The authorizer's ALLOW passes the request on (even when it also reported an evaluation error); an
evaluation error without ALLOW is upstream's plain-text 500; anything else is the Forbidden Status from
`forbidden_error`, reason included. The decision and reason are recorded as audit annotations.

WebSocket upgrades (watches) are authorised like the GET they stand for; a refused one is closed unaccepted.
"""
from __future__ import annotations

import logging

from apiserver.audit.events import add_annotation
from apiserver.auth.authz.forbidden import forbidden_error
from apiserver.auth.authz.interface import Authorizer, AuthorizerError, Decision, attributes_from_request_info
from apiserver.filters.authentication import refuse_websocket
from apiserver.http.asgi import ASGIApp, Receive, Scope, Send
from apiserver.http.request import Request, request_info_of, set_request_info, user_of
from apiserver.http.responses import send_plain_error, send_status
from apiserver.meta.errors import go_quote
from apiserver.meta.requestinfo import RequestInfo, RequestInfoError, parse_request_info

logger = logging.getLogger(__name__)

DECISION_ANNOTATION = "authorization.k8s.io/decision"
REASON_ANNOTATION = "authorization.k8s.io/reason"
_HTML = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


class WithAuthorization:
    """Ask `authorizer` about every HTTP and WebSocket request that carries a user."""

    def __init__(self, app: ASGIApp, *, authorizer: Authorizer) -> None:
        self.app = app
        self._authorizer = authorizer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        user = user_of(scope)
        if scope["type"] not in ("http", "websocket") or user is None:
            return await self.app(scope, receive, send)
        info = _request_info(scope, receive)
        if info is None:  # a WebSocket path that cannot be read: nothing to authorise it against
            return await refuse_websocket(receive, send)
        attributes = attributes_from_request_info(user, info)
        try:
            decision, reason = await self._authorizer.authorize(attributes)
        except AuthorizerError as error:
            add_annotation(scope, REASON_ANNOTATION, "internal error")
            return await self._fail(scope, receive, send, str(error))
        if decision is Decision.ALLOW:
            add_annotation(scope, DECISION_ANNOTATION, "allow")
            add_annotation(scope, REASON_ANNOTATION, reason)
            return await self.app(scope, receive, send)
        add_annotation(scope, DECISION_ANNOTATION, "forbid")
        add_annotation(scope, REASON_ANNOTATION, reason)
        logger.debug("forbidden", extra={"user": user.name, "path": info.path, "reason": reason})
        if scope["type"] == "websocket":
            return await refuse_websocket(receive, send)
        await send_status(send, forbidden_error(attributes, reason))

    @staticmethod
    async def _fail(scope: Scope, receive: Receive, send: Send, error: str) -> None:
        if scope["type"] == "websocket":
            return await refuse_websocket(receive, send)
        uri = Request(scope, receive).request_uri
        await send_plain_error(send, 500, f"Internal Server Error: {go_quote(uri)}: {error}".translate(_HTML))


def _request_info(scope: Scope, receive: Receive) -> RequestInfo | None:
    """The request's RequestInfo; WebSocket scopes, which the requestinfo filter skips, are parsed here."""
    try:
        return request_info_of(scope)
    except LookupError:
        pass
    scope.setdefault("method", "GET")  # a WebSocket upgrade is a GET
    request = Request(scope, receive)
    try:
        info = parse_request_info(request.method, request.path, request.query)
    except RequestInfoError:
        return None
    set_request_info(scope, info)
    return info
