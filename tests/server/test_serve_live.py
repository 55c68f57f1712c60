"""`manage.py serve` for real: Daphne over TLS on the embedded store, its output, health, routing and lifecycle."""
from __future__ import annotations

import http.client
import json
import re
import signal
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from apiserver.server.pki import issue_ca, issue_client_certificate, private_key_pem
from tests.support.ports import free_port
from tests.support.server import ServerProcess

pytestmark = pytest.mark.slow

AGGREGATOR_HOOKS = (
    "start-kube-aggregator-informers", "apiservice-status-local-available-controller",
    "apiservice-status-remote-available-controller", "apiservice-registration-controller",
    "apiservice-discovery-controller", "kube-apiserver-autoregistration",
)
AGGREGATOR_LINES = "".join(f"[+]poststarthook/{hook} ok\n" for hook in AGGREGATOR_HOOKS)
LIVEZ_VERBOSE = (
    "[+]ping ok\n[+]log ok\n[+]etcd ok\n[+]poststarthook/start-storage-compactor ok\n"
    "[+]poststarthook/bootstrap-system-namespaces ok\n[+]poststarthook/rbac/bootstrap-roles ok\n"
    "[+]poststarthook/start-service-ip-repair-controllers ok\n[+]poststarthook/bootstrap-controller ok\n"
    "[+]poststarthook/scheduling/bootstrap-system-priority-classes ok\n"
    "[+]poststarthook/start-cluster-authentication-info-controller ok\n[+]poststarthook/bootstrap-cluster-info ok\n"
    "[+]poststarthook/start-kube-apiserver-identity-lease-controller ok\n"
    "[+]poststarthook/start-kube-apiserver-identity-lease-garbage-collector ok\n"
    f"{AGGREGATOR_LINES}livez check passed\n"
)
READYZ_VERBOSE_WITHOUT_ETCD = (
    "[+]ping ok\n[+]log ok\n[+]etcd excluded: ok\n[+]etcd-readiness ok\n[+]informer-sync ok\n"
    "[+]poststarthook/start-storage-compactor ok\n[+]poststarthook/bootstrap-system-namespaces ok\n"
    "[+]poststarthook/rbac/bootstrap-roles ok\n"
    "[+]poststarthook/start-service-ip-repair-controllers ok\n[+]poststarthook/bootstrap-controller ok\n"
    "[+]poststarthook/scheduling/bootstrap-system-priority-classes ok\n"
    "[+]poststarthook/start-cluster-authentication-info-controller ok\n[+]poststarthook/bootstrap-cluster-info ok\n"
    "[+]poststarthook/start-kube-apiserver-identity-lease-controller ok\n"
    "[+]poststarthook/start-kube-apiserver-identity-lease-garbage-collector ok\n"
    f"{AGGREGATOR_LINES}[+]autoregister-completion ok\n[+]shutdown ok\nreadyz check passed\n"
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with ServerProcess(tmp_path_factory.mktemp("serve") / "data") as process:
        yield process


def _error_lines(process: ServerProcess) -> list[str]:
    return [line for line in process.stderr().splitlines() if line.strip()]


def test_startup_prints_each_phase_then_where_to_reach_the_server(server: ServerProcess) -> None:
    lines = server.stdout().splitlines()
    data = server.data_dir
    assert lines[:5] == [
        f"pki: using {data}/pki (generated)",
        f"kubeconfig: {data}/admin.kubeconfig (generated)",
        f"console database: {data}/console.sqlite3",
        "compaction: every 5m0s",
        f"serving: {server.url} (client CA {data}/pki/ca.crt)",
    ]
    assert lines[5:] == [
        f"storage: sqlite {data}/state.db",
        "ready",
        f"  API:        {server.url}",
        f"  kubeconfig: {server.kubeconfig.resolve()}",
        f"  console:    {server.url}/console/",
    ]


def test_livez_verbose_lists_every_check_in_upstream_format(server: ServerProcess) -> None:
    status, headers, body = server.request("GET", "/livez?verbose")
    assert (status, body.decode()) == (200, LIVEZ_VERBOSE)
    assert headers["content-type"] == "text/plain; charset=utf-8"


def test_readyz_verbose_with_exclude_in_upstream_format(server: ServerProcess) -> None:
    status, _, body = server.request("GET", "/readyz?verbose&exclude=etcd")
    assert (status, body.decode()) == (200, READYZ_VERBOSE_WITHOUT_ETCD)


def test_version_says_kubernetes_1_32(server: ServerProcess) -> None:
    status, _, body = server.request("GET", "/version")
    document = json.loads(body)
    assert (status, document["major"], document["minor"]) == (200, "1", "32")


def test_responses_carry_no_server_header(server: ServerProcess) -> None:
    _, headers, _ = server.request("GET", "/version")
    assert "server" not in headers


def test_curl_with_the_admin_client_certificate_is_served(server: ServerProcess) -> None:
    cert, key = server.admin_credentials()
    result = subprocess.run(
        ["curl", "-sS", "--fail", "--cacert", str(server.ca_file), "--cert", str(cert), "--key", str(key),
         f"{server.url}/livez"],
        capture_output=True, text=True, timeout=10,
    )
    assert (result.returncode, result.stdout) == (0, "ok"), result.stderr


def test_client_certificate_from_a_rogue_ca_is_refused_in_the_handshake(
    server: ServerProcess, tmp_path: Path
) -> None:
    rogue = issue_client_certificate(issue_ca("kubernetes"), "kubernetes-admin", ["system:masters"])
    assert rogue.key is not None
    (tmp_path / "rogue.crt").write_bytes(rogue.cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "rogue.key").write_bytes(private_key_pem(rogue.key))
    context = server.ssl_context()
    context.load_cert_chain(str(tmp_path / "rogue.crt"), str(tmp_path / "rogue.key"))
    connection = http.client.HTTPSConnection("127.0.0.1", server.port, context=context, timeout=5)
    with pytest.raises(ssl.SSLError, match=r"UNKNOWN_CA|unknown ca"):
        connection.request("GET", "/livez")
        connection.getresponse()
    connection.close()


@pytest.mark.parametrize(
    ("path", "status", "content_type"),
    [
        ("/console/login/", 200, "text/html; charset=utf-8"),  # /console/ itself redirects there without a session
        ("/apisx", 404, "application/json"),
        ("/", 200, "application/json"),
    ],
    ids=["console-is-django", "apisx-is-not-apis", "root-is-the-apis-path-index"],
)
def test_paths_reach_the_api_or_the_console(server: ServerProcess, path: str, status: int, content_type: str) -> None:
    # As the admin: anonymous users may read only health and /version (system:public-info-viewer).
    got_status, headers, body = server.request("GET", path, client_cert=True)
    assert (got_status, headers["content-type"]) == (status, content_type)
    if status == 404:
        assert json.loads(body)["reason"] == "NotFound"
    if path == "/":
        paths = json.loads(body)["paths"]
        assert {"/api", "/api/v1", "/apis", "/apis/apps/v1", "/livez", "/metrics", "/version"} <= set(paths)
        assert paths == sorted(paths)


def test_console_without_slash_redirects_like_django(server: ServerProcess) -> None:
    status, headers, _ = server.request("GET", "/console")
    assert (status, headers["location"]) == (301, "/console/")


def test_websockets_are_refused_for_now(server: ServerProcess) -> None:
    status, _, _ = server.request("GET", "/console/ws/abc", headers={
        "Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    })
    assert status == 403


def test_port_in_use_fails_with_one_line_and_exit_1(server: ServerProcess, tmp_path: Path) -> None:
    second = ServerProcess(tmp_path / "data", port=server.port)
    second.launch()
    assert second.wait_exit() == 1
    assert _error_lines(second) == [
        f"Error: failed to create listener: failed to listen on 127.0.0.1:{server.port}: "
        f"listen tcp 127.0.0.1:{server.port}: bind: address already in use"
    ]


def test_unusable_certificate_fails_with_one_line_and_exit_1(tmp_path: Path) -> None:
    bad = ServerProcess(tmp_path / "data", extra_args=[
        "--tls-cert-file", str(tmp_path / "missing.crt"), "--tls-private-key-file", str(tmp_path / "missing.key"),
    ])
    bad.launch()
    assert bad.wait_exit() == 1
    assert _error_lines(bad) == [
        f"Error: unable to load server certificate: open {tmp_path}/missing.crt: no such file or directory"
    ]


def test_sigterm_stops_promptly_with_exit_0_and_a_restart_reuses_everything(tmp_path: Path) -> None:
    first = ServerProcess(tmp_path / "data").start()
    kubeconfig = first.kubeconfig.read_bytes()
    started = time.monotonic()
    assert first.stop() == 0
    assert time.monotonic() - started < 5
    assert first.stderr() == ""
    with ServerProcess(tmp_path / "data") as again:
        assert f"pki: using {again.data_dir}/pki (existing)" in again.stdout()
        assert f"kubeconfig: {again.kubeconfig} (existing)" in again.stdout()
        assert again.kubeconfig.read_bytes() == kubeconfig


def test_shutdown_delay_keeps_serving_with_readyz_failing_on_shutdown(tmp_path: Path) -> None:
    with ServerProcess(tmp_path / "data", extra_args=["--shutdown-delay-duration", "2s"]) as process:
        assert process.process is not None
        process.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            status, _, body = process.request("GET", "/readyz?verbose")
            if status != 200:
                break
        assert status == 500
        assert "[-]shutdown failed: reason withheld\n" in body.decode()
        assert body.decode().endswith("readyz check failed\n")
        livez_status, _, livez_body = process.request("GET", "/livez")
        assert (livez_status, livez_body) == (200, b"ok")
        stopping_since = time.monotonic()
        assert process.wait_exit() == 0
        assert time.monotonic() - stopping_since > 1.0


def test_readyz_fails_while_storage_is_unreachable_but_livez_passes_in_its_grace_period(tmp_path: Path) -> None:
    process = ServerProcess(
        tmp_path / "data", storage_backend="etcd3", etcd_servers=f"http://127.0.0.1:{free_port()}",
        extra_args=["--livez-grace-period", "60s"], env={"PILOTHOUSE_STORAGE_START_TIMEOUT": "60"},
    )
    process.launch()
    try:
        # As the admin (system:masters needs no RBAC objects, which cannot be read without storage).
        livez = _poll_until_answered(process, "/livez?verbose&exclude=etcd")
        assert livez == (200, "[+]ping ok\n[+]log ok\n[+]etcd excluded: ok\n"
                              "[+]poststarthook/start-storage-compactor ok\n"
                              "[+]poststarthook/bootstrap-system-namespaces ok\n"
                              "[+]poststarthook/rbac/bootstrap-roles ok\n"
                              "[+]poststarthook/start-service-ip-repair-controllers ok\n"
                              "[+]poststarthook/bootstrap-controller ok\n"
                              "[+]poststarthook/scheduling/bootstrap-system-priority-classes ok\n"
                              "[+]poststarthook/start-cluster-authentication-info-controller ok\n"
                              "[+]poststarthook/bootstrap-cluster-info ok\n"
                              "[+]poststarthook/start-kube-apiserver-identity-lease-controller ok\n"
                              "[+]poststarthook/start-kube-apiserver-identity-lease-garbage-collector ok\n"
                              f"{AGGREGATOR_LINES}livez check passed\n")
        status, _, body = process.request("GET", "/readyz?verbose", client_cert=True)
        assert status == 500
        assert re.findall(r"\[-\](\S+) failed", body.decode()) == [
            "etcd", "etcd-readiness", "informer-sync", "poststarthook/start-storage-compactor",
            "poststarthook/bootstrap-system-namespaces", "poststarthook/rbac/bootstrap-roles",
            "poststarthook/start-service-ip-repair-controllers", "poststarthook/bootstrap-controller",
            "poststarthook/scheduling/bootstrap-system-priority-classes",
            "poststarthook/start-cluster-authentication-info-controller", "poststarthook/bootstrap-cluster-info",
            "poststarthook/start-kube-apiserver-identity-lease-controller",
            "poststarthook/start-kube-apiserver-identity-lease-garbage-collector",
            *(f"poststarthook/{hook}" for hook in AGGREGATOR_HOOKS), "autoregister-completion",
        ]
    finally:
        assert process.stop() == 0


def test_storage_that_never_answers_fails_the_start_with_one_line_and_exit_1(tmp_path: Path) -> None:
    process = ServerProcess(
        tmp_path / "data", storage_backend="etcd3", etcd_servers=f"http://127.0.0.1:{free_port()}",
        env={"PILOTHOUSE_STORAGE_START_TIMEOUT": "1"},
    )
    process.launch()
    assert process.wait_exit() == 1
    errors = [line for line in _error_lines(process) if line.startswith("Error:")]
    assert len(errors) == 1
    assert errors[0].startswith("Error: storage etcd3 http://127.0.0.1:")
    assert "unreachable after 1s" in errors[0]


def _poll_until_answered(process: ServerProcess, path: str, timeout: float = 20.0) -> tuple[int, str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.ca_file.exists():
            try:
                status, _, body = process.request("GET", path, timeout=2, client_cert=True)
                return status, body.decode()
            except (OSError, http.client.HTTPException):
                pass
        time.sleep(0.05)
    raise TimeoutError(process.output())
