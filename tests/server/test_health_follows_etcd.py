"""Health follows the storage: etcd going away turns /livez/etcd and /readyz to 500, its return back to 200.

The server runs on its own etcd, so stopping it disturbs no other test. Requests are made as the admin: anonymous
users may read only /livez, /readyz and /healthz themselves, not the individual checks (as upstream).
"""
from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.support.etcd import EtcdProcess
from tests.support.server import ServerProcess

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def own_etcd() -> Iterator[EtcdProcess]:
    process = EtcdProcess()
    process.start()
    yield process
    process.destroy()


@pytest.fixture(scope="module")
def server(own_etcd: EtcdProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    data_dir = tmp_path_factory.mktemp("etcd-health") / "data"
    with ServerProcess(data_dir, storage_backend="etcd3", etcd_servers=own_etcd.url) as process:
        yield process


def _wait_for_status(server: ServerProcess, path: str, status: int, within: float) -> tuple[float, bytes]:
    started = time.monotonic()
    body = b""
    while time.monotonic() - started < within:
        got, _, body = server.request("GET", path, client_cert=True)
        if got == status:
            return time.monotonic() - started, body
        time.sleep(0.2)
    raise AssertionError(f"{path} did not answer {status} within {within}s; last body: {body!r}")


def test_health_turns_500_when_etcd_stops_and_200_when_it_returns(
    server: ServerProcess, own_etcd: EtcdProcess
) -> None:
    assert server.request("GET", "/livez/etcd", client_cert=True)[0] == 200
    own_etcd.stop()
    try:
        _wait_for_status(server, "/livez/etcd", 500, within=10)
        status, headers, body = server.request("GET", "/readyz?verbose", client_cert=True)
        assert status == 500
        assert headers["content-type"] == "text/plain; charset=utf-8"
        assert headers["x-content-type-options"] == "nosniff"
        lines = body.decode().splitlines()
        assert "[-]etcd failed: reason withheld" in lines
        assert lines[-1] == "readyz check failed"
        # Liveness of the other checks is unaffected, and the failure names only the failing check.
        assert "[+]ping ok" in lines
        # The real reason goes to the log, never to the client.
        assert "reason withheld" in body.decode() and "Traceback" not in body.decode()
    finally:
        own_etcd.start()
    _wait_for_status(server, "/livez/etcd", 200, within=30)
    _wait_for_status(server, "/readyz", 200, within=30)
    status, _, body = server.request("GET", "/livez?verbose", client_cert=True)
    assert (status, body.decode().splitlines()[-1]) == (200, "livez check passed")


def test_excluding_etcd_keeps_readyz_green_while_etcd_is_down(server: ServerProcess, own_etcd: EtcdProcess) -> None:
    _wait_for_status(server, "/readyz", 200, within=30)
    own_etcd.stop()
    try:
        _wait_for_status(server, "/livez/etcd", 500, within=10)
        status, _, body = server.request("GET", "/livez?verbose&exclude=etcd", client_cert=True)
        assert status == 200
        assert "[+]etcd excluded: ok" in body.decode().splitlines()
    finally:
        own_etcd.start()
    _wait_for_status(server, "/readyz", 200, within=30)
