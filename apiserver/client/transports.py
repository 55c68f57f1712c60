"""Transports: how an ApiClient's requests reach the API.

`InProcessTransport` calls the server's whole ASGI app (every filter: authentication, authorization, admission,
audit) inside the process, as kube-apiserver's loopback client does over its loopback connection.

How an in-process caller is identified, and why no network client can do the same: the transport puts an
`InProcessIdentity` object under `IN_PROCESS_IDENTITY_KEY` in the ASGI `tls` extension of the scope it builds.
`InProcessAuthenticator` (installed in front of the request authenticator by server/assembly.py) trusts exactly
that: an instance of this Python class. The `tls` extension of a network request is built by the server from the
TLS connection itself (server/tls.py: certificate chain, versions, error), never from request bytes, and no
decoding of headers or bodies can produce a Python object of this class; so only code running in the server's
own process holds the power to act as a given user, which it already has by owning the storage.
"""
from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import unquote

from apiserver.auth.authn.interface import AuthRequest
from apiserver.auth.user import UserInfo, add_authenticated_group
from apiserver.http.asgi import ASGIApp, Message

IN_PROCESS_IDENTITY_KEY = "pilothouse.in_process_identity"
_STREAM_END = object()


@dataclass(frozen=True, slots=True)
class InProcessIdentity:
    """The user an in-process request acts as; only ever created by code inside the server process."""

    user: UserInfo


@dataclass(frozen=True, slots=True)
class TransportResponse:
    """A complete response: status code, headers (lower-case names) and body."""

    status: int
    headers: dict[str, str]
    body: bytes
    header_list: tuple[tuple[str, str], ...] = ()
    """Every header in order, repeats included (several `Warning` headers); names lower-case."""

    def header_values(self, name: str) -> list[str]:
        """All values of a header, in order (`headers` keeps only the last of a repeated one)."""
        return [value for key, value in self.header_list if key == name.lower()]


class Transport(Protocol):
    """Sends one request for an ApiClient.

    `request` returns the whole response; `stream` yields the body in chunks as the server sends them (watch)
    and ends the request when the caller stops iterating. A response with a status >= 400 is still returned
    (the client turns it into an ApiError); `stream` yields it as its only chunk after raising nothing.
    """

    async def request(self, method: str, path: str, *, query: str = "", body: bytes = b"",
                      headers: Sequence[tuple[str, str]] = ()) -> TransportResponse: ...

    def stream(self, method: str, path: str, *, query: str = "", headers: Sequence[tuple[str, str]] = ()
               ) -> contextlib.AbstractAsyncContextManager[tuple[int, AsyncIterator[bytes]]]: ...


class InProcessAuthenticator:
    """The request authenticator with in-process identities in front: see the module docstring for the trust."""

    def __init__(self, authenticator: object) -> None:
        self._authenticator = authenticator

    async def authenticate(self, request: AuthRequest) -> UserInfo:
        identity = request.tls.get(IN_PROCESS_IDENTITY_KEY) if request.tls is not None else None
        if isinstance(identity, InProcessIdentity):
            return add_authenticated_group(identity.user)
        user: UserInfo = await self._authenticator.authenticate(request)  # type: ignore[attr-defined]
        return user


class InProcessTransport:
    """Calls `app` directly with a synthetic `https` scope whose identity is `user`."""

    def __init__(self, app: ASGIApp, user: UserInfo) -> None:
        self._app = app
        self._identity = InProcessIdentity(user)

    def _scope(self, method: str, path: str, query: str, headers: Sequence[tuple[str, str]]) -> dict[str, object]:
        return {
            "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1",
            "method": method, "scheme": "https", "path": unquote(path), "raw_path": path.encode(),
            "query_string": query.encode(), "root_path": "",
            "headers": [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers],
            "client": ("127.0.0.1", 0), "server": ("127.0.0.1", 0),
            "extensions": {"tls": {IN_PROCESS_IDENTITY_KEY: self._identity}},
        }

    async def request(self, method: str, path: str, *, query: str = "", body: bytes = b"",
                      headers: Sequence[tuple[str, str]] = ()) -> TransportResponse:
        async with self._call(method, path, query, body, headers) as (status, response_headers, chunks):
            parts = [chunk async for chunk in chunks]
        return TransportResponse(status, dict(response_headers), b"".join(parts), response_headers.pairs)

    @contextlib.asynccontextmanager
    async def stream(self, method: str, path: str, *, query: str = "", headers: Sequence[tuple[str, str]] = ()
                     ) -> AsyncIterator[tuple[int, AsyncIterator[bytes]]]:
        async with self._call(method, path, query, b"", headers) as (status, _, chunks):
            yield status, chunks

    @contextlib.asynccontextmanager
    async def _call(self, method: str, path: str, query: str, body: bytes, headers: Sequence[tuple[str, str]]
                    ) -> AsyncIterator[tuple[int, dict[str, str], AsyncIterator[bytes]]]:
        all_headers = [*headers, ("accept", "application/json")]
        if body:
            if not any(name.lower() == "content-type" for name, _ in headers):
                all_headers.append(("content-type", "application/json"))
            all_headers.append(("content-length", str(len(body))))
        scope = self._scope(method, path, query, all_headers)
        outbox: asyncio.Queue[Message | object] = asyncio.Queue()
        disconnected = asyncio.Event()
        pending = [{"type": "http.request", "body": body, "more_body": False}]

        async def receive() -> Message:
            if pending:
                return pending.pop()
            await disconnected.wait()
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            await outbox.put(message)

        async def run() -> None:
            try:
                await self._app(scope, receive, send)
            finally:
                await outbox.put(_STREAM_END)

        task = asyncio.create_task(run())
        try:
            start = await outbox.get()
            if start is _STREAM_END:
                task.result()
                raise RuntimeError(f"{method} {path}: the app sent no response")
            assert isinstance(start, dict)
            response_headers = _Headers((name.decode("latin-1").lower(), value.decode("latin-1"))
                                        for name, value in start.get("headers", ()))
            yield int(start["status"]), response_headers, _body_chunks(outbox)
        finally:
            await _finish(task, disconnected)


class _Headers(dict[str, str]):
    """Response headers by name (the last of a repeated one wins), with every (name, value) pair in `pairs`."""

    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        self.pairs = tuple(pairs)
        super().__init__(self.pairs)


async def _finish(task: asyncio.Task[None], disconnected: asyncio.Event) -> None:
    """Tell the app the caller left, give it a moment to end, then cancel it; never wait on it unbounded
    (the caller may itself be being cancelled)."""
    disconnected.set()
    if not task.done():
        await asyncio.wait({task}, timeout=1.0)
    if not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=1.0)
    if task.done() and not task.cancelled():
        task.exception()  # retrieved: an app failing after the caller left has no one else to tell


async def _body_chunks(outbox: asyncio.Queue[Message | object]) -> AsyncIterator[bytes]:
    while True:
        message = await outbox.get()
        if message is _STREAM_END:
            return
        assert isinstance(message, dict)
        if message.get("body"):
            yield bytes(message["body"])
        if not message.get("more_body", False):
            return
