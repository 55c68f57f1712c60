"""The OpenAPI documents as the real kubectl 1.32 uses them: explain, strict-validation detection, apply's patch.

Served over plain HTTP with discovery, /version and a stub for resource requests that records what kubectl
sends (the resource endpoints themselves are tested elsewhere). Each test has its own HOME and cache directory.
"""
from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from apiserver.endpoints.discovery import build_discovery_routes
from apiserver.endpoints.health import HealthRegistry
from apiserver.endpoints.openapi import build_openapi_routes
from apiserver.endpoints.router import build_router
from apiserver.endpoints.version import build_version_info
from apiserver.filters.chain import build_chain
from apiserver.http.asgi import Receive, Scope, Send
from apiserver.http.request import Request
from apiserver.http.responses import send_json
from apiserver.registry.catalog import CatalogHolder, ResourceCatalog, builtin_specs
from tests.http.asgi_harness import serve_over_http
from tests.support.kubectl import kubectl_binary


@dataclass
class Recorded:
    method: str
    path: str
    query: str
    content_type: str
    body: bytes


@dataclass
class StubResources:
    """Answers resource requests from a dict of objects by path; records every request."""

    objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        body = await request.body()
        self.requests.append(Recorded(request.method, request.path, scope["query_string"].decode(),
                                      request.header("content-type") or "", body))
        if request.method == "POST":
            return await send_json(send, 201, json.loads(body))
        stored = self.objects.get(request.path)
        if stored is None:
            name = request.path.rsplit("/", 1)[-1]
            return await send_json(send, 404, {
                "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": f'pods "{name}" not found', "reason": "NotFound",
                "details": {"name": name, "kind": "pods"}, "code": 404})
        await send_json(send, 200, stored)

    def paths(self) -> list[str]:
        return [f"{request.method} {request.path}" for request in self.requests]


@asynccontextmanager
async def _server(resources: StubResources, seen: list[str]) -> AsyncIterator[str]:
    holder = CatalogHolder(ResourceCatalog(builtin_specs()))
    router = build_router(
        health=HealthRegistry(), version=build_version_info(), resources=resources,
        routes=[*build_discovery_routes(holder, server_address="10.0.0.1:6443"), *build_openapi_routes(holder)],
    )
    app = build_chain(router)

    async def recording(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["path"])
        await app(scope, receive, send)

    async with serve_over_http(recording) as url:
        yield url


async def _kubectl(url: str, home: Path, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
    env = {"HOME": str(home), "KUBECACHEDIR": str(home / "cache"), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    process = await asyncio.create_subprocess_exec(
        str(kubectl_binary()), "--server", url, *args, env=env, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(90):
        out, err = await process.communicate(stdin.encode() if stdin is not None else None)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_explain_prints_upstream_descriptions(tmp_path: Path) -> None:
    async with _server(StubResources(), []) as url:
        code, out, err = await _kubectl(url, tmp_path, "explain", "pod.spec.containers")
    assert (code, err) == (0, "")
    assert "KIND:       Pod\nVERSION:    v1\n\nFIELD: containers <[]Container>" in out
    assert "List of containers belonging to the pod. Containers cannot currently be" in out
    assert "  name\t<string> -required-\n    Name of the container specified as a DNS_LABEL." in out
    assert "  ports\t<[]ContainerPort>" in out


async def test_explain_recursive_walks_nested_references(tmp_path: Path) -> None:
    async with _server(StubResources(), []) as url:
        code, out, err = await _kubectl(url, tmp_path, "explain", "deployment.spec", "--recursive")
    assert (code, err) == (0, "")
    assert "GROUP:      apps\nKIND:       Deployment\nVERSION:    v1" in out
    assert "  template\t<PodTemplateSpec> -required-" in out
    assert "      containers\t<[]Container> -required-" in out
    assert "        image\t<string>" in out


POD = """apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
  - name: web
    image: nginx:1.27
"""
REVIEW = """apiVersion: authorization.k8s.io/v1
kind: SelfSubjectAccessReview
spec:
  resourceAttributes:
    verb: get
    resource: pods
"""


async def test_kubectl_detects_server_side_field_validation_for_every_kind(tmp_path: Path) -> None:
    resources, seen = StubResources(), []
    async with _server(resources, seen) as url:
        for manifest in (POD, REVIEW):
            code, _, err = await _kubectl(url, tmp_path, "create", "-f", "-", "-o", "name", stdin=manifest)
            assert code == 0, err
    posts = [request for request in resources.requests if request.method == "POST"]
    assert [request.path for request in posts] == [
        "/api/v1/namespaces/default/pods", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"]
    assert all("fieldValidation=Strict" in request.query for request in posts)
    assert "/openapi/v2" not in seen


async def test_client_side_apply_computes_its_strategic_patch_from_the_v3_schemas(tmp_path: Path) -> None:
    last_applied = {"apiVersion": "v1", "kind": "Pod", "metadata": {"annotations": {}, "name": "web",
                                                                     "namespace": "default"},
                    "spec": {"containers": [{"image": "nginx:1.26", "name": "web"},
                                            {"image": "busybox", "name": "sidecar"}]}}
    live = {**last_applied, "metadata": {
        "name": "web", "namespace": "default", "resourceVersion": "5", "uid": "u1",
        "annotations": {"kubectl.kubernetes.io/last-applied-configuration": json.dumps(last_applied) + "\n"}}}
    resources = StubResources({"/api/v1/namespaces/default/pods/web": live})
    async with _server(resources, []) as url:
        code, out, err = await _kubectl(url, tmp_path, "apply", "-f", "-", stdin=POD)
    assert code == 0, err
    assert out == "pod/web configured\n"
    assert "error calculating patch" not in err
    patch = next(request for request in resources.requests if request.method == "PATCH")
    assert patch.content_type == "application/strategic-merge-patch+json"
    assert "fieldValidation=Strict" in patch.query
    body = json.loads(patch.body)
    assert body["spec"]["$setElementOrder/containers"] == [{"name": "web"}]
    assert {"$patch": "delete", "name": "sidecar"} in body["spec"]["containers"]
    assert {"image": "nginx:1.27", "name": "web"} in body["spec"]["containers"]
