"""TLS serving through PilothouseServer: optional verified client certificates, the ASGI TLS extension, ALPN.

A tiny echo app (tests/server/tls_echo_app.py) runs under the real server in a subprocess, so nothing is added to
the API for these tests.
"""
from __future__ import annotations

import http.client
import importlib.util
import json
import os
import signal
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from apiserver.server.pki import CertKeyPair, ensure_pki, issue_ca, issue_client_certificate, private_key_pem
from apiserver.server.tls import ServingTLS, TLSConfigError
from tests.support.ports import free_port, wait_for_port
from tests.support.server import ROOT, VENV_PYTHON


@dataclass(frozen=True)
class EchoServer:
    port: int
    pki: Path
    clients: Path
    process: subprocess.Popen[bytes]

    def context(self, client: str | None = None, *, alpn: list[str] | None = None) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.pki / "ca.crt"))
        if client is not None:
            context.load_cert_chain(str(self.clients / f"{client}.crt"), str(self.clients / f"{client}.key"))
        if alpn is not None:
            context.set_alpn_protocols(alpn)
        return context

    def get(self, context: ssl.SSLContext) -> dict[str, object]:
        connection = http.client.HTTPSConnection("127.0.0.1", self.port, context=context, timeout=5)
        try:
            connection.request("GET", "/echo")
            response = connection.getresponse()
            assert response.status == 200
            return json.loads(response.read())  # type: ignore[no-any-return]
        finally:
            connection.close()


def _write_pair(directory: Path, name: str, pair: CertKeyPair) -> None:
    assert pair.key is not None
    (directory / f"{name}.crt").write_bytes(pair.cert.public_bytes(serialization.Encoding.PEM))
    (directory / f"{name}.key").write_bytes(private_key_pem(pair.key))


@pytest.fixture(scope="module")
def echo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EchoServer]:
    base = tmp_path_factory.mktemp("tls") / "needs\\escaping:in=endpoint strings"  # Twisted's separators
    base.mkdir()
    pki = ensure_pki(base / "pki", advertise_address="127.0.0.1", hostname="node-1")
    clients = base / "clients"
    clients.mkdir()
    _write_pair(clients, "alice", issue_client_certificate(pki.ca, "alice", ["devs", "system:masters"]))
    _write_pair(clients, "mallory", issue_client_certificate(issue_ca("rogue"), "mallory", ["devs"]))
    port = free_port()
    process = subprocess.Popen(
        [str(VENV_PYTHON), "-m", "tests.server.tls_echo_app", str(port),
         str(base / "pki" / "apiserver.crt"), str(base / "pki" / "apiserver.key"), str(base / "pki" / "ca.crt")],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port)
        yield EchoServer(port, base / "pki", clients, process)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(15)


def test_client_certificate_reaches_the_app_as_the_tls_extension(echo: EchoServer) -> None:
    tls = echo.get(echo.context("alice"))["tls"]
    assert isinstance(tls, dict)
    assert tls["client_cert_name"] == "CN=alice,O=system:masters,O=devs"  # RFC 4514: last RDN first
    chain = tls["client_cert_chain"]
    assert isinstance(chain, list) and chain
    assert chain[0] == (echo.clients / "alice.crt").read_text()
    assert tls["client_cert_error"] is None
    assert tls["server_cert"] == (echo.pki / "apiserver.crt").read_text()


def test_post_bodies_reach_the_app_unparsed_even_when_they_claim_to_be_forms(echo: EchoServer) -> None:
    # Twisted parses form posts itself and answers 400 for a broken multipart body; the API reads bodies itself.
    body = b"--not-a-boundary\r\nnonsense"
    connection = http.client.HTTPSConnection("127.0.0.1", echo.port, context=echo.context(), timeout=5)
    try:
        connection.request("POST", "/echo", body=body,
                           headers={"Content-Type": "multipart/form-data; boundary=x"})
        response = connection.getresponse()
        assert response.status == 200
        assert json.loads(response.read())["body"] == body.decode("latin-1")
    finally:
        connection.close()


def test_connection_without_certificate_is_anonymous_not_refused(echo: EchoServer) -> None:
    answer = echo.get(echo.context())
    tls = answer["tls"]
    assert isinstance(tls, dict)
    assert (tls["client_cert_chain"], tls["client_cert_name"]) == ([], None)
    assert tls["tls_version"] == 0x0304
    assert tls["cipher_suite"] in (0x1301, 0x1302, 0x1303)
    assert (answer["scheme"], answer["http_version"]) == ("https", "1.1")


def test_certificate_from_another_ca_is_refused_in_the_handshake(echo: EchoServer) -> None:
    with pytest.raises(ssl.SSLError, match=r"UNKNOWN_CA|unknown ca"):
        echo.get(echo.context("mallory"))


def test_tls_12_is_accepted_with_an_aead_suite(echo: EchoServer) -> None:
    context = echo.context("alice")
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    tls = echo.get(context)["tls"]
    assert isinstance(tls, dict)
    assert tls["tls_version"] == 0x0303
    assert tls["cipher_suite"] in (0xC02B, 0xC02C, 0xC02F, 0xC030, 0xCCA8, 0xCCA9)


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1_1 is deprecated:DeprecationWarning")
def test_tls_11_is_refused(echo: EchoServer) -> None:
    context = echo.context()
    context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    context.maximum_version = ssl.TLSVersion.TLSv1_1
    with pytest.raises(ssl.SSLError):
        echo.get(context)


@pytest.mark.parametrize(("offered", "selected"), [(["h2", "http/1.1"], "http/1.1"), (["h2"], None)])
def test_alpn_is_pinned_to_http11(echo: EchoServer, offered: list[str], selected: str | None) -> None:
    with (
        socket.create_connection(("127.0.0.1", echo.port), timeout=5) as raw,
        echo.context(alpn=offered).wrap_socket(raw, server_hostname="127.0.0.1") as conn,
    ):
        assert conn.selected_alpn_protocol() == selected


def test_client_ca_names_are_advertised(echo: EchoServer) -> None:
    result = subprocess.run(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{echo.port}", "-CAfile", str(echo.pki / "ca.crt"),
         "-tls1_2"],
        input=b"", capture_output=True, timeout=10,
    )
    assert b"Acceptable client certificate CA names\nCN = kubernetes" in result.stdout


def test_connections_have_tcp_keepalive_every_three_minutes(echo: EchoServer) -> None:
    with (
        socket.create_connection(("127.0.0.1", echo.port), timeout=5) as raw,
        echo.context().wrap_socket(raw, server_hostname="127.0.0.1") as conn,
    ):
        local_port = conn.getsockname()[1]
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            sockets = subprocess.run(
                ["ss", "-tnoH", "state", "established", f"( sport = :{echo.port} and dport = :{local_port} )"],
                capture_output=True, text=True, timeout=5,
            ).stdout
            if "timer:(keepalive" in sockets:
                break
            time.sleep(0.05)
    assert "timer:(keepalive,2min5" in sockets or "timer:(keepalive,3min" in sockets, sockets


def _start_echo(tmp_path: Path, env: dict[str, str] | None = None) -> tuple[subprocess.Popen[bytes], int, Path]:
    pki = ensure_pki(tmp_path / "pki", advertise_address="127.0.0.1", hostname="node-1")
    port, marker = free_port(), tmp_path / "slow-started"
    process = subprocess.Popen(
        [str(VENV_PYTHON), "-m", "tests.server.tls_echo_app", str(port), str(pki.directory / "apiserver.crt"),
         str(pki.directory / "apiserver.key"), str(pki.ca_file), str(marker)],
        cwd=ROOT, env={**os.environ, **(env or {})},
    )
    wait_for_port(port)
    return process, port, pki.ca_file


@pytest.mark.parametrize("signal_number", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_termination_signal_stops_the_server_promptly_with_exit_0(tmp_path: Path, signal_number: int) -> None:
    process, _, _ = _start_echo(tmp_path)
    started = time.monotonic()
    process.send_signal(signal_number)
    assert process.wait(10) == 0
    assert time.monotonic() - started < 3


def test_shutdown_closes_the_listener_and_lets_requests_in_flight_finish(tmp_path: Path) -> None:
    process, port, ca_file = _start_echo(tmp_path)
    answers: list[int] = []

    def slow_request() -> None:
        connection = http.client.HTTPSConnection(
            "127.0.0.1", port, context=ssl.create_default_context(cafile=str(ca_file)), timeout=10
        )
        connection.request("GET", "/slow")
        answers.append(connection.getresponse().status)
        connection.close()

    requester = threading.Thread(target=slow_request)
    requester.start()
    deadline = time.monotonic() + 10
    while not (tmp_path / "slow-started").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    process.send_signal(signal.SIGTERM)
    refused = _wait_until_refused(port)
    still_in_flight = not answers
    requester.join(10)
    assert process.wait(10) == 0
    assert (refused, still_in_flight, answers) == (True, True, [200])


def _wait_until_refused(port: int, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except ConnectionRefusedError:
            return True
        time.sleep(0.01)
    return False


def test_idle_keepalive_connections_are_closed_after_the_idle_timeout(tmp_path: Path) -> None:
    process, port, ca_file = _start_echo(tmp_path, env={"ECHO_IDLE_TIMEOUT": "0.5"})
    try:
        connection = http.client.HTTPSConnection(
            "127.0.0.1", port, context=ssl.create_default_context(cafile=str(ca_file)), timeout=5
        )
        connection.request("GET", "/echo")
        connection.getresponse().read()
        assert connection.sock is not None
        idle_since = time.monotonic()
        assert connection.sock.recv(1) == b""  # the server closed the idle connection
        assert 0.4 < time.monotonic() - idle_since < 3
        connection.close()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(10)


def test_default_idle_timeout_is_kube_apiservers_90_seconds() -> None:
    from apiserver.server.daphne import IDLE_TIMEOUT_SECONDS  # imports Daphne, which installs its reactor

    assert IDLE_TIMEOUT_SECONDS == 90.0


def test_a_key_that_does_not_match_the_certificate_is_a_clear_error(tmp_path: Path) -> None:
    pki = ensure_pki(tmp_path / "pki", advertise_address="127.0.0.1", hostname="node-1")
    with pytest.raises(TLSConfigError) as caught:
        ServingTLS(pki.ca_file, pki.directory / "apiserver.key", pki.ca_file)
    assert str(caught.value) == (
        f"unable to load server certificate: {pki.directory}/apiserver.key does not match {pki.ca_file}"
    )


def test_a_missing_client_ca_file_is_a_clear_error(tmp_path: Path) -> None:
    pki = ensure_pki(tmp_path / "pki", advertise_address="127.0.0.1", hostname="node-1")
    with pytest.raises(TLSConfigError) as caught:
        ServingTLS(pki.directory / "apiserver.crt", pki.directory / "apiserver.key", tmp_path / "none.crt")
    assert str(caught.value) == (
        f'unable to load client CA file "{tmp_path}/none.crt": open {tmp_path}/none.crt: no such file or directory'
    )


def test_http2_cannot_be_negotiated_because_h2_is_not_installed() -> None:
    assert importlib.util.find_spec("h2") is None
