"""EtcdStorage over TLS with client certificates (`--etcd-cafile`, `--etcd-certfile`, `--etcd-keyfile`).

Starts its own etcd that serves clients only over https and requires a client certificate signed by a test CA.
"""
from __future__ import annotations

import asyncio
import datetime
import ipaddress
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from apiserver.storage.backends import StorageOptions
from apiserver.storage.errors import StorageUnavailable
from apiserver.storage.etcd.backend import EtcdStorage
from tests.support.etcd import ETCD_BINARY
from tests.support.ports import free_port, wait_for_port


@dataclass(frozen=True, slots=True)
class Pki:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_ca: Path


def name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def issue(
    subject: str, issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None, usage: list[x509.ObjectIdentifier]
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A certificate for `subject`, self-signed CA when `issuer` is None, valid for 127.0.0.1 and localhost."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    issuer_name, issuer_key = issuer or (name(subject), key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name(subject))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True)
    )
    if issuer is None:
        usages = x509.KeyUsage(False, False, False, False, False, True, True, False, False)
        builder = builder.add_extension(usages, critical=True)
    else:
        names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        builder = builder.add_extension(x509.ExtendedKeyUsage(usage), critical=False)
    return builder.sign(issuer_key, hashes.SHA256()), key


def write_pair(
    directory: Path, stem: str, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey
) -> tuple[Path, Path]:
    cert_path, key_path = directory / f"{stem}.crt", directory / f"{stem}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def make_pki(directory: Path) -> Pki:
    ca_cert, ca_key = issue("test-etcd-ca", None, [])
    server = issue("etcd", (ca_cert.subject, ca_key), [ExtendedKeyUsageOID.SERVER_AUTH])
    client = issue("pilothouse", (ca_cert.subject, ca_key), [ExtendedKeyUsageOID.CLIENT_AUTH])
    other_cert, other_key = issue("other-ca", None, [])
    ca_path, _ = write_pair(directory, "ca", ca_cert, ca_key)
    other_path, _ = write_pair(directory, "other-ca", other_cert, other_key)
    server_cert, server_key = write_pair(directory, "server", *server)
    client_cert, client_key = write_pair(directory, "client", *client)
    return Pki(ca_path, server_cert, server_key, client_cert, client_key, other_path)


@pytest.fixture(scope="module")
def tls_etcd() -> Iterator[tuple[str, Pki]]:
    """An etcd serving clients on https only, requiring client certificates from the test CA."""
    directory = Path(tempfile.mkdtemp(prefix="pilothouse-etcd-tls-"))
    pki = make_pki(directory)
    client_port, peer_port = free_port(), free_port()
    url, peer = f"https://127.0.0.1:{client_port}", f"http://127.0.0.1:{peer_port}"
    command = [
        ETCD_BINARY, "--name", "default", "--data-dir", str(directory / "data"),
        "--listen-client-urls", url, "--advertise-client-urls", url,
        "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer, "--initial-cluster", f"default={peer}",
        "--cert-file", str(pki.server_cert), "--key-file", str(pki.server_key),
        "--client-cert-auth", "--trusted-ca-file", str(pki.ca),
    ]
    with open(directory / "etcd.log", "ab") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(client_port)
        yield url, pki
    finally:
        process.terminate()
        process.wait(10)
        shutil.rmtree(directory, ignore_errors=True)


async def test_mutual_tls_reads_and_writes(tls_etcd: tuple[str, Pki]) -> None:
    url, pki = tls_etcd
    options = StorageOptions(
        backend="etcd3", etcd_servers=(url,), request_timeout=5.0,
        etcd_cafile=str(pki.ca), etcd_certfile=str(pki.client_cert), etcd_keyfile=str(pki.client_key),
    )
    storage = await EtcdStorage.open(options)
    try:
        revision = await storage.create("/tls/a", b"1")
        stored = await storage.get("/tls/a")
        assert stored is not None and (stored.value, stored.mod_revision) == (b"1", revision)
    finally:
        await storage.close()


@pytest.mark.parametrize(
    ("use_client_certificate", "trust_the_right_ca"),
    [(False, True), (True, False)],
    ids=["without-client-certificate", "untrusted-server"],
)
async def test_failed_tls_handshake_is_unavailable(
    tls_etcd: tuple[str, Pki], use_client_certificate: bool, trust_the_right_ca: bool
) -> None:
    url, pki = tls_etcd
    options = StorageOptions(
        backend="etcd3", etcd_servers=(url,), request_timeout=1.0,
        etcd_cafile=str(pki.ca if trust_the_right_ca else pki.other_ca),
        etcd_certfile=str(pki.client_cert) if use_client_certificate else "",
        etcd_keyfile=str(pki.client_key) if use_client_certificate else "",
    )
    storage = await EtcdStorage.open(options)
    try:
        with pytest.raises(StorageUnavailable):
            async with asyncio.timeout(3):
                await storage.get("/tls/a")
    finally:
        await storage.close()
