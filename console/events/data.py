"""The Events stream's data, asked of the API as the logged-in user: the filters, the first rows and the watch.

Filters become field selectors Events support upstream (`involvedObject.kind`, `type`, `reason`); values that
could not be a kind, type or reason are dropped rather than sent. Rows are the server's Table (the columns of
`kubectl get events`: Last Seen, Type, Reason, Object, Message), newest first, at most LIMIT of them.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import orjson

from apiserver.client.transports import Transport

TABLE_ACCEPT = "application/json;as=Table;v=v1;g=meta.k8s.io"
LIMIT = 200
TYPES = ("Normal", "Warning")
NAMESPACE_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
KIND = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,62}$")
REASON = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")


@dataclass(frozen=True, slots=True)
class EventFilters:
    namespace: str = ""
    kind: str = ""
    type: str = ""
    reason: str = ""

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> EventFilters:
        def valid(key: str, pattern: re.Pattern[str]) -> str:
            value = str(query.get(key) or "").strip()
            return value if pattern.match(value) else ""

        event_type = str(query.get("type") or "").strip()
        return cls(namespace=valid("namespace", NAMESPACE_NAME), kind=valid("kind", KIND),
                   type=event_type if event_type in TYPES else "", reason=valid("reason", REASON))

    @property
    def watch_path(self) -> str:
        return f"/api/v1/namespaces/{self.namespace}/events" if self.namespace else "/api/v1/events"

    @property
    def field_selector(self) -> str:
        pairs = (("involvedObject.kind", self.kind), ("type", self.type), ("reason", self.reason))
        return ",".join(f"{key}={value}" for key, value in pairs if value)


@dataclass(frozen=True, slots=True)
class EventRow:
    uid: str
    namespace: str
    cells: tuple[str, ...]
    warning: bool


@dataclass(frozen=True, slots=True)
class EventsPage:
    filters: EventFilters
    columns: tuple[str, ...] = ()
    rows: tuple[EventRow, ...] = ()
    resource_version: str = ""
    forbidden: str = ""
    more: bool = False


async def build_events(transport: Transport, filters: EventFilters) -> EventsPage:
    """The newest events matching `filters`, or the API's refusal (its own message) when it says no."""
    query = {"limit": str(LIMIT)}
    if filters.field_selector:
        query["fieldSelector"] = filters.field_selector
    response = await transport.request("GET", filters.watch_path, query=urlencode(query),
                                       headers=[("accept", TABLE_ACCEPT)])
    body: dict[str, Any] = orjson.loads(response.body) if response.body else {}
    if response.status >= 400:
        return EventsPage(filters, forbidden=str(body.get("message") or f"the API answered {response.status}"))
    shown = [index for index, column in enumerate(body.get("columnDefinitions") or ())
             if int(column.get("priority") or 0) == 0]
    names = tuple(str(body["columnDefinitions"][index].get("name")) for index in shown)
    rows = sorted(body.get("rows") or (), key=_newest_first, reverse=True)
    type_index = names.index("Type") if "Type" in names else -1
    return EventsPage(
        filters, columns=names, resource_version=str((body.get("metadata") or {}).get("resourceVersion") or ""),
        rows=tuple(_row(row, shown, type_index) for row in rows),
        more=bool((body.get("metadata") or {}).get("continue")))


def _newest_first(row: Mapping[str, Any]) -> str:
    metadata = (row.get("object") or {}).get("metadata") or {}
    return str(metadata.get("creationTimestamp") or "")


def _row(row: Mapping[str, Any], shown: list[int], type_index: int) -> EventRow:
    cells = row.get("cells") or []
    values = tuple("" if index >= len(cells) or cells[index] is None else str(cells[index]) for index in shown)
    metadata = (row.get("object") or {}).get("metadata") or {}
    return EventRow(uid=str(metadata.get("uid") or ""), namespace=str(metadata.get("namespace") or ""),
                    cells=values, warning=type_index >= 0 and values[type_index] == "Warning")
