"""A garbage-collector hook for the server under test, without touching server code (`--gc-log`, `--gc-threshold`).

The hook is a `sitecustomize.py` written into a temporary directory that goes first on the server's PYTHONPATH;
Python imports it at start-up. It appends one line per collection that paused the server for more than
PAUSE_MS to `gc.log` beside it (monotonic time, generation, milliseconds, objects collected), and with
`--gc-threshold A,B,C` it calls `gc.set_threshold(A, B, C)` first: a way to measure a GC remedy before
anyone changes the server. `summarise` turns the log into one line per generation.
"""
from __future__ import annotations

import statistics
from collections import defaultdict
from pathlib import Path

PAUSE_MS = 5.0

_SITECUSTOMIZE = '''
import gc
import time

_LOG = open({log!r}, "a", buffering=1)
_started = [0.0]


def _on_gc(phase, info):
    if phase == "start":
        _started[0] = time.perf_counter()
        return
    pause = (time.perf_counter() - _started[0]) * 1e3
    if pause > {pause_ms!r}:
        _LOG.write(f"{{time.perf_counter():.3f}} {{info['generation']}} {{pause:.1f}} {{info['collected']}}\\n")


gc.callbacks.append(_on_gc)
if {threshold!r}:
    gc.set_threshold(*{threshold!r})
'''


def install(directory: Path, threshold: tuple[int, ...] = ()) -> Path:
    """Write the hook into `directory` (created); returns the log path. Put `directory` on PYTHONPATH."""
    directory.mkdir(parents=True, exist_ok=True)
    log = directory / "gc.log"
    log.touch()
    hook = _SITECUSTOMIZE.format(log=str(log), pause_ms=PAUSE_MS, threshold=tuple(threshold))
    (directory / "sitecustomize.py").write_text(hook)
    return log


def parse_threshold(text: str) -> tuple[int, ...]:
    values = tuple(int(part) for part in text.split(","))
    if not 1 <= len(values) <= 3 or min(values) < 0:
        raise ValueError("--gc-threshold takes one to three non-negative integers, e.g. 50000,20,100")
    return values


def read_pauses(log: Path) -> dict[str, list[float]]:
    """Milliseconds of every pause over PAUSE_MS, by generation."""
    pauses: dict[str, list[float]] = defaultdict(list)
    for line in log.read_text().splitlines():
        _, generation, milliseconds, _ = line.split()
        pauses[generation].append(float(milliseconds))
    return pauses


def summarise(pauses: dict[str, list[float]]) -> str:
    """Pauses over PAUSE_MS by generation: count, median, max and total milliseconds."""
    if not pauses:
        return f"no collection paused the server for more than {PAUSE_MS:.0f} ms"
    return "; ".join(
        f"gen{generation}: {len(values)} pauses > {PAUSE_MS:.0f} ms, median {statistics.median(values):.0f} ms,"
        f" max {max(values):.0f} ms, total {sum(values) / 1e3:.1f} s"
        for generation, values in sorted(pauses.items())
    )
