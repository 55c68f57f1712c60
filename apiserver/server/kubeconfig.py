"""The admin kubeconfig (`<data-dir>/admin.kubeconfig`), as kubeadm's `admin.conf`.

Everything is embedded (CA, client certificate and key), so the file works from any directory. The user is
`kubernetes-admin` in group `system:masters`, which every authorizer lets through. An existing file is kept as
it is: it may hold a certificate handed out already, or edits of its owner.
"""
from __future__ import annotations

import base64
from pathlib import Path

import yaml
from cryptography.hazmat.primitives import serialization

from apiserver.server.pki import CertKeyPair, issue_client_certificate, private_key_pem, write_file

CLUSTER_NAME = "pilothouse"
ADMIN_USER = "kubernetes-admin"
ADMIN_GROUPS = ("system:masters",)
CONTEXT_NAME = f"{ADMIN_USER}@{CLUSTER_NAME}"


def ensure_admin_kubeconfig(path: Path, *, ca: CertKeyPair, server_url: str) -> bool:
    """Write the admin kubeconfig unless `path` exists; return True when it was written (mode 0600)."""
    if path.exists():
        return False
    client = issue_client_certificate(ca, ADMIN_USER, ADMIN_GROUPS)
    assert client.key is not None
    document = admin_kubeconfig(
        server_url=server_url,
        ca_pem=ca.cert.public_bytes(serialization.Encoding.PEM),
        client_cert_pem=client.cert.public_bytes(serialization.Encoding.PEM),
        client_key_pem=private_key_pem(client.key),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    write_file(path, yaml.safe_dump(document, sort_keys=False).encode(), mode=0o600)
    return True


def admin_kubeconfig(
    *, server_url: str, ca_pem: bytes, client_cert_pem: bytes, client_key_pem: bytes
) -> dict[str, object]:
    """The kubeconfig document (a plain dict, in kubectl's field order)."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"cluster": {"certificate-authority-data": _b64(ca_pem), "server": server_url}, "name": CLUSTER_NAME},
        ],
        "contexts": [{"context": {"cluster": CLUSTER_NAME, "user": ADMIN_USER}, "name": CONTEXT_NAME}],
        "current-context": CONTEXT_NAME,
        "preferences": {},
        "users": [
            {
                "name": ADMIN_USER,
                "user": {"client-certificate-data": _b64(client_cert_pem), "client-key-data": _b64(client_key_pem)},
            }
        ],
    }


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
