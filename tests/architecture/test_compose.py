"""docker-compose.yml and the Dockerfile stay in step with the code (no Docker engine runs on our machines)."""
from __future__ import annotations

import re
from pathlib import Path

import yaml

from apiserver.server.config import SERVE_FLAGS
from apiserver.server.flags import parse_flags

ROOT = Path(__file__).resolve().parents[2]


def _compose() -> dict[str, object]:
    document = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(document, dict)
    return document


def test_compose_apiserver_command_parses_with_serves_flag_table() -> None:
    services = _compose()["services"]
    assert isinstance(services, dict)
    apiserver = services["apiserver"]
    entrypoint_args = ["--data-dir", "/var/lib/pilothouse"]  # the Dockerfile's ENTRYPOINT
    values = parse_flags(SERVE_FLAGS, [*entrypoint_args, *apiserver["command"]], command="serve")
    assert values["storage_backend"] == "etcd3"
    assert values["etcd_servers"] == ("http://etcd:2379",)


def test_compose_apiserver_has_a_livez_health_check_and_waits_for_etcd() -> None:
    apiserver = _compose()["services"]["apiserver"]  # type: ignore[index]
    assert "/livez" in " ".join(apiserver["healthcheck"]["test"])
    assert apiserver["depends_on"]["etcd"]["condition"] == "service_healthy"


def test_dockerfile_copies_every_top_level_package_and_runs_as_non_root() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    copied = {
        source
        for line in re.findall(r"^COPY (.+)$", dockerfile, flags=re.MULTILINE)
        for source in line.split()[:-1]
    }
    assert {"apiserver", "console", "templates", "static", "twisted", "manage.py", "pyproject.toml"} <= copied
    assert re.search(r"^USER (?!root)\S+", dockerfile, flags=re.MULTILINE)
