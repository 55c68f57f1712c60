"""A thin, lazy view of one HTTP request over its ASGI scope and receive channel.

Query strings are parsed as Go's net/url parses them (kube-apiserver reads every parameter through it):
pairs split on `&` only, a pair containing `;` or a bad `%` escape is dropped, `+` is a space, and every
value of a repeated key is kept.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import unquote_to_bytes

from apiserver.auth.user import UserInfo
from apiserver.http.asgi import Receive, Scope
from apiserver.meta.errors import RequestEntityTooLarge
from apiserver.meta.requestinfo import RequestInfo

# kube-apiserver's default --max-request-body-bytes (3 MiB).
DEFAULT_MAX_BODY_BYTES = 3 * 1024 * 1024

_REQUEST_INFO_KEY = "pilothouse.request_info"
_USER_KEY = "pilothouse.user"
_QUERY_KEY = "pilothouse.query"
_BAD_ESCAPE = re.compile(rb"%(?![0-9A-Fa-f]{2})")


class ClientDisconnected(Exception):
    """The client went away before its request body was read; there is nobody left to answer."""


def parse_query(raw: bytes) -> dict[str, list[str]]:
    """Every value of every query parameter, in order, as Go's url.ParseQuery keeps them."""
    query: dict[str, list[str]] = {}
    for pair in raw.split(b"&"):
        if not pair or b";" in pair:
            continue
        raw_key, _, raw_value = pair.partition(b"=")
        key, value = _query_unescape(raw_key), _query_unescape(raw_value)
        if key is not None and value is not None:
            query.setdefault(key, []).append(value)
    return query


def _query_unescape(raw: bytes) -> str | None:
    if b"%" not in raw and b"+" not in raw:
        return raw.decode("utf-8", "surrogateescape")
    if _BAD_ESCAPE.search(raw):
        return None
    return unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8", "surrogateescape")


def request_info_of(scope: Scope) -> RequestInfo:
    """The RequestInfo the requestinfo filter stored in `scope`. Raises LookupError when the filter did not run."""
    try:
        info: RequestInfo = scope["state"][_REQUEST_INFO_KEY]
    except KeyError:
        raise LookupError("no RequestInfo in scope: the requestinfo filter must run first") from None
    return info


def set_request_info(scope: Scope, info: RequestInfo) -> None:
    scope.setdefault("state", {})[_REQUEST_INFO_KEY] = info


def user_of(scope: Scope) -> UserInfo | None:
    """The user the request acts as (after impersonation), or None before the authentication filter ran."""
    user: UserInfo | None = scope.get("state", {}).get(_USER_KEY)
    return user


def set_user(scope: Scope, user: UserInfo) -> None:
    """Record who the request acts as; the authentication filter, then the impersonation filter, call this."""
    scope.setdefault("state", {})[_USER_KEY] = user


def tls_of(scope: Scope) -> dict[str, object] | None:
    """The ASGI TLS extension of the connection (`scope["extensions"]["tls"]`), or None over plain HTTP."""
    extension: dict[str, object] | None = (scope.get("extensions") or {}).get("tls")
    return extension


class Request:
    """One request: method, path, query, headers and a size-capped body, each computed on first use.

    `body()` reads the whole body once; it raises RequestEntityTooLarge past `max_body_bytes` (upstream's
    `limit is N` message) and ClientDisconnected when the client leaves first.
    """

    __slots__ = ("_body", "_headers", "_max_body_bytes", "_query", "_receive", "scope")

    def __init__(self, scope: Scope, receive: Receive, *, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        self.scope = scope
        self._receive = receive
        self._max_body_bytes = max_body_bytes
        self._query: dict[str, list[str]] | None = None
        self._headers: dict[str, list[str]] | None = None
        self._body: bytes | None = None

    @property
    def method(self) -> str:
        method: str = self.scope["method"]
        return method

    @property
    def path(self) -> str:
        """The URL-decoded path."""
        path: str = self.scope["path"]
        return path

    @property
    def request_uri(self) -> str:
        """The path and query as the client sent them (Go's Request.RequestURI), for messages and logs."""
        raw_path: bytes | None = self.scope.get("raw_path")
        path = raw_path.decode("utf-8", "surrogateescape") if raw_path else self.path
        query_string: bytes = self.scope.get("query_string", b"")
        return f"{path}?{query_string.decode('utf-8', 'surrogateescape')}" if query_string else path

    @property
    def query(self) -> Mapping[str, list[str]]:
        """Every value of every query parameter; parsed once per request and shared through the scope."""
        if self._query is None:
            state = self.scope.setdefault("state", {})
            if (query := state.get(_QUERY_KEY)) is None:
                query = state[_QUERY_KEY] = parse_query(self.scope.get("query_string", b""))
            self._query = query
        return self._query

    def query_value(self, name: str) -> str | None:
        """The first value of query parameter `name` (Go's Values.Get), or None when absent."""
        values = self.query.get(name)
        return values[0] if values else None

    @property
    def headers(self) -> Mapping[str, list[str]]:
        """Header values by lower-case name, in the order received."""
        if self._headers is None:
            headers: dict[str, list[str]] = {}
            for raw_name, raw_value in self.scope.get("headers", ()):
                headers.setdefault(raw_name.decode("latin-1").lower(), []).append(raw_value.decode("latin-1"))
            self._headers = headers
        return self._headers

    def header(self, name: str) -> str | None:
        """The first value of header `name` (case-insensitive), or None."""
        values = self.headers.get(name.lower())
        return values[0] if values else None

    @property
    def request_info(self) -> RequestInfo:
        return request_info_of(self.scope)

    @property
    def tls(self) -> dict[str, object] | None:
        """The TLS extension (peer certificate chain and its verification error); None over plain HTTP."""
        return tls_of(self.scope)

    @property
    def user(self) -> UserInfo | None:
        """The user the request acts as; None when no authentication filter ran."""
        return user_of(self.scope)

    async def body(self) -> bytes:
        if self._body is None:
            self._check_declared_length()
            self._body = await self._read_body()
        return self._body

    def _check_declared_length(self) -> None:
        declared = self.header("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self._max_body_bytes:
            raise RequestEntityTooLarge(f"limit is {self._max_body_bytes}")

    async def _read_body(self) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                raise ClientDisconnected()
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > self._max_body_bytes:
                raise RequestEntityTooLarge(f"limit is {self._max_body_bytes}")
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)
