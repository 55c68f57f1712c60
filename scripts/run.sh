#!/usr/bin/env bash
# The README's run command: install into .venv/ and start the server with the console on the embedded store.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3.11}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -e .
exec .venv/bin/python manage.py serve "$@"
