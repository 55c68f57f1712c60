"""The fault tests' accounting catches what it must: lost writes, duplicated, reordered and skipped events."""
from __future__ import annotations

from typing import Any

import pytest

from tests.cluster.checks import lost_writes, stream_problems
from tests.cluster.streams import Api, Watcher, Writer


def _writer(history: list[tuple[str, int]]) -> Writer:
    writer = Writer.__new__(Writer)
    writer.history = history
    writer.acked = {name: (rv, {"v": "0"}) for name, rv in history}
    return writer


def _watcher(items: list[tuple[str, int, Any]]) -> Watcher:
    watcher = Watcher(Api.__new__(Api), "ns", "w")
    watcher.timeline.items = items
    return watcher


WRITES = [("a", 10), ("b", 11), ("a", 12), ("c", 13)]


def _events(*rvs: int) -> list[tuple[str, int, Any]]:
    names = dict((rv, name) for name, rv in WRITES)
    return [("event", rv, ("MODIFIED", names[rv])) for rv in rvs]


def test_a_complete_stream_has_no_problems() -> None:
    assert stream_problems(_watcher([("list", 9, {}), *_events(10, 11, 12, 13)]), _writer(WRITES)) == []


@pytest.mark.parametrize(("items", "problem"), [
    ([("list", 9, {}), *_events(10, 11, 11, 12, 13)], "w: event ('MODIFIED', 'b') at 11 after 11"),
    ([("list", 9, {}), *_events(10, 12, 11, 13)], "w: event ('MODIFIED', 'b') at 11 after 12"),
    ([("list", 9, {}), *_events(10, 12, 13)], "w: missed b@11 (next: ('event', 12))"),
    ([("list", 9, {}), *_events(10, 11, 12)], "w: missed c@13 (next: None)"),
    ([("list", 9, {}), *_events(10), ("list", 12, {}), *_events(11, 13)], "w: event ('MODIFIED', 'b') at 11"),
])
def test_stream_problems_are_found(items: list[tuple[str, int, Any]], problem: str) -> None:
    problems = stream_problems(_watcher(items), _writer(WRITES))
    assert any(found.startswith(problem) for found in problems), problems


def test_a_gap_a_relist_covers_is_no_problem() -> None:
    items = [("list", 9, {}), *_events(10), ("list", 12, {}), *_events(13)]
    assert stream_problems(_watcher(items), _writer(WRITES)) == []


def test_lost_and_unacknowledged_writes_are_found() -> None:
    writer = _writer(WRITES)
    final = {"a": (12, {"v": "0"}), "b": (11, {"v": "changed"}), "d": (14, {})}
    assert lost_writes(writer, final) == [
        "b: acknowledged (11, {'v': '0'}), stored (11, {'v': 'changed'})",
        "c: acknowledged (13, {'v': '0'}), stored None",
        "d: stored but never acknowledged",
    ]
