"""services/proxy and nodes/proxy through the in-memory resource endpoints."""
from __future__ import annotations

from typing import Any

import pytest

from tests.endpoints.proxy.backend import Backend
from tests.endpoints.proxy.conftest import host_address, make_endpoints, make_node, make_pod, make_service
from tests.support.resource_app import ResourceApp

SERVICE_PATH = "/api/v1/namespaces/default/services"


def _status(message: str, reason: str, code: int, details: dict[str, Any] | None = None) -> dict[str, Any]:
    status: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                              "message": message}
    if reason:
        status["reason"] = reason
    if details is not None:
        status["details"] = details
    status["code"] = code
    return status


async def _service_with_endpoint(api: ResourceApp, backend: Backend, *, target_pod: str = "web") -> None:
    await make_pod(api, "web", host_address())
    await make_service(api, "svc", [{"name": "http", "port": 8080, "targetPort": backend.port}])
    address: dict[str, Any] = {"ip": host_address()}
    if target_pod:
        address["targetRef"] = {"kind": "Pod", "namespace": "default", "name": target_pod}
    await make_endpoints(api, "svc", [{"addresses": [address], "ports": [{"name": "http", "port": backend.port}]}])


@pytest.mark.parametrize("name", ["svc:http", "svc:8080", "http:svc:http", "http:svc:8080"])
async def test_service_port_by_name_or_number_reaches_a_ready_endpoint(
    strict_api: ResourceApp, host_backend: Backend, name: str,
) -> None:
    await _service_with_endpoint(strict_api, host_backend)
    answer = await strict_api.request("POST", f"{SERVICE_PATH}/{name}/proxy/api/items?watch=1", b"{}")
    echo = answer.json()
    assert (answer.status, echo["method"], echo["target"]) == (200, "POST", "/api/items?watch=1")
    assert answer.headers["content-security-policy"] == "sandbox"


@pytest.mark.parametrize(
    ("target_pod", "name"), [("", "svc:http"), ("other", "svc:http")], ids=["no-target-ref", "pod-missing"],
)
async def test_endpoint_addresses_must_belong_to_a_pod_with_that_ip(
    strict_api: ResourceApp, host_backend: Backend, target_pod: str, name: str,
) -> None:
    await _service_with_endpoint(strict_api, host_backend, target_pod=target_pod)
    answer = await strict_api.request("GET", f"{SERVICE_PATH}/{name}/proxy/")
    assert (answer.status, answer.json()) == (
        503, _status('no endpoints available for service "svc:http"', "ServiceUnavailable", 503))


@pytest.mark.parametrize(
    ("setup", "name", "code", "status"),
    [
        ("none", "svc:80", 404, _status('services "svc" not found', "NotFound", 404,
                                         {"name": "svc", "kind": "services"})),
        ("service", "svc", 404, _status('endpoints "svc" not found', "NotFound", 404,
                                        {"name": "svc", "kind": "endpoints"})),
        ("service", "svc:81", 503, _status('no service port 81 found for service "svc"', "ServiceUnavailable", 503)),
        ("empty-endpoints", "svc:80", 503,
         _status('no endpoints available for service "svc"', "ServiceUnavailable", 503)),
        ("none", "a:b:c:d", 400, _status('invalid service request "a:b:c:d"', "BadRequest", 400)),
    ],
    ids=["service-missing", "endpoints-missing", "unknown-port-number", "no-endpoints", "invalid-name"],
)
async def test_service_errors(api: ResourceApp, setup: str, name: str, code: int, status: dict[str, Any]) -> None:
    if setup != "none":
        await make_service(api, "svc", [{"port": 80}])
    if setup == "empty-endpoints":
        await make_endpoints(api, "svc", [])
    answer = await api.request("GET", f"{SERVICE_PATH}/{name}/proxy/")
    assert (answer.status, answer.json()) == (code, status)


async def test_node_other_port_uses_the_requested_scheme(api: ResourceApp, backend: Backend) -> None:
    await make_node(api, "n1", [{"type": "InternalIP", "address": "127.0.0.1"}], kubelet_port=10250)
    answer = await api.request("GET", f"/api/v1/nodes/http:n1:{backend.port}/proxy/stats/summary?only=cpu")
    assert (answer.status, answer.json()["target"]) == (200, "/stats/summary?only=cpu")


async def test_node_kubelet_port_is_https(api: ResourceApp, backend: Backend) -> None:
    await make_node(api, "n1", [{"type": "InternalIP", "address": "127.0.0.1"}], kubelet_port=backend.port)
    answer = await api.request("GET", f"/api/v1/nodes/http:n1:{backend.port}/proxy/x")
    assert (answer.status, answer.json()["message"]) == (503, "error trying to reach service: EOF")


@pytest.mark.parametrize(
    ("addresses", "code", "status"),
    [
        ([{"type": "InternalIP", "address": "127.0.0.1"}], 400, _status("address not allowed", "BadRequest", 400)),
        ([{"type": "InternalIP", "address": "169.254.0.3"}], 400, _status("address not allowed", "BadRequest", 400)),
        ([{"type": "Hostname", "address": "mixed.test"}], 400, _status("address not allowed", "BadRequest", 400)),
        ([{"type": "Hostname", "address": "nowhere"}], 400,
         _status("lookup nowhere: no such host", "BadRequest", 400)),
        ([{"type": "InternalPodIP", "address": "10.0.0.1"}], 500,
         _status("no preferred addresses found; known addresses: [{InternalPodIP 10.0.0.1}]", "", 500)),
    ],
    ids=["loopback", "link-local", "hostname-resolving-to-link-local", "unresolvable", "no-preferred-type"],
)
async def test_node_errors(
    strict_api: ResourceApp, addresses: list[dict[str, str]], code: int, status: dict[str, Any],
) -> None:
    await make_node(strict_api, "n1", addresses)
    answer = await strict_api.request("GET", "/api/v1/nodes/n1/proxy/")
    assert (answer.status, answer.json()) == (code, status)


async def test_missing_node_is_404(api: ResourceApp) -> None:
    answer = await api.request("GET", "/api/v1/nodes/ghost/proxy/")
    assert (answer.status, answer.json()) == (404, _status(
        'nodes "ghost" not found', "NotFound", 404, {"name": "ghost", "kind": "nodes"}))
