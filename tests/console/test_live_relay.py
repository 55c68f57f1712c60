"""The relay and the protocol on their own: 410 handling, BOOKMARKs, resuming, retries, batching, validation.

The API of the in-memory server keeps every change since it started in its watch cache, so a 410 cannot be
provoked there; these tests feed the relay the exact frames kube-apiserver sends instead.
"""
from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs

import orjson
import pytest

from console.live.protocol import ProtocolError, WatchRequest, is_collection_path, parse_watch
from console.live.relay import WatchRelay

GONE = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": "too old resource version: 5 (40)", "reason": "Expired", "code": 410}


def table(name: str, resource_version: str, *, columns: bool = False) -> dict[str, Any]:
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": resource_version},
            "columnDefinitions": [{"name": "Name", "type": "string", "format": "name", "priority": 0}]
            if columns else None,
            "rows": [{"cells": [name], "object": {"kind": "PartialObjectMetadata", "metadata": {
                "name": name, "namespace": "ns", "uid": f"uid-{name}", "resourceVersion": resource_version}}}]}


def frame(event_type: str, obj: dict[str, Any]) -> bytes:
    return orjson.dumps({"type": event_type, "object": obj}) + b"\n"


class FakeApi:
    """Answers each watch with the next scripted (status, frames); records the queries."""

    def __init__(self, *answers: tuple[int, list[bytes]]) -> None:
        self.answers = list(answers)
        self.queries: list[dict[str, list[str]]] = []

    @contextlib.asynccontextmanager
    async def open(self, path: str, query: str) -> AsyncIterator[tuple[int, AsyncIterator[bytes]]]:
        self.queries.append(parse_qs(query))
        if not self.answers:
            await asyncio.Event().wait()  # an idle watch
        status, frames = self.answers.pop(0)
        if isinstance(frames, BaseException):
            raise frames

        async def chunks() -> AsyncIterator[bytes]:
            for data in frames:
                yield data

        yield status, chunks()


async def relay(api: FakeApi, request: WatchRequest, *, until: int | None = None) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def emit(message: dict[str, Any]) -> None:
        sent.append(message)

    async def no_sleep(seconds: float) -> None:
        pass

    task = asyncio.create_task(WatchRelay(api.open, request, emit, window=0.02, sleep=no_sleep).run())
    if until is None:
        await asyncio.wait_for(task, 5)
    else:
        async def reached() -> None:
            while len(api.queries) < until:
                await asyncio.sleep(0.01)
        await asyncio.wait_for(reached(), 5)
        await asyncio.sleep(0.1)
        task.cancel()
    return sent


async def test_an_error_event_with_410_sends_pending_rows_then_relist() -> None:
    api = FakeApi((200, [frame("ADDED", table("a", "41", columns=True)), frame("ERROR", GONE)]))
    sent = await relay(api, WatchRequest("/api/v1/pods", "40"))
    assert [message["type"] for message in sent] == ["status", "columns", "events", "relist"]
    assert sent[2]["events"] == [{"type": "ADDED", "object": {"uid": "uid-a", "name": "a", "namespace": "ns",
                                                              "resourceVersion": "41", "cells": ["a"]}}]


async def test_a_watch_refused_with_410_asks_for_relist() -> None:
    sent = await relay(FakeApi((410, [orjson.dumps(GONE)])), WatchRequest("/api/v1/pods", "5"))
    assert sent == [{"type": "relist"}]


async def test_other_refusals_are_relayed_and_end_the_watch() -> None:
    forbidden = {"kind": "Status", "code": 403, "reason": "Forbidden", "message": "pods is forbidden: nope"}
    sent = await relay(FakeApi((403, [orjson.dumps(forbidden)])), WatchRequest("/api/v1/pods"))
    assert sent == [{"type": "error", "code": 403, "reason": "Forbidden", "message": "pods is forbidden: nope"}]


async def test_an_ended_watch_reopens_after_the_last_event_or_bookmark() -> None:
    bookmark = {"kind": "Table", "metadata": {"resourceVersion": "60"}, "rows": []}
    api = FakeApi((200, [frame("ADDED", table("a", "41", columns=True))]),
                  (200, [frame("MODIFIED", table("a", "45")), frame("BOOKMARK", bookmark)]),
                  (200, [frame("DELETED", table("a", "70"))]))
    sent = await relay(api, WatchRequest("/api/v1/pods", "40", label_selector="app=web"), until=4)
    assert [query["resourceVersion"] for query in api.queries] == [["40"], ["41"], ["60"], ["70"]]
    assert all(query["labelSelector"] == ["app=web"] and query["allowWatchBookmarks"] == ["true"]
               for query in api.queries)
    events = [(event["type"], event["object"]["resourceVersion"]) for message in sent
              if message["type"] == "events" for event in message["events"]]
    assert events == [("ADDED", "41"), ("MODIFIED", "45"), ("DELETED", "70")]
    assert [message["type"] for message in sent].count("columns") == 1
    assert any(message.get("resourceVersion") == "60" for message in sent)  # the BOOKMARK reached the page


async def test_a_broken_transport_is_retried_from_the_same_resource_version() -> None:
    api = FakeApi((200, [b'{"type":"ADDED","object":{"kind":"Table","rows":[{"cells":["a"],"object":{"metadata"'
                         b':{"uid":"u","resourceVersion":"41"}}}]}}\n', b"{not json\n"]),
                  (0, OSError("connection reset")),  # type: ignore[arg-type]
                  (200, []))
    await relay(api, WatchRequest("/api/v1/pods", "40"), until=4)
    assert [query["resourceVersion"] for query in api.queries] == [["40"], ["41"], ["41"], ["41"]]


async def test_a_burst_of_500_events_arrives_in_a_few_batches() -> None:
    frames = [frame("ADDED", table(f"p{index}", str(100 + index), columns=index == 0)) for index in range(500)]
    sent = await relay(FakeApi((200, frames)), WatchRequest("/api/v1/pods"), until=2)
    batches = [message for message in sent if message["type"] == "events"]
    assert sum(len(batch["events"]) for batch in batches) == 500
    assert len(batches) <= 5
    assert batches[-1]["resourceVersion"] == "599"


@pytest.mark.parametrize("path, allowed", [
    ("/api/v1/pods", True), ("/api/v1/namespaces", True), ("/api/v1/namespaces/x/pods", True),
    ("/apis/apps/v1/deployments", True), ("/apis/apps/v1/namespaces/x/deployments", True),
    ("/apis/stable.example.com/v1/namespaces/x/crontabs", True),
    ("/api/v1/namespaces/x", False), ("/api/v1/namespaces/x/pods/p", False), ("/api/v1/pods/p/log", False),
    ("/apis/apps/v1", False), ("/api/v1/pods/", False), ("/api/v1/pods?watch=1", False), ("/api/../console", False),
    ("/api/v1/namespaces/X/pods", False), ("/apis/apps/v1/x/deployments", False), ("/healthz", False),
])
def test_only_collection_paths_may_be_watched(path: str, allowed: bool) -> None:
    assert is_collection_path(path) is allowed


def test_watch_messages_are_validated() -> None:
    request = parse_watch({"action": "watch", "path": "/api/v1/events", "resourceVersion": "7",
                           "fieldSelector": "type=Warning"})
    assert request.query("9") == {"watch": "1", "allowWatchBookmarks": "true", "resourceVersion": "9",
                                  "fieldSelector": "type=Warning"}
    for bad in ({"action": "watch", "path": "/api/v1/pods", "labelSelector": "a\nb"},
                {"action": "watch", "path": "/api/v1/pods", "labelSelector": "a" * 1025},
                {"action": "watch", "path": "/api/v1/pods", "resourceVersion": "é"}):
        with pytest.raises(ProtocolError):
            parse_watch(bad)
