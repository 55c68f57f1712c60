"""`manage.py initpki`: the PKI several replicas share, generated once with the balancer's and replicas' names."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from cryptography import x509

from apiserver.management.commands.initpki import Command

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "apiserver.settings")
os.environ.setdefault("PILOTHOUSE_SECRET_KEY", "tests-only-not-a-secret")


def initpki(*args: str) -> int:
    with pytest.raises(SystemExit) as exited:
        Command().run_from_argv(["manage.py", "initpki", *args])
    return int(exited.value.code or 0)


def serving_names(pki: Path) -> list[str]:
    cert = x509.load_pem_x509_certificate((pki / "apiserver.crt").read_bytes())
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return [*sans.get_values_for_type(x509.DNSName), *map(str, sans.get_values_for_type(x509.IPAddress))]


def test_generates_every_file_with_the_extra_sans_and_a_kubeconfig_for_the_endpoint(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "shared" / "admin.kubeconfig"
    assert initpki("--data-dir", str(tmp_path), "--apiserver-cert-extra-sans", "balancer,pilothouse-1,10.5.0.9",
                   "--control-plane-endpoint", "lb.example:6443", "--kubeconfig", str(kubeconfig)) == 0
    assert sorted(path.name for path in (tmp_path / "pki").iterdir()) == sorted([
        "ca.crt", "ca.key", "front-proxy-ca.crt", "front-proxy-ca.key", "apiserver.crt", "apiserver.key",
        "sa.key", "sa.pub", "front-proxy-client.crt", "front-proxy-client.key"])
    names = serving_names(tmp_path / "pki")
    assert {"balancer", "pilothouse-1", "10.5.0.9", "localhost", "127.0.0.1", "10.96.0.1"} <= set(names)
    assert yaml.safe_load(kubeconfig.read_text())["clusters"][0]["cluster"]["server"] == "https://lb.example:6443"
    assert kubeconfig.stat().st_mode & 0o777 == 0o600


def test_a_second_run_keeps_every_existing_file(tmp_path: Path) -> None:
    assert initpki("--data-dir", str(tmp_path)) == 0
    before = {path.name: path.read_bytes() for path in (tmp_path / "pki").iterdir()}
    assert initpki("--data-dir", str(tmp_path), "--apiserver-cert-extra-sans", "other") == 0
    assert {path.name: path.read_bytes() for path in (tmp_path / "pki").iterdir()} == before


def test_a_san_that_is_neither_name_nor_address_is_a_flag_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert initpki("--data-dir", str(tmp_path), "--apiserver-cert-extra-sans", "not a name") == 2
    assert capsys.readouterr().err == (
        'Error: invalid argument "not a name" for "--apiserver-cert-extra-sans" flag: not a DNS name or IP\n')
    assert not tmp_path.joinpath("pki").exists()
