"""CertificateApproval and CertificateSigning in an assembled server: approving or signing a CSR needs a grant
on its signer (`signers` of certificates.k8s.io, by name or by `<domain>/*`), and the signing controller keeps
working."""
from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from apiserver.admission.chain import DEFAULT_PLUGINS, build_admission_chain
from apiserver.admission.plugins.certificates import wildcard_signer_name
from tests.server.security_harness import Answer, InMemoryServer, eventually, in_memory_server

CSRS = "/apis/certificates.k8s.io/v1/certificatesigningrequests"
RBAC = "/apis/rbac.authorization.k8s.io/v1"
CLIENT_SIGNER = "kubernetes.io/kube-apiserver-client"
CERTIFICATES = "certificates.k8s.io"


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[InMemoryServer]:
    """A real in-memory server: its admission context answers access reviews with the server's authorizer."""
    async with in_memory_server(tmp_path) as server:
        yield server



def csr_object(name: str, signer_name: str = CLIENT_SIGNER) -> dict[str, Any]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "devs"),
                         x509.NameAttribute(NameOID.COMMON_NAME, "jane")])
    request = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
    return {"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest", "metadata": {"name": name},
            "spec": {"request": base64.b64encode(request.public_bytes(Encoding.PEM)).decode(),
                     "signerName": signer_name, "usages": ["client auth"]}}


async def grant(api: InMemoryServer, user: str, *rules: dict[str, object]) -> None:
    """Bind `user` to a ClusterRole of these rules (as the admin) and wait until authorization sees them."""
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": user},
            "rules": list(rules)}
    binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": user},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": user},
               "subjects": [{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": user}]}
    existing = await api.request("GET", f"{RBAC}/clusterroles/{user}")
    if existing.status == 200:
        role["metadata"] = existing.json["metadata"]
        assert (await api.request("PUT", f"{RBAC}/clusterroles/{user}", body=role)).status == 200
    else:
        assert (await api.request("POST", f"{RBAC}/clusterroles", body=role)).status == 201
        assert (await api.request("POST", f"{RBAC}/clusterrolebindings", body=binding)).status == 201
    await eventually(lambda: api.request("GET", CSRS, user=user, groups=()), 200)


CSR_UPDATER = {"apiGroups": [CERTIFICATES], "verbs": ["get", "list"], "resources": ["certificatesigningrequests"]}
APPROVAL_UPDATER = {"apiGroups": [CERTIFICATES], "verbs": ["update"],
                    "resources": ["certificatesigningrequests/approval", "certificatesigningrequests/status"]}


def signer_rule(verb: str, name: str) -> dict[str, object]:
    return {"apiGroups": [CERTIFICATES], "verbs": [verb], "resources": ["signers"], "resourceNames": [name]}


async def created_csr(api: InMemoryServer, name: str, signer_name: str = CLIENT_SIGNER) -> dict[str, Any]:
    answer = await api.request("POST", CSRS, body=csr_object(name, signer_name))
    assert answer.status == 201, answer.body
    created: dict[str, Any] = answer.json
    return created


def approved(csr: dict[str, Any]) -> dict[str, Any]:
    condition = {"type": "Approved", "status": "True", "reason": "Test", "message": "approved by a test"}
    return {**csr, "status": {**csr.get("status", {}), "conditions": [condition]}}


def with_certificate(csr: dict[str, Any]) -> dict[str, Any]:
    certificate = base64.b64encode(b"-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n").decode()
    return {**csr, "status": {**csr.get("status", {}), "certificate": certificate}}


async def approve(api: InMemoryServer, csr: dict[str, Any], user: str) -> Answer:
    name = csr["metadata"]["name"]
    return await api.request("PUT", f"{CSRS}/{name}/approval", body=approved(csr), user=user, groups=())


async def test_approval_without_approve_on_the_signer_is_forbidden(api: InMemoryServer) -> None:
    await grant(api, "carol", CSR_UPDATER, APPROVAL_UPDATER)
    csr = await created_csr(api, "carol-csr")
    answer = await approve(api, csr, "carol")
    assert answer.status == 403, answer.body
    assert answer.json["reason"] == "Forbidden"
    assert answer.json["message"] == (
        'certificatesigningrequests.certificates.k8s.io "carol-csr" is forbidden: '
        'user not permitted to approve requests with signerName "kubernetes.io/kube-apiserver-client"')
    stored = (await api.request("GET", f"{CSRS}/carol-csr")).json
    assert "conditions" not in stored.get("status", {})


@pytest.mark.parametrize("granted", [CLIENT_SIGNER, "kubernetes.io/*"])
async def test_approval_with_approve_on_the_signer_or_its_domain_succeeds(api: InMemoryServer, granted: str) -> None:
    await grant(api, "dave", CSR_UPDATER, APPROVAL_UPDATER, signer_rule("approve", granted))
    csr = await created_csr(api, "dave-csr")
    answer = await approve(api, csr, "dave")
    assert answer.status == 200, answer.body
    assert [condition["type"] for condition in answer.json["status"]["conditions"]] == ["Approved"]


async def test_approve_on_another_signer_does_not_count(api: InMemoryServer) -> None:
    await grant(api, "erin", CSR_UPDATER, APPROVAL_UPDATER, signer_rule("approve", "example.com/*"),
                signer_rule("sign", CLIENT_SIGNER))
    csr = await created_csr(api, "erin-csr")
    answer = await approve(api, csr, "erin")
    assert answer.status == 403, answer.body


async def test_setting_the_certificate_needs_sign_on_the_signer(api: InMemoryServer) -> None:
    await grant(api, "frank", CSR_UPDATER, APPROVAL_UPDATER, signer_rule("approve", CLIENT_SIGNER))
    csr = await created_csr(api, "frank-csr", "example.com/foo")
    path = f"{CSRS}/frank-csr/status"
    answer = await api.request("PUT", path, body=with_certificate(csr), user="frank", groups=())
    assert answer.status == 403, answer.body
    assert answer.json["message"] == (
        'certificatesigningrequests.certificates.k8s.io "frank-csr" is forbidden: '
        'user not permitted to sign requests with signerName "example.com/foo"')
    unchanged = await api.request("PUT", path, body=csr, user="frank", groups=())
    assert unchanged.status == 200, unchanged.body
    await grant(api, "frank", CSR_UPDATER, APPROVAL_UPDATER, signer_rule("sign", "example.com/foo"))
    current = (await api.request("GET", f"{CSRS}/frank-csr")).json
    signed = await eventually(
        lambda: api.request("PUT", path, body=with_certificate(current), user="frank", groups=()), 200)
    assert signed.json["status"]["certificate"] == with_certificate(csr)["status"]["certificate"]


async def test_the_signing_controller_still_issues_approved_certificates(api: InMemoryServer) -> None:
    csr = await created_csr(api, "admin-csr")
    assert (await api.request("PUT", f"{CSRS}/admin-csr/approval", body=approved(csr))).status == 200

    async def issued() -> Answer:
        answer = await api.request("GET", f"{CSRS}/admin-csr")
        return Answer(200 if answer.json.get("status", {}).get("certificate") else 404, answer.headers, answer.body)

    certificate = (await eventually(issued, 200, within=10.0)).json["status"]["certificate"]
    assert x509.load_pem_x509_certificate(base64.b64decode(certificate)).subject.rfc4514_string() == "CN=jane,O=devs"


def test_wildcard_signer_name_is_the_domain_before_the_first_slash() -> None:
    assert wildcard_signer_name("example.com/foo") == "example.com/*"
    assert wildcard_signer_name("example.com/foo/bar") == "example.com/*"
    assert wildcard_signer_name("nodomain") == "nodomain/*"


def test_the_plugins_follow_namespace_lifecycle_in_the_default_chain() -> None:
    class Context:
        namespaces = live_namespaces = None

        def is_ready(self) -> bool:
            return True

    chain = build_admission_chain(DEFAULT_PLUGINS, Context())  # type: ignore[arg-type]
    assert chain.names[:3] == ("NamespaceLifecycle", "CertificateApproval", "CertificateSigning")

