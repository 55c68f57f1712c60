"""pods/proxy and services/proxy on a live server (SQLite and etcd), to real backends, also behind kubectl proxy.

The server runs with `--proxy-allow-loopback-targets`, so a backend on 127.0.0.1 can be a pod's IP. Services
are reached through Endpoints, whose validation refuses loopback addresses, so their backend listens on the
host's own address. (Refusal of loopback targets without the flag: tests/endpoints/proxy.)
"""
from __future__ import annotations

import http.client
import json
import ssl
import time
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import websocket
from kubernetes import client as k8s

from tests.e2e.conftest import BACKENDS
from tests.endpoints.proxy.backend import Backend, running_backend
from tests.endpoints.proxy.conftest import host_address
from tests.support.kubectl import Kubectl
from tests.support.ports import free_port
from tests.support.server import ServerProcess


@pytest.fixture(scope="module", params=BACKENDS)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    data_dir = tmp_path_factory.mktemp(f"proxy-{request.param}") / "data"
    flags = ["--proxy-allow-loopback-targets"]
    if request.param == "etcd3":
        etcd = request.getfixturevalue("etcd")
        process = ServerProcess(data_dir, storage_backend="etcd3", etcd_servers=etcd.url,
                                extra_args=[*flags, "--etcd-prefix", f"/e2e-{uuid.uuid4().hex[:8]}"])
    else:
        process = ServerProcess(data_dir, extra_args=flags)
    with process:
        yield process


@pytest.fixture(scope="module")
def backend() -> Iterator[Backend]:
    with running_backend("127.0.0.1") as server:
        yield server


@pytest.fixture(scope="module")
def host_backend() -> Iterator[Backend]:
    with running_backend(host_address()) as server:
        yield server


def _pod(core: k8s.CoreV1Api, namespace: str, name: str, ip: str, port: int, labels: dict[str, str] | None = None,
         ) -> None:
    container = k8s.V1Container(name="c", image="busybox", ports=[k8s.V1ContainerPort(container_port=port)])
    core.create_namespaced_pod(namespace, k8s.V1Pod(
        metadata=k8s.V1ObjectMeta(name=name, labels=labels), spec=k8s.V1PodSpec(containers=[container])))
    core.patch_namespaced_pod_status(name, namespace, {"status": {"podIP": ip, "podIPs": [{"ip": ip}]}})


def _service(core: k8s.CoreV1Api, namespace: str, backend: Backend, *, with_endpoints: bool) -> None:
    core.create_namespaced_service(namespace, k8s.V1Service(
        metadata=k8s.V1ObjectMeta(name="svc"),
        spec=k8s.V1ServiceSpec(ports=[k8s.V1ServicePort(name="http", port=8080, target_port=backend.port)])))
    if not with_endpoints:
        return
    _pod(core, namespace, "member", backend.host, backend.port)
    address = k8s.V1EndpointAddress(ip=backend.host, target_ref=k8s.V1ObjectReference(
        kind="Pod", namespace=namespace, name="member"))
    core.create_namespaced_endpoints(namespace, k8s.V1Endpoints(
        metadata=k8s.V1ObjectMeta(name="svc"),
        subsets=[k8s.V1EndpointSubset(addresses=[address],
                                      ports=[k8s.CoreV1EndpointPort(name="http", port=backend.port)])]))


def _admin_request(server: ServerProcess, method: str, path: str, **options: Any) -> tuple[int, dict[str, str], bytes]:
    return server.request(method, path, client_cert=True, **options)


def test_pod_proxy_get_and_post_with_path_query_and_headers(
    server: ServerProcess, api_client: k8s.ApiClient, namespace: str, backend: Backend,
) -> None:
    core = k8s.CoreV1Api(api_client)
    _pod(core, namespace, "web", "127.0.0.1", backend.port)
    base = f"/api/v1/namespaces/{namespace}/pods/web/proxy"
    status, headers, body = _admin_request(server, "GET", f"{base}/a/b?x=1&y=2", headers={"X-Custom": "kept"})
    echo = json.loads(body)
    assert (status, echo["method"], echo["target"]) == (200, "GET", "/a/b?x=1&y=2")
    forwarded = dict(echo["headers"])
    assert forwarded["x-custom"] == "kept"
    assert forwarded["x-forwarded-uri"] == f"{base}/a/b"
    assert "authorization" not in forwarded
    assert headers["content-security-policy"] == "sandbox"
    posted = core.connect_post_namespaced_pod_proxy_with_path("web", namespace, "submit", _preload_content=False)
    assert (json.loads(posted.data)["method"], json.loads(posted.data)["target"]) == ("POST", "/submit")
    status, _, body = _admin_request(server, "PUT", f"{base}/items/1", body=b'{"v":1}',
                                     headers={"Content-Type": "application/json"})
    assert (status, json.loads(body)["method"], json.loads(body)["body"]) == (200, "PUT", '{"v":1}')


def test_pod_proxy_streams_the_response(
    server: ServerProcess, api_client: k8s.ApiClient, namespace: str, backend: Backend,
) -> None:
    _pod(k8s.CoreV1Api(api_client), namespace, "web", "127.0.0.1", backend.port)
    backend.release.clear()
    connection = http.client.HTTPSConnection("127.0.0.1", server.port, context=server.ssl_context(client_cert=True),
                                             timeout=20)
    try:
        connection.request("GET", f"/api/v1/namespaces/{namespace}/pods/web/proxy/stream")
        response = connection.getresponse()
        assert response.status == 200
        assert response.readline() == b"first\n"  # before the backend has finished
        backend.release.set()
        assert response.read() == b"second\n"
    finally:
        backend.release.set()
        connection.close()


def test_pod_proxy_relays_websockets(
    server: ServerProcess, api_client: k8s.ApiClient, namespace: str, backend: Backend,
) -> None:
    _pod(k8s.CoreV1Api(api_client), namespace, "web", "127.0.0.1", backend.port)
    cert_file, key_file = server.admin_credentials()
    socket = websocket.create_connection(
        f"wss://127.0.0.1:{server.port}/api/v1/namespaces/{namespace}/pods/web/proxy/ws",
        sslopt={"ca_certs": str(server.ca_file), "certfile": str(cert_file), "keyfile": str(key_file),
                "cert_reqs": ssl.CERT_REQUIRED},
        subprotocols=["chat"], timeout=20,
    )
    try:
        assert socket.getsubprotocol() == "chat"
        socket.send("hello")
        assert socket.recv() == "echo:hello"
        socket.send_binary(b"\x00\x01")
        assert socket.recv() == b"echo:\x00\x01"
    finally:
        socket.close()


def test_service_proxy_reaches_an_endpoint_and_503_without_one(
    server: ServerProcess, api_client: k8s.ApiClient, namespace: str, host_backend: Backend,
) -> None:
    core = k8s.CoreV1Api(api_client)
    _service(core, namespace, host_backend, with_endpoints=False)
    path = f"/api/v1/namespaces/{namespace}/services/svc:http/proxy/status?full=1"
    status, _, body = _admin_request(server, "GET", path)
    assert (status, json.loads(body)) == (404, {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": 'endpoints "svc" not found', "reason": "NotFound",
        "details": {"name": "svc", "kind": "endpoints"}, "code": 404,
    })
    core.create_namespaced_endpoints(namespace, k8s.V1Endpoints(metadata=k8s.V1ObjectMeta(name="svc")))
    status, _, body = _admin_request(server, "GET", path)
    assert (status, json.loads(body)["message"], json.loads(body)["reason"]) == (
        503, 'no endpoints available for service "svc"', "ServiceUnavailable")
    core.delete_namespaced_endpoints("svc", namespace)
    core.delete_namespaced_service("svc", namespace)
    _service(core, namespace, host_backend, with_endpoints=True)
    status, headers, body = _admin_request(server, "GET", path)
    assert (status, json.loads(body)["target"]) == (200, "/status?full=1")
    assert headers["content-security-policy"] == "sandbox"
    answer = core.connect_get_namespaced_service_proxy_with_path("svc:8080", namespace, "via/client",
                                                                 _preload_content=False)
    assert json.loads(answer.data)["target"] == "/via/client"


def test_kubectl_proxy_in_front_of_the_server(
    server: ServerProcess, api_client: k8s.ApiClient, namespace: str, host_backend: Backend, kubectl: Kubectl,
) -> None:
    _service(k8s.CoreV1Api(api_client), namespace, host_backend, with_endpoints=True)
    port = free_port()
    with kubectl.stream("proxy", f"--port={port}") as proxy:
        assert "Starting to serve on" in proxy.next_line(timeout=20)
        url = f"http://127.0.0.1:{port}/api/v1/namespaces/{namespace}/services/svc:8080/proxy/page?q=1"
        deadline = time.monotonic() + 10
        while True:
            try:
                with urllib.request.urlopen(url, timeout=10) as response:
                    echo = json.loads(response.read())
                    policy = response.headers["Content-Security-Policy"]
                break
            except ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
    assert (echo["method"], echo["target"], policy) == ("GET", "/page?q=1", "sandbox")
