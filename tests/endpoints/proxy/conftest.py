"""Fixtures of the proxy endpoint tests: a backend on loopback and one on the host's own address, and the
in-memory resource endpoints with the proxy handlers (loopback targets allowed or not)."""
from __future__ import annotations

import dataclasses
import socket
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from apiserver.endpoints.proxy import proxy_handlers
from apiserver.endpoints.resources import ResourceEndpoints
from tests.endpoints.proxy.backend import Backend, running_backend
from tests.support.resource_app import ResourceApp, resource_app

MERGE = {"content-type": "application/merge-patch+json"}


def host_address() -> str:
    """The host's own non-loopback IPv4 address (the source address of its default route)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.1", 9))
        address = str(probe.getsockname()[0])
    assert not address.startswith("127."), "the tests need a non-loopback address"
    return address


@pytest.fixture(scope="module")
def backend() -> Iterator[Backend]:
    with running_backend("127.0.0.1") as server:
        yield server


@pytest.fixture(scope="module")
def host_backend() -> Iterator[Backend]:
    with running_backend(host_address()) as server:
        yield server


async def _resolve(host: str) -> list[str]:
    names = {"loopback.test": ["127.0.0.1"], "mixed.test": ["192.0.2.10", "169.254.1.1"]}
    if host in names:
        return names[host]
    if host[0].isdigit():
        return [host]
    raise OSError(-2, "Name or service not known")


def _with_proxy(app: ResourceApp, *, allow_loopback: bool) -> ResourceApp:
    server = dataclasses.replace(
        app.app.server, connect=proxy_handlers(allow_loopback=allow_loopback, resolve_host=_resolve),
    )
    return ResourceApp(ResourceEndpoints(server), app.registry, app.storage)


@pytest.fixture
async def api() -> AsyncIterator[ResourceApp]:
    async with resource_app() as app:
        yield _with_proxy(app, allow_loopback=True)


@pytest.fixture
async def strict_api() -> AsyncIterator[ResourceApp]:
    async with resource_app() as app:
        yield _with_proxy(app, allow_loopback=False)


async def make_pod(api: ResourceApp, name: str, ip: str | None, port: int | None = None) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "c", "image": "busybox"}
    if port is not None:
        container["ports"] = [{"containerPort": port}]
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": {"containers": [container]}}
    created = await api.request("POST", "/api/v1/namespaces/default/pods", pod)
    assert created.status == 201, created.body
    if ip is not None:
        status = {"status": {"podIP": ip, "podIPs": [{"ip": ip}]}}
        patched = await api.request("PATCH", f"/api/v1/namespaces/default/pods/{name}/status", status,
                                    headers=MERGE)
        assert patched.status == 200, patched.body
    return created.json()


async def make_service(api: ResourceApp, name: str, ports: list[dict[str, Any]]) -> None:
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": {"ports": ports}}
    created = await api.request("POST", "/api/v1/namespaces/default/services", service)
    assert created.status == 201, created.body


async def make_endpoints(api: ResourceApp, name: str, subsets: list[dict[str, Any]]) -> None:
    endpoints = {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": name}, "subsets": subsets}
    created = await api.request("POST", "/api/v1/namespaces/default/endpoints", endpoints)
    assert created.status == 201, created.body


async def make_node(api: ResourceApp, name: str, addresses: list[dict[str, str]], kubelet_port: int = 0) -> None:
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}}
    created = await api.request("POST", "/api/v1/nodes", node)
    assert created.status == 201, created.body
    status: dict[str, Any] = {"addresses": addresses}
    if kubelet_port:
        status["daemonEndpoints"] = {"kubeletEndpoint": {"Port": kubelet_port}}
    patched = await api.request("PATCH", f"/api/v1/nodes/{name}/status", {"status": status}, headers=MERGE)
    assert patched.status == 200, patched.body
