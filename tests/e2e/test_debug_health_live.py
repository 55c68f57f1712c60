"""GET /debug/pilothouse/health on live servers (SQLite and etcd): the console Health page's data source."""
from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tests.support.server import ServerProcess

pytestmark = pytest.mark.slow

PATH = "/debug/pilothouse/health"


def report(server: ServerProcess) -> dict[str, Any]:
    status, headers, body = server.request("GET", PATH, client_cert=True)
    assert (status, headers["content-type"]) == (200, "application/json"), body
    answer: dict[str, Any] = json.loads(body)
    return answer


def test_admin_reads_health_storage_and_metrics(server: ServerProcess) -> None:
    first = report(server)
    status, _, _ = server.request("POST", "/api/v1/namespaces/default/configmaps", client_cert=True,
                                  body=b'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"generateName":"h-"}}',
                                  headers={"Content-Type": "application/json"})
    assert status == 201
    deadline = time.monotonic() + 10
    while (second := report(server))["storage"]["revision"] <= first["storage"]["revision"]:
        assert time.monotonic() < deadline, second["storage"]
        time.sleep(0.05)
    for endpoint in ("livez", "readyz", "healthz"):
        checks = second["health"]["endpoints"][endpoint]["checks"]
        assert second["health"]["endpoints"][endpoint]["ok"] is True, checks
        assert {"ping", "log", "etcd"} <= {check["name"] for check in checks}
        assert all(check["history"] and check["history"][-1]["ok"] for check in checks)
    storage = second["storage"]
    assert storage["error"] == "" and storage["compactedRevision"] >= 0
    [member] = storage["members"]
    assert member["reachable"] and member["current"]
    if storage["backend"] == "sqlite":
        assert storage["files"]["database"] > 0 and storage["size"] >= storage["files"]["database"]
    else:
        assert storage["backend"] == "etcd3"
        assert member["isLeader"] and member["version"].startswith("3.") and storage["size"] == member["dbSize"] > 0
    assert storage["latency"]["sinceStart"]["requests"] > 0
    assert storage["latency"]["sinceStart"]["p50"] is not None
    assert second["metrics"]["interval"] == 10.0


def test_anonymous_is_forbidden(server: ServerProcess) -> None:
    status, _, body = server.request("GET", PATH)
    assert status == 403
    assert json.loads(body)["message"] == (
        'forbidden: User "system:anonymous" cannot get path "/debug/pilothouse/health"')
