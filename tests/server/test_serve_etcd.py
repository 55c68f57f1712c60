"""`manage.py serve` on etcd: the same server, storage in the session's real etcd."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.etcd import EtcdProcess
from tests.support.server import ServerProcess

pytestmark = pytest.mark.slow


def test_serve_on_etcd_becomes_ready(etcd: EtcdProcess, tmp_path: Path) -> None:
    extra = ["--etcd-prefix", f"/{tmp_path.name}"]
    with ServerProcess(tmp_path / "data", storage_backend="etcd3", etcd_servers=etcd.url, extra_args=extra) as server:
        status, _, body = server.request("GET", "/readyz?verbose")
        assert status == 200
        assert "[+]etcd ok\n[+]etcd-readiness ok\n" in body.decode()
        assert f"storage: etcd3 {etcd.url} (prefix /{tmp_path.name})" in server.stdout().splitlines()
        assert server.stop() == 0
