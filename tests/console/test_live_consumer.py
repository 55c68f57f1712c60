"""The live-tail WebSocket through the real composition root: Origin, session, batching, resume, relist, RBAC."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from channels.testing import WebsocketCommunicator
from django.conf import settings

from console.live.consumer import WatchConsumer
from tests.console.harness import BASE, TOKENS, ConsoleHarness

NAMESPACE = "live"
CONFIGMAPS = f"/api/v1/namespaces/{NAMESPACE}/configmaps"


async def session_cookie(console: ConsoleHarness, token: str) -> str:
    browser = console.browser()
    answer = await console.log_in(browser, token)
    assert answer.status_code == 302, answer.text
    return str(browser.cookies.get("pilothouse_session"))


def socket(console: ConsoleHarness, cookie: str = "", origin: str = BASE,
           path: str = "/console/ws/watch") -> WebsocketCommunicator:
    headers = [(b"host", b"testserver"), (b"origin", origin.encode())]
    if cookie:
        headers.append((b"cookie", f"pilothouse_session={cookie}".encode()))
    return WebsocketCommunicator(console.app, path, headers=headers)


@pytest.fixture
async def admin(console: ConsoleHarness) -> AsyncIterator[WebsocketCommunicator]:
    await console.namespace(NAMESPACE)
    communicator = socket(console, await session_cookie(console, TOKENS["admin"]))
    connected, _ = await communicator.connect(timeout=10)
    assert connected
    yield communicator
    await communicator.disconnect()


async def messages_until(communicator: WebsocketCommunicator, done: Callable[[list[dict[str, Any]]], bool],
                         within: float = 10.0) -> list[dict[str, Any]]:
    received: list[dict[str, Any]] = []
    deadline = asyncio.get_running_loop().time() + within
    while not done(received):
        remaining = deadline - asyncio.get_running_loop().time()
        assert remaining > 0, received
        received.append(await communicator.receive_json_from(timeout=remaining))
    return received


def rows(messages: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(event["type"], event["object"]["name"]) for message in messages if message["type"] == "events"
            for event in message["events"]]


async def list_resource_version(console: ConsoleHarness, path: str) -> str:
    return str((await console.api("GET", path))["metadata"]["resourceVersion"])


def configmap(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": "v"}}


async def test_a_socket_without_a_session_is_closed_with_policy_violation(console: ConsoleHarness) -> None:
    communicator = socket(console)
    connected, _ = await communicator.connect(timeout=10)
    assert connected
    assert await communicator.receive_output(timeout=5) == {
        "type": "websocket.close", "code": 1008, "reason": "no console session: log in again"}
    forged = socket(console, cookie="not-a-session-key")
    assert (await forged.connect(timeout=10))[0]
    assert (await forged.receive_output(timeout=5))["code"] == 1008


async def test_a_foreign_origin_is_refused_before_the_handshake(console: ConsoleHarness) -> None:
    cookie = await session_cookie(console, TOKENS["admin"])
    for origin in ("https://evil.example", "http://testserver", "null"):
        connected, code = await socket(console, cookie, origin=origin).connect(timeout=10)
        assert (connected, code) == (False, 1008), origin
    connected, code = await socket(console, cookie, path="/console/ws/other").connect(timeout=10)
    assert (connected, code) == (False, 1008)


@pytest.mark.parametrize("message, error", [
    ({"action": "watch", "path": "/api/v1/namespaces/live"}, "path must be a resource collection"),
    ({"action": "watch", "path": "/api/v1/pods?watch=1"}, "path must be a resource collection"),
    ({"action": "watch", "path": "/api/v1/namespaces/live/pods/web/log"}, "path must be a resource collection"),
    ({"action": "watch", "path": "/console/"}, "path must be a resource collection"),
    ({"action": "watch", "path": "/api/v1/pods", "timeoutSeconds": "1"}, "unknown keys: timeoutSeconds"),
    ({"action": "watch", "path": "/api/v1/pods", "resourceVersion": 5}, "resourceVersion must be a string"),
    ({"action": "exec"}, "action must be watch or stop"),
])
async def test_bad_watch_requests_are_answered_with_an_error(admin: WebsocketCommunicator, message: dict[str, Any],
                                                             error: str) -> None:
    await admin.send_json_to(message)
    answer = await admin.receive_json_from(timeout=5)
    assert answer["type"] == "error" and answer["code"] == 400 and answer["message"].startswith(error), answer


async def test_events_arrive_batched_as_table_rows(console: ConsoleHarness, admin: WebsocketCommunicator) -> None:
    names = [f"burst-{index:03d}" for index in range(150)]
    await admin.send_json_to({"action": "watch", "path": CONFIGMAPS,
                              "resourceVersion": await list_resource_version(console, CONFIGMAPS)})
    assert await admin.receive_json_from(timeout=5) == {"type": "status", "state": "live"}
    await asyncio.gather(*(console.api("POST", CONFIGMAPS, configmap(name)) for name in names))
    messages = await messages_until(admin, lambda got: {name for _, name in rows(got)} >= set(names))
    columns = next(message for message in messages if message["type"] == "columns")["columns"]
    assert [column["name"] for column in columns][:3] == ["Name", "Data", "Age"]
    batches = [message for message in messages if message["type"] == "events"]
    assert len(batches) < len(names) / 5, [len(batch["events"]) for batch in batches]
    assert sorted(rows(messages)) == [("ADDED", name) for name in names]
    row = batches[-1]["events"][-1]["object"]
    assert row["cells"][:2] == [row["name"], 1] and row["namespace"] == NAMESPACE and row["uid"]
    assert batches[-1]["resourceVersion"] == max((event["object"]["resourceVersion"] for batch in batches
                                                  for event in batch["events"]), key=int)


async def test_the_watch_resumes_from_the_last_resource_version_without_duplicates(
        console: ConsoleHarness, admin: WebsocketCommunicator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(WatchConsumer, "timeout_seconds", 1)  # the API ends every watch after a second
    names = [f"steady-{index:03d}" for index in range(40)]
    await admin.send_json_to({"action": "watch", "path": CONFIGMAPS,
                              "resourceVersion": await list_resource_version(console, CONFIGMAPS)})

    async def create_slowly() -> None:
        for name in names:
            await console.api("POST", CONFIGMAPS, configmap(name))
            await asyncio.sleep(0.08)

    writer = asyncio.create_task(create_slowly())
    messages = await messages_until(admin, lambda got: {name for _, name in rows(got)} >= set(names))
    await writer
    assert sum(message == {"type": "status", "state": "live"} for message in messages) >= 3  # re-opened twice
    assert rows(messages) == [("ADDED", name) for name in names]  # in order, each once


async def test_modified_and_deleted_rows_follow(console: ConsoleHarness, admin: WebsocketCommunicator) -> None:
    await admin.send_json_to({"action": "watch", "path": CONFIGMAPS, "labelSelector": "app=web",
                              "resourceVersion": await list_resource_version(console, CONFIGMAPS)})
    await console.api("POST", CONFIGMAPS, {**configmap("other"), "metadata": {"name": "other"}})
    await console.api("POST", CONFIGMAPS, {**configmap("web"), "metadata": {"name": "web", "labels": {"app": "web"}}})
    await messages_until(admin, lambda got: ("ADDED", "web") in rows(got))
    web = await console.api("GET", f"{CONFIGMAPS}/web")
    await console.api("PUT", f"{CONFIGMAPS}/web", {**web, "data": {"k": "v", "x": "y"}})
    messages = await messages_until(admin, lambda got: ("MODIFIED", "web") in rows(got))
    changed = next(event["object"] for message in messages if message["type"] == "events"
                   for event in message["events"] if event["type"] == "MODIFIED")
    assert changed["cells"][:2] == ["web", 2]  # the DATA column counts the new key
    await console.api("DELETE", f"{CONFIGMAPS}/web")
    messages += await messages_until(admin, lambda got: ("DELETED", "web") in rows(got))
    assert "other" not in {name for _, name in rows(messages)}


async def test_a_restricted_user_gets_the_apis_forbidden_message(console: ConsoleHarness) -> None:
    await console.namespace(NAMESPACE)
    communicator = socket(console, await session_cookie(console, TOKENS["viewer"]))
    assert (await communicator.connect(timeout=10))[0]
    await communicator.send_json_to({"action": "watch", "path": f"/api/v1/namespaces/{NAMESPACE}/secrets"})
    assert await communicator.receive_json_from(timeout=5) == {
        "type": "error", "code": 403, "reason": "Forbidden",
        "message": 'secrets is forbidden: User "viewer" cannot watch resource "secrets" in API group "" '
                   'in the namespace "live"'}
    await communicator.disconnect()


async def test_the_socket_closes_when_the_session_times_out(console: ConsoleHarness,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    cookie = await session_cookie(console, TOKENS["admin"])
    monkeypatch.setattr(settings, "CONSOLE_SESSION_IDLE_TIMEOUT", 1.0)
    communicator = socket(console, cookie)
    assert (await communicator.connect(timeout=10))[0]
    await communicator.send_json_to({"action": "watch", "path": "/api/v1/namespaces"})
    assert await communicator.receive_json_from(timeout=5) == {"type": "status", "state": "live"}
    closed = await communicator.receive_output(timeout=5)
    while closed["type"] != "websocket.close":  # the synthetic ADDED events of the namespaces come first
        closed = await communicator.receive_output(timeout=5)
    assert closed == {"type": "websocket.close", "code": 1008, "reason": "the console session has ended"}
    browser = console.browser()
    browser.cookies.set("pilothouse_session", cookie, domain="testserver")
    assert (await browser.get("/console/")).status_code == 302  # the session itself is gone


async def test_logging_out_closes_open_sockets(console: ConsoleHarness, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(WatchConsumer, "recheck", 0.2)
    browser = console.browser()
    await console.log_in(browser, TOKENS["admin"])
    communicator = socket(console, str(browser.cookies.get("pilothouse_session")))
    assert (await communicator.connect(timeout=10))[0]
    page = await browser.get("/console/")
    token = page.text.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]
    await browser.post("/console/logout/", data={"csrfmiddlewaretoken": token}, headers={"Origin": BASE})
    assert (await communicator.receive_output(timeout=5))["code"] == 1008
