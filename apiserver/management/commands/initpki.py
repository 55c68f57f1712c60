"""`manage.py initpki`: generate the cluster PKI and an admin kubeconfig once, then exit.

Several replicas must share one CA, one serving certificate and one ServiceAccount key; `serve` would generate
its own on first start. This command does it ahead of them (docker-compose.yml's init service), as
`kubeadm init phase certs` does: the files of `apiserver/server/pki.py` in `<data-dir>/pki/`, with the serving
certificate also naming `--apiserver-cert-extra-sans` (the replicas' and the load balancer's host names), and an
admin kubeconfig for `https://<--control-plane-endpoint>`. Existing files are kept, so running it again is safe.
Exit codes: 0 done, 1 unusable PKI directory, 2 flag error.
"""
from __future__ import annotations

import ipaddress
import socket
import sys
from pathlib import Path
from typing import Any, NoReturn

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from django.core.management.base import BaseCommand

from apiserver.server.flags import STRING, STRINGS, Flag, FlagError, HelpRequested, format_usage, parse_flags
from apiserver.server.kubeconfig import ensure_admin_kubeconfig
from apiserver.server.pki import (
    CertKeyPair,
    PKIError,
    ensure_pki,
    issue_ca,
    issue_serving_certificate,
    load_certificates,
    load_private_key,
    serving_sans,
    write_file,
    write_private_key,
)

SUMMARY = "Generate the cluster PKI and an admin kubeconfig for several replicas to share, then exit."
FLAGS = (
    Flag("data-dir", STRING, "var", "The PKI goes into <data-dir>/pki, as `manage.py serve` expects it there."),
    Flag("apiserver-cert-extra-sans", STRINGS, (),
         "Optional extra Subject Alternative Names (SANs) to use for the API Server serving certificate. Can be "
         "both IP addresses and DNS names."),
    Flag("control-plane-endpoint", STRING, "127.0.0.1:6443",
         "The stable address (host:port) clients reach the API at, usually the load balancer: the admin "
         "kubeconfig's server."),
    Flag("kubeconfig", STRING, "", "Where to write the admin kubeconfig. Empty means <data-dir>/admin.kubeconfig."),
)


class Command(BaseCommand):
    help = SUMMARY

    def run_from_argv(self, argv: list[str]) -> NoReturn:
        try:
            values = parse_flags(FLAGS, argv[2:], command="initpki")
            extra_sans = tuple(_san(text) for text in values["apiserver_cert_extra_sans"])  # type: ignore[attr-defined]
        except HelpRequested:
            usage = format_usage(FLAGS, usage_line="manage.py initpki [flags]")
            usage = usage.replace("help for serve", "help for initpki")
            sys.stdout.write(f"{SUMMARY}\n\n{usage}")
            raise SystemExit(0) from None
        except FlagError as error:
            sys.stderr.write(f"Error: {error}\n")
            raise SystemExit(2) from None
        data_dir = Path(str(values["data_dir"]))
        kubeconfig = Path(str(values["kubeconfig"]) or data_dir / "admin.kubeconfig")
        raise SystemExit(run(data_dir, extra_sans, str(values["control_plane_endpoint"]), kubeconfig))

    def handle(self, *args: Any, **options: Any) -> None:  # call_command() is not supported: flags are pflag's
        raise SystemExit(2)


def _san(text: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(text))
    except ValueError:
        pass
    if not text or " " in text:
        raise FlagError(f'invalid argument "{text}" for "--apiserver-cert-extra-sans" flag: not a DNS name or IP')
    return x509.DNSName(text.lower())


def run(data_dir: Path, extra_sans: tuple[x509.GeneralName, ...], endpoint: str, kubeconfig: Path) -> int:
    directory = data_dir / "pki"
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        ca = _ensure_ca(directory)
        if not (directory / "apiserver.crt").exists() and not (directory / "apiserver.key").exists():
            sans = [*serving_sans("127.0.0.1", socket.gethostname()), *extra_sans]
            _write_pair(directory, "apiserver", issue_serving_certificate(ca, _unique(sans)))
        pki = ensure_pki(directory, advertise_address="127.0.0.1")
        written = ensure_admin_kubeconfig(kubeconfig, ca=pki.ca, server_url=f"https://{endpoint}")
    except (PKIError, OSError, ValueError) as error:
        sys.stderr.write(f"Error: {error}\n")
        return 1
    sys.stdout.write(f"pki: {directory}\nkubeconfig: {kubeconfig} ({'generated' if written else 'existing'})\n")
    return 0


def _ensure_ca(directory: Path) -> CertKeyPair:
    if (directory / "ca.crt").exists():
        return CertKeyPair(load_certificates(directory / "ca.crt")[0], load_private_key(directory / "ca.key"))
    ca = issue_ca("kubernetes")
    _write_pair(directory, "ca", ca)
    return ca


def _write_pair(directory: Path, stem: str, pair: CertKeyPair) -> None:
    assert pair.key is not None
    write_private_key(directory / f"{stem}.key", pair.key)
    write_file(directory / f"{stem}.crt", pair.cert.public_bytes(serialization.Encoding.PEM), mode=0o644)


def _unique(names: list[x509.GeneralName]) -> list[x509.GeneralName]:
    return list(dict.fromkeys(names))
