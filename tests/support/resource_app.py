"""The resource endpoints in memory: a Registry on MemoryStorage behind ResourceEndpoints, called as ASGI.

For the fast endpoint tests; the live-server tests in tests/e2e prove the same on SQLite and etcd.
"""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

import orjson

from apiserver.admission.chain import DEFAULT_PLUGINS, build_admission_chain
from apiserver.endpoints.resources import ResourceEndpoints, ResourceServer
from apiserver.registry.catalog import ResourceCatalog, builtin_specs
from apiserver.registry.stores import Registry
from apiserver.server.assembly import AdmissionContext
from apiserver.server.bootstrap import SystemNamespacesHook
from apiserver.storage.memory.backend import MemoryStorage
from tests.http.asgi_harness import Client, Response, http_scope

NOW = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
KUBECTL_TABLE = (
    "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
)


def fixed_clock() -> datetime:
    return NOW


@dataclass
class Answer:
    """A whole response: status, headers (lower-case names; repeated ones joined by ', '), body."""

    status: int
    headers: dict[str, str]
    body: bytes
    header_list: list[tuple[str, str]]

    def json(self) -> Any:
        return orjson.loads(self.body)


class ResourceApp:
    """Requests against the resource endpoints of an in-memory registry."""

    def __init__(self, app: ResourceEndpoints, registry: Registry, storage: MemoryStorage) -> None:
        self.app = app
        self.registry = registry
        self.storage = storage

    async def request(
        self, method: str, path: str, body: bytes | str | dict[str, Any] | list[Any] = b"", *,
        headers: dict[str, str] | None = None, client: Client | None = None,
    ) -> Answer:
        response = await self.send(method, path, body, headers=headers, client=client)
        return answer_of(response)

    async def send(
        self, method: str, path: str, body: bytes | str | dict[str, Any] | list[Any] = b"", *,
        headers: dict[str, str] | None = None, client: Client | None = None, response: Response | None = None,
    ) -> Response:
        if isinstance(body, dict | list):
            body = orjson.dumps(body)
        elif isinstance(body, str):
            body = body.encode()
        raw_path, _, query = path.partition("?")
        scope = http_scope(
            method, unquote(raw_path), query=query.encode(), raw_path=raw_path.encode(),
            headers=[(name.lower().encode(), value.encode()) for name, value in (headers or {}).items()],
        )
        response = response or Response()
        await self.app(scope, (client or Client([body])).receive, response.send)
        return response

    def stream(self, path: str, *, headers: dict[str, str] | None = None) -> Streaming:
        """Start a long-running request (a watch) in the background."""
        client = Client([b""])
        response = Response()
        task = asyncio.ensure_future(self.send("GET", path, headers=headers, client=client, response=response))
        return Streaming(task, client, response)

    async def stored_keys(self, prefix: str = "/registry/") -> list[str]:
        page = await self.storage.list(prefix)
        return [kv.key for kv in page.items]


class Streaming:
    """A request being answered in the background: read its lines as they come, or disconnect."""

    def __init__(self, task: asyncio.Future[Response], client: Client, response: Response) -> None:
        self.task = task
        self.client = client
        self.response = response

    async def lines(self, count: int, timeout: float = 5.0) -> list[bytes]:
        """The first `count` complete lines of the body (waits for them); raises TimeoutError."""
        async with asyncio.timeout(timeout):
            while self.response.body.count(b"\n") < count:
                if self.task.done():
                    self.task.result()
                    raise AssertionError(f"response ended after {self.response.body!r}")
                self.response.body_event.clear()
                waiter = asyncio.ensure_future(self.response.body_event.wait())
                await asyncio.wait({waiter, self.task}, return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()
        return self.response.body.split(b"\n")[:count]

    async def events(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        return [orjson.loads(line) for line in await self.lines(count, timeout)]

    async def finished(self, timeout: float = 5.0) -> Response:
        async with asyncio.timeout(timeout):
            return await self.task

    async def disconnect(self, timeout: float = 5.0) -> Response:
        self.client.disconnect()
        return await self.finished(timeout)


def answer_of(response: Response) -> Answer:
    pairs = [(name.decode().lower(), value.decode()) for name, value in response.headers]
    joined: dict[str, str] = {}
    for name, value in pairs:
        joined[name] = f"{joined[name]}, {value}" if name in joined else value
    assert response.status is not None
    return Answer(response.status, joined, response.body, pairs)


@asynccontextmanager
async def resource_app(
    *, plugins: Sequence[str] = DEFAULT_PLUGINS, stopping: asyncio.Event | None = None,
    min_request_timeout: float = 1800.0, bookmark_interval: float = 60.0,
) -> AsyncIterator[ResourceApp]:
    """A started registry with the system namespaces, and the endpoints in front of it."""
    storage = MemoryStorage()
    catalog = ResourceCatalog(builtin_specs())
    registry = Registry(catalog, storage, clock=fixed_clock)
    await registry.start()
    try:
        await registry.wait_ready(10)
        await SystemNamespacesHook(lambda: registry).start(storage)
        context = AdmissionContext(lambda: registry, registry.is_ready, _allow_everything)
        admission = build_admission_chain(plugins, context)
        server = ResourceServer(
            catalog=catalog, registry=lambda: registry, admission=admission, clock=fixed_clock,
            stopping=stopping or asyncio.Event(), min_request_timeout=min_request_timeout,
            bookmark_interval=bookmark_interval,
        )
        yield ResourceApp(ResourceEndpoints(server), registry, storage)
    finally:
        await registry.stop()
        await storage.close()


async def _allow_everything(user: object, spec: Any) -> dict[str, Any]:
    """The access review of the endpoint tests, which run without authorization (AlwaysAllow)."""
    return {"allowed": True}
