"""Auditing filters: the audit ID of every request, the audit events of authenticated requests, and of failed ones.

Upstream (k8s.io/apiserver/pkg/endpoints/filters/audit.go, audit_init.go) has the same three pieces:
- `WithAuditID` (WithAuditInit, the outermost filter): the request's `Audit-ID` header, else a new UUID, kept in
  the scope and echoed as the `Audit-Id` response header on every response, audited or not.
- `WithAudit` (just inside authentication): evaluates the policy for the authenticated user (read from the scope by
  `user_of`) and emits the stages. The impersonation filter, further in, records the impersonated user with
  `apiserver.audit.events.log_impersonated_user`; anything inside may add annotations with `add_annotation`.
- `WithFailedAuthenticationAudit` (just outside authentication): a request answered with 401 before it reached
  `WithAudit` is audited as upstream's failed-authentication handler does: one ResponseStarted event, no user.

Stages `WithAudit` emits, each left out when the policy omits it:
- RequestReceived, as soon as the request arrives.
- ResponseStarted, for long-running requests (watch, exec, logs...) only, when their response starts.
- ResponseComplete, when the handler is done; with `Connection closed early` (200) if nothing was sent.
- Panic, instead of ResponseComplete, when an exception other than an API error escapes the handler.

An ApiError that escapes before the response started is answered here, as the panics filter would, so the event
records exactly what was sent. Bodies are captured only when the level needs them: the request body at Request
level and above (and for creates and updates, whose object fills in `objectRef`), the response body at
RequestResponse level or when the response is an error (for `responseStatus`). Long-running requests are never
captured. Captured bodies are decoded and redacted later, by the backend's writer thread.
"""
from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from datetime import datetime
from typing import Final

from apiserver.audit.backend import AuditBackend
from apiserver.audit.events import (
    AuditContext,
    CapturedBody,
    RequestMetadata,
    audit_id_of,
    is_audit_evaluated,
    new_audit_id,
    object_reference,
    set_audit_context,
    set_audit_id,
    source_ips,
    truncate_user_agent,
    user_info_dict,
)
from apiserver.audit.policy import AuditPolicy, Level, Stage, UserInfo
from apiserver.http.asgi import ASGIApp, Message, Receive, Scope, Send
from apiserver.http.request import ClientDisconnected, Request, request_info_of
from apiserver.http.responses import send_status
from apiserver.meta.errors import ApiError
from apiserver.meta.objects import utc_now

UserOf = Callable[[Scope], UserInfo | None]
Clock = Callable[[], datetime]

_HEADER: Final = b"audit-id"
_CONNECTION_CLOSED_EARLY: Final = {
    "metadata": {}, "status": "Success", "message": "Connection closed early", "code": 200,
}
_OBJECT_VERBS: Final = frozenset({"create", "update"})
# Endings that are not panics: an API error (answered, or raised after the response started), a client that went
# away, a cancellation (timeout, shutdown).
_COMPLETING: Final = (ApiError, ClientDisconnected, asyncio.CancelledError)


class WithAuditID:
    """Give every request an audit ID (its own `Audit-ID` header, else a new UUID) and echo it as `Audit-Id`."""

    def __init__(self, app: ASGIApp, *, new_id: Callable[[], str] = new_audit_id) -> None:
        self.app = app
        self._new_id = new_id

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        audit_id = _ensure_audit_id(scope, receive, self._new_id)
        await self.app(scope, receive, _with_audit_id(send, audit_id))


def _ensure_audit_id(scope: Scope, receive: Receive, new_id: Callable[[], str]) -> str:
    if not (audit_id := audit_id_of(scope)):
        audit_id = Request(scope, receive).header("audit-id") or new_id()
        set_audit_id(scope, audit_id)
    return audit_id


def _with_audit_id(send: Send, audit_id: str) -> Send:
    async def send_with_audit_id(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            if not any(name.lower() == _HEADER for name, _ in headers):
                headers.append((_HEADER, audit_id.encode("latin-1", "replace")))
            message = {**message, "headers": headers}
        await send(message)

    return send_with_audit_id


class WithAudit:
    """Emit the audit events of every request `policy` audits into `backend` (see the module docstring).

    Without a policy or a backend nothing is audited. Without `WithAuditID` further out, this filter assigns and
    echoes the audit ID itself.
    """

    def __init__(
        self, app: ASGIApp, *, policy: AuditPolicy | None, backend: AuditBackend | None, user_of: UserOf,
        clock: Clock = utc_now, new_id: Callable[[], str] = new_audit_id,
    ) -> None:
        self.app = app
        self._policy = policy
        self._backend = backend
        self._user_of = user_of
        self._clock = clock
        self._new_id = new_id

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if not audit_id_of(scope):
            send = _with_audit_id(send, _ensure_audit_id(scope, receive, self._new_id))
        request = Request(scope, receive)
        context = self._context(request)
        set_audit_context(scope, context)
        if context is None or self._backend is None:
            return await self.app(scope, receive, send)
        await _AuditedRequest(self.app, context, self._backend, self._clock, request).serve(receive, send)

    def _context(self, request: Request) -> AuditContext | None:
        if self._policy is None:
            return None
        user = self._user_of(request.scope)
        return new_context(self._policy, request, user, self._clock())


def new_context(
    policy: AuditPolicy, request: Request, user: UserInfo | None, received: datetime,
) -> AuditContext | None:
    """The audit context of `request` by `policy`; None at level None."""
    info = request_info_of(request.scope)
    config = policy.evaluate(user, info)
    if config.level is Level.NONE:
        return None
    client = request.scope.get("client") or ("", 0)
    metadata = RequestMetadata(
        audit_id_of(request.scope), request.request_uri, info.verb,
        truncate_user_agent(request.header("user-agent") or ""),
        source_ips(request.header("x-forwarded-for") or "", request.header("x-real-ip") or "", client[0]), received,
    )
    return AuditContext(config, metadata, user_info_dict(user), object_reference(info))


class _AuditedRequest:
    """One audited request: the stages, the response code and the captured bodies."""

    def __init__(
        self, app: ASGIApp, context: AuditContext, backend: AuditBackend, clock: Clock, request: Request,
    ) -> None:
        self._app = app
        self._context = context
        self._backend = backend
        self._clock = clock
        self._request = request
        info = request_info_of(request.scope)
        self._long_running = info.is_long_running
        wants_object = context.level.at_least(Level.REQUEST) or info.verb in _OBJECT_VERBS
        self._request_chunks: list[bytes] | None = [] if wants_object and not self._long_running else None
        self._response_chunks: list[bytes] | None = None
        self._response_type = ""

    async def serve(self, receive: Receive, send: Send) -> None:
        self._emit(Stage.REQUEST_RECEIVED)
        audited_send = self._capturing_send(send)
        try:
            await self._app(self._request.scope, self._capturing_receive(receive), audited_send)
        except ApiError as error:
            if self._context.response_code:
                raise
            await send_status(audited_send, error)
        finally:
            # Upstream recovers a panic to record it, then panics on; any other ending completes the request.
            escaping = sys.exc_info()[1]
            if escaping is None or isinstance(escaping, _COMPLETING):
                self._complete()
            else:
                self._panicked(escaping)

    def _capturing_receive(self, receive: Receive) -> Receive:
        async def capturing_receive() -> Message:
            message = await receive()
            if self._request_chunks is not None and message["type"] == "http.request":
                self._request_chunks.append(message.get("body", b""))
            return message

        return capturing_receive

    def _capturing_send(self, send: Send) -> Send:
        async def capturing_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                self._started(message)
            elif message["type"] == "http.response.body" and self._response_chunks is not None:
                self._response_chunks.append(message.get("body", b""))
            await send(message)

        return capturing_send

    def _started(self, message: Message) -> None:
        code: int = message["status"]
        self._context.response_code = code
        self._response_type = _header(message, b"content-type")
        capture = self._context.level.at_least(Level.REQUEST_RESPONSE) or code >= 300
        if capture and not self._long_running:
            self._response_chunks = []
        if self._long_running:
            self._emit(Stage.RESPONSE_STARTED)

    def _panicked(self, error: BaseException) -> None:
        self._context.response_status = {
            "metadata": {}, "status": "Failure", "message": f"APIServer panic'd: {error}", "reason": "InternalError",
            "code": 500,
        }
        self._attach_bodies()
        self._emit(Stage.PANIC)

    def _complete(self) -> None:
        if not self._context.response_code:
            self._context.response_status = _CONNECTION_CLOSED_EARLY
            if self._long_running:
                self._emit(Stage.RESPONSE_STARTED)
        self._attach_bodies()
        self._emit(Stage.RESPONSE_COMPLETE)

    def _attach_bodies(self) -> None:
        if self._request_chunks:
            content_type = self._request.header("content-type") or ""
            self._context.request_body = CapturedBody(b"".join(self._request_chunks), content_type)
        if self._response_chunks:
            self._context.response_body = CapturedBody(b"".join(self._response_chunks), self._response_type)

    def _emit(self, stage: Stage) -> None:
        if stage not in self._context.config.omit_stages:
            self._backend.process(self._context.event(stage, self._clock()))


def _header(message: Message, name: bytes) -> str:
    for key, value in message.get("headers", []):
        if key.lower() == name:
            decoded: str = value.decode("latin-1")
            return decoded
    return ""


class WithFailedAuthenticationAudit:
    """Audit the requests answered with 401 before they reached `WithAudit` (upstream's failed authentication).

    Place it just outside authentication. Such a request is evaluated with no user and, unless the policy says
    None or omits the stage, recorded as one ResponseStarted event whose status says which credentials were tried
    (upstream's message, replaced by the Status the 401 carries when there is one). An Unauthorized ApiError
    raised by authentication is answered here.
    """

    def __init__(
        self, app: ASGIApp, *, policy: AuditPolicy | None, backend: AuditBackend | None, clock: Clock = utc_now,
    ) -> None:
        self.app = app
        self._policy = policy
        self._backend = backend
        self._clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self._policy is None or self._backend is None:
            return await self.app(scope, receive, send)
        received = self._clock()
        recorder = _Response(send)
        try:
            await self.app(scope, receive, recorder.send)
        except ApiError as error:
            if recorder.code or error.code != 401 or is_audit_evaluated(scope):
                raise
            await send_status(recorder.send, error)
        if recorder.code == 401 and not is_audit_evaluated(scope):
            self._audit(Request(scope, receive), recorder, received)

    def _audit(self, request: Request, recorder: _Response, received: datetime) -> None:
        assert self._policy is not None and self._backend is not None
        context = new_context(self._policy, request, None, received)
        if context is None or Stage.RESPONSE_STARTED in context.config.omit_stages:
            return
        context.response_code = 401
        context.response_status = {"metadata": {}, "message": _attempted_credentials(request), "code": 401}
        if recorder.body:
            context.response_body = CapturedBody(b"".join(recorder.body), recorder.content_type)
        self._backend.process(context.event(Stage.RESPONSE_STARTED, self._clock()))


class _Response:
    """Passes a response on, keeping its code, content type and body."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self.code = 0
        self.content_type = ""
        self.body: list[bytes] = []

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.code = message["status"]
            self.content_type = _header(message, b"content-type")
        elif message["type"] == "http.response.body" and self.code == 401:
            self.body.append(message.get("body", b""))
        await self._send(message)


def _attempted_credentials(request: Request) -> str:
    """Upstream's getAuthMethods: which kinds of credentials the failed request carried."""
    methods: list[str] = []
    authorization = (request.header("authorization") or "").strip()
    scheme, _, rest = authorization.partition(" ")
    if scheme.lower() == "basic" and rest:
        methods.append("basic")
    if scheme.lower() == "bearer" and rest:
        methods.append("bearer")
    if request.scope.get("extensions", {}).get("tls", {}).get("client_cert_chain"):
        methods.append("x509")
    if not methods:
        return "Authentication failed, no credentials provided"
    return "Authentication failed, attempted: " + ", ".join(methods)
