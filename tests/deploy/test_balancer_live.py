"""deploy/haproxy.cfg in front of a live server: TLS passes through (the client verifies the replica's own
certificate and presents its own), health checks send traffic only to replicas whose /readyz answers, and a
watch streams through the balancer."""
from __future__ import annotations

import http.client
import json
import os
import shutil
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.ports import free_port, wait_for_port
from tests.support.server import ServerProcess

HAPROXY_CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "haproxy.cfg"


class Balanced:
    def __init__(self, server: ServerProcess, port: int) -> None:
        self.server = server
        self.port = port

    def request(self, path: str, *, client_cert: bool) -> tuple[int, bytes]:
        connection = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=10,
                                                 context=self.server.ssl_context(client_cert=client_cert))
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()


@pytest.fixture(scope="module")
def balanced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Balanced]:
    """One replica up and a second one down (nothing listens on its port), behind the shared balancer config."""
    root = tmp_path_factory.mktemp("balancer")
    port = free_port()
    with ServerProcess(root / "replica") as server:
        env = {**os.environ, "PILOTHOUSE_LISTEN": f"127.0.0.1:{port}",
               "PILOTHOUSE_REPLICA_1": f"127.0.0.1:{server.port}", "PILOTHOUSE_REPLICA_2": f"127.0.0.1:{free_port()}",
               "PILOTHOUSE_BALANCE": "roundrobin", "PILOTHOUSE_CHECK_INTERVAL": "300ms"}
        haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
        with open(root / "haproxy.log", "wb") as log:
            process = subprocess.Popen([haproxy, "-db", "-f", str(HAPROXY_CONFIG)], env=env, stdout=log,
                                       stderr=subprocess.STDOUT)
        try:
            wait_for_port(port)
            yield Balanced(server, port)
        finally:
            process.terminate()
            process.wait(10)


def until_ok(balanced: Balanced, path: str, within: float = 15.0) -> tuple[int, bytes]:
    """Retry while the balancer still counts the live replica down (its first checks) or picks the dead one."""
    deadline = time.monotonic() + within
    while True:
        try:
            answer = balanced.request(path, client_cert=True)
            if answer[0] == 200 or time.monotonic() > deadline:
                return answer
        except (OSError, ssl.SSLError, http.client.HTTPException):
            if time.monotonic() > deadline:
                raise
        time.sleep(0.1)


def test_every_request_reaches_the_live_replica_once_checks_settle(balanced: Balanced) -> None:
    assert until_ok(balanced, "/readyz") == (200, b"ok")
    assert [balanced.request("/readyz", client_cert=False) for _ in range(6)] == [(200, b"ok")] * 6


def test_client_certificate_passes_through_to_the_replica(balanced: Balanced) -> None:
    until_ok(balanced, "/readyz")
    status, body = balanced.request("/api/v1/namespaces/default", client_cert=True)
    assert (status, json.loads(body)["metadata"]["name"]) == (200, "default")
    status, body = balanced.request("/api/v1/namespaces/default", client_cert=False)
    assert (status, json.loads(body)["message"]) == (
        403, 'namespaces "default" is forbidden: User "system:anonymous" cannot get resource "namespaces" in API '
             'group "" in the namespace "default"')


def test_a_watch_streams_through_the_balancer(balanced: Balanced) -> None:
    until_ok(balanced, "/readyz")
    connection = http.client.HTTPSConnection("127.0.0.1", balanced.port, timeout=10,
                                             context=balanced.server.ssl_context(client_cert=True))
    try:
        connection.request("GET", "/api/v1/namespaces?watch=1&fieldSelector=metadata.name%3Ddefault"
                                  "&timeoutSeconds=5")
        response = connection.getresponse()
        assert response.status == 200
        event = json.loads(response.readline())
        assert (event["type"], event["object"]["metadata"]["name"]) == ("ADDED", "default")
    finally:
        connection.close()
