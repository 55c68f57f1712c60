"""The aggregation layer against a real extension server: a second Pilothouse serving `node.k8s.io/v1` (which the
main server disables), registered through a Service, its Endpoints and an APIService.

The main server (SQLite, then etcd) runs with `--enable-aggregator-routing=true` and presents kubeadm's
`front-proxy-client` certificate; the extension trusts that CA for X-Remote-* headers, and serves a certificate
for `api.ext.svc` signed by its own CA (the APIService's caBundle). Its RBAC knows only system:masters, so what
it allows or forbids shows which user the main server forwarded.
"""
from __future__ import annotations

import base64
import json
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from apiserver.server.config import default_advertise_address
from apiserver.server.pki import (
    CertKeyPair,
    ensure_pki,
    issue_ca,
    issue_serving_certificate,
    load_certificates,
    load_private_key,
    private_key_pem,
    serving_sans,
)
from tests.e2e.conftest import BACKENDS
from tests.e2e.test_watch_websocket import _open_websocket, _read_frame
from tests.support.kubectl import Kubectl
from tests.support.server import ServerProcess

pytestmark = pytest.mark.slow

APISERVICES = "/apis/apiregistration.k8s.io/v1/apiservices"
APISERVICE = "v1.node.k8s.io"
RUNTIME_CLASSES = "/apis/node.k8s.io/v1/runtimeclasses"
AGGREGATED = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
NAMESPACE, SERVICE = "ext", "api"
DEADLINE = 40.0


@pytest.fixture(scope="module")
def front_proxy_ca(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One front-proxy CA for every main server of the module (the extension trusts it)."""
    directory = tmp_path_factory.mktemp("front-proxy")
    ca = issue_ca("front-proxy-ca")
    assert ca.key is not None
    (directory / "front-proxy-ca.crt").write_bytes(ca.cert.public_bytes(Encoding.PEM))
    (directory / "front-proxy-ca.key").write_bytes(private_key_pem(ca.key))
    return directory


@pytest.fixture(scope="module")
def extension(tmp_path_factory: pytest.TempPathFactory, front_proxy_ca: Path) -> Iterator[ServerProcess]:
    """The extension server, on every interface (Endpoints may not name loopback addresses)."""
    data_dir = tmp_path_factory.mktemp("extension") / "data"
    pki = data_dir / "pki"
    ensure_pki(pki, advertise_address="127.0.0.1")
    ca = CertKeyPair(load_certificates(pki / "ca.crt")[0], load_private_key(pki / "ca.key"))
    names = [*serving_sans("127.0.0.1", "localhost"), x509.DNSName(f"{SERVICE}.{NAMESPACE}.svc")]
    serving = issue_serving_certificate(ca, names)
    assert serving.key is not None
    (pki / "apiserver.crt").write_bytes(serving.cert.public_bytes(Encoding.PEM))
    (pki / "apiserver.key").write_bytes(private_key_pem(serving.key))
    process = ServerProcess(data_dir, extra_args=[
        "--bind-address", "0.0.0.0",
        "--requestheader-client-ca-file", str(front_proxy_ca / "front-proxy-ca.crt"),
        "--requestheader-allowed-names", "front-proxy-client",
        "--requestheader-username-headers", "X-Remote-User",
        "--requestheader-group-headers", "X-Remote-Group",
        "--requestheader-extra-headers-prefix", "X-Remote-Extra-",
    ])
    with process:
        yield process


@pytest.fixture(scope="module", params=BACKENDS)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
           front_proxy_ca: Path) -> Iterator[ServerProcess]:
    """The main server (replaces conftest's): node.k8s.io disabled, aggregator routing on, a 1 s resync."""
    data_dir = tmp_path_factory.mktemp(f"aggregator-{request.param}") / "data"
    (data_dir / "pki").mkdir(parents=True, mode=0o700)
    for name in ("front-proxy-ca.crt", "front-proxy-ca.key"):
        shutil.copy(front_proxy_ca / name, data_dir / "pki" / name)
    extra = ["--runtime-config", "node.k8s.io/v1=false", "--enable-aggregator-routing=true",
             "--aggregator-availability-resync", "1s"]
    if request.param == "etcd3":
        etcd = request.getfixturevalue("etcd")
        process = ServerProcess(data_dir, storage_backend="etcd3", etcd_servers=etcd.url,
                                extra_args=[*extra, "--etcd-prefix", f"/e2e-{uuid.uuid4().hex[:8]}"])
    else:
        process = ServerProcess(data_dir, extra_args=extra)
    with process:
        yield process


def _call(server: ServerProcess, method: str, path: str, body: Any = None,
          headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    data = json.dumps(body).encode() if body is not None else None
    sent = {"Content-Type": "application/json", **(headers or {})} if data else dict(headers or {})
    return server.request(method, path, client_cert=True, body=data, headers=sent)


def _json(server: ServerProcess, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
    status, _, answer = _call(server, method, path, body)
    assert status == expect, answer
    return json.loads(answer)


def _wait_for(check: Callable[[], Any], what: str, deadline: float = DEADLINE) -> Any:
    end = time.monotonic() + deadline
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def _available(server: ServerProcess) -> dict[str, Any] | None:
    status, _, body = _call(server, "GET", f"{APISERVICES}/{APISERVICE}")
    if status != 200:
        return None
    conditions = (json.loads(body).get("status") or {}).get("conditions") or []
    return next((condition for condition in conditions if condition["type"] == "Available"), None)


def _condition_is(server: ServerProcess, status: str, reason: str) -> Callable[[], dict[str, Any] | None]:
    def check() -> dict[str, Any] | None:
        condition = _available(server)
        return condition if condition and (condition["status"], condition["reason"]) == (status, reason) else None
    return check


@pytest.fixture(scope="module")
def registered(server: ServerProcess, extension: ServerProcess) -> str:
    """The Service, Endpoints and APIService of the extension on the main server; waits until Available.
    Returns the address the extension is reached at."""
    host = default_advertise_address("0.0.0.0")
    _json(server, "POST", "/api/v1/namespaces", {"metadata": {"name": NAMESPACE}}, expect=201)
    _json(server, "POST", f"/api/v1/namespaces/{NAMESPACE}/services", {
        "metadata": {"name": SERVICE}, "spec": {"ports": [{"port": 443, "targetPort": extension.port}]}}, expect=201)
    _json(server, "POST", f"/api/v1/namespaces/{NAMESPACE}/endpoints", _endpoints(host, extension.port), expect=201)
    _json(server, "POST", APISERVICES, {
        "apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService", "metadata": {"name": APISERVICE},
        "spec": {"group": "node.k8s.io", "version": "v1", "groupPriorityMinimum": 16300, "versionPriority": 15,
                 "service": {"namespace": NAMESPACE, "name": SERVICE},
                 "caBundle": base64.b64encode(extension.ca_file.read_bytes()).decode()}}, expect=201)
    _wait_for(_condition_is(server, "True", "Passed"), "the APIService to become available")
    return f"{host}:{extension.port}"


def _endpoints(host: str, port: int) -> dict[str, Any]:
    return {"metadata": {"name": SERVICE}, "subsets": [{"addresses": [{"ip": host}], "ports": [{"port": port}]}]}


def test_remote_resources_are_served_through_the_main_server(
    server: ServerProcess, registered: str, kubectl: Kubectl
) -> None:
    name = f"gvisor-{server.port}"  # the extension outlives each main server of the module
    created = _json(server, "POST", RUNTIME_CLASSES, {
        "apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass", "metadata": {"name": name}, "handler": "runsc"},
        expect=201)
    assert created["handler"] == "runsc"
    result = kubectl.run("get", "runtimeclasses", name)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[0].split() == ["NAME", "HANDLER", "AGE"]
    assert result.stdout.split("\n")[1].split()[:2] == [name, "runsc"]


def test_the_extension_sees_the_forwarded_user(server: ServerProcess, registered: str) -> None:
    # alice may list RuntimeClasses on the main server, which lets the request through; the extension knows only
    # system:masters, so its refusal names the user the main server forwarded.
    _json(server, "POST", "/apis/rbac.authorization.k8s.io/v1/clusterroles", {
        "metadata": {"name": "runtimeclass-reader"},
        "rules": [{"apiGroups": ["node.k8s.io"], "resources": ["runtimeclasses"], "verbs": ["list"]}]}, expect=201)
    _json(server, "POST", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", {
        "metadata": {"name": "alice-reads-runtimeclasses"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "runtimeclass-reader"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "alice"}]}, expect=201)
    status, _, body = _call(server, "GET", RUNTIME_CLASSES, headers={"Impersonate-User": "alice"})
    assert status == 403, body
    assert json.loads(body)["message"] == (
        'runtimeclasses.node.k8s.io is forbidden: User "alice" cannot list resource "runtimeclasses" in API '
        'group "node.k8s.io" at the cluster scope')


def test_discovery_lists_the_remote_group(server: ServerProcess, registered: str, kubectl: Kubectl) -> None:
    groups = _json(server, "GET", "/apis")["groups"]
    node = next(group for group in groups if group["name"] == "node.k8s.io")
    assert node["preferredVersion"] == {"groupVersion": "node.k8s.io/v1", "version": "v1"}
    assert _json(server, "GET", "/apis/node.k8s.io")["versions"] == [
        {"groupVersion": "node.k8s.io/v1", "version": "v1"}]
    resources = _json(server, "GET", "/apis/node.k8s.io/v1")["resources"]
    assert [resource["name"] for resource in resources] == ["runtimeclasses"]
    result = kubectl.run("api-resources", "--api-group=node.k8s.io", "--no-headers")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["runtimeclasses", "node.k8s.io/v1", "false", "RuntimeClass"]


def test_openapi_v3_lists_and_proxies_the_remote_group_version(
    server: ServerProcess, extension: ServerProcess, registered: str, kubectl: Kubectl
) -> None:
    key = "apis/node.k8s.io/v1"
    remote_entry = _json(extension, "GET", "/openapi/v3")["paths"][key]
    paths = _wait_for(lambda: key in (index := _json(server, "GET", "/openapi/v3")["paths"]) and index,
                      "the remote group-version in /openapi/v3")
    assert paths[key] == remote_entry
    assert paths["api/v1"]["serverRelativeURL"].startswith("/openapi/v3/api/v1?hash=")
    status, headers, body = _call(server, "GET", remote_entry["serverRelativeURL"])
    assert status == 200, body
    document = json.loads(body)
    assert "/apis/node.k8s.io/v1/runtimeclasses" in document["paths"]
    assert headers["etag"] == '"' + remote_entry["serverRelativeURL"].rpartition("hash=")[2] + '"'
    result = kubectl.run("explain", "runtimeclasses.handler")
    assert result.returncode == 0, result.stderr
    header = "GROUP:      node.k8s.io\nKIND:       RuntimeClass\nVERSION:    v1\n\nFIELD: handler <string>"
    assert header in result.stdout
    assert "handler specifies the underlying runtime and configuration" in result.stdout
    # kubectl's validation finds the remote kind's schema too (it used to need --validate=false).
    name = f"validated-{uuid.uuid4().hex[:6]}"  # the extension outlives one backend's run
    manifest = f"apiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata: {{name: {name}}}\nhandler: runsc\n"
    applied = kubectl.run("apply", "-f", "-", stdin=manifest)
    assert (applied.returncode, applied.stdout) == (0, f"runtimeclass.node.k8s.io/{name} created\n"), applied.stderr
    typo = kubectl.run("apply", "-f", "-", stdin=manifest.replace("handler:", "handlr:"))
    assert typo.returncode == 1 and 'unknown field "handlr"' in typo.stderr, typo.stderr


def test_openapi_v2_merges_the_remote_paths_and_definitions(server: ServerProcess, registered: str) -> None:
    def merged() -> Any:
        swagger = _json(server, "GET", "/openapi/v2")
        return swagger if "/apis/node.k8s.io/v1/runtimeclasses" in swagger["paths"] else None

    swagger = _wait_for(merged, "the remote paths in /openapi/v2")
    assert "/apis/node.k8s.io/v1/runtimeclasses/{name}" in swagger["paths"]
    assert not any(path.startswith("/apis/node.k8s.io/v1beta1") for path in swagger["paths"])
    assert swagger["definitions"]["io.k8s.api.node.v1.RuntimeClass"]["x-kubernetes-group-version-kind"] == [
        {"group": "node.k8s.io", "kind": "RuntimeClass", "version": "v1"}]
    assert "/api/v1/namespaces/{namespace}/pods" in swagger["paths"]
    assert list(swagger["paths"]) == sorted(swagger["paths"])


def test_root_lists_the_remote_group_paths(server: ServerProcess, registered: str) -> None:
    paths = _json(server, "GET", "/")["paths"]
    assert "/apis/node.k8s.io" in paths and "/apis/node.k8s.io/v1" in paths
    assert paths == sorted(paths)


def test_a_users_local_api_service_of_an_unserved_group_version(server: ServerProcess, kubectl: Kubectl) -> None:
    name = "v1.local.example.com"
    _json(server, "POST", APISERVICES, {
        "apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService", "metadata": {"name": name},
        "spec": {"group": "local.example.com", "version": "v1", "groupPriorityMinimum": 100,
                 "versionPriority": 10}}, expect=201)
    try:
        def local_condition() -> Any:
            conditions = (_json(server, "GET", f"{APISERVICES}/{name}").get("status") or {}).get("conditions")
            return conditions
        assert _wait_for(local_condition, "the Local condition")[0] | {"lastTransitionTime": ""} == {
            "type": "Available", "status": "True", "lastTransitionTime": "", "reason": "Local",
            "message": "Local APIServices are always available"}
        groups = _wait_for(lambda: [group for group in _json(server, "GET", "/apis")["groups"]
                                    if group["name"] == "local.example.com"], "the group in /apis")
        assert groups[0]["versions"] == [{"groupVersion": "local.example.com/v1", "version": "v1"}]
        assert _json(server, "GET", "/apis/local.example.com")["preferredVersion"] == {
            "groupVersion": "local.example.com/v1", "version": "v1"}
        status, _, body = _call(server, "GET", "/apis/local.example.com/v1")
        assert (status, json.loads(body)["message"]) == (404, "the server could not find the requested resource")
        aggregated = json.loads(_call(server, "GET", "/apis", headers={"Accept": AGGREGATED})[2])
        assert "local.example.com" not in [item["metadata"]["name"] for item in aggregated["items"]]
        assert "/apis/local.example.com/v1" in _json(server, "GET", "/")["paths"]
    finally:
        _call(server, "DELETE", f"{APISERVICES}/{name}")
    _wait_for(lambda: "local.example.com" not in [group["name"] for group in _json(server, "GET", "/apis")["groups"]],
              "the group to leave /apis")


def test_kubectl_get_apiservices_prints_local_and_remote(
    server: ServerProcess, registered: str, kubectl: Kubectl
) -> None:
    result = kubectl.run("get", "apiservices")
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line.split()[1:3] for line in result.stdout.splitlines()[1:]}
    assert rows["v1.apps"] == ["Local", "True"]
    assert rows["v1."] == ["Local", "True"]
    assert rows[APISERVICE] == [f"{NAMESPACE}/{SERVICE}", "True"]
    assert "v1.node.k8s.io" in rows and "v2.autoscaling" in rows


def test_missing_endpoints_make_the_apiservice_unavailable(
    server: ServerProcess, extension: ServerProcess, registered: str, kubectl: Kubectl
) -> None:
    endpoints = f"/api/v1/namespaces/{NAMESPACE}/endpoints/{SERVICE}"
    current = _json(server, "GET", endpoints)
    _json(server, "PUT", endpoints, {**current, "subsets": []})
    condition = _wait_for(_condition_is(server, "False", "MissingEndpoints"), "MissingEndpoints")
    assert condition["message"] == (
        f'endpoints for service/{SERVICE} in "{NAMESPACE}" have no addresses with port name ""')
    result = kubectl.run("get", "apiservices", APISERVICE, "--no-headers")
    assert result.stdout.split()[:3] == [APISERVICE, f"{NAMESPACE}/{SERVICE}", "False"]
    assert "(MissingEndpoints)" in result.stdout
    status, _, body = _call(server, "GET", RUNTIME_CLASSES)
    assert (status, body) == (503, b"service unavailable\n")
    restored = _json(server, "GET", endpoints)
    host, _, port = registered.rpartition(":")
    _json(server, "PUT", endpoints, {**restored, **_endpoints(host, int(port))})
    _wait_for(_condition_is(server, "True", "Passed"), "the APIService to be available again")


def test_a_stopped_extension_fails_the_discovery_check_and_turns_stale(
    server: ServerProcess, extension: ServerProcess, registered: str
) -> None:
    extension.stop()
    try:
        condition = _wait_for(_condition_is(server, "False", "FailedDiscoveryCheck"), "FailedDiscoveryCheck")
        url = f"https://{registered}/apis/node.k8s.io/v1"
        assert condition["message"] == (
            f'failing or missing response from {url}: Get "{url}": dial tcp {registered}: connect: connection refused')
        assert _call(server, "GET", RUNTIME_CLASSES)[0] == 503
        status, _, body = _call(server, "GET", "/apis", headers={"Accept": AGGREGATED})
        assert status == 200
        node = next(item for item in json.loads(body)["items"] if item["metadata"]["name"] == "node.k8s.io")
        assert node["versions"][0]["freshness"] == "Stale"
        assert [resource["resource"] for resource in node["versions"][0]["resources"]] == ["runtimeclasses"]
    finally:
        extension.start()
    _wait_for(_condition_is(server, "True", "Passed"), "the APIService to recover")
    status, _, body = _call(server, "GET", "/apis", headers={"Accept": AGGREGATED})
    node = next(item for item in json.loads(body)["items"] if item["metadata"]["name"] == "node.k8s.io")
    assert node["versions"][0]["freshness"] == "Current"


def test_a_watch_streams_through_the_proxy(server: ServerProcess, registered: str) -> None:
    name = f"kata-{server.port}"
    _json(server, "POST", RUNTIME_CLASSES, {
        "apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass", "metadata": {"name": name}, "handler": "kata"},
        expect=201)
    status, _, body = _call(server, "GET", f"{RUNTIME_CLASSES}?watch=true&timeoutSeconds=1&fieldSelector="
                                              f"metadata.name%3D{name}")
    assert status == 200
    events = [json.loads(line) for line in body.splitlines() if line.strip()]
    assert [(event["type"], event["object"]["metadata"]["name"]) for event in events] == [("ADDED", name)]



def test_a_watch_over_a_websocket_is_relayed(server: ServerProcess, extension: ServerProcess, registered: str) -> None:
    # The extension authorizes kubernetes-admin only through its group system:masters, which reaches it as the
    # second of two X-Remote-Group headers of the WebSocket handshake (server/websocket_headers.py).
    name = f"ws-{server.port}"
    path = f"{RUNTIME_CLASSES}?watch=true&fieldSelector=metadata.name%3D{name}"
    connection, head = _open_websocket(server, path, origin="https://console.example")
    try:
        assert head.startswith(b"HTTP/1.1 101"), head
        _json(server, "POST", RUNTIME_CLASSES, {
            "apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass", "metadata": {"name": name}, "handler": "ws"},
            expect=201)
        opcode, payload = _read_frame(connection)
        assert opcode == 0x1
        event = json.loads(payload)
        assert (event["type"], event["object"]["metadata"]["name"]) == ("ADDED", name)
    finally:
        connection.close()


def test_crd_group_versions_get_local_api_services_while_served(server: ServerProcess) -> None:
    crds = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
    schema = {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": "widgets.stable.example.com"},
           "spec": {"group": "stable.example.com", "scope": "Namespaced",
                    "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
                    "versions": [{"name": "v1", "served": True, "storage": True, "schema": schema},
                                 {"name": "v1beta1", "served": False, "storage": False, "schema": schema}]}}
    _json(server, "POST", crds, crd, expect=201)

    def registered() -> Any:
        status, _, body = _call(server, "GET", f"{APISERVICES}/v1.stable.example.com")
        return json.loads(body) if status == 200 and (json.loads(body).get("status") or {}).get("conditions") else None

    api_service = _wait_for(registered, "the CRD's APIService")
    assert api_service["metadata"]["labels"] == {"kube-aggregator.kubernetes.io/automanaged": "true"}
    assert api_service["spec"] == {"group": "stable.example.com", "version": "v1", "groupPriorityMinimum": 1000,
                                   "versionPriority": 100}
    assert [(c["status"], c["reason"]) for c in api_service["status"]["conditions"]] == [("True", "Local")]
    assert _call(server, "GET", f"{APISERVICES}/v1beta1.stable.example.com")[0] == 404
    _call(server, "DELETE", f"{crds}/widgets.stable.example.com")
    _wait_for(lambda: _call(server, "GET", f"{APISERVICES}/v1.stable.example.com")[0] == 404,
              "the CRD's APIService to go")
