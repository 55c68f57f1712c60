"""The raw-ASGI ceiling: a hello app served by the very server stack of `manage.py serve` (PilothouseServer:
Daphne, our TLS endpoint with optional client certificates, keep-alive), with no filter chain and no storage.

`GET /pod` answers a fixed 2.2 KB Pod (the size the GET benchmark reads); `GET /blob/N` answers N bytes (the
transport floor of an N-byte LIST response: the same server stack, TLS and client, no work); any other path
answers `ok`.
Run as `python -m bench.api_hello PORT CERT KEY CLIENT_CA` from the repository root (the `pilothouse-tls:`
endpoint plugin is found through `twisted/plugins/` on sys.path); it prints `ready` once listening.
"""
from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Any

from apiserver.server.daphne import PilothouseServer
from apiserver.server.tls import endpoint_description
from bench.api_workload import ESTIMATED

POD = ESTIMATED.body("pod-00000", "ns0")
HEADERS = [(b"content-type", b"application/json")]


class NoLifecycle:
    async def start(self) -> None:
        return None

    def begin_shutdown(self) -> None:
        return None

    async def stop(self) -> None:
        return None


@functools.cache
def blob(size: int) -> bytes:
    return (POD * (size // len(POD) + 1))[:size]


def body_for(path: str) -> bytes:
    if path == "/pod":
        return POD
    if path.startswith("/blob/"):
        return blob(int(path.removeprefix("/blob/")))
    return b"ok"


async def hello(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    body = body_for(scope["path"])
    await send({"type": "http.response.start", "status": 200,
                "headers": [*HEADERS, (b"content-length", b"%d" % len(body))]})
    await send({"type": "http.response.body", "body": body})


def main(port: str, cert: str, key: str, client_ca: str) -> None:
    endpoint = endpoint_description(
        port=int(port), interface="127.0.0.1", cert_file=Path(cert), key_file=Path(key), client_ca_file=Path(client_ca)
    )
    server = PilothouseServer(
        hello, [endpoint], lifecycle=NoLifecycle(), on_started=lambda: print("ready", flush=True),
        on_failure=lambda message: print(f"Error: {message}", file=sys.stderr, flush=True),
    )
    server.run()
    raise SystemExit(1 if server.startup_failed else 0)


if __name__ == "__main__":
    main(*sys.argv[1:5])
