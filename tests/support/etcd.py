"""A real etcd (Debian's etcd-server) on free loopback ports with a temporary data dir."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from tests.support.ports import free_port, wait_for_port

ETCD_BINARY = shutil.which("etcd") or "/usr/bin/etcd"


class EtcdProcess:
    """One single-member etcd. `stop()` and `start()` keep the data dir, so a restart keeps the data."""

    def __init__(self, data_dir: Path | None = None) -> None:
        if not os.path.exists(ETCD_BINARY):
            raise RuntimeError("etcd is not installed: run the README's test command (apt-get install etcd-server)")
        self.data_dir = data_dir or Path(tempfile.mkdtemp(prefix="pilothouse-etcd-"))
        self.client_port = free_port()
        self.peer_port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = self.data_dir / "etcd.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.client_port}"

    def start(self) -> None:
        peer = f"http://127.0.0.1:{self.peer_port}"
        command = [
            ETCD_BINARY,
            "--name", "default",
            "--data-dir", str(self.data_dir / "data"),
            "--listen-client-urls", self.url,
            "--advertise-client-urls", self.url,
            "--listen-peer-urls", peer,
            "--initial-advertise-peer-urls", peer,
            "--initial-cluster", f"default={peer}",
        ]
        log = open(self.log_path, "ab")  # noqa: SIM115 - owned by the process for its lifetime
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        wait_for_port(self.client_port)
        self._wait_healthy()

    def _wait_healthy(self, timeout: float = 20.0) -> None:
        import urllib.request

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=1) as response:
                    if b'"health":"true"' in response.read():
                        return
            except OSError:
                pass
            time.sleep(0.1)
        raise TimeoutError("etcd did not become healthy")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def pause(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)
