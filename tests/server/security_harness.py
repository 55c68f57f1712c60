"""An assembled server in memory (memory storage, generated PKI) and requests made as any certificate user.

The TLS layer is not in the picture: requests carry the ASGI TLS extension a verified handshake would give, so
tests choose the client certificate (and its CN and O) directly.
"""
from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.serialization import Encoding

from apiserver.server.assembly import ApiServer, build_server
from apiserver.server.config import ServerConfig
from apiserver.server.pki import PKI, ensure_pki, issue_client_certificate
from tests.http.asgi_harness import Client, Response, call, http_scope


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class InMemoryServer:
    """One started server; `request(..., user=..., groups=...)` acts as a client certificate of that subject."""

    def __init__(self, server: ApiServer, pki: PKI) -> None:
        self.server = server
        self.pki = pki
        self._chains: dict[tuple[str, tuple[str, ...]], list[str]] = {}

    def chain(self, user: str, groups: Sequence[str] = ()) -> list[str]:
        key = (user, tuple(groups))
        if key not in self._chains:
            pair = issue_client_certificate(self.pki.ca, user, list(groups))
            self._chains[key] = [pair.cert.public_bytes(Encoding.PEM).decode()]
        return self._chains[key]

    async def request(
        self, method: str, path: str, *, body: object = None, user: str | None = "kubernetes-admin",
        groups: Sequence[str] = ("system:masters",), headers: Sequence[tuple[str, str]] = (), query: bytes = b"",
    ) -> Answer:
        raw = json.dumps(body).encode() if body is not None and not isinstance(body, bytes) else (body or b"")
        all_headers = [(name.lower().encode(), value.encode()) for name, value in headers]
        if raw:
            all_headers.append((b"content-type", b"application/json"))
        scope = http_scope(method, path, query=query, headers=all_headers)
        if user is not None:
            scope["extensions"] = {"tls": {"client_cert_chain": self.chain(user, groups), "client_cert_error": None}}
        response: Response = await call(self.server.app, scope=scope, client=Client([raw]))
        decoded = {name.decode().lower(): value.decode() for name, value in response.headers}
        assert response.status is not None
        return Answer(response.status, decoded, response.body)


@asynccontextmanager
async def in_memory_server(data_dir: Path, **config: Any) -> AsyncIterator[InMemoryServer]:
    pki = ensure_pki(data_dir / "pki", advertise_address="127.0.0.1")
    server = build_server(ServerConfig(data_dir=data_dir, storage_backend="memory", etcd_compaction_interval=0,
                                       **config))
    await server.lifecycle.start()
    try:
        yield InMemoryServer(server, pki)
    finally:
        await server.lifecycle.stop()


async def eventually(ask: Callable[[], Awaitable[Answer]], status: int, within: float = 5.0) -> Answer:
    """Ask until the answer has `status`: authentication and authorization read the watch caches, a moment behind
    writes."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        answer = await ask()
        if answer.status == status or asyncio.get_running_loop().time() > deadline:
            assert answer.status == status, answer.body
            return answer
        await asyncio.sleep(0.02)
