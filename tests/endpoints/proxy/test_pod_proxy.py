"""pods/proxy through the in-memory resource endpoints to a real backend."""
from __future__ import annotations

import asyncio
import dataclasses
import json
from typing import Any

from apiserver.admission.chain import AdmissionChain
from apiserver.admission.interface import AdmissionAttributes, Operation
from apiserver.endpoints.resources import ResourceEndpoints
from apiserver.meta.errors import Forbidden
from tests.endpoints.proxy.backend import Backend
from tests.endpoints.proxy.conftest import make_pod
from tests.http.test_forward import WebSocketClient
from tests.support.resource_app import ResourceApp

POD_PATH = "/api/v1/namespaces/default/pods"


def _status(message: str, reason: str, code: int, details: dict[str, Any] | None = None) -> dict[str, Any]:
    status: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                              "message": message, "reason": reason}
    if details is not None:
        status["details"] = details
    status["code"] = code
    return status


async def test_get_reaches_the_pods_first_container_port_with_path_and_query(
    api: ResourceApp, backend: Backend,
) -> None:
    await make_pod(api, "web", "127.0.0.1", backend.port)
    answer = await api.request("GET", f"{POD_PATH}/web/proxy/a/b?x=1&y=two",
                               headers={"authorization": "Bearer secret", "impersonate-user": "bob",
                                        "x-custom": "kept", "host": "api.example:6443"})
    echo = answer.json()
    assert answer.status == 200
    assert (echo["method"], echo["target"]) == ("GET", "/a/b?x=1&y=two")
    headers = dict(echo["headers"])
    assert "authorization" not in headers and "impersonate-user" not in headers
    assert headers["x-custom"] == "kept"
    assert headers["host"] == "api.example:6443"
    assert headers["x-forwarded-uri"] == f"{POD_PATH}/web/proxy/a/b"
    assert headers["x-forwarded-for"] == "127.0.0.1"
    assert answer.headers["content-security-policy"] == "sandbox"


async def test_scheme_name_and_port_with_dot_dot_cleaned(api: ResourceApp, backend: Backend) -> None:
    await make_pod(api, "web", "127.0.0.1")
    answer = await api.request("GET", f"{POD_PATH}/http:web:{backend.port}/proxy/a/../../b/")
    assert (answer.status, answer.json()["target"]) == (200, "/b/")


async def test_post_body_and_method_pass_through(api: ResourceApp, backend: Backend) -> None:
    await make_pod(api, "web", "127.0.0.1", backend.port)
    for method in ("POST", "PUT", "PATCH", "DELETE", "OPTIONS"):
        answer = await api.request(method, f"{POD_PATH}/web/proxy/submit", b"payload",
                                   headers={"content-type": "text/plain"})
        assert (answer.status, answer.json()["method"], answer.json()["body"]) == (200, method, "payload")


async def test_head_has_no_body(api: ResourceApp, backend: Backend) -> None:
    await make_pod(api, "web", "127.0.0.1", backend.port)
    answer = await api.request("HEAD", f"{POD_PATH}/web/proxy/x")
    assert (answer.status, answer.body) == (200, b"")


async def test_root_without_slash_redirects_to_slash(api: ResourceApp, backend: Backend) -> None:
    await make_pod(api, "web", "127.0.0.1", backend.port)
    answer = await api.request("GET", f"{POD_PATH}/web/proxy?a=1")
    assert (answer.status, answer.headers["location"]) == (301, f"{POD_PATH}/web/proxy/?a=1")
    slash = await api.request("GET", f"{POD_PATH}/web/proxy/?a=1")
    assert (slash.status, slash.json()["target"]) == (200, "/?a=1")


async def test_backend_redirect_is_returned_with_its_location_rewritten(api: ResourceApp, backend: Backend) -> None:
    await make_pod(api, "web", "127.0.0.1", backend.port)
    before = len(backend.requests)
    answer = await api.request("GET", f"{POD_PATH}/web/proxy/redirect?to=/login")
    assert (answer.status, answer.headers["location"]) == (302, f"{POD_PATH}/web/proxy/login")
    elsewhere = await api.request("GET", f"{POD_PATH}/web/proxy/redirect?to=https://example.com/x")
    assert elsewhere.headers["location"] == "https://example.com/x"
    assert len(backend.requests) == before + 2


async def test_cors_and_hop_by_hop_headers_of_the_backend_are_dropped(api: ResourceApp, backend: Backend) -> None:
    await make_pod(api, "web", "127.0.0.1", backend.port)
    answer = await api.request("GET", f"{POD_PATH}/web/proxy/hop")
    assert answer.headers["x-public"] == "yes"
    assert not {"access-control-allow-origin", "x-private", "keep-alive"} & answer.headers.keys()


async def test_unreachable_pod_port_is_503(api: ResourceApp, backend: Backend) -> None:
    await make_pod(api, "web", "127.0.0.1")
    answer = await api.request("GET", f"{POD_PATH}/web:1/proxy/")
    assert (answer.status, answer.json()) == (503, _status(
        "error trying to reach service: dial tcp 127.0.0.1:1: connect: connection refused", "ServiceUnavailable", 503,
    ))


async def test_loopback_pod_ip_is_refused_without_the_test_flag(strict_api: ResourceApp, backend: Backend) -> None:
    await make_pod(strict_api, "web", "127.0.0.1", backend.port)
    before = len(backend.requests)
    answer = await strict_api.request("GET", f"{POD_PATH}/web/proxy/")
    assert (answer.status, answer.json()) == (400, _status("address not allowed", "BadRequest", 400))
    assert len(backend.requests) == before


async def test_pod_without_ip_is_refused(api: ResourceApp) -> None:
    await make_pod(api, "pending", None, 80)
    answer = await api.request("GET", f"{POD_PATH}/pending/proxy/")
    assert (answer.status, answer.json()) == (400, _status("address not allowed", "BadRequest", 400))


async def test_invalid_pod_request(api: ResourceApp) -> None:
    answer = await api.request("GET", f"{POD_PATH}/ftp:web:80/proxy/")
    assert (answer.status, answer.json()) == (400, _status('invalid pod request "ftp:web:80"', "BadRequest", 400))


async def test_missing_pod_is_404(api: ResourceApp) -> None:
    answer = await api.request("GET", f"{POD_PATH}/ghost:80/proxy/")
    assert (answer.status, answer.json()) == (404, _status(
        'pods "ghost" not found', "NotFound", 404, {"name": "ghost", "kind": "pods"},
    ))


async def test_html_links_to_the_backend_are_rewritten_into_the_proxy(api: ResourceApp, backend: Backend) -> None:
    await make_pod(api, "web", "127.0.0.1", backend.port)
    answer = await api.request("GET", f"{POD_PATH}/web/proxy/html")
    page = f'<a href="{POD_PATH}/web/proxy/docs">d</a><p>hi</p>'.encode()
    assert (answer.headers["content-type"], answer.headers["content-length"], answer.body) == (
        "text/html", str(len(page)), page)
    assert json.loads((await api.request("GET", f"{POD_PATH}/web/proxy/j")).body)["target"] == "/j"


async def test_websocket_upgrade_is_relayed(api: ResourceApp, backend: Backend) -> None:
    await make_pod(api, "web", "127.0.0.1", backend.port)
    client = WebSocketClient()
    scope = {"type": "websocket", "path": f"{POD_PATH}/web/proxy/ws", "raw_path": f"{POD_PATH}/web/proxy/ws".encode(),
             "query_string": b"", "headers": [(b"host", b"api")], "subprotocols": ["chat"],
             "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", 6443)}
    task = asyncio.ensure_future(api.app(scope, client.receive, client.send))
    await client.wait_for(1)
    assert client.sent[0] == {"type": "websocket.accept", "subprotocol": "chat"}
    client.incoming.put_nowait({"type": "websocket.receive", "text": "hi"})
    await client.wait_for(2)
    assert client.sent[1] == {"type": "websocket.send", "text": "echo:hi"}
    client.incoming.put_nowait({"type": "websocket.disconnect", "code": 1000})
    async with asyncio.timeout(10):
        await task


class ConnectRecorder:
    """A validating admission plugin that records CONNECT attributes and may refuse them."""

    name = "ConnectRecorder"

    def __init__(self, refuse: bool = False) -> None:
        self.seen: list[AdmissionAttributes] = []
        self.refuse = refuse

    def handles(self, operation: Operation) -> bool:
        return operation is Operation.CONNECT

    async def validate(self, attributes: AdmissionAttributes) -> None:
        self.seen.append(attributes)
        if self.refuse:
            raise Forbidden.from_message("connect refused by policy")


def _with_admission(api: ResourceApp, plugin: ConnectRecorder) -> ResourceApp:
    server = dataclasses.replace(api.app.server, admission=AdmissionChain([plugin]))
    return ResourceApp(ResourceEndpoints(server), api.registry, api.storage)


async def test_connect_admission_sees_the_proxy_options(api: ResourceApp, backend: Backend) -> None:
    await make_pod(api, "web", "127.0.0.1")
    recorder = ConnectRecorder()
    answer = await _with_admission(api, recorder).request("GET", f"{POD_PATH}/web:{backend.port}/proxy/a/../b/")
    assert answer.status == 200
    [seen] = recorder.seen
    assert (seen.operation, seen.group, seen.version, seen.resource, seen.subresource, seen.kind) == (
        Operation.CONNECT, "", "v1", "pods", "proxy", "PodProxyOptions")
    assert (seen.namespace, seen.name, seen.object) == (
        "default", f"web:{backend.port}", {"kind": "PodProxyOptions", "apiVersion": "v1", "path": "/a/../b/"})


async def test_connect_refused_by_admission_never_reaches_the_backend(api: ResourceApp, backend: Backend) -> None:
    await make_pod(api, "web", "127.0.0.1", backend.port)
    before = len(backend.requests)
    answer = await _with_admission(api, ConnectRecorder(refuse=True)).request("POST", f"{POD_PATH}/web/proxy/x")
    assert (answer.status, answer.json()) == (403, _status("connect refused by policy", "Forbidden", 403))
    assert len(backend.requests) == before


async def test_dry_run_is_not_supported(api: ResourceApp, backend: Backend) -> None:
    await make_pod(api, "web", "127.0.0.1", backend.port)
    answer = await api.request("POST", f"{POD_PATH}/web/proxy/x?dryRun=All")
    assert (answer.status, answer.json()) == (400, _status("dryRun is not supported", "BadRequest", 400))
