"""Front-proxy (request-header) authentication with kubeadm's layout: a front-proxy CA separate from the client
CA. The handshake trusts both; only a verified front-proxy certificate with an allowed name may assert
X-Remote-* headers, and a front-proxy certificate alone is no user."""
from __future__ import annotations

import http.client
import json
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from apiserver.server.pki import (
    CertKeyPair,
    ensure_pki,
    issue_client_certificate,
    load_certificates,
    load_private_key,
    private_key_pem,
)
from tests.support.server import ServerProcess

pytestmark = pytest.mark.slow

WHOAMI = "/apis/authentication.k8s.io/v1/selfsubjectreviews"
WHOAMI_BODY = json.dumps({"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}).encode()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    data_dir = tmp_path_factory.mktemp("front-proxy") / "data"
    ensure_pki(data_dir / "pki", advertise_address="127.0.0.1")
    extra = [
        "--requestheader-client-ca-file", str(data_dir / "pki" / "front-proxy-ca.crt"),
        "--requestheader-allowed-names", "front-proxy-client",
        "--requestheader-username-headers", "X-Remote-User",
        "--requestheader-group-headers", "X-Remote-Group",
        "--requestheader-extra-headers-prefix", "X-Remote-Extra-",
    ]
    with ServerProcess(data_dir, extra_args=extra) as process:
        yield process


def _proxy_context(server: ServerProcess, tmp_path: Path, common_name: str) -> ssl.SSLContext:
    pki = server.data_dir / "pki"
    ca = CertKeyPair(load_certificates(pki / "front-proxy-ca.crt")[0], load_private_key(pki / "front-proxy-ca.key"))
    proxy = issue_client_certificate(ca, common_name)
    from cryptography.hazmat.primitives import serialization

    (tmp_path / "proxy.crt").write_bytes(proxy.cert.public_bytes(serialization.Encoding.PEM))
    assert proxy.key is not None
    (tmp_path / "proxy.key").write_bytes(private_key_pem(proxy.key))
    context = server.ssl_context()
    context.load_cert_chain(str(tmp_path / "proxy.crt"), str(tmp_path / "proxy.key"))
    return context


def _whoami(server: ServerProcess, context: ssl.SSLContext, headers: dict[str, str]) -> tuple[int, dict]:
    connection = http.client.HTTPSConnection("127.0.0.1", server.port, context=context, timeout=10)
    try:
        connection.request("POST", WHOAMI, body=WHOAMI_BODY, headers={"Content-Type": "application/json", **headers})
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def test_an_allowed_front_proxy_asserts_the_user_in_headers(server: ServerProcess, tmp_path: Path) -> None:
    context = _proxy_context(server, tmp_path, "front-proxy-client")
    status, review = _whoami(server, context, {"X-Remote-User": "alice", "X-Remote-Group": "devs",
                                               "X-Remote-Extra-Scopes": "read"})
    assert status == 201
    assert review["status"]["userInfo"] == {
        "username": "alice", "groups": ["devs", "system:authenticated"], "extra": {"scopes": ["read"]},
    }


def test_a_front_proxy_name_not_allowed_is_unauthorized(server: ServerProcess, tmp_path: Path) -> None:
    context = _proxy_context(server, tmp_path, "mallory-proxy")
    status, body = _whoami(server, context, {"X-Remote-User": "alice"})
    assert (status, body["reason"]) == (401, "Unauthorized")


def test_a_front_proxy_certificate_alone_is_not_a_user(server: ServerProcess, tmp_path: Path) -> None:
    context = _proxy_context(server, tmp_path, "front-proxy-client")
    status, body = _whoami(server, context, {})
    assert (status, body["reason"]) == (401, "Unauthorized")


def test_remote_headers_from_an_ordinary_client_certificate_are_ignored(server: ServerProcess) -> None:
    status, review = _whoami(server, server.ssl_context(client_cert=True), {"X-Remote-User": "alice"})
    assert status == 201
    assert review["status"]["userInfo"]["username"] == "kubernetes-admin"
