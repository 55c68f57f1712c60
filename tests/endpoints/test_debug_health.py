"""GET /debug/pilothouse/health on an assembled server: authorized as a non-resource URL, JSON shape."""
from __future__ import annotations

from pathlib import Path

import pytest

from apiserver.endpoints.debug_health import DEBUG_HEALTH_PATH
from tests.server.security_harness import InMemoryServer, eventually, in_memory_server

ENDPOINT_CHECKS = {
    "healthz": ["ping", "log", "etcd"],
    "livez": ["ping", "log", "etcd"],
    "readyz": ["ping", "log", "etcd", "etcd-readiness", "informer-sync"],
}


@pytest.fixture
async def served(tmp_path: Path):  # type: ignore[no-untyped-def]
    async with in_memory_server(tmp_path) as server:
        yield server


async def test_admin_gets_the_report(served: InMemoryServer) -> None:
    answer = await served.request("GET", DEBUG_HEALTH_PATH)
    assert answer.status == 200, answer.body
    assert answer.headers["content-type"] == "application/json"
    report = answer.json
    assert set(report) == {"now", "health", "storage", "metrics"}
    health = report["health"]
    assert {"startedAt", "sampledAt", "interval", "dropped", "endpoints"} <= set(health)
    for endpoint, first_checks in ENDPOINT_CHECKS.items():
        checks = health["endpoints"][endpoint]["checks"]
        assert [check["name"] for check in checks][:len(first_checks)] == first_checks
        assert health["endpoints"][endpoint]["ok"] is True
        assert all(check["ok"] and check["history"][-1]["ok"] for check in checks)
        assert set(checks[0]) == {"name", "ok", "since", "reason", "history"}
    assert health["endpoints"]["readyz"]["checks"][-1]["name"] == "shutdown"


async def test_storage_and_metrics_parts(served: InMemoryServer) -> None:
    await served.request("GET", "/api/v1/namespaces")
    report = (await served.request("GET", DEBUG_HEALTH_PATH)).json
    storage = report["storage"]
    assert storage["backend"] == "memory" and storage["error"] == ""
    assert storage["revision"] > 0
    assert set(storage["latency"]) == {"recent", "sinceStart"}
    assert storage["latency"]["sinceStart"]["requests"] > 0
    assert set(storage["latency"]["recent"]) == {"seconds", "requests", "p50", "p99"}
    assert (report["metrics"]["interval"], report["metrics"]["window"]) == (10.0, 1800.0)
    assert isinstance(report["metrics"]["points"], list)


async def test_a_user_without_the_non_resource_rule_is_forbidden(served: InMemoryServer) -> None:
    answer = await served.request("GET", DEBUG_HEALTH_PATH, user="jane", groups=("devs",))
    assert answer.status == 403
    assert answer.json == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": 'forbidden: User "jane" cannot get path "/debug/pilothouse/health"',
        "reason": "Forbidden", "details": {}, "code": 403,
    }


async def test_a_cluster_role_for_the_path_grants_it(served: InMemoryServer) -> None:
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": "health-reader"},
            "rules": [{"nonResourceURLs": [DEBUG_HEALTH_PATH], "verbs": ["get"]}]}
    binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
               "metadata": {"name": "health-reader"},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "health-reader"},
               "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "jane"}]}
    assert (await served.request("POST", "/apis/rbac.authorization.k8s.io/v1/clusterroles", body=role)).status == 201
    assert (await served.request("POST", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
                                 body=binding)).status == 201
    await eventually(lambda: served.request("GET", DEBUG_HEALTH_PATH, user="jane", groups=("devs",)), 200)


@pytest.mark.parametrize(
    ("method", "path", "status", "message"),
    [
        ("POST", DEBUG_HEALTH_PATH, 405, "the server does not allow this method on the requested resource"),
        ("GET", f"{DEBUG_HEALTH_PATH}/more", 404, "the server could not find the requested resource"),
    ],
    ids=["post", "below"],
)
async def test_other_methods_and_paths(served: InMemoryServer, method: str, path: str, status: int,
                                       message: str) -> None:
    answer = await served.request(method, path, body=b"{}" if method == "POST" else None)
    assert (answer.status, answer.json["message"], answer.json["code"]) == (status, message, status)
