"""The root CA publisher in a started server: `kube-root-ca.crt` in every namespace, recreated and restored."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from apiserver.client.client import ApiClient, Resource
from apiserver.client.transports import InProcessTransport
from apiserver.controllers.rootcacertpublisher import RootCACertPublisher
from tests.controllers.test_serviceaccounts import ADMIN, NAMESPACES, eventually
from tests.server.security_harness import in_memory_server

CONFIG_MAPS = Resource("", "v1", "configmaps")
DESCRIPTION = ("Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints "
               "such as the internal service IP or kubernetes.default.svc. "
               "No other usage is guaranteed across distributions of Kubernetes clusters.")


async def test_every_namespace_gets_the_cluster_ca_bundle_and_keeps_it(tmp_path: Path) -> None:
    async with in_memory_server(tmp_path) as served:
        client = ApiClient(InProcessTransport(served.server.app, ADMIN))
        bundle = (served.pki.directory / "ca.crt").read_text()
        for namespace in ("default", "kube-system", "kube-public"):
            await eventually(lambda namespace=namespace: client.get(CONFIG_MAPS, "kube-root-ca.crt",
                                                                    namespace=namespace))
        await client.create(NAMESPACES, {"metadata": {"name": "fresh"}})
        published = await eventually(lambda: client.get(CONFIG_MAPS, "kube-root-ca.crt", namespace="fresh"))
        assert published["data"] == {"ca.crt": bundle}
        assert published["metadata"]["annotations"] == {"kubernetes.io/description": DESCRIPTION}

        await client.delete(CONFIG_MAPS, "kube-root-ca.crt", namespace="fresh")
        recreated = await eventually(lambda: client.get(CONFIG_MAPS, "kube-root-ca.crt", namespace="fresh"))
        assert recreated["metadata"]["uid"] != published["metadata"]["uid"]

        await client.patch(CONFIG_MAPS, "kube-root-ca.crt", {"data": {"ca.crt": "tampered", "extra": "x"},
                                                             "metadata": {"annotations": None}}, namespace="fresh")

        async def restored() -> dict[str, Any] | None:
            current = await client.get(CONFIG_MAPS, "kube-root-ca.crt", namespace="fresh")
            return current if current["data"] == {"ca.crt": bundle} else None

        current = await eventually(restored)
        assert current["metadata"]["annotations"] == {"kubernetes.io/description": DESCRIPTION}


def test_terminating_namespaces_and_other_config_maps_are_not_keys() -> None:
    publisher = RootCACertPublisher(b"pem")
    terminating = {"metadata": {"name": "going"}, "status": {"phase": "Terminating"}}
    assert publisher.keys_for(NAMESPACES, "MODIFIED", terminating) == []
    assert publisher.keys_for(NAMESPACES, "ADDED", {"metadata": {"name": "new"}}) == ["new"]
    other = {"metadata": {"name": "settings", "namespace": "x"}}
    assert publisher.keys_for(CONFIG_MAPS, "DELETED", other) == []
    ours = {"metadata": {"name": "kube-root-ca.crt", "namespace": "x"}}
    assert publisher.keys_for(CONFIG_MAPS, "DELETED", ours) == ["x"]
    assert RootCACertPublisher(b"").keys_for(NAMESPACES, "ADDED", {"metadata": {"name": "new"}}) == []
