"""ApiClient: Kubernetes API calls with one credential over a Transport, answering with dicts.

Errors come back as the `apiserver.meta.errors.ApiError` subclass named by the Status `reason` (by HTTP code
when the reason is unknown), carrying the server's message, so callers handle them as handlers raise them.
"""
from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import orjson

from apiserver.client.transports import Transport, TransportResponse
from apiserver.meta import errors
from apiserver.meta.errors import ApiError, StatusDetails

JSONDict = dict[str, Any]

_BY_REASON: dict[str, type[ApiError]] = {
    cls.reason: cls for cls in (
        errors.BadRequest, errors.Unauthorized, errors.Forbidden, errors.NotFound, errors.MethodNotAllowed,
        errors.NotAcceptable, errors.AlreadyExists, errors.Conflict, errors.Gone, errors.Expired,
        errors.RequestEntityTooLarge, errors.UnsupportedMediaType, errors.Invalid, errors.TooManyRequests,
        errors.InternalError, errors.ServerTimeout, errors.ServiceUnavailable, errors.Timeout,
    )
}
_BY_CODE: dict[int, type[ApiError]] = {
    400: errors.BadRequest, 401: errors.Unauthorized, 403: errors.Forbidden, 404: errors.NotFound,
    405: errors.MethodNotAllowed, 409: errors.Conflict, 410: errors.Gone, 422: errors.Invalid,
    429: errors.TooManyRequests, 500: errors.InternalError, 503: errors.ServiceUnavailable, 504: errors.Timeout,
}

MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"


@dataclass(frozen=True, slots=True)
class Resource:
    """A resource by group, version and plural, and whether it is namespaced (cluster-scoped otherwise)."""

    group: str
    version: str
    plural: str
    namespaced: bool = True

    def path(self, namespace: str = "", name: str = "", subresource: str = "") -> str:
        root = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        parts = [root]
        if self.namespaced and namespace:
            parts.append(f"namespaces/{quote(namespace, safe='')}")
        parts.append(self.plural)
        if name:
            parts.append(quote(name, safe=""))
        if subresource:
            parts.append(subresource)
        return "/".join(parts)


def error_from_status(status_code: int, body: bytes) -> ApiError:
    """The ApiError a Status body (or any failed response) stands for."""
    try:
        status = orjson.loads(body) if body else {}
    except orjson.JSONDecodeError:
        status = {}
    if not isinstance(status, dict):
        status = {}
    reason = str(status.get("reason") or "")
    code = int(status.get("code") or status_code)
    error_class = _BY_REASON.get(reason) or _BY_CODE.get(code, ApiError)
    message = str(status.get("message") or body.decode("utf-8", "replace"))
    raw_details = status.get("details")
    details = None
    if isinstance(raw_details, dict):
        details = StatusDetails(name=str(raw_details.get("name") or ""), group=str(raw_details.get("group") or ""),
                                kind=str(raw_details.get("kind") or ""))
    return error_class.from_message(message, details=details)


class ApiClient:
    """Every call returns the decoded JSON answer or raises the ApiError of the Status the server sent."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    async def get(self, resource: Resource, name: str, *, namespace: str = "", subresource: str = "") -> JSONDict:
        return await self._call("GET", resource.path(namespace, name, subresource))

    async def list(self, resource: Resource, *, namespace: str = "", **params: str | int) -> JSONDict:
        return await self._call("GET", resource.path(namespace), query=_query(params))

    async def create(self, resource: Resource, obj: JSONDict, *, namespace: str = "", subresource: str = "",
                     name: str = "", **params: str) -> JSONDict:
        return await self._call("POST", resource.path(namespace, name, subresource), body=obj, query=_query(params))

    async def update(self, resource: Resource, obj: JSONDict, *, namespace: str = "", subresource: str = "",
                     **params: str) -> JSONDict:
        name = str((obj.get("metadata") or {}).get("name") or "")
        return await self._call("PUT", resource.path(namespace, name, subresource), body=obj, query=_query(params))

    async def patch(self, resource: Resource, name: str, patch: object, *, namespace: str = "",
                    subresource: str = "", content_type: str = MERGE_PATCH, **params: str) -> JSONDict:
        return await self._call("PATCH", resource.path(namespace, name, subresource), body=patch,
                                query=_query(params), content_type=content_type)

    async def delete(self, resource: Resource, name: str, *, namespace: str = "",
                     options: JSONDict | None = None) -> JSONDict:
        return await self._call("DELETE", resource.path(namespace, name), body=options)

    async def watch(self, resource: Resource, *, namespace: str = "", resource_version: str = "",
                    **params: str | int) -> AsyncIterator[tuple[str, JSONDict]]:
        """(type, object) events until the server ends the watch; an ERROR event raises its ApiError."""
        query = {"watch": "true", "allowWatchBookmarks": "true", **params}
        if resource_version:
            query["resourceVersion"] = resource_version
        async with self._transport.stream("GET", resource.path(namespace), query=_query(query)) as (status, chunks):
            if status >= 400:
                raise error_from_status(status, b"".join([chunk async for chunk in chunks]))
            async for event in _events(chunks):
                if event.get("type") == "ERROR":
                    raise error_from_status(500, orjson.dumps(event.get("object") or {}))
                yield str(event.get("type")), event.get("object") or {}

    async def _call(self, method: str, path: str, *, body: object = None, query: str = "",
                    content_type: str = "application/json") -> JSONDict:
        raw = orjson.dumps(body) if body is not None else b""
        headers = [("content-type", content_type)] if raw else []
        response: TransportResponse = await self._transport.request(method, path, query=query, body=raw,
                                                                    headers=headers)
        if response.status >= 400:
            raise error_from_status(response.status, response.body)
        answer: JSONDict = orjson.loads(response.body) if response.body else {}
        return answer


def _query(params: Mapping[str, str | int]) -> str:
    return urlencode({key: str(value) for key, value in params.items() if value != ""})


async def _events(chunks: AsyncIterator[bytes]) -> AsyncIterator[JSONDict]:
    """Newline-delimited JSON watch events, whatever the chunk boundaries."""
    buffer = b""
    async for chunk in chunks:
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            if line.strip():
                yield orjson.loads(line)
    if buffer.strip():
        yield orjson.loads(buffer)
