"""Client credentials through the Certificates API with kubectl: create a CSR, approve it, wait for the
certificate the signing controller issues, and use it (`kubectl auth whoami`)."""
from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding

from apiserver.server.pki import private_key_pem
from tests.e2e.security_support import until
from tests.support.kubectl import Kubectl
from tests.support.server import ServerProcess


def request_for(common_name: str, organization: str) -> tuple[bytes, bytes]:
    """A private key and the PEM CSR for it, as `openssl req` would make them."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, common_name),
                         x509.NameAttribute(x509.NameOID.ORGANIZATION_NAME, organization)])
    csr = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
    return private_key_pem(key), csr.public_bytes(Encoding.PEM)


def test_csr_workflow_issues_a_working_client_certificate(
    server: ServerProcess, kubectl: Kubectl, tmp_path: Path
) -> None:
    name = f"jane-{uuid.uuid4().hex[:6]}"
    key_pem, csr_pem = request_for("jane", "devs")
    manifest = tmp_path / "csr.yaml"
    manifest.write_text(yaml.safe_dump({
        "apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest", "metadata": {"name": name},
        "spec": {"request": base64.b64encode(csr_pem).decode(), "signerName": "kubernetes.io/kube-apiserver-client",
                 "expirationSeconds": 86400, "usages": ["client auth"]},
    }))
    created = kubectl.run("create", "-f", str(manifest))
    assert created.returncode == 0, created.stderr
    pending = kubectl.run("get", "csr", name)
    assert "Pending" in pending.stdout, pending.stdout
    approved = kubectl.run("certificate", "approve", name)
    assert approved.returncode == 0, approved.stderr
    assert approved.stdout.strip() == f"certificatesigningrequest.certificates.k8s.io/{name} approved"

    def issued() -> str:
        answer = kubectl.run("get", "csr", name, "-o", "jsonpath={.status.certificate}")
        return answer.stdout.strip()

    certificate = base64.b64decode(until(issued, within=15))
    shown = kubectl.run("get", "csr", name)
    assert "Approved,Issued" in shown.stdout, shown.stdout
    certificate_obj = x509.load_pem_x509_certificate(certificate)
    lifetime = certificate_obj.not_valid_after_utc - certificate_obj.not_valid_before_utc
    assert 86400 <= lifetime.total_seconds() <= 86400 + 301

    config = yaml.safe_load(server.kubeconfig.read_text())
    config["users"][0]["user"] = {"client-certificate-data": base64.b64encode(certificate).decode(),
                                  "client-key-data": base64.b64encode(key_pem).decode()}
    jane_config = tmp_path / "jane.kubeconfig"
    jane_config.write_text(yaml.safe_dump(config))
    whoami = Kubectl(jane_config, tmp_path / "jane-home").run("auth", "whoami", "-o", "json")
    assert whoami.returncode == 0, whoami.stderr
    user = json.loads(whoami.stdout)["status"]["userInfo"]
    assert user["username"] == "jane"
    assert user["groups"] == ["devs", "system:authenticated"]


def test_approved_csr_cannot_be_denied(kubectl: Kubectl, tmp_path: Path) -> None:
    name = f"deny-{uuid.uuid4().hex[:6]}"
    _, csr_pem = request_for("bob", "devs")
    manifest = tmp_path / "csr.yaml"
    manifest.write_text(yaml.safe_dump({
        "apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest", "metadata": {"name": name},
        "spec": {"request": base64.b64encode(csr_pem).decode(), "signerName": "kubernetes.io/kube-apiserver-client",
                 "usages": ["client auth"]},
    }))
    assert kubectl.run("create", "-f", str(manifest)).returncode == 0
    assert kubectl.run("certificate", "approve", name).returncode == 0
    denied = kubectl.run("certificate", "deny", "--force", name)
    assert denied.returncode != 0
    # kubectl refuses by itself; the server's own rule (Approved and Denied are mutually exclusive) is covered
    # by tests/controllers/test_certificates.py.
    assert denied.stderr.strip() == f'error: certificate signing request "{name}" is already Approved'
    shown = kubectl.run("get", "csr", name, "-o", "jsonpath={.status.conditions[*].type}")
    assert shown.stdout.split() == ["Approved"]


def test_new_namespace_gets_a_default_service_account_with_tokens(
    server: ServerProcess, kubectl: Kubectl, tmp_path: Path
) -> None:
    """The controllers beside the signer: `default` appears in a new namespace (so `kubectl create token default`
    works there), and a legacy token Secret gets a token that authenticates as the ServiceAccount."""
    namespace = f"sa-{uuid.uuid4().hex[:6]}"
    assert kubectl.run("create", "namespace", namespace).returncode == 0
    until(lambda: kubectl.run("get", "serviceaccount", "default", "-n", namespace).returncode == 0, within=15)
    token = kubectl.run("create", "token", "default", "-n", namespace)
    assert token.returncode == 0, token.stderr
    assert token.stdout.count(".") == 2

    manifest = tmp_path / "secret.yaml"
    manifest.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
        "metadata": {"name": "default-token", "namespace": namespace,
                     "annotations": {"kubernetes.io/service-account.name": "default"}},
    }))
    assert kubectl.run("create", "-f", str(manifest)).returncode == 0

    def legacy_token() -> str:
        answer = kubectl.run("get", "secret", "default-token", "-n", namespace, "-o", "jsonpath={.data.token}")
        return answer.stdout.strip()

    secret_token = base64.b64decode(until(legacy_token, within=15)).decode()
    config = yaml.safe_load(server.kubeconfig.read_text())
    config["users"][0]["user"] = {"token": secret_token}
    token_config = tmp_path / "token.kubeconfig"
    token_config.write_text(yaml.safe_dump(config))
    whoami = Kubectl(token_config, tmp_path / "token-home").run("auth", "whoami", "-o", "json")
    assert whoami.returncode == 0, whoami.stderr
    assert json.loads(whoami.stdout)["status"]["userInfo"]["username"] == (
        f"system:serviceaccount:{namespace}:default")
