"""The console at scale (issue 7): list pages of a 10,000-object namespace cost one paged LIST each, and a burst of
500 writes a second reaches the live tail batched, with every object's final state.

One in-memory server for the module (memory storage, the real composition root). Its API app is wrapped in a
recorder before the console is built around it, so the recorder sees exactly the requests the console makes
in-process as the user; the admin's own writes (`ConsoleHarness.api`) bypass it. No timing is asserted except the
batching window's own bound (batches per second), which does not depend on the machine's speed.
"""
from __future__ import annotations

import asyncio
import html
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
import pytest_asyncio
from channels.testing import WebsocketCommunicator

from apiserver.asgi import build_application
from apiserver.client import loopback
from tests.console.harness import TOKENS, ConsoleHarness
from tests.console.test_browse import row_names
from tests.console.test_live_consumer import session_cookie, socket
from tests.server.security_harness import eventually, in_memory_server

pytestmark = pytest.mark.asyncio(loop_scope="module")

BIG = "big"
OBJECTS = 10_000
BIG_PATH = f"/api/v1/namespaces/{BIG}/configmaps"
LIST_PAGE = "/console/resources/core/v1/configmaps/"
BURST = "burst"
BURST_PATH = f"/api/v1/namespaces/{BURST}/configmaps"
RATE = 500  # writes a second
SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]


class Recorder:
    """The API app, recording every HTTP request that reaches it."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.seen: list[Seen] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            query = scope.get("query_string", b"").decode("latin-1")
            self.seen.append(Seen(scope["method"], scope["path"], parse_qs(query, keep_blank_values=True)))
        await self.app(scope, receive, send)

    def lists_of(self, path: str) -> list[Seen]:
        return [seen for seen in self.seen if seen.method == "GET" and seen.path == path]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def scaled(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[ConsoleHarness, Recorder]]:
    tmp_path: Path = tmp_path_factory.mktemp("console-scale")
    token_file = tmp_path / "tokens.csv"
    token_file.write_text(f'{TOKENS["admin"]},admin,uid-admin,"system:masters"\n')
    async with in_memory_server(tmp_path / "data", token_auth_file=str(token_file)) as server:
        recorder = Recorder(server.server.app)
        app = build_application(recorder, client_ca_file=tmp_path / "data" / "pki" / "ca.crt")
        try:
            yield ConsoleHarness(server, app, tmp_path / "data" / "pki" / "ca.crt"), recorder
        finally:
            loopback.uninstall()


def configmap(name: str, value: str = "v") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": value}}


async def create_many(console: ConsoleHarness, path: str, names: list[str], in_flight: int = 200) -> float:
    """Create ConfigMaps `in_flight` at a time through the admin's in-process API; answers the seconds taken."""
    started = time.perf_counter()
    for start in range(0, len(names), in_flight):
        await asyncio.gather(*(console.api("POST", path, configmap(name)) for name in names[start:start + in_flight]))
    return time.perf_counter() - started


def summary(page: str) -> str:
    match = re.search(r'id="page-summary"[^>]*>([^<]*)<', page)
    assert match, page
    return " ".join(match.group(1).split())


def next_link(page: str) -> str:
    tag = re.search(r'<a [^>]*id="next-page"[^>]*>', page)
    assert tag, page
    href = re.search(r'href="([^"]+)"', tag.group(0))
    assert href
    return html.unescape(href.group(1))


async def test_list_pages_of_ten_thousand_objects_each_cost_one_paged_list(
        scaled: tuple[ConsoleHarness, Recorder]) -> None:
    console, recorder = scaled
    await console.namespace(BIG)
    names = [f"cm-{index:05d}" for index in range(OBJECTS)]
    seconds = await create_many(console, BIG_PATH, names)
    print(f"created {OBJECTS} ConfigMaps in {seconds:.1f} s")
    # The root-CA publisher adds kube-root-ca.crt to every namespace (listed after the cm-* names): wait for it.
    await eventually(lambda: console.server.request("GET", f"{BIG_PATH}/kube-root-ca.crt"), 200)
    remaining = OBJECTS + 1 - 50
    async with console.browser() as browser:
        await console.log_in(browser, TOKENS["admin"])

        recorder.seen.clear()
        first = await browser.get(LIST_PAGE, params={"namespace": BIG})
        assert first.status_code == 200, first.text
        lists = recorder.lists_of(BIG_PATH)
        assert len(lists) == 1, lists  # one page, never the collection
        assert lists[0].query["limit"] == ["50"] and "continue" not in lists[0].query and "watch" not in lists[0].query
        assert row_names(first.text) == names[:50]
        assert summary(first.text) == f"50 shown, {remaining} more after this page"

        second_url = next_link(first.text)
        recorder.seen.clear()
        second = await browser.get(LIST_PAGE + second_url)
        assert second.status_code == 200, second.text
        lists = recorder.lists_of(BIG_PATH)
        assert len(lists) == 1, lists
        token = parse_qs(second_url.lstrip("?"))["continue"]
        assert lists[0].query["limit"] == ["50"] and lists[0].query["continue"] == token
        assert row_names(second.text) == names[50:100]
        assert summary(second.text) == f"50 shown, {remaining - 50} more after this page"
        assert 'data-watch-path=""' in second.text or "data-watch-path" not in second.text  # later pages stay still

        recorder.seen.clear()
        middle = await browser.get(LIST_PAGE + next_link(second.text) + "&limit=500")
        assert middle.status_code == 200, middle.text
        lists = recorder.lists_of(BIG_PATH)
        assert len(lists) == 1 and lists[0].query["limit"] == ["500"], lists
        assert row_names(middle.text) == names[100:600]
        assert summary(middle.text) == f"500 shown, {remaining - 550} more after this page"


def rows_of(listing: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {item["metadata"]["uid"]: (item["metadata"]["name"], item["metadata"]["resourceVersion"])
            for item in listing["items"]}


def apply_batches(listed: dict[str, tuple[str, str]],
                  messages: list[tuple[float, dict[str, Any]]]) -> dict[str, tuple[str, str]]:
    """The rows a page would show after these messages on top of its list: uid → (name, resourceVersion)."""
    shown = dict(listed)
    for _, message in messages:
        for event in message.get("events", ()) if message["type"] == "events" else ():
            row = event["object"]
            if event["type"] == "DELETED":
                shown.pop(row["uid"], None)
            else:
                shown[row["uid"]] = (row["name"], row["resourceVersion"])
    return shown


def most_in_one_second(times: list[float]) -> int:
    return max((sum(1 for other in times if start <= other < start + 1.0) for start in times), default=0)


async def test_a_burst_of_500_writes_a_second_arrives_batched_and_complete(
        scaled: tuple[ConsoleHarness, Recorder]) -> None:
    console, _ = scaled
    await console.namespace(BURST)
    communicator: WebsocketCommunicator = socket(console, await session_cookie(console, TOKENS["admin"]))
    assert (await communicator.connect(timeout=10))[0]
    await eventually(lambda: console.server.request("GET", f"{BURST_PATH}/kube-root-ca.crt"), 200)
    listing = await console.api("GET", BURST_PATH)
    listed, start_version = rows_of(listing), listing["metadata"]["resourceVersion"]
    await communicator.send_json_to({"action": "watch", "path": BURST_PATH, "resourceVersion": start_version})
    assert await communicator.receive_json_from(timeout=5) == {"type": "status", "state": "live"}
    received: list[tuple[float, dict[str, Any]]] = []

    async def read() -> None:
        while True:
            message = await communicator.receive_json_from(timeout=60)
            received.append((time.perf_counter(), message))

    reader = asyncio.create_task(read())
    # 1,000 writes paced at 500/s: 400 creates, then an update of each, then deletes of every other one.
    count = int(RATE * SECONDS) * 2 // 5
    names = [f"b-{index:03d}" for index in range(count)]
    writes = ([("POST", BURST_PATH, configmap(name)) for name in names]
              + [("PUT", f"{BURST_PATH}/{name}", configmap(name, "v2")) for name in names]
              + [("DELETE", f"{BURST_PATH}/{name}", None) for name in names[::2]])
    started = time.perf_counter()
    for index, (method, path, body) in enumerate(writes):
        delay = started + index / RATE - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        await console.api(method, path, body)
    achieved = len(writes) / (time.perf_counter() - started)

    final = rows_of(await console.api("GET", BURST_PATH))
    assert sorted(name for name, _ in final.values()) == [*names[1::2], "kube-root-ca.crt"]
    deadline = time.perf_counter() + 30
    while apply_batches(listed, received) != final and time.perf_counter() < deadline and not reader.done():
        await asyncio.sleep(0.05)
    reader.cancel()
    await asyncio.gather(reader, return_exceptions=True)
    await communicator.disconnect()

    assert apply_batches(listed, received) == final, f"achieved {achieved:.0f} writes/s"  # nothing lost, final states
    assert next(message["type"] for _, message in received) == "columns"
    batches = [(at, message) for at, message in received if message["type"] == "events"]
    events = sum(len(message["events"]) for _, message in batches)
    assert most_in_one_second([at for at, _ in batches]) <= 25, [len(message["events"]) for _, message in batches]
    assert len(batches) <= events / 5, (len(batches), events)  # many events per message, not one each
    assert {message["type"] for _, message in received} <= {"columns", "events"}  # no relist, no error
