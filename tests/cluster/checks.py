"""The end-of-test accounting of the fault tests: acknowledged writes against the final list, watch streams
against both (ordered, no duplicates, no gaps a relist does not explain, converged on the final list)."""
from __future__ import annotations

import time
from collections.abc import Sequence

from tests.cluster.streams import LABEL, Api, Watcher, Writer, configmaps


def final_state(api: Api, namespace: str) -> dict[str, tuple[int, dict[str, str]]]:
    """The stream's ConfigMaps by a consistent list: name -> (resourceVersion, data)."""
    answer = api.ok("GET", configmaps(namespace) + f"?labelSelector={LABEL}")
    return {item["metadata"]["name"]: (int(item["metadata"]["resourceVersion"]), dict(item.get("data") or {}))
            for item in answer["items"]}


def lost_writes(writer: Writer, final: dict[str, tuple[int, dict[str, str]]]) -> list[str]:
    """Acknowledged writes the final list does not hold (each object's last write is always acknowledged)."""
    lost = [f"{name}: acknowledged {acked}, stored {final.get(name)}"
            for name, acked in writer.acked.items() if final.get(name) != acked]
    lost += [f"{name}: stored but never acknowledged" for name in final if name not in writer.acked]
    return lost


def stream_problems(watcher: Watcher, writer: Writer) -> list[str]:
    """Order, duplicates and gaps of one watcher's timeline, given every acknowledged write."""
    problems: list[str] = []
    items = watcher.timeline.items
    last_event = 0
    for kind, rv, detail in items:
        if kind == "event":
            if rv <= last_event:
                problems.append(f"{watcher.name}: event {detail} at {rv} after {last_event} (out of order/duplicate)")
            last_event = rv
        else:
            if rv < last_event:
                problems.append(f"{watcher.name}: relist at {rv} below the last event {last_event}")
            last_event = max(last_event, rv)  # events after a list are newer than it
    seen = set(watcher.timeline.event_rvs)
    for name, rv in writer.history:
        if rv in seen:
            continue
        if rv <= items[0][1]:
            continue  # written before the first list
        following = next(((kind, at) for kind, at, _ in items if (kind == "list" and at >= rv) or at > rv), None)
        if following is None or following[0] != "list":
            problems.append(f"{watcher.name}: missed {name}@{rv} (next: {following})")
    return problems


def converge(watchers: Sequence[Watcher], final: dict[str, tuple[int, dict[str, str]]],
             timeout: float = 20.0) -> list[str]:
    """Wait until every watcher's state equals the final list; the differences of those that never do."""
    expected = {name: rv for name, (rv, _) in final.items()}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(watcher.state != expected for watcher in watchers):
        time.sleep(0.05)
    problems = []
    for watcher in watchers:
        state = dict(watcher.state)
        if state != expected:
            differing = sorted(name for name in expected.keys() | state.keys() if state.get(name) != expected.get(name))
            problems.append(f"{watcher.name}: state differs from the final list on {differing[:10]}"
                            f" (watch errors: {watcher.errors[-3:]})")
    return problems


def account(api: Api, namespace: str, writer: Writer, watchers: Sequence[Watcher]) -> list[str]:
    """Every problem of one fault test's streams; empty when nothing was lost, duplicated or skipped."""
    problems = [f"writer: {error}" for error in writer.errors]
    final = final_state(api, namespace)
    problems += lost_writes(writer, final)
    if len(writer.history) < writer.total:
        problems.append(f"writer: {len(writer.history)} of {writer.total} writes acknowledged")
    problems += converge(watchers, final)
    for watcher in watchers:
        problems += stream_problems(watcher, writer)
    return problems
