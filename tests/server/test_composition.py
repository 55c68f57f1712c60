"""The composition root: whole-segment prefix dispatch, Django off the API path, lifespan for other servers."""
from __future__ import annotations

from typing import Any

import pytest

from apiserver.asgi import API_PREFIXES, CONSOLE_PREFIXES, PrefixDispatch, build_application


async def api(scope: Any, receive: Any, send: Any) -> None:
    return None


async def console(scope: Any, receive: Any, send: Any) -> None:
    return None


DISPATCH = PrefixDispatch([(API_PREFIXES, api), (CONSOLE_PREFIXES, console)], default=api)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/api", api), ("/api/v1/namespaces", api), ("/apis", api), ("/apis/apps/v1", api), ("/version", api),
        ("/healthz", api), ("/livez/ping", api), ("/readyz", api), ("/openapi/v2", api), ("/metrics", api),
        ("/apisx", api), ("/apiextensions", api), ("/", api), ("/unknown", api), ("/consolex", api),
        ("/console", console), ("/console/", console), ("/console/pods", console), ("/static/console/app.css", console),
    ],
)
def test_prefixes_match_whole_path_segments(path: str, expected: Any) -> None:
    assert DISPATCH.app_for(path) is expected


class RecordingLifecycle:
    def __init__(self) -> None:
        self.calls: list[str] = []

    async def start(self) -> None:
        self.calls.append("start")

    def begin_shutdown(self) -> None:
        self.calls.append("begin_shutdown")

    async def stop(self) -> None:
        self.calls.append("stop")


async def test_lifespan_starts_and_stops_the_lifecycle() -> None:
    lifecycle = RecordingLifecycle()
    application = build_application(api, lifecycle=lifecycle)
    incoming = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await application({"type": "lifespan"}, receive, send)
    assert [message["type"] for message in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert lifecycle.calls == ["start", "begin_shutdown", "stop"]


async def test_api_paths_never_reach_django() -> None:
    seen: list[str] = []

    async def recording_api(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["path"])

    application = build_application(recording_api)
    for path in ("/api/v1", "/apisx", "/"):
        await application({"type": "http", "path": path}, None, None)
    assert seen == ["/api/v1", "/apisx", "/"]
