"""Benchmarks, not tests: each number is a ratio to a raw baseline measured in the same run on the same box.

Nothing here asserts; a run always exits 0 and prints PASS or FAIL against the targets of
`/work/shared/reference/perf-reliability-anchors.md` §3. `docs/benchmarks.md` says how to run them and what
each number means.
"""
from __future__ import annotations
