"""Structured log fields must not reuse LogRecord's own attribute names: `logging` raises KeyError ("Attempt to
overwrite 'name' in LogRecord") for such an `extra` as soon as the level lets the record through, so a server
started with PILOTHOUSE_LOG_LEVEL=INFO died in its RBAC bootstrap."""
from __future__ import annotations

import ast
import logging
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RESERVED = frozenset(logging.LogRecord("n", logging.INFO, "p", 0, "m", None, None).__dict__) | {"message", "asctime"}


def test_no_log_call_passes_a_reserved_field_in_extra() -> None:
    clashes = []
    for package in ("apiserver", "console"):
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if not isinstance(node, ast.Call):
                    continue
                for keyword in node.keywords:
                    if keyword.arg == "extra" and isinstance(keyword.value, ast.Dict):
                        clashes += [f"{path.relative_to(ROOT)}:{node.lineno}: {key.value}"
                                    for key in keyword.value.keys
                                    if isinstance(key, ast.Constant) and key.value in RESERVED]
    assert clashes == []


def test_the_reserved_names_are_what_logging_refuses() -> None:
    logger = logging.getLogger("tests.architecture.log_extras")
    try:
        logger.makeRecord(logger.name, logging.INFO, __file__, 1, "event", None, None, extra={"name": "x"})
    except KeyError as error:
        assert "name" in str(error)
    else:
        raise AssertionError("logging accepted a reserved extra field")
    assert "name" in RESERVED and "object" not in RESERVED
