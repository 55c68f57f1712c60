"""The objects a server creates at start: the `kubernetes` Service with its Endpoints and EndpointSlice, the
service ranges, the system PriorityClasses, `cluster-info` and `extension-apiserver-authentication`; their
post-start hooks in /readyz?verbose; and a second start on the same storage changing nothing it need not."""
from __future__ import annotations

import base64
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import yaml

from apiserver.registry.store import ResourceStore
from apiserver.server.assembly import ApiServer, build_server
from apiserver.server.config import ServerConfig
from apiserver.server.pki import ensure_pki

ROOT = Path(__file__).resolve().parents[2]
HOOKS = ("start-service-ip-repair-controllers", "bootstrap-controller", "scheduling/bootstrap-system-priority-classes",
         "start-cluster-authentication-info-controller", "bootstrap-cluster-info")


@asynccontextmanager
async def started(config: ServerConfig) -> AsyncIterator[ApiServer]:
    server = build_server(config)
    await server.lifecycle.start()
    try:
        yield server
    finally:
        await server.lifecycle.stop()


async def get(server: ApiServer, group: str, plural: str, namespace: str, name: str) -> dict[str, Any]:
    store = server.lifecycle.registry.store_for(group, "v1", plural)  # type: ignore[attr-defined]
    assert isinstance(store, ResourceStore)
    found: dict[str, Any] = (await store.get(namespace, name)).obj
    return found


def config(tmp_path: Path, **changes: Any) -> ServerConfig:
    return ServerConfig(data_dir=tmp_path, storage_backend="sqlite", secure_port=7443, advertise_address="10.1.2.3",
                        etcd_compaction_interval=0, **changes)


async def test_the_kubernetes_service_and_its_endpoints(tmp_path: Path) -> None:
    async with started(config(tmp_path)) as server:
        service = await get(server, "", "services", "default", "kubernetes")
        assert service["metadata"]["labels"] == {"component": "apiserver", "provider": "kubernetes"}
        assert service["spec"] == {
            "ports": [{"name": "https", "protocol": "TCP", "port": 443, "targetPort": 7443}],
            "clusterIP": "10.96.0.1", "clusterIPs": ["10.96.0.1"], "type": "ClusterIP", "sessionAffinity": "None",
            "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack", "internalTrafficPolicy": "Cluster",
        }
        endpoints = await get(server, "", "endpoints", "default", "kubernetes")
        assert endpoints["metadata"]["labels"] == {"endpointslice.kubernetes.io/skip-mirror": "true"}
        assert endpoints["subsets"] == [{"addresses": [{"ip": "10.1.2.3"}],
                                         "ports": [{"name": "https", "port": 7443, "protocol": "TCP"}]}]
        endpoint_slice = await get(server, "discovery.k8s.io", "endpointslices", "default", "kubernetes")
        assert endpoint_slice["metadata"]["labels"] == {"kubernetes.io/service-name": "kubernetes"}
        assert (endpoint_slice["addressType"], endpoint_slice["endpoints"], endpoint_slice["ports"]) == (
            "IPv4", [{"addresses": ["10.1.2.3"], "conditions": {"ready": True}}],
            [{"name": "https", "port": 7443, "protocol": "TCP"}])
        ranges = await server.lifecycle.storage.get().list("/registry/ranges/")
        stored = {kv.key: orjson.loads(kv.value) for kv in ranges.items}
        assert stored["/registry/ranges/serviceips"]["range"] == "10.96.0.0/12"
        assert base64.b64decode(stored["/registry/ranges/serviceips"]["data"]) == b"\x01"  # 10.96.0.1 only
        assert stored["/registry/ranges/servicenodeports"]["range"] == "30000-32767"


async def test_priority_classes_and_published_authentication(tmp_path: Path) -> None:
    ensure_pki(tmp_path / "pki", advertise_address="127.0.0.1")
    async with started(config(tmp_path)) as server:
        node = await get(server, "scheduling.k8s.io", "priorityclasses", "", "system-node-critical")
        cluster = await get(server, "scheduling.k8s.io", "priorityclasses", "", "system-cluster-critical")
        assert (node["value"], node["description"], node["preemptionPolicy"]) == (
            2000001000, "Used for system critical pods that must not be moved from their current node.",
            "PreemptLowerPriority")
        assert (cluster["value"], cluster["description"]) == (
            2000000000, "Used for system critical pods that must run in the cluster, but can be moved to another node "
                        "if necessary.")
        ca = (tmp_path / "pki" / "ca.crt").read_text()
        authentication = await get(server, "", "configmaps", "kube-system", "extension-apiserver-authentication")
        assert authentication["data"] == {"client-ca-file": ca}
        cluster_info = await get(server, "", "configmaps", "kube-public", "cluster-info")
        kubeconfig = yaml.safe_load(cluster_info["data"]["kubeconfig"])
        assert kubeconfig == {
            "apiVersion": "v1", "kind": "Config", "clusters": [{"name": "", "cluster": {
                "certificate-authority-data": base64.b64encode(ca.encode()).decode(),
                "server": "https://10.1.2.3:7443"}}],
            "contexts": None, "current-context": "", "preferences": {}, "users": None,
        }
        role = await get(server, "rbac.authorization.k8s.io", "roles", "kube-public",
                         "kubeadm:bootstrap-signer-clusterinfo")
        assert role["rules"] == [{"verbs": ["get"], "apiGroups": [""], "resources": ["configmaps"],
                                  "resourceNames": ["cluster-info"]}]
        binding = await get(server, "rbac.authorization.k8s.io", "rolebindings", "kube-public",
                            "kubeadm:bootstrap-signer-clusterinfo")
        assert binding["subjects"] == [{"kind": "User", "apiGroup": "rbac.authorization.k8s.io",
                                        "name": "system:anonymous"}]


async def test_request_header_settings_are_published(tmp_path: Path) -> None:
    ensure_pki(tmp_path / "pki", advertise_address="127.0.0.1")
    front_proxy_ca = tmp_path / "pki" / "ca.crt"
    settings = config(tmp_path, requestheader_client_ca_file=str(front_proxy_ca),
                      requestheader_allowed_names=("front-proxy-client",),
                      requestheader_username_headers=("X-Remote-User",),
                      requestheader_group_headers=("X-Remote-Group",),
                      requestheader_extra_headers_prefix=("X-Remote-Extra-",))
    async with started(settings) as server:
        data = (await get(server, "", "configmaps", "kube-system", "extension-apiserver-authentication"))["data"]
        assert {key: value for key, value in data.items() if not key.endswith("-file")} == {
            "requestheader-allowed-names": '["front-proxy-client"]',
            "requestheader-extra-headers-prefix": '["X-Remote-Extra-"]',
            "requestheader-group-headers": '["X-Remote-Group"]',
            "requestheader-username-headers": '["X-Remote-User"]',
        }
        assert data["requestheader-client-ca-file"] == front_proxy_ca.read_text()


async def test_hooks_are_reported_by_readyz(tmp_path: Path) -> None:
    async with started(config(tmp_path)) as server:
        transport = httpx.ASGITransport(app=server.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://apiserver") as client:
            lines = (await client.get("/readyz", params={"verbose": ""})).text.splitlines()
    for hook in HOOKS:
        assert f"[+]poststarthook/{hook} ok" in lines


async def test_a_second_start_is_idempotent(tmp_path: Path) -> None:
    async with started(config(tmp_path)) as server:
        first = {name: await get(server, group, plural, namespace, name) for group, plural, namespace, name in (
            ("", "services", "default", "kubernetes"),
            ("scheduling.k8s.io", "priorityclasses", "", "system-node-critical"),
            ("", "configmaps", "kube-public", "cluster-info"),
        )}
        services = server.lifecycle.registry.store_for("", "v1", "services")  # type: ignore[attr-defined]
    async with started(config(tmp_path)) as server:
        for name, before in first.items():
            group, plural, namespace = {"kubernetes": ("", "services", "default"),
                                        "system-node-critical": ("scheduling.k8s.io", "priorityclasses", ""),
                                        "cluster-info": ("", "configmaps", "kube-public")}[name]
            after = await get(server, group, plural, namespace, name)
            assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"], name
        store = server.lifecycle.registry.store_for("", "v1", "services")  # type: ignore[attr-defined]
        assert store is not services
        ranges = await server.lifecycle.storage.get().list("/registry/ranges/serviceips")
        assert base64.b64decode(orjson.loads(ranges.items[0].value)["data"]) == b"\x01"


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["--service-node-port-range", "abc"],
         'Error: invalid argument "abc" for "--service-node-port-range" flag: strconv.Atoi: parsing "abc": invalid '
         "syntax"),
        (["--service-cluster-ip-range", "10.0.0.0/8"],
         "Error: specified --service-cluster-ip-range is too large; for 32-bit addresses, the mask must be >= 12"),
    ],
    ids=["node-port-range", "cluster-ip-range"],
)
def test_malformed_service_ranges_stop_the_server_like_other_bad_flags(args: list[str], line: str) -> None:
    result = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "python"), "manage.py", "serve", *args], cwd=ROOT, capture_output=True,
        text=True, timeout=60, env={"PATH": "/usr/bin:/bin", "PILOTHOUSE_SECRET_KEY": "tests-only",
                                    "DJANGO_SETTINGS_MODULE": "apiserver.settings"},
    )
    assert (result.returncode, result.stderr, result.stdout) == (2, line + "\n", "")
