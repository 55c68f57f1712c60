"""A tiny ASGI app served by PilothouseServer over TLS, answering each request with what its scope says about TLS.

Run as `python -m tests.server.tls_echo_app PORT CERT KEY CLIENT_CA [MARKER]` from the repository root (the
`pilothouse-tls:` endpoint plugin is found through `twisted/plugins/` on sys.path). `GET /slow` creates the file
MARKER, then answers after one second: a request in flight for shutdown tests. ECHO_IDLE_TIMEOUT (seconds)
replaces the keep-alive idle timeout.
"""
from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from apiserver.server.daphne import PilothouseServer
from apiserver.server.tls import endpoint_description


class NoLifecycle:
    async def start(self) -> None:
        return None

    def begin_shutdown(self) -> None:
        return None

    async def stop(self) -> None:
        return None


SLOW_SECONDS = 1.0
marker: Path | None = None


async def echo_tls(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["path"] == "/slow" and marker is not None:
        marker.touch()
        await asyncio.sleep(SLOW_SECONDS)
    received = b""
    while scope["type"] == "http":
        message = await receive()
        received += message.get("body", b"")
        if not message.get("more_body"):
            break
    body = json.dumps({
        "body": received.decode("latin-1"),
        "tls": scope.get("extensions", {}).get("tls"),
        "scheme": scope.get("scheme"),
        "http_version": scope.get("http_version"),
    }).encode()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})


def main(port: str, cert: str, key: str, client_ca: str, marker_file: str = "") -> None:
    global marker
    marker = Path(marker_file) if marker_file else None
    endpoint = endpoint_description(
        port=int(port), interface="127.0.0.1", cert_file=Path(cert), key_file=Path(key), client_ca_file=Path(client_ca)
    )
    server = PilothouseServer(
        echo_tls, [endpoint], lifecycle=NoLifecycle(), on_started=lambda: print("ready", flush=True),
        on_failure=lambda message: print(f"Error: {message}", file=sys.stderr, flush=True),
        **({"idle_timeout": float(os.environ["ECHO_IDLE_TIMEOUT"])} if "ECHO_IDLE_TIMEOUT" in os.environ else {}),
    )
    server.run()
    raise SystemExit(1 if server.startup_failed else 0)


if __name__ == "__main__":
    main(*sys.argv[1:6])
