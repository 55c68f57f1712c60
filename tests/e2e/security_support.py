"""What the security end-to-end tests share: a server with audit, encryption and a front proxy configured,
kubeconfigs for certificate users signed by the cluster CA, raw storage reads and forged tokens."""
from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import sqlite3
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding

from apiserver.auth.jwt import TokenIssuer, key_id_for, load_signing_key
from apiserver.server.pki import (
    CertKeyPair,
    issue_client_certificate,
    load_certificates,
    load_private_key,
    private_key_pem,
)
from tests.e2e.conftest import BACKENDS
from tests.support.kubectl import Kubectl
from tests.support.server import ServerProcess

ISSUER = "https://kubernetes.default.svc.cluster.local"
ENCRYPTION_KEY = base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()

AUDIT_POLICY = """\
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: RequestResponse
  resources: [{group: "", resources: [secrets]}]
- level: Metadata
"""

ENCRYPTION_CONFIG = f"""\
apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
- resources: [secrets]
  providers:
  - aescbc:
      keys: [{{name: key1, secret: {ENCRYPTION_KEY}}}]
  - identity: {{}}
"""


def security_flags(data_dir: Path) -> list[str]:
    """Flags of the e2e security server: audit log, Secrets encrypted with aescbc, a front proxy signed by the
    cluster CA (so the TLS handshake accepts it) and a short --service-account-max-token-expiration."""
    config_dir = data_dir.parent / "config"
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "audit-policy.yaml").write_text(AUDIT_POLICY)
    (config_dir / "encryption.yaml").write_text(ENCRYPTION_CONFIG)
    return [
        "--audit-policy-file", str(config_dir / "audit-policy.yaml"),
        "--audit-log-path", str(config_dir / "audit.log"),
        "--encryption-provider-config", str(config_dir / "encryption.yaml"),
        "--requestheader-client-ca-file", str(data_dir / "pki" / "ca.crt"),
        "--requestheader-allowed-names", "front-proxy-client",
        "--requestheader-username-headers", "X-Remote-User",
        "--requestheader-group-headers", "X-Remote-Group",
        "--service-account-max-token-expiration", "2h",
    ]


@pytest.fixture(scope="module", params=BACKENDS)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A live server with the security flags above, on SQLite or on the session's etcd."""
    data_dir = tmp_path_factory.mktemp(f"e2e-security-{request.param}") / "data"
    flags = security_flags(data_dir)
    if request.param == "etcd3":
        etcd = request.getfixturevalue("etcd")
        process = ServerProcess(data_dir, storage_backend="etcd3", etcd_servers=etcd.url,
                                extra_args=[*flags, "--etcd-prefix", f"/e2e-{uuid.uuid4().hex[:8]}"])
    else:
        process = ServerProcess(data_dir, extra_args=flags)
    with process:
        yield process


def audit_log(server: ServerProcess) -> Path:
    return server.data_dir.parent / "config" / "audit.log"


def cluster_ca(server: ServerProcess) -> CertKeyPair:
    pki = server.data_dir / "pki"
    return CertKeyPair(load_certificates(pki / "ca.crt")[0], load_private_key(pki / "ca.key"))


class CertificateUser:
    """A user with a client certificate signed by the cluster CA: PEM files and a kubeconfig of its own."""

    def __init__(self, server: ServerProcess, directory: Path, name: str, groups: Sequence[str] = ()) -> None:
        pair = issue_client_certificate(cluster_ca(server), name, list(groups))
        assert pair.key is not None
        directory.mkdir(parents=True, exist_ok=True)
        self.server = server
        self.name = name
        self.cert_file, self.key_file = directory / f"{name}.crt", directory / f"{name}.key"
        self.cert_file.write_bytes(pair.cert.public_bytes(Encoding.PEM))
        self.key_file.write_bytes(private_key_pem(pair.key))
        config = yaml.safe_load(server.kubeconfig.read_text())
        config["users"][0]["user"] = {
            "client-certificate-data": base64.b64encode(self.cert_file.read_bytes()).decode(),
            "client-key-data": base64.b64encode(self.key_file.read_bytes()).decode(),
        }
        self.kubeconfig = directory / f"{name}.kubeconfig"
        self.kubeconfig.write_text(yaml.safe_dump(config))
        self.kubectl = Kubectl(self.kubeconfig, directory / f"{name}-home")

    def request(self, method: str, path: str, *, headers: Mapping[str, str] | None = None,
                body: bytes | None = None) -> tuple[int, bytes]:
        context = self.server.ssl_context()
        context.load_cert_chain(str(self.cert_file), str(self.key_file))
        connection = http.client.HTTPSConnection("127.0.0.1", self.server.port, context=context, timeout=10)
        try:
            connection.request(method, path, body=body, headers=dict(headers or {}))
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()


def until(check: Callable[[], Any], *, within: float = 5.0, interval: float = 0.05) -> Any:
    """Call `check` until it returns something truthy (authorization follows writes through watch caches)."""
    deadline = time.monotonic() + within
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(interval)


def raw_stored_value(server: ServerProcess, key_suffix: str, etcd_url: str = "") -> bytes:
    """The bytes storage holds for `<prefix>/<key_suffix>`, read around the API server."""
    if server.storage_backend == "sqlite":
        with sqlite3.connect(f"file:{server.data_dir / 'state.db'}?mode=ro", uri=True) as connection:
            row = connection.execute("SELECT value FROM log WHERE name = ? ORDER BY id DESC LIMIT 1",
                                     (f"/registry/{key_suffix}",)).fetchone()
        return bytes(row[0])
    prefix = server.extra_args[server.extra_args.index("--etcd-prefix") + 1]
    key = base64.b64encode(f"{prefix}/{key_suffix}".encode()).decode()
    answer = httpx.post(f"{etcd_url}/v3/kv/range", json={"key": key}, timeout=5).json()
    return base64.b64decode(answer["kvs"][0]["value"])


def sign(claims: Mapping[str, Any], server: ServerProcess) -> str:
    """A token signed with the server's own ServiceAccount key (valid signature, claims as given)."""
    issuer = TokenIssuer(load_signing_key(server.data_dir / "pki" / "sa.key"), ISSUER)
    return issuer.issue({key: value for key, value in claims.items() if key != "iss"})


def bound_claims(account: Mapping[str, Any], *, now: int, audience: str = ISSUER, lifetime: int = 3600,
                 not_before: int | None = None) -> dict[str, Any]:
    metadata = account["metadata"]
    return {
        "aud": [audience], "exp": now + lifetime, "iat": now, "nbf": now if not_before is None else not_before,
        "jti": str(uuid.uuid4()), "sub": f"system:serviceaccount:{metadata['namespace']}:{metadata['name']}",
        "kubernetes.io": {"namespace": metadata["namespace"],
                          "serviceaccount": {"name": metadata["name"], "uid": metadata["uid"]}},
    }


def forged_tokens(claims: Mapping[str, Any], server: ServerProcess) -> dict[str, str]:
    """Tokens with valid claims and bad signatures: another key (same key id), `alg: none`, and HS256 keyed with
    the server's public key."""
    signing_key = load_signing_key(server.data_dir / "pki" / "sa.key")
    kid = key_id_for(signing_key.public_key())
    payload = {**claims, "iss": ISSUER}
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = signing_key.public_key().public_bytes(serialization.Encoding.PEM,
                                                         serialization.PublicFormat.SubjectPublicKeyInfo)
    header = _b64(json.dumps({"alg": "none", "kid": kid}).encode())
    return {
        "wrong-key": jwt.encode(payload, other, algorithm="RS256", headers={"kid": kid}),
        "alg-none": f"{header}.{_b64(json.dumps(payload).encode())}.",
        "hs256-public-key": _hs256(payload, public_pem, kid),
    }


def _hs256(payload: Mapping[str, Any], secret: bytes, kid: str) -> str:
    signing_input = f"{_b64(json.dumps({'alg': 'HS256', 'kid': kid}).encode())}.{_b64(json.dumps(payload).encode())}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def curl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["curl", "-sS", *args], capture_output=True, text=True, timeout=20, check=False)
