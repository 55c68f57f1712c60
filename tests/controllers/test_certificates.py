"""The CSR signer in a started server, driven through the API as users would (approval subresource)."""
from __future__ import annotations

import asyncio
import base64
import datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from apiserver.auth.user import UserInfo
from apiserver.client.client import ApiClient
from apiserver.client.transports import InProcessTransport
from apiserver.controllers.certificates import CSRS
from apiserver.meta.errors import Invalid
from tests.server.security_harness import InMemoryServer, in_memory_server

ADMIN = UserInfo("admin", groups=("system:masters",))


def csr_pem(common_name: str, *organizations: str) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([*(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org) for org in organizations),
                         x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    request = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
    return base64.b64encode(request.public_bytes(Encoding.PEM)).decode()


def csr_object(name: str, *, usages: list[str], seconds: int | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"request": csr_pem("jane", "devs"), "signerName": "kubernetes.io/kube-apiserver-client",
                            "usages": usages}
    if seconds is not None:
        spec["expirationSeconds"] = seconds
    return {"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
            "metadata": {"name": name}, "spec": spec}


async def approve(client: ApiClient, name: str, kind: str = "Approved") -> dict[str, Any]:
    csr = await client.get(CSRS, name)
    csr.setdefault("status", {}).setdefault("conditions", []).append(
        {"type": kind, "status": "True", "reason": "KubectlApprove", "message": "by test"})
    return await client.update(CSRS, csr, subresource="approval")


async def wait_for(client: ApiClient, name: str, done: Any) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + 10
    while True:
        csr = await client.get(CSRS, name)
        if done(csr):
            return csr
        assert asyncio.get_running_loop().time() < deadline, csr
        await asyncio.sleep(0.05)


def admin(served: InMemoryServer) -> ApiClient:
    return ApiClient(InProcessTransport(served.server.app, ADMIN))


async def test_approved_csr_is_signed_with_the_requested_duration(tmp_path: Path) -> None:
    async with in_memory_server(tmp_path) as served:
        client = admin(served)
        created = await client.create(CSRS, csr_object("jane", usages=["client auth", "digital signature"],
                                                       seconds=3600))
        assert created["spec"]["username"] == "admin"
        assert created["spec"]["groups"] == ["system:masters", "system:authenticated"]
        approved = await approve(client, "jane")
        assert approved["status"]["conditions"][0]["lastUpdateTime"]
        signed = await wait_for(client, "jane", lambda csr: csr.get("status", {}).get("certificate"))
        certificate = x509.load_pem_x509_certificate(base64.b64decode(signed["status"]["certificate"]))
        assert certificate.subject.rfc4514_string() == "CN=jane,O=devs"
        assert certificate.issuer == served.pki.ca.cert.subject
        lifetime = certificate.not_valid_after_utc - datetime.datetime.now(datetime.UTC)
        assert datetime.timedelta(minutes=55) < lifetime <= datetime.timedelta(hours=1)


async def test_bad_usages_fail_the_request(tmp_path: Path) -> None:
    async with in_memory_server(tmp_path) as served:
        client = admin(served)
        await client.create(CSRS, csr_object("bad", usages=["server auth"]))
        await approve(client, "bad")
        failed = await wait_for(client, "bad", lambda csr: any(
            entry["type"] == "Failed" for entry in csr.get("status", {}).get("conditions", [])))
        condition = failed["status"]["conditions"][-1]
        assert condition["reason"] == "SignerValidationFailure"
        assert condition["message"] == "invalid usage for client certificate: server auth"
        assert "certificate" not in failed["status"]


async def test_approval_rules(tmp_path: Path) -> None:
    async with in_memory_server(tmp_path) as served:
        client = admin(served)
        with pytest.raises(Invalid, match="may not specify a duration less than 600 seconds"):
            await client.create(CSRS, csr_object("short", usages=["client auth"], seconds=599))
        await client.create(CSRS, csr_object("x", usages=["server auth"]))
        await approve(client, "x")
        # The signer marks this CSR Failed (server auth is no client usage); wait for it, so no write races ours.
        async with asyncio.timeout(5):
            while "Failed" not in [c["type"] for c in (await client.get(CSRS, "x"))["status"]["conditions"]]:
                await asyncio.sleep(0.02)
        with pytest.raises(Invalid, match=r'status.conditions\[\d\].type: Invalid value: "Denied": '
                                          "Approved and Denied conditions are mutually exclusive"):
            await approve(client, "x", "Denied")
        csr = await client.get(CSRS, "x")
        csr["status"]["conditions"] = []
        with pytest.raises(Invalid, match='updates may not remove a condition of type "Approved"'):
            await client.update(CSRS, csr, subresource="approval")
        csr = await client.get(CSRS, "x")
        csr["spec"]["usages"] = ["client auth"]
        unchanged = await client.update(CSRS, csr, subresource="approval")
        assert unchanged["spec"]["usages"] == ["server auth"]


async def test_requester_cannot_approve_without_permission(tmp_path: Path) -> None:
    async with in_memory_server(tmp_path) as served:
        jane = ApiClient(InProcessTransport(served.server.app, UserInfo("jane")))
        with pytest.raises(Exception, match="forbidden"):
            await jane.create(CSRS, csr_object("mine", usages=["client auth"]))


async def test_denied_csr_is_never_signed(tmp_path: Path) -> None:
    async with in_memory_server(tmp_path) as served:
        client = admin(served)
        await client.create(CSRS, csr_object("no", usages=["client auth"]))
        denied = await approve(client, "no", "Denied")
        assert [entry["type"] for entry in denied["status"]["conditions"]] == ["Denied"]
        with pytest.raises(Invalid, match="Approved and Denied conditions are mutually exclusive"):
            await approve(client, "no")
        # A later signed request proves the signer has run meanwhile; the denied one stays without certificate.
        await client.create(CSRS, csr_object("yes", usages=["client auth"]))
        await approve(client, "yes")
        await wait_for(client, "yes", lambda csr: csr.get("status", {}).get("certificate"))
        assert "certificate" not in (await client.get(CSRS, "no"))["status"]
