"""TLS towards extension servers: the APIService's trust settings and the front-proxy client certificate."""
from __future__ import annotations

import base64
import ssl
from pathlib import Path

from apiserver.aggregation.apiservices import APIServiceIndex, RemoteAPIService, remote_api_service
from apiserver.aggregation.transport import ProxyClientCertificate, ProxyTLS
from apiserver.server.pki import ensure_pki

PEM_CA_SPEC = {"group": "x.io", "version": "v1", "service": {"namespace": "ns", "name": "api", "port": 443}}


def _remote(**spec: object) -> RemoteAPIService:
    remote = remote_api_service({"metadata": {"name": "v1.x.io"}, "spec": {**PEM_CA_SPEC, **spec}})
    assert remote is not None
    return remote


def test_a_ca_bundle_is_verified_under_the_service_name(tmp_path: Path) -> None:
    ensure_pki(tmp_path / "pki", advertise_address="127.0.0.1")
    bundle = (tmp_path / "pki" / "ca.crt").read_bytes()
    remote = _remote(caBundle=base64.b64encode(bundle).decode())
    tls = ProxyTLS(ProxyClientCertificate(tmp_path / "pki" / "front-proxy-client.crt",
                                          tmp_path / "pki" / "front-proxy-client.key"))
    context = tls.for_backend(remote)
    assert (context.verify_mode, context.check_hostname) == (ssl.CERT_REQUIRED, True)
    assert [ca["subject"] for ca in context.get_ca_certs()] == [((("commonName", "kubernetes"),),)]
    assert tls.server_hostname(remote) == "api.ns.svc"
    assert tls.for_backend(remote) is context  # built once per trust setting


def test_insecure_skip_tls_verify_checks_nothing() -> None:
    remote = _remote(insecureSkipTLSVerify=True)
    tls = ProxyTLS(ProxyClientCertificate(None, None))
    context = tls.for_backend(remote)
    assert (context.verify_mode, context.check_hostname) == (ssl.CERT_NONE, False)
    assert tls.server_hostname(remote) is None
    assert tls.for_probe().verify_mode == ssl.CERT_NONE


def test_a_missing_client_certificate_is_not_fatal(tmp_path: Path) -> None:
    tls = ProxyTLS(ProxyClientCertificate(tmp_path / "missing.crt", tmp_path / "missing.key"))
    assert tls.for_probe().verify_mode == ssl.CERT_NONE


def test_the_index_changes_only_when_routing_changes() -> None:
    index = APIServiceIndex()
    obj = {"metadata": {"name": "v1.x.io", "resourceVersion": "1"}, "spec": PEM_CA_SPEC}
    assert index.observe("ADDED", obj)
    generation = index.generation
    assert not index.observe("MODIFIED", {**obj, "metadata": {"name": "v1.x.io", "resourceVersion": "2"}})
    assert index.generation == generation
    available = {**obj, "status": {"conditions": [{"type": "Available", "status": "True"}]}}
    assert index.observe("MODIFIED", available)
    remote = index.remote("x.io", "v1")
    assert remote is not None and remote.available
    assert index.observe("MODIFIED", {"metadata": {"name": "v1.x.io"}, "spec": {"group": "x.io", "version": "v1"}})
    assert index.remote("x.io", "v1") is None and not index.remotes()
    assert [local.name for local in index.user_locals()] == ["v1.x.io"]  # a user's local APIService stays listed
    assert index.observe("DELETED", {"metadata": {"name": "v1.x.io"}})
    assert not index
