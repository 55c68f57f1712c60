"""Watch: newline-delimited events, in order, ended by timeoutSeconds, shutdown or the client leaving."""
from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
import yaml

from apiserver.endpoints.watch import watch_timeout
from tests.support.resource_app import KUBECTL_TABLE, ResourceApp, resource_app

CONFIGMAPS = "/api/v1/namespaces/default/configmaps"


@pytest.fixture
async def stopping() -> asyncio.Event:
    return asyncio.Event()


@pytest.fixture
async def api(stopping: asyncio.Event) -> AsyncIterator[ResourceApp]:
    async with resource_app(stopping=stopping, bookmark_interval=0.05) as app:
        assert (await app.request("POST", CONFIGMAPS, {"metadata": {"name": "first"}})).status == 201
        yield app


async def list_version(api: ResourceApp) -> str:
    version: str = (await api.request("GET", CONFIGMAPS)).json()["metadata"]["resourceVersion"]
    return version


async def test_a_watch_from_the_list_version_sends_changes_in_order(api: ResourceApp) -> None:
    version = await list_version(api)
    watch = api.stream(f"{CONFIGMAPS}?watch=1&resourceVersion={version}")
    await api.request("POST", CONFIGMAPS, {"metadata": {"name": "b"}, "data": {"n": "1"}})
    await api.request("PATCH", f"{CONFIGMAPS}/b", {"data": {"n": "2"}},
                      headers={"Content-Type": "application/merge-patch+json"})
    await api.request("DELETE", f"{CONFIGMAPS}/b")
    events = await watch.events(3)
    assert [(event["type"], event["object"]["metadata"]["name"]) for event in events] == [
        ("ADDED", "b"), ("MODIFIED", "b"), ("DELETED", "b"),
    ]
    assert events[1]["object"]["data"] == {"n": "2"}
    assert watch.response.status == 200
    assert dict(watch.response.headers)[b"content-type"] == b"application/json"
    await watch.disconnect()


async def test_a_watch_without_a_version_starts_with_the_current_objects(api: ResourceApp) -> None:
    watch = api.stream(f"{CONFIGMAPS}?watch=true")
    [event] = await watch.events(1)
    assert (event["type"], event["object"]["metadata"]["name"]) == ("ADDED", "first")
    await watch.disconnect()


async def test_timeout_seconds_ends_the_stream_cleanly(api: ResourceApp) -> None:
    watch = api.stream(f"{CONFIGMAPS}?watch=1&timeoutSeconds=1&resourceVersion={await list_version(api)}")
    response = await watch.finished(timeout=5)
    assert response.status == 200
    assert response.complete
    assert response.body == b""


async def test_server_shutdown_ends_every_watch(api: ResourceApp, stopping: asyncio.Event) -> None:
    watch = api.stream(f"{CONFIGMAPS}?watch=1")
    await watch.events(1)
    stopping.set()
    response = await watch.finished()
    assert response.complete


async def test_a_client_that_leaves_ends_the_watch(api: ResourceApp) -> None:
    watch = api.stream(f"{CONFIGMAPS}?watch=1")
    await watch.events(1)
    response = await watch.disconnect()
    assert not response.complete


async def test_the_legacy_watch_path_of_one_object_sees_only_that_object(api: ResourceApp) -> None:
    version = await list_version(api)
    watch = api.stream(f"/api/v1/watch/namespaces/default/configmaps/mine?resourceVersion={version}")
    await api.request("POST", CONFIGMAPS, {"metadata": {"name": "other"}})
    await api.request("POST", CONFIGMAPS, {"metadata": {"name": "mine"}})
    [event] = await watch.events(1)
    assert (event["type"], event["object"]["metadata"]["name"]) == ("ADDED", "mine")
    await watch.disconnect()


async def test_the_legacy_watch_path_of_a_collection(api: ResourceApp) -> None:
    watch = api.stream("/api/v1/watch/namespaces/default/configmaps")
    [event] = await watch.events(1)
    assert event["object"]["metadata"]["name"] == "first"
    await watch.disconnect()


async def test_a_name_in_the_path_must_agree_with_the_field_selector(api: ResourceApp) -> None:
    path = "/api/v1/watch/namespaces/default/configmaps/mine?fieldSelector=metadata.name%3Dx"
    answer = await api.request("GET", path)
    assert (answer.status, answer.json()["message"]) == (
        400, "fieldSelector metadata.name doesn't match requested name"
    )


async def test_a_table_watch_sends_column_definitions_in_the_first_event_only(api: ResourceApp) -> None:
    watch = api.stream(f"{CONFIGMAPS}?watch=1", headers={"Accept": KUBECTL_TABLE})
    await api.request("POST", CONFIGMAPS, {"metadata": {"name": "second"}})
    first, second = await watch.events(2)
    assert first["type"] == "ADDED" and first["object"]["kind"] == "Table"
    assert [column["name"] for column in first["object"]["columnDefinitions"]] == ["Name", "Data", "Age"]
    assert first["object"]["rows"][0]["cells"][0] == "first"
    assert second["object"]["columnDefinitions"] is None
    assert second["object"]["rows"][0]["object"]["kind"] == "PartialObjectMetadata"
    await watch.disconnect()


async def test_bookmarks_carry_kind_api_version_and_resource_version(api: ResourceApp) -> None:
    version = await list_version(api)
    watch = api.stream(f"{CONFIGMAPS}?watch=1&allowWatchBookmarks=true&resourceVersion={version}")
    [event] = await watch.events(1)
    assert event["type"] == "BOOKMARK"
    assert (event["object"]["kind"], event["object"]["apiVersion"]) == ("ConfigMap", "v1")
    assert int(event["object"]["metadata"]["resourceVersion"]) >= int(version)
    await watch.disconnect()


async def test_yaml_cannot_be_watched_and_the_error_comes_as_yaml(api: ResourceApp) -> None:
    answer = await api.request("GET", f"{CONFIGMAPS}?watch=1", headers={"Accept": "application/yaml"})
    assert answer.status == 406
    assert answer.headers["content-type"] == "application/yaml"
    status = yaml.safe_load(answer.body)
    assert status["reason"] == "NotAcceptable"
    assert status["message"].startswith("only the following media types are accepted: application/json;stream=watch")


async def test_partial_object_metadata_watch(api: ResourceApp) -> None:
    watch = api.stream(f"{CONFIGMAPS}?watch=1",
                       headers={"Accept": "application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io"})
    [event] = await watch.events(1)
    assert event["object"]["kind"] == "PartialObjectMetadata"
    assert event["object"]["metadata"]["name"] == "first"
    await watch.disconnect()


def test_the_default_watch_timeout_is_jittered_between_one_and_two_minimum_timeouts() -> None:
    timeouts = [watch_timeout(1800.0) for _ in range(200)]
    assert all(1800.0 <= timeout < 3600.0 for timeout in timeouts)
    assert len(set(timeouts)) > 100


class WebSocketClient:
    """The browser's side of a WebSocket: the connect message, then a disconnect on demand."""

    def __init__(self) -> None:
        self.incoming: asyncio.Queue[dict[str, object]] = asyncio.Queue()
        self.incoming.put_nowait({"type": "websocket.connect"})
        self.sent: list[dict[str, object]] = []
        self.arrived = asyncio.Event()

    async def receive(self) -> dict[str, object]:
        return await self.incoming.get()

    async def send(self, message: dict[str, object]) -> None:
        self.sent.append(message)
        self.arrived.set()

    async def wait_for(self, count: int) -> list[dict[str, object]]:
        async with asyncio.timeout(5):
            while len(self.sent) < count:
                self.arrived.clear()
                await self.arrived.wait()
        return self.sent[:count]


def websocket_scope(path: str, query: bytes, headers: list[tuple[bytes, bytes]]) -> dict[str, object]:
    return {"type": "websocket", "path": path, "raw_path": path.encode(), "query_string": query, "headers": headers,
            "scheme": "wss", "subprotocols": []}


async def test_a_watch_over_a_websocket_sends_one_text_message_per_event(api: ResourceApp) -> None:
    browser = WebSocketClient()
    scope = websocket_scope(CONFIGMAPS, b"watch=true", [(b"origin", b"https://console.example")])
    task = asyncio.ensure_future(api.app(scope, browser.receive, browser.send))
    accept, first = await browser.wait_for(2)
    assert accept == {"type": "websocket.accept"}
    assert first["type"] == "websocket.send"
    event = json.loads(str(first["text"]))
    assert (event["type"], event["object"]["metadata"]["name"]) == ("ADDED", "first")
    browser.incoming.put_nowait({"type": "websocket.disconnect", "code": 1001})
    async with asyncio.timeout(5):
        await task


async def test_a_websocket_watch_ends_with_a_close_at_timeout_seconds(api: ResourceApp) -> None:
    browser = WebSocketClient()
    scope = websocket_scope(CONFIGMAPS, b"watch=1&timeoutSeconds=1&resourceVersion=0",
                            [(b"origin", b"https://console.example")])
    async with asyncio.timeout(5):
        await api.app(scope, browser.receive, browser.send)
    assert browser.sent[0] == {"type": "websocket.accept"}
    assert browser.sent[-1] == {"type": "websocket.close", "code": 1000}


@pytest.mark.parametrize(
    ("path", "query", "headers"),
    [(CONFIGMAPS, b"watch=1", []), (CONFIGMAPS, b"", [(b"origin", b"https://x")]),
     ("/api/v1/namespaces/default/widgets", b"watch=1", [(b"origin", b"https://x")])],
    ids=["no-origin", "not-a-watch", "unknown-resource"],
)
async def test_other_websocket_requests_are_refused_before_accepting(
    api: ResourceApp, path: str, query: bytes, headers: list[tuple[bytes, bytes]]
) -> None:
    browser = WebSocketClient()
    async with asyncio.timeout(5):
        await api.app(websocket_scope(path, query, headers), browser.receive, browser.send)
    assert browser.sent == [{"type": "websocket.close", "code": 1008}]


async def test_events_already_due_go_out_in_one_write_and_watchers_share_the_encoding(api: ResourceApp) -> None:
    for index in range(5):
        assert (await api.request("POST", CONFIGMAPS, {"metadata": {"name": f"burst-{index}"}})).status == 201
    first = api.stream(f"{CONFIGMAPS}?watch=1&resourceVersion=0")
    second = api.stream(f"{CONFIGMAPS}?watch=1&resourceVersion=0")
    events = await first.events(6)
    await second.events(6)
    assert sorted(event["object"]["metadata"]["name"] for event in events) == [
        "burst-0", "burst-1", "burst-2", "burst-3", "burst-4", "first"]
    # The initial events are all due at once: one body part after the empty flush of the headers.
    parts = [message["body"] for message in first.response.messages
             if message["type"] == "http.response.body" and message.get("body")]
    assert len(parts) == 1 and parts[0].count(b"\n") == 6
    lines_of = [[message["body"] for message in watch.response.messages if message.get("body")]
                for watch in (first, second)]
    assert lines_of[0] == lines_of[1]
    await first.disconnect()
    await second.disconnect()
