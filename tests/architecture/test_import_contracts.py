"""The layer contract of DESIGN.md, enforced: import-linter for the layers, an AST scan for settings access."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Django's rule, and ours: settings are read only where configuration is assembled (DESIGN.md).
SETTINGS_READERS = {"apiserver/settings.py", "apiserver/server/config.py"}


def test_import_linter_contracts_hold() -> None:
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint_imports), "--no-cache", "--no-logo", "--config", str(ROOT / ".importlinter")],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _imports_django_conf(path: Path) -> bool:
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(alias.name.startswith("django.conf") for alias in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and node.module is not None:
            from_django = node.module == "django" and any(alias.name == "conf" for alias in node.names)
            if node.module.startswith("django.conf") or from_django:
                return True
    return False


def test_only_config_modules_read_django_settings() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in sorted((ROOT / "apiserver").rglob("*.py"))
        if str(path.relative_to(ROOT)) not in SETTINGS_READERS and _imports_django_conf(path)
    ]
    assert offenders == []
