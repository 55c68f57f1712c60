"""A list page's data: one page of the server's own Table for a resource type, as the logged-in user.

The server renders the columns (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`), so every type, CRDs
included, shows what `kubectl get` shows: priority-0 columns by default, every column when wide. Pages are the
server's: `limit` and the opaque `continue` token, never the whole collection, so 10,000 objects cost one page.
The server does not sort; sorting reorders the current page only, and the page says so. Across namespaces a
Namespace column comes first, as `kubectl get -A` prints it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import orjson

from apiserver.client.transports import Transport
from console.browse.discovery import ResourceType

TABLE_ACCEPT = "application/json;as=Table;v=v1;g=meta.k8s.io"
DEFAULT_LIMIT = 50
MAX_LIMIT = 500


@dataclass(frozen=True, slots=True)
class ListQuery:
    namespace: str = ""
    all_namespaces: bool = False
    label_selector: str = ""
    name: str = ""
    limit: int = DEFAULT_LIMIT
    continue_token: str = ""
    sort: str = ""
    descending: bool = False
    wide: bool = False

    def server_params(self) -> dict[str, str]:
        params = {"limit": str(self.limit)}
        if self.continue_token:
            params["continue"] = self.continue_token
        if self.label_selector:
            params["labelSelector"] = self.label_selector
        if self.name:
            params["fieldSelector"] = f"metadata.name={escape_field_value(self.name)}"
        return params

    def url_params(self, **changes: Any) -> str:
        """This view's query string with `changes` applied (for links: sort, wide, next page, …)."""
        values = {"namespace": self.namespace, "all": "1" if self.all_namespaces else "",
                  "labelSelector": self.label_selector, "name": self.name,
                  "limit": str(self.limit) if self.limit != DEFAULT_LIMIT else "", "continue": self.continue_token,
                  "sort": self.sort, "desc": "1" if self.descending else "", "wide": "1" if self.wide else ""}
        values.update({key: value for key, value in changes.items()})
        return urlencode({key: value for key, value in values.items() if value})


def escape_field_value(value: str) -> str:
    """A field selector value with its operators escaped (`\\`, `,` and `=` are special there)."""
    return value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: str
    format: str
    description: str
    priority: int
    index: int  # position in the row's cells; -1 for the Namespace column the console adds


@dataclass(frozen=True, slots=True)
class Cell:
    text: str
    link: bool = False  # the name cell, linking to the detail page


@dataclass(frozen=True, slots=True)
class Header:
    column: Column
    url: str  # this view sorted by the column (descending when it is already sorted ascending)
    aria_sort: str  # "ascending" | "descending" | "none"


@dataclass(frozen=True, slots=True)
class Row:
    uid: str
    name: str
    namespace: str
    cells: tuple[Cell, ...]
    url: str
    created: str = ""


@dataclass
class Listing:
    resource_type: ResourceType
    query: ListQuery
    columns: tuple[Column, ...] = ()
    rows: tuple[Row, ...] = ()
    resource_version: str = ""
    continue_token: str = ""
    remaining: int | None = None
    error: str = ""
    error_code: int = 0
    hidden_columns: int = 0
    kubectl: str = ""
    sorted_column: Column | None = None

    @property
    def headers(self) -> tuple[Header, ...]:
        headers = []
        for column in self.columns:
            current = self.sorted_column is not None and column.name == self.sorted_column.name
            state = ("descending" if self.query.descending else "ascending") if current else "none"
            url = "?" + self.query.url_params(sort=column.name, desc="1" if state == "ascending" else "")
            headers.append(Header(column, url, state))
        return tuple(headers)

    @property
    def watch_path(self) -> str:
        """The collection the page's live updates watch (static/console/js/live.js); only a first page follows
        changes: later pages show a slice of a list that moves on without them."""
        if self.query.continue_token or self.error:
            return ""
        namespace = "" if self.query.all_namespaces or not self.resource_type.namespaced else self.query.namespace
        return self.resource_type.resource.path(namespace)

    @property
    def field_selector(self) -> str:
        return self.query.server_params().get("fieldSelector", "")

    @property
    def detail_href(self) -> str:
        """Where a row added live links to (`{namespace}` and `{name}` filled in by the page script)."""
        suffix = "?namespace={namespace}" if self.resource_type.namespaced else ""
        return f"{self.resource_type.list_url}{{name}}/{suffix}"

    @property
    def next_url(self) -> str:
        return "?" + self.query.url_params(**{"continue": self.continue_token}) if self.continue_token else ""

    @property
    def first_url(self) -> str:
        return "?" + self.query.url_params(**{"continue": ""})

    @property
    def wide_url(self) -> str:
        return "?" + self.query.url_params(wide="" if self.query.wide else "1")


async def fetch_listing(transport: Transport, resource_type: ResourceType, query: ListQuery) -> Listing:
    listing = Listing(resource_type, query)
    namespace = "" if query.all_namespaces or not resource_type.namespaced else query.namespace
    path = resource_type.resource.path(namespace)
    response = await transport.request("GET", path, query=urlencode(query.server_params()),
                                       headers=[("accept", TABLE_ACCEPT)])
    if response.status != 200:
        listing.error, listing.error_code = _status_message(response.body, response.status), response.status
        return listing
    table = orjson.loads(response.body)
    metadata = table.get("metadata") or {}
    listing.resource_version = str(metadata.get("resourceVersion") or "")
    listing.continue_token = str(metadata.get("continue") or "")
    remaining = metadata.get("remainingItemCount")
    listing.remaining = int(remaining) if remaining is not None else None
    definitions = [_column(raw, index) for index, raw in enumerate(table.get("columnDefinitions") or ())]
    shown = [column for column in definitions if query.wide or column.priority == 0]
    listing.hidden_columns = len(definitions) - len(shown)
    across = resource_type.namespaced and (query.all_namespaces or not namespace)
    if across:
        shown.insert(0, Column("Namespace", "string", "", "The object's namespace.", 0, -1))
    listing.columns = tuple(shown)
    rows = [_row(resource_type, raw, listing.columns) for raw in table.get("rows") or ()]
    listing.sorted_column = next((column for column in listing.columns if column.name == query.sort), None)
    if listing.sorted_column is not None:
        rows = sort_rows(rows, listing.columns, listing.sorted_column, descending=query.descending)
    listing.rows = tuple(rows)
    return listing


def sort_rows(rows: list[Row], columns: tuple[Column, ...], column: Column, *, descending: bool) -> list[Row]:
    """The page's rows ordered by `column`: numbers as numbers (the server types most count columns "string"),
    Age by creation time, text case-insensitively, empty cells last."""
    position = columns.index(column)

    def key(row: Row) -> tuple[int, float, str]:
        if column.name == "Age" and row.created:
            return (0, -_epoch(row.created), "")  # ascending Age: youngest first
        value = row.cells[position].text
        if value in ("", "<none>"):
            return (2, 0.0, "")
        try:
            return (0, float(value), "")
        except ValueError:
            return (1, 0.0, value.casefold())

    return sorted(rows, key=key, reverse=descending)


def _epoch(timestamp: str) -> float:
    try:
        return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


def _column(raw: dict[str, Any], index: int) -> Column:
    return Column(name=str(raw.get("name") or ""), type=str(raw.get("type") or "string"),
                  format=str(raw.get("format") or ""), description=str(raw.get("description") or ""),
                  priority=int(raw.get("priority") or 0), index=index)


def _row(resource_type: ResourceType, raw: dict[str, Any], columns: tuple[Column, ...]) -> Row:
    metadata = (raw.get("object") or {}).get("metadata") or {}
    cells = raw.get("cells") or []
    name = str(metadata.get("name") or "")
    namespace = str(metadata.get("namespace") or "")
    name_at = next((position for position, column in enumerate(columns) if column.format == "name"),
                   1 if columns and columns[0].index < 0 else 0)
    text = tuple(Cell(namespace if column.index < 0 else cell_text(cells[column.index] if column.index < len(cells)
                                                                    else None), position == name_at)
                 for position, column in enumerate(columns))
    url = resource_type.detail_url(name) + (f"?{urlencode({'namespace': namespace})}" if namespace else "")
    return Row(uid=str(metadata.get("uid") or ""), name=name, namespace=namespace, cells=text, url=url,
               created=str(metadata.get("creationTimestamp") or ""))


def cell_text(value: object) -> str:
    """A cell as kubectl prints it: `<none>` for nothing, lists comma-joined, booleans lower-case."""
    if value is None:
        return "<none>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return ",".join(cell_text(item) for item in value) or "<none>"
    if isinstance(value, dict):
        return orjson.dumps(value).decode()
    return str(value)


def _status_message(body: bytes, status: int) -> str:
    try:
        decoded = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body.decode("utf-8", "replace") or f"HTTP {status}"
    return str(decoded.get("message") or f"HTTP {status}") if isinstance(decoded, dict) else f"HTTP {status}"
