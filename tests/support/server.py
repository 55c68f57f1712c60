"""A real `manage.py serve` in a subprocess, over HTTPS on a free loopback port, for live tests."""
from __future__ import annotations

import base64
import http.client
import os
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

import yaml

from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"


class ServerProcess:
    """One Pilothouse server. `start()` returns once /readyz answers 200 (or raises with the server's output).

    stdout and stderr go to `<data_dir>/serve.stdout` and `serve.stderr`; `output()` reads them. It binds `host`
    and is reached there (a subclass may pick another loopback address).
    """

    host = "127.0.0.1"

    def __init__(
        self,
        data_dir: Path,
        *,
        storage_backend: str = "sqlite",
        etcd_servers: str = "",
        extra_args: Sequence[str] = (),
        env: dict[str, str] | None = None,
        port: int | None = None,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        self.storage_backend = storage_backend
        self.etcd_servers = etcd_servers
        self.extra_args = tuple(extra_args)
        self.env = env or {}
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"

    @property
    def ca_file(self) -> Path:
        return self.data_dir / "pki" / "ca.crt"

    @property
    def kubeconfig(self) -> Path:
        return self.data_dir / "admin.kubeconfig"

    def command(self) -> list[str]:
        python = str(VENV_PYTHON if VENV_PYTHON.exists() else Path(sys.executable))
        command = [
            python, "manage.py", "serve",
            "--secure-port", str(self.port), "--bind-address", self.host, "--data-dir", str(self.data_dir),
            "--storage-backend", self.storage_backend,
        ]
        if self.etcd_servers:
            command += ["--etcd-servers", self.etcd_servers]
        return command + list(self.extra_args)

    def launch(self) -> None:
        """Start the process without waiting for anything."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "apiserver.settings", "PYTHONUNBUFFERED": "1", **self.env}
        with open(self.data_dir / "serve.stdout", "wb") as out, open(self.data_dir / "serve.stderr", "wb") as err:
            self.process = subprocess.Popen(self.command(), cwd=ROOT, stdout=out, stderr=err, env=env)

    def start(self, timeout: float = 30.0) -> ServerProcess:
        self.launch()
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}:\n{self.output()}")
            if self.ca_file.exists():
                try:
                    if self.request("GET", "/readyz", timeout=2)[0] == 200:
                        return
                except (OSError, ssl.SSLError, http.client.HTTPException):
                    pass
            time.sleep(0.05)
        raise TimeoutError(f"server not ready after {timeout}s:\n{self.output()}")

    def wait_exit(self, timeout: float = 20.0) -> int:
        assert self.process is not None
        return self.process.wait(timeout)

    def stop(self, timeout: float = 20.0) -> int:
        """SIGTERM, then wait; returns the exit code."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def output(self) -> str:
        return self.stdout() + self.stderr()

    def stdout(self) -> str:
        return _read(self.data_dir / "serve.stdout")

    def stderr(self) -> str:
        return _read(self.data_dir / "serve.stderr")

    def ssl_context(self, *, client_cert: bool = False) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.ca_file))
        if client_cert:
            cert_file, key_file = self.admin_credentials()
            context.load_cert_chain(str(cert_file), str(key_file))
        return context

    def admin_credentials(self) -> tuple[Path, Path]:
        """The admin client certificate and key of the kubeconfig, as files (for ssl and curl)."""
        cert_file, key_file = self.data_dir / "test-admin.crt", self.data_dir / "test-admin.key"
        if not cert_file.exists():
            user = yaml.safe_load(self.kubeconfig.read_text())["users"][0]["user"]
            cert_file.write_bytes(base64.b64decode(user["client-certificate-data"]))
            key_file.write_bytes(base64.b64decode(user["client-key-data"]))
            key_file.chmod(0o600)
        return cert_file, key_file

    def request(
        self,
        method: str,
        path: str,
        *,
        client_cert: bool = False,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 10.0,
    ) -> tuple[int, dict[str, str], bytes]:
        """One HTTPS request verified against the generated CA; returns (status, headers, body)."""
        connection = http.client.HTTPSConnection(
            self.host, self.port, context=self.ssl_context(client_cert=client_cert), timeout=timeout
        )
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        finally:
            connection.close()

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        try:
            if self.process is not None and self.process.poll() is None:
                self.stop()
        finally:
            self.kill()


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return ""
