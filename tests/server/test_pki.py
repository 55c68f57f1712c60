"""The generated PKI and admin kubeconfig: kubeadm's layout, file modes, names, and reuse without overwriting."""
from __future__ import annotations

import base64
import ipaddress
import logging
import stat
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from kubernetes import client as kubernetes_client
from kubernetes import config as kubernetes_config

from apiserver.server.kubeconfig import ensure_admin_kubeconfig
from apiserver.server.pki import PKI_FILES, PKIError, ensure_pki, load_certificates

KEY_FILES = ("ca.key", "apiserver.key", "sa.key", "front-proxy-ca.key")


@pytest.fixture
def pki_dir(tmp_path: Path) -> Path:
    return tmp_path / "pki"


def _cert(path: Path) -> x509.Certificate:
    return load_certificates(path)[0]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_first_start_generates_kubeadms_files(pki_dir: Path) -> None:
    pki = ensure_pki(pki_dir, advertise_address="192.0.2.10", hostname="node-1")
    assert sorted(p.name for p in pki_dir.iterdir()) == sorted(PKI_FILES)
    assert pki.describe() == "generated"
    assert all(_mode(pki_dir / name) == 0o600 for name in KEY_FILES)
    assert _mode(pki_dir / "ca.crt") == 0o644
    assert _mode(pki_dir) == 0o700


def test_ca_is_kubernetes_and_signs_the_serving_certificate(pki_dir: Path) -> None:
    ensure_pki(pki_dir, advertise_address="192.0.2.10", hostname="node-1")
    ca, serving = _cert(pki_dir / "ca.crt"), _cert(pki_dir / "apiserver.crt")
    assert ca.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "kubernetes"
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    serving.verify_directly_issued_by(ca)
    usage = serving.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.SERVER_AUTH]
    assert isinstance(serving.public_key(), ec.EllipticCurvePublicKey)


def test_serving_certificate_names_every_way_to_reach_the_server(pki_dir: Path) -> None:
    ensure_pki(pki_dir, advertise_address="192.0.2.10", hostname="Node-1")
    sans = _cert(pki_dir / "apiserver.crt").extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == [
        "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local",
        "localhost", "node-1",
    ]
    assert sans.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("192.0.2.10"), ipaddress.ip_address("10.96.0.1")
    ]


def test_service_account_key_is_rsa_with_its_public_half(pki_dir: Path) -> None:
    ensure_pki(pki_dir, advertise_address="127.0.0.1", hostname="node-1")
    assert (pki_dir / "sa.key").read_bytes().startswith(b"-----BEGIN RSA PRIVATE KEY-----")
    assert (pki_dir / "sa.pub").read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----")
    front_proxy = _cert(pki_dir / "front-proxy-ca.crt")
    assert front_proxy.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "front-proxy-ca"
    assert not isinstance(front_proxy.public_key(), rsa.RSAPublicKey)


def test_existing_files_are_reused_never_overwritten(pki_dir: Path) -> None:
    ensure_pki(pki_dir, advertise_address="192.0.2.10", hostname="node-1")
    before = {name: (pki_dir / name).read_bytes() for name in PKI_FILES}
    again = ensure_pki(pki_dir, advertise_address="192.0.2.10", hostname="node-1")
    assert again.describe() == "existing"
    assert {name: (pki_dir / name).read_bytes() for name in PKI_FILES} == before


def test_a_removed_serving_pair_is_reissued_by_the_existing_ca(pki_dir: Path) -> None:
    ensure_pki(pki_dir, advertise_address="192.0.2.10", hostname="node-1")
    ca_bytes = (pki_dir / "ca.crt").read_bytes()
    (pki_dir / "apiserver.crt").unlink()
    (pki_dir / "apiserver.key").unlink()
    pki = ensure_pki(pki_dir, advertise_address="192.0.2.10", hostname="node-1")
    assert pki.describe() == "generated apiserver.crt, apiserver.key"
    assert (pki_dir / "ca.crt").read_bytes() == ca_bytes
    _cert(pki_dir / "apiserver.crt").verify_directly_issued_by(_cert(pki_dir / "ca.crt"))


def test_changed_advertise_address_is_logged_not_regenerated(
    pki_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ensure_pki(pki_dir, advertise_address="192.0.2.10", hostname="node-1")
    serving = (pki_dir / "apiserver.crt").read_bytes()
    with caplog.at_level(logging.WARNING, logger="apiserver.server.pki"):
        ensure_pki(pki_dir, advertise_address="192.0.2.99", hostname="node-1")
    assert (pki_dir / "apiserver.crt").read_bytes() == serving
    assert "does not name the advertise address 192.0.2.99" in caplog.text


def test_half_a_pair_is_an_error(pki_dir: Path) -> None:
    ensure_pki(pki_dir, advertise_address="127.0.0.1", hostname="node-1")
    (pki_dir / "apiserver.key").unlink()
    with pytest.raises(PKIError, match=r"apiserver\.crt but not .*apiserver\.key"):
        ensure_pki(pki_dir, advertise_address="127.0.0.1", hostname="node-1")


def _kubeconfig(tmp_path: Path) -> tuple[Path, Path]:
    pki = ensure_pki(tmp_path / "pki", advertise_address="127.0.0.1", hostname="node-1")
    path = tmp_path / "admin.kubeconfig"
    assert ensure_admin_kubeconfig(path, ca=pki.ca, server_url="https://127.0.0.1:6443")
    return path, tmp_path / "pki"


def test_admin_kubeconfig_embeds_a_system_masters_client_certificate(tmp_path: Path) -> None:
    path, pki_dir = _kubeconfig(tmp_path)
    assert _mode(path) == 0o600
    document = yaml.safe_load(path.read_text())
    assert document["current-context"] == "kubernetes-admin@pilothouse"
    assert document["clusters"][0]["name"] == "pilothouse"
    assert document["clusters"][0]["cluster"]["server"] == "https://127.0.0.1:6443"
    cert = x509.load_pem_x509_certificate(base64.b64decode(document["users"][0]["user"]["client-certificate-data"]))
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "kubernetes-admin"
    assert [a.value for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)] == ["system:masters"]
    usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    cert.verify_directly_issued_by(_cert(pki_dir / "ca.crt"))


def test_admin_kubeconfig_loads_with_the_official_client(tmp_path: Path) -> None:
    path, pki_dir = _kubeconfig(tmp_path)
    configuration = kubernetes_client.Configuration()
    kubernetes_config.load_kube_config(config_file=str(path), client_configuration=configuration)
    assert configuration.host == "https://127.0.0.1:6443"
    assert Path(configuration.ssl_ca_cert).read_bytes() == (pki_dir / "ca.crt").read_bytes()
    assert Path(configuration.cert_file).read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
    assert b"PRIVATE KEY" in Path(configuration.key_file).read_bytes()


def test_existing_kubeconfig_is_kept(tmp_path: Path) -> None:
    path, pki_dir = _kubeconfig(tmp_path)
    path.write_text("edited by its owner\n")
    pki = ensure_pki(pki_dir, advertise_address="127.0.0.1", hostname="node-1")
    assert not ensure_admin_kubeconfig(path, ca=pki.ca, server_url="https://127.0.0.1:6443")
    assert path.read_text() == "edited by its owner\n"
