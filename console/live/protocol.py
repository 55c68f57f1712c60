"""The live-tail protocol: what a page may ask for, and the messages it is sent.

Page → server, one JSON message per watch (a new one replaces the previous watch)::

    {"action": "watch", "path": "/api/v1/namespaces/x/pods", "resourceVersion": "123",
     "labelSelector": "…", "fieldSelector": "…"}
    {"action": "stop"}

Only collection paths of the resource API are accepted (`/api/v1[/namespaces/NS]/PLURAL`,
`/apis/GROUP/VERSION[/namespaces/NS]/PLURAL`): no query, no single object, no subresource, no other keys.

Server → page:

- `{"type": "columns", "columns": [{"name", "type", "format", "priority"}…]}` once per watch, before its rows;
- `{"type": "events", "events": [{"type": "ADDED|MODIFIED|DELETED", "object": ROW}…], "resourceVersion": "…"}`
  where ROW is `{"uid", "name", "namespace", "resourceVersion", "cells"}` (the server's Table row); a batch with
  no events carries a BOOKMARK's resourceVersion;
- `{"type": "status", "state": "live"}` whenever the watch is (re)established;
- `{"type": "relist"}` when the resourceVersion has expired (410): the page must list again and watch anew;
- `{"type": "error", "code": 403, "reason": "Forbidden", "message": "…"}` the API's own refusal; the watch ends.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# A path segment as Kubernetes names resources, groups, versions and namespaces (lower-case DNS-ish names).
_SEGMENT = r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?"
_SCOPE = rf"(/namespaces/{_SEGMENT})?/{_SEGMENT}"
COLLECTION_PATH = re.compile(rf"^(/api/v1|/apis/{_SEGMENT}/{_SEGMENT}){_SCOPE}$")
WATCH_KEYS = frozenset({"action", "path", "resourceVersion", "labelSelector", "fieldSelector"})
MAX_SELECTOR = 1024
MAX_RESOURCE_VERSION = 64


class ProtocolError(ValueError):
    """A message the page should not have sent; the text is sent back to it."""


@dataclass(frozen=True, slots=True)
class WatchRequest:
    path: str
    resource_version: str = ""
    label_selector: str = ""
    field_selector: str = ""

    def query(self, resource_version: str) -> dict[str, str]:
        """The watch's query parameters, starting after `resource_version`."""
        query = {"watch": "1", "allowWatchBookmarks": "true"}
        if resource_version:
            query["resourceVersion"] = resource_version
        if self.label_selector:
            query["labelSelector"] = self.label_selector
        if self.field_selector:
            query["fieldSelector"] = self.field_selector
        return query


def parse_watch(message: Mapping[str, Any]) -> WatchRequest:
    """The watch a `{"action": "watch", …}` message asks for (raises ProtocolError)."""
    unknown = sorted(set(message) - WATCH_KEYS)
    if unknown:
        raise ProtocolError(f"unknown keys: {', '.join(unknown)}")
    path = message.get("path")
    if not isinstance(path, str) or not is_collection_path(path):
        raise ProtocolError("path must be a resource collection under /api or /apis, without a query")
    values = {key: message.get(key, "") for key in ("resourceVersion", "labelSelector", "fieldSelector")}
    for key, value in values.items():
        if not isinstance(value, str):
            raise ProtocolError(f"{key} must be a string")
        if any(ord(char) < 0x20 for char in value):
            raise ProtocolError(f"{key} must not contain control characters")
    if len(values["resourceVersion"]) > MAX_RESOURCE_VERSION or not values["resourceVersion"].isascii():
        raise ProtocolError("resourceVersion is too long or not ASCII")
    if len(values["labelSelector"]) > MAX_SELECTOR or len(values["fieldSelector"]) > MAX_SELECTOR:
        raise ProtocolError(f"selectors are limited to {MAX_SELECTOR} characters")
    return WatchRequest(path, values["resourceVersion"], values["labelSelector"], values["fieldSelector"])


def is_collection_path(path: str) -> bool:
    if not COLLECTION_PATH.match(path):
        return False
    # /api/v1/namespaces/x is one namespace, not a collection: `namespaces` is never followed by a name alone.
    segments = path.strip("/").split("/")
    root = 2 if segments[0] == "api" else 3
    return len(segments) - root in (1, 3) and (len(segments) - root == 1 or segments[root] == "namespaces")


def row_events(event_type: str, obj: Mapping[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]] | None]:
    """The rows of one watch event's object (a one-row Table, or a plain object) and the Table's columns if sent."""
    if obj.get("kind") != "Table":
        metadata = obj.get("metadata") or {}
        return [_row(metadata, None)], None
    columns = obj.get("columnDefinitions")
    rows = [_row((row.get("object") or {}).get("metadata") or {}, row.get("cells"))
            for row in obj.get("rows") or () if isinstance(row, dict)]
    return rows, [_column(column) for column in columns] if columns else None


def _row(metadata: Mapping[str, Any], cells: Any) -> dict[str, Any]:
    return {"uid": str(metadata.get("uid") or ""), "name": str(metadata.get("name") or ""),
            "namespace": str(metadata.get("namespace") or ""),
            "resourceVersion": str(metadata.get("resourceVersion") or ""),
            "cells": list(cells) if isinstance(cells, list) else None}


def _column(column: Mapping[str, Any]) -> dict[str, Any]:
    return {"name": str(column.get("name") or ""), "type": str(column.get("type") or ""),
            "format": str(column.get("format") or ""), "priority": int(column.get("priority") or 0)}


def error_message(status: Mapping[str, Any], fallback_code: int) -> dict[str, Any]:
    """An `error` message from the API's Status (its own code, reason and message)."""
    return {"type": "error", "code": int(status.get("code") or fallback_code),
            "reason": str(status.get("reason") or ""), "message": str(status.get("message") or "")}
