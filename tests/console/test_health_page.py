"""The Health page: its data built from a real server's /debug/pilothouse/health, rendered and escaped."""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import orjson
import pytest
from django.template.loader import render_to_string

from apiserver.auth.user import UserInfo
from apiserver.client.transports import InProcessTransport
from console.health.charts import TIMELINE_WIDTH, line_path, nice_top, timeline
from console.health.report import fetch_health_page, health_page
from tests.console.harness import ConsoleHarness
from tests.server.security_harness import InMemoryServer, in_memory_server

ADMIN = UserInfo("admin", groups=("system:masters",))
PANELS = "console/health_panels.html"


@pytest.fixture
async def served(tmp_path: Path):  # type: ignore[no-untyped-def]
    async with in_memory_server(tmp_path) as server:
        yield server


async def admin_report(served: InMemoryServer) -> dict[str, Any]:
    transport = InProcessTransport(served.server.app, ADMIN)
    response = await transport.request("GET", "/debug/pilothouse/health")
    assert response.status == 200, response.body
    report: dict[str, Any] = orjson.loads(response.body)
    return report


async def test_page_lists_every_check_of_every_endpoint(served: InMemoryServer) -> None:
    page = await fetch_health_page(InProcessTransport(served.server.app, ADMIN))
    assert page.error == ""
    assert [panel.path for panel in page.endpoints] == ["/livez", "/readyz", "/healthz"]
    readyz = page.endpoints[1]
    names = [check.name for check in readyz.checks]
    assert names[:5] == ["ping", "log", "etcd", "etcd-readiness", "informer-sync"] and names[-1] == "shutdown"
    assert readyz.ok and all(check.ok and check.timeline for check in readyz.checks)
    # Start-up is part of the history: storage was not open at the first sample.
    etcd = next(check for check in readyz.checks if check.name == "etcd")
    assert [segment.ok for segment in etcd.timeline] == [False, True]
    assert "failed: storage is not open" in etcd.timeline[0].title
    assert page.storage is not None and page.storage.backend == "memory"
    assert [chart.title for chart in page.charts] == ["Request rate", "Request latency", "In-flight requests"]
    html = render_to_string(PANELS, {"health": page})
    for panel in page.endpoints:
        for check in panel.checks:
            assert f"<code>{check.name}</code>" in html
    assert "<code>/readyz?verbose</code>" in html and "check passed" in html


async def test_text_from_the_server_is_escaped(served: InMemoryServer) -> None:
    report = copy.deepcopy(await admin_report(served))
    check = report["health"]["endpoints"]["readyz"]["checks"][2]
    check.update(ok=False, reason="<script>alert(1)</script>")
    check["history"].append({"ok": False, "since": report["now"] - 1, "reason": "<img src=x onerror=alert(2)>"})
    report["storage"]["error"] = "<b>etcd</b> & co"
    html = render_to_string(PANELS, {"health": health_page(report)})
    assert "<script>" not in html and "<img" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(2)&gt;" in html
    assert "&lt;b&gt;etcd&lt;/b&gt; &amp; co" in html


async def test_a_user_without_permission_gets_the_explanation(served: InMemoryServer) -> None:
    page = await fetch_health_page(InProcessTransport(served.server.app, UserInfo("jane", groups=("devs",))))
    assert (page.status, page.error) == (403, 'forbidden: User "jane" cannot get path "/debug/pilothouse/health"')
    html = render_to_string(PANELS, {"health": page})
    assert "cannot get path &quot;/debug/pilothouse/health&quot;" in html
    assert 'nonResourceURLs: ["/debug/pilothouse/health"]' in html


def test_storage_panel_of_an_etcd_report() -> None:
    report = {"now": 2000.0, "health": {"startedAt": 1000.0, "endpoints": {}}, "metrics": {"points": []},
              "storage": {"backend": "etcd3", "revision": 42, "compactedRevision": 7, "size": 3 * 1024 * 1024,
                          "files": {}, "error": "", "members": [
                              {"endpoint": "http://a:2379", "reachable": True, "current": True, "isLeader": True,
                               "latency": 0.0021, "version": "3.5.16", "dbSize": 3145728, "memberID": "8e9e05c5",
                               "raftTerm": 3, "errors": []},
                              {"endpoint": "http://b:2379", "reachable": False, "error": "UNAVAILABLE: refused"}],
                          "latency": {"recent": {"seconds": 300.0, "requests": 10, "p50": 0.004, "p99": 0.09},
                                      "sinceStart": {"requests": 1234, "p50": 0.003, "p99": 0.2, "errors": 2}}}}
    storage = health_page(report).storage
    assert storage is not None
    assert (storage.revision, storage.compacted_revision, storage.size) == ("42", "7", "3.0 MiB")
    assert (storage.recent_p50, storage.recent_p99, storage.recent_window) == ("4.0 ms", "90.0 ms", "5m")
    assert (storage.requests, storage.errors) == ("1,234", "2")
    leader, down = storage.members
    assert (leader.is_leader, leader.latency, leader.db_size, leader.version) == (True, "2.1 ms", "3.0 MiB", "3.5.16")
    assert (down.reachable, down.problems) == (False, ("UNAVAILABLE: refused",))
    html = render_to_string(PANELS, {"health": health_page(report)})
    assert "leader" in html and "<code>http://b:2379</code>" in html


def test_timeline_segments_cover_the_history() -> None:
    segments = timeline([(True, 1000.0, "a"), (False, 1500.0, "b"), (True, 1750.0, "c")], 1000.0, 2000.0)
    assert [(segment.x, segment.width, segment.ok) for segment in segments] == [
        (0.0, 500.0, True), (500.0, 250.0, False), (750.0, 250.0, True)]
    blip = timeline([(True, 1000.0, "a"), (False, 1999.9, "b")], 1000.0, 2000.0)[-1]
    assert blip.width == pytest.approx(0.1) and blip.x + blip.width <= TIMELINE_WIDTH


def test_chart_lines_break_where_values_are_missing() -> None:
    path = line_path([0.0, 10.0, 20.0, 30.0], [0.0, 1.0, None, 2.0], 0.0, 30.0, 2.0)
    assert path == "M0.0 80.0 L100.0 40.0 M300.0 0.0"
    assert [nice_top(value) for value in (0, 0.003, 0.3, 3, 7, 10, 42)] == [1.0, 0.005, 0.5, 5, 10, 10, 50]


async def test_the_view_as_admin_viewer_and_anonymous(console: ConsoleHarness) -> None:
    from tests.console.harness import TOKENS

    async with console.browser() as anonymous:
        answer = await anonymous.get("/console/health/")
        assert answer.status_code == 302 and answer.headers["location"].startswith("/console/login/")
    async with console.browser() as admin:
        await console.log_in(admin, TOKENS["admin"])
        page = await admin.get("/console/health/")
        assert page.status_code == 200, page.text
        assert "<code>/livez?verbose</code>" in page.text and "health.js" in page.text
        panels = await admin.get("/console/health/?fragment=panels")
        assert panels.status_code == 200 and "<html" not in panels.text and "<code>etcd</code>" in panels.text
    async with console.browser() as viewer:
        await console.log_in(viewer, TOKENS["viewer"])
        refused = await viewer.get("/console/health/")
        assert refused.status_code == 403
        assert "cannot get path &quot;/debug/pilothouse/health&quot;" in refused.text
