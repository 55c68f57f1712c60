"""The Health page's data: `GET /debug/pilothouse/health` as the user, turned into display values (no Django here).

The JSON shape is documented in apiserver/endpoints/debug_health.py. A user the server does not authorize gets a
page that says which permission is missing instead of the panels. Values are formatted here; escaping is the
template's job (every string from the server is rendered as text).
"""
from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from console.health.charts import Chart, Line, Segment, line_path, nice_top, timeline

DEBUG_HEALTH_PATH = "/debug/pilothouse/health"
ENDPOINTS = ("livez", "readyz", "healthz")
PERMISSION = f'get on the non-resource URL "{DEBUG_HEALTH_PATH}" (granted to cluster-admin)'


class Response(Protocol):
    @property
    def status(self) -> int: ...

    @property
    def body(self) -> bytes: ...


class Requester(Protocol):
    """What the page needs of the session's transport (apiserver.client's Transport satisfies it)."""

    async def request(self, method: str, path: str) -> Response:
        """One request as the logged-in user; any status comes back as a response."""
        ...


@dataclass(frozen=True, slots=True)
class CheckRow:
    name: str
    ok: bool
    since: str  # when the current state began (UTC time)
    for_how_long: str
    reason: str
    timeline: tuple[Segment, ...]


@dataclass(frozen=True, slots=True)
class EndpointPanel:
    name: str
    ok: bool
    checks: tuple[CheckRow, ...]

    @property
    def path(self) -> str:
        return f"/{self.name}"

    @property
    def failing(self) -> int:
        return sum(not check.ok for check in self.checks)


@dataclass(frozen=True, slots=True)
class Member:
    endpoint: str
    reachable: bool
    current: bool
    is_leader: bool
    latency: str
    version: str
    db_size: str
    member_id: str
    raft_term: str
    problems: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class StoragePanel:
    backend: str
    revision: str
    compacted_revision: str
    size: str
    files: tuple[tuple[str, str], ...]
    members: tuple[Member, ...]
    error: str
    recent_p50: str
    recent_p99: str
    recent_window: str
    total_p50: str
    total_p99: str
    requests: str
    errors: str

    @property
    def is_etcd(self) -> bool:
        return self.backend == "etcd3"


@dataclass(frozen=True, slots=True)
class HealthPage:
    """Everything the template shows. `error` (with `status`) replaces the panels when the report was refused."""

    endpoints: tuple[EndpointPanel, ...] = ()
    storage: StoragePanel | None = None
    charts: tuple[Chart, ...] = ()
    started_at: str = ""
    uptime: str = ""
    generated_at: str = ""
    error: str = ""
    status: int = 200
    missing_permission: str = ""
    timeline_start: str = ""
    timeline_end: str = ""


async def fetch_health_page(transport: Requester) -> HealthPage:
    """Ask the server as the transport's user and build the page; a refusal becomes the page's `error`."""
    response = await transport.request("GET", DEBUG_HEALTH_PATH)
    if response.status != 200:
        return refused_page(response.status, response.body)
    return health_page(orjson.loads(response.body))


def refused_page(status: int, body: bytes) -> HealthPage:
    try:
        message = str(orjson.loads(body).get("message") or "")
    except (orjson.JSONDecodeError, AttributeError):
        message = body.decode("utf-8", "replace")[:500]
    missing = PERMISSION if status == 403 else ""
    return HealthPage(error=message or f"the server answered {status}", status=status, missing_permission=missing)


def health_page(report: Mapping[str, Any]) -> HealthPage:
    """The page for one report (pure: the unit tests call it with a report the server made)."""
    now = float(report.get("now") or 0.0)
    health = report.get("health") or {}
    started = float(health.get("startedAt") or now)
    endpoints = health.get("endpoints") or {}
    return HealthPage(
        endpoints=tuple(endpoint_panel(name, endpoints.get(name) or {}, started, now) for name in ENDPOINTS),
        storage=storage_panel(report.get("storage") or {}),
        charts=charts((report.get("metrics") or {}).get("points") or [], now,
                      float((report.get("metrics") or {}).get("window") or 1800.0)),
        started_at=clock_time(started), uptime=duration(now - started), generated_at=clock_time(now),
        timeline_start=clock_time(started), timeline_end=clock_time(now),
    )


def endpoint_panel(name: str, data: Mapping[str, Any], start: float, now: float) -> EndpointPanel:
    rows = tuple(check_row(check, start, now) for check in data.get("checks") or ())
    return EndpointPanel(name=name, ok=bool(data.get("ok")), checks=rows)


def check_row(check: Mapping[str, Any], start: float, now: float) -> CheckRow:
    since = float(check.get("since") or start)
    items = list(check.get("history") or ())
    history = []
    for index, item in enumerate(items):
        until = float(items[index + 1].get("since") or now) if index + 1 < len(items) else now
        history.append((bool(item.get("ok")), float(item.get("since") or start), transition_title(item, until)))
    return CheckRow(
        name=str(check.get("name") or ""), ok=bool(check.get("ok")), since=clock_time(since),
        for_how_long=duration(now - since), reason=str(check.get("reason") or ""),
        timeline=timeline(history, start, now),
    )


def transition_title(item: Mapping[str, Any], until: float) -> str:
    since = float(item.get("since") or 0.0)
    state = "ok" if item.get("ok") else f"failed: {item.get('reason') or 'unknown reason'}"
    return f"{clock_time(since)}\u2013{clock_time(until)} ({duration(until - since)}): {state}"


def storage_panel(data: Mapping[str, Any]) -> StoragePanel:
    latency = data.get("latency") or {}
    recent, total = latency.get("recent") or {}, latency.get("sinceStart") or {}
    files = data.get("files") or {}
    return StoragePanel(
        backend=str(data.get("backend") or "unknown"),
        revision=revision_text(data.get("revision")),
        compacted_revision=revision_text(data.get("compactedRevision")),
        size=byte_size(data.get("size") or 0),
        files=tuple((str(role), byte_size(size)) for role, size in files.items()),
        members=tuple(member(item) for item in data.get("members") or ()), error=str(data.get("error") or ""),
        recent_p50=seconds(recent.get("p50")), recent_p99=seconds(recent.get("p99")),
        recent_window=duration(recent["seconds"]) if recent.get("seconds") else "since start",
        total_p50=seconds(total.get("p50")), total_p99=seconds(total.get("p99")),
        requests=f"{int(total.get('requests') or 0):,}", errors=f"{int(total.get('errors') or 0):,}",
    )


def member(data: Mapping[str, Any]) -> Member:
    problems = [str(data.get("error") or ""), *(str(item) for item in data.get("errors") or ())]
    return Member(
        endpoint=str(data.get("endpoint") or ""), reachable=bool(data.get("reachable")),
        current=bool(data.get("current")), is_leader=bool(data.get("isLeader")), latency=seconds(data.get("latency")),
        version=str(data.get("version") or ""),
        db_size=byte_size(data.get("dbSize")) if data.get("dbSize") else "",
        member_id=str(data.get("memberID") or ""), raft_term=str(data.get("raftTerm") or ""),
        problems=tuple(problem for problem in problems if problem),
    )


CHART_SERIES: tuple[tuple[str, str, tuple[tuple[str, str, str], ...], Any], ...] = (
    ("Request rate", "requests/s", (("requestRate", "all", "rate"),), lambda value: f"{value:.2f}/s"),
    ("Request latency", "seconds", (("latencyP50", "p50", "p50"), ("latencyP99", "p99", "p99")), None),
    ("In-flight requests", "requests", (("inflight", "limited", "inflight"), ("longRunning", "long-running", "long")),
     lambda value: f"{value:g}"),
)


def charts(points: Sequence[Mapping[str, Any]], now: float, window: float) -> tuple[Chart, ...]:
    """The three charts over the sampled window (the left edge is `window` seconds before `now`)."""
    start = now - window
    times = [float(point.get("at") or 0.0) for point in points]
    drawn = []
    for title, unit, series, formatter in CHART_SERIES:
        columns = {key: [_number(point.get(key)) for point in points] for key, _, _ in series}
        top = nice_top(max((value for values in columns.values() for value in values if value is not None),
                           default=0.0))
        show = formatter or seconds
        lines = tuple(
            Line(label, css, line_path(times, columns[key], start, now, top),
                 show(columns[key][-1]) if columns[key] and columns[key][-1] is not None else "\u2013")
            for key, label, css in series
        )
        drawn.append(Chart(title, unit, lines, show(top), start, now))
    return tuple(drawn)


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def clock_time(at: float) -> str:
    return datetime.datetime.fromtimestamp(at, datetime.UTC).strftime("%H:%M:%S") if at else ""


def duration(value: float) -> str:
    total = max(int(value), 0)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "m"), (secs, "s")]
    shown = [f"{amount}{unit}" for amount, unit in parts if amount][:2]
    return " ".join(shown) or "0s"


def seconds(value: object) -> str:
    if not isinstance(value, int | float):
        return "\u2013"
    if value < 1:
        return f"{value * 1000:.1f} ms"
    return f"{value:.2f} s"


def byte_size(value: object) -> str:
    size = float(value) if isinstance(value, int | float) else 0.0
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"


def revision_text(value: object) -> str:
    return f"{value}" if isinstance(value, int) and value >= 0 else "unknown"
