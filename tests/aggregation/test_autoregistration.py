"""Local APIServices registered at start (kube-apiserver-autoregistration), and the front-proxy client
certificate generated with the PKI."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from apiserver.aggregation.apiservices import APIServiceIndex
from apiserver.registry.catalog import ResourceCatalog, builtin_specs
from apiserver.registry.runtimeconfig import apply_runtime_config, read_runtime_config
from apiserver.server.apiservices import (
    AUTOMANAGED_LABEL,
    AutoRegistrationHook,
    RegistrationHook,
    served_group_versions,
)
from apiserver.server.pki import ensure_pki, load_certificates
from tests.support.resource_app import ResourceApp, resource_app

APISERVICES = "/apis/apiregistration.k8s.io/v1/apiservices"


@pytest.fixture
async def app() -> AsyncIterator[ResourceApp]:
    async with resource_app() as running:
        yield running


async def _names(app: ResourceApp) -> list[str]:
    return [item["metadata"]["name"] for item in (await app.request("GET", APISERVICES)).json()["items"]]


async def test_every_served_group_version_gets_a_local_api_service(app: ResourceApp) -> None:
    catalog = ResourceCatalog(builtin_specs())
    hook = AutoRegistrationHook(lambda: app.registry, catalog)
    with pytest.raises(RuntimeError, match="missing APIService registrations"):
        await hook.check_completion()
    await hook.start(app.storage)
    await hook.check_completion()
    names = await _names(app)
    assert len(names) == len(catalog.group_versions())
    assert {"v1.", "v1.apps", "v2.autoscaling", "v1.autoscaling"} <= set(names)
    apps = (await app.request("GET", f"{APISERVICES}/v1.apps")).json()
    assert apps["spec"] == {"group": "apps", "version": "v1", "groupPriorityMinimum": 17800, "versionPriority": 15}
    assert apps["metadata"]["labels"] == {AUTOMANAGED_LABEL: "onstart"}
    core = (await app.request("GET", f"{APISERVICES}/v1.")).json()
    assert core["spec"] == {"group": "", "version": "v1", "groupPriorityMinimum": 18000, "versionPriority": 1}


async def test_restart_restores_managed_specs_keeps_users_and_drops_disabled(app: ResourceApp) -> None:
    catalog = ResourceCatalog(builtin_specs())
    await AutoRegistrationHook(lambda: app.registry, catalog).start(app.storage)
    apps = (await app.request("GET", f"{APISERVICES}/v1.apps")).json()
    apps["spec"]["versionPriority"] = 99
    assert (await app.request("PUT", f"{APISERVICES}/v1.apps", apps)).status == 200
    batch = (await app.request("GET", f"{APISERVICES}/v1.batch")).json()
    del batch["metadata"]["labels"]
    batch["spec"]["versionPriority"] = 77
    assert (await app.request("PUT", f"{APISERVICES}/v1.batch", batch)).status == 200
    without_node = apply_runtime_config(catalog, read_runtime_config("node.k8s.io/v1=false"))
    await AutoRegistrationHook(lambda: app.registry, without_node).start(app.storage)
    assert (await app.request("GET", f"{APISERVICES}/v1.apps")).json()["spec"]["versionPriority"] == 15
    assert (await app.request("GET", f"{APISERVICES}/v1.batch")).json()["spec"]["versionPriority"] == 77
    assert "v1.node.k8s.io" not in await _names(app)


def test_served_versions_of_a_crd() -> None:
    crd = {"spec": {"group": "stable.example.com", "versions": [
        {"name": "v1", "served": True}, {"name": "v1beta1", "served": False}, {"name": "v2", "served": True}]}}
    assert served_group_versions(crd) == [("stable.example.com", "v1"), ("stable.example.com", "v2")]


def test_the_pki_holds_a_front_proxy_client_certificate(tmp_path: Path) -> None:
    pki = tmp_path / "pki"
    ensure_pki(pki, advertise_address="192.0.2.10", hostname="node-1")
    client = load_certificates(pki / "front-proxy-client.crt")[0]
    client.verify_directly_issued_by(load_certificates(pki / "front-proxy-ca.crt")[0])
    assert client.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "front-proxy-client"
    usage = client.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert (pki / "front-proxy-client.key").stat().st_mode & 0o777 == 0o600


async def test_the_registration_hook_keeps_the_index_equal_to_the_stored_api_services(app: ResourceApp) -> None:
    def remote(name: str, group: str) -> dict[str, object]:
        return {"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService", "metadata": {"name": name},
                "spec": {"group": group, "version": "v1", "groupPriorityMinimum": 100, "versionPriority": 10,
                         "service": {"namespace": "ns", "name": "api"}, "insecureSkipTLSVerify": True}}

    assert (await app.request("POST", APISERVICES, remote("v1.a.example.com", "a.example.com"))).status == 201
    index = APIServiceIndex()
    hook = RegistrationHook(lambda: app.registry, index)
    await hook.start(app.storage)
    try:
        async with asyncio.timeout(5):  # the watch cache follows storage a moment later
            while index.remote("a.example.com", "v1") is None:
                await asyncio.sleep(0.01)
        assert (await app.request("POST", APISERVICES, remote("v1.b.example.com", "b.example.com"))).status == 201
        assert (await app.request("DELETE", f"{APISERVICES}/v1.a.example.com")).status == 200
        async with asyncio.timeout(5):
            while index.remote("b.example.com", "v1") is None or index.remote("a.example.com", "v1") is not None:
                await asyncio.sleep(0.01)
    finally:
        await hook.stop()
