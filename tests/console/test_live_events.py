"""The Events stream page: filters become field selectors, rows are the server's Table, refusals are explained."""
from __future__ import annotations

import re

from console.events.data import EventFilters
from tests.console.harness import TOKENS, ConsoleHarness


def event(name: str, event_type: str, reason: str, kind: str = "Pod") -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "Event", "metadata": {"name": name}, "type": event_type, "reason": reason,
            "message": f"<script>{name}</script>", "involvedObject": {"kind": kind, "name": "web"}}


async def test_events_page_filters_and_wires_the_live_table(console: ConsoleHarness) -> None:
    await console.namespace("team")
    for body in (event("a", "Warning", "BackOff"), event("b", "Normal", "Pulled"),
                 event("c", "Warning", "FailedMount", "Deployment")):
        await console.api("POST", "/api/v1/namespaces/team/events", body)
    browser = console.browser()
    await console.log_in(browser, TOKENS["admin"])
    page = await browser.get("/console/events/", params={"namespace": "team", "type": "Warning", "kind": "Pod"})
    assert page.status_code == 200, page.text
    table = re.search(r"<table class=\"events-stream\"[^>]*>", page.text)
    assert table is not None
    assert 'data-watch-path="/api/v1/namespaces/team/events"' in table.group(0)
    assert 'data-field-selector="involvedObject.kind=Pod,type=Warning"' in table.group(0)
    assert re.search(r'data-resource-version="\d+"', table.group(0))
    assert "BackOff" in page.text and "Pulled" not in page.text and "FailedMount" not in page.text
    assert "&lt;script&gt;a&lt;/script&gt;" in page.text and "<script>a</script>" not in page.text
    assert [header for header in re.findall(r'data-column="([^"]+)"', page.text)] == [
        "Last Seen", "Type", "Reason", "Object", "Message"]
    assert 'href="/console/events/" aria-current="page"' in page.text


async def test_events_page_explains_a_refusal_and_needs_a_login(console: ConsoleHarness) -> None:
    anonymous = await console.browser().get("/console/events/")
    assert anonymous.status_code == 302 and anonymous.headers["location"].startswith("/console/login/")
    browser = console.browser()
    await console.log_in(browser, TOKENS["viewer"])
    page = await browser.get("/console/events/")
    assert page.status_code == 200
    assert ('Not allowed: events is forbidden: User &quot;viewer&quot; cannot list resource &quot;events&quot; '
            'in API group &quot;&quot; at the cluster scope') in page.text
    assert "data-watch-path" not in page.text


def test_filters_drop_values_that_cannot_be_selectors() -> None:
    filters = EventFilters.from_query({"namespace": "Bad_NS", "kind": "Pod,type=x", "type": "Error",
                                       "reason": "Back Off"})
    assert filters == EventFilters()
    assert (filters.watch_path, filters.field_selector) == ("/api/v1/events", "")
    assert EventFilters.from_query({"reason": "FailedMount", "namespace": "x"}).field_selector == "reason=FailedMount"
