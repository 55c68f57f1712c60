"""Running the real kubectl 1.32 against a live server, with a private HOME and discovery cache per test.

`/usr/bin/kubectl` is gcloud's dispatcher (it picks a kubectl by the server's version), so the 1.32 binary is
called directly; `.venv/bin/kubectl` is the fallback where the gcloud SDK is missing.
"""
from __future__ import annotations

import os
import queue
import subprocess
import threading
import time
from pathlib import Path
from types import TracebackType

ROOT = Path(__file__).resolve().parents[2]
KUBECTL_CANDIDATES = (Path("/usr/lib/google-cloud-sdk/bin/kubectl.1.32"), ROOT / ".venv" / "bin" / "kubectl")


def kubectl_binary() -> Path:
    """The kubectl 1.32 binary. Raises FileNotFoundError when none is installed."""
    for candidate in KUBECTL_CANDIDATES:
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"kubectl 1.32 not found at any of {[str(path) for path in KUBECTL_CANDIDATES]}")


class Kubectl:
    """kubectl with one kubeconfig and a HOME of its own (so its discovery and HTTP caches are private)."""

    def __init__(self, kubeconfig: Path, home: Path) -> None:
        self.kubeconfig = kubeconfig
        self.home = home
        home.mkdir(parents=True, exist_ok=True)

    @property
    def env(self) -> dict[str, str]:
        return {
            "HOME": str(self.home),
            "KUBECACHEDIR": str(self.home / ".kube" / "cache"),
            "KUBECONFIG": str(self.kubeconfig),
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        }

    def run_with_env(
        self, extra_env: dict[str, str], *args: str, timeout: float = 60.0
    ) -> subprocess.CompletedProcess[str]:
        """Run to completion with more environment variables (KUBE_EDITOR, …)."""
        return subprocess.run(
            [str(kubectl_binary()), *args], env={**self.env, **extra_env}, capture_output=True, text=True,
            timeout=timeout, check=False,
        )

    def run(self, *args: str, stdin: str | None = None, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        """Run to completion; the result's returncode, stdout and stderr are for the test to check."""
        return subprocess.run(
            [str(kubectl_binary()), *args], env=self.env, input=stdin, capture_output=True, text=True,
            timeout=timeout, check=False,
        )

    def stream(self, *args: str) -> StreamedKubectl:
        """Start a long-running kubectl (`get -w`) whose output lines are read with a deadline."""
        return StreamedKubectl([str(kubectl_binary()), *args], self.env)


class StreamedKubectl:
    """A running kubectl; `next_line(timeout)` returns its next stdout line or raises TimeoutError."""

    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def next_line(self, timeout: float = 10.0) -> str:
        """The next line of output. Raises TimeoutError, or EOFError when kubectl exited."""
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(f"no output line within {timeout}s") from None
        if line is None:
            raise EOFError(f"kubectl exited with {self.process.wait()}: {self.stderr()}")
        return line

    def lines(self, count: int, timeout: float = 10.0) -> list[str]:
        deadline = time.monotonic() + timeout
        return [self.next_line(max(0.0, deadline - time.monotonic())) for _ in range(count)]

    def stderr(self) -> str:
        if self.process.poll() is None or self.process.stderr is None:
            return ""
        return self.process.stderr.read()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> StreamedKubectl:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()
