"""SIGKILL a SQLite-backed server in the middle of a stream of writes: no acknowledged write is lost.

Writes go through the real API over HTTPS (8 concurrent writers, so group commit batches them); a create that
answered 201 is acknowledged. After the kill the same data dir is served again and must hold every one of them,
and SQLite's integrity check must pass.
"""
from __future__ import annotations

import http.client
import json
import sqlite3
import ssl
import threading
import time
from pathlib import Path

import pytest

from tests.support.server import ServerProcess

pytestmark = pytest.mark.slow

WRITERS = 8


def _write_until_refused(
    server: ServerProcess, context: ssl.SSLContext, writer: int, acknowledged: list[str], stop: threading.Event
) -> None:
    index = 0
    while not stop.is_set():
        name = f"w{writer}-{index}"
        body = json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"i": name}})
        connection = http.client.HTTPSConnection("127.0.0.1", server.port, context=context, timeout=5)
        try:
            connection.request("POST", "/api/v1/namespaces/default/configmaps", body=body,
                               headers={"Content-Type": "application/json"})
            if connection.getresponse().status == 201:
                acknowledged.append(name)
        except OSError:
            return  # the server is gone
        finally:
            connection.close()
        index += 1


def test_sigkill_during_writes_loses_no_acknowledged_write(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    server = ServerProcess(data_dir).start()
    acknowledged: list[str] = []
    stop = threading.Event()
    context = server.ssl_context(client_cert=True)
    writers = [
        threading.Thread(target=_write_until_refused, args=(server, context, writer, acknowledged, stop))
        for writer in range(WRITERS)
    ]
    try:
        for thread in writers:
            thread.start()
        deadline = time.monotonic() + 20
        while len(acknowledged) < 200 and time.monotonic() < deadline:
            time.sleep(0.05)
        server.kill()  # SIGKILL while the writers are still sending
    finally:
        stop.set()
        for thread in writers:
            thread.join(10)
    assert len(acknowledged) >= 200

    with sqlite3.connect(data_dir / "state.db") as database:
        assert database.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    with ServerProcess(data_dir, port=server.port) as restarted:
        status, _, body = restarted.request("GET", "/api/v1/namespaces/default/configmaps", client_cert=True)
        assert status == 200
        stored = {item["metadata"]["name"]: item["data"].get("i") for item in json.loads(body)["items"]}
    missing = [name for name in acknowledged if stored.get(name) != name]
    assert missing == []
