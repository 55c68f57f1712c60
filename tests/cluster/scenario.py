"""One fault test's run: watchers on every replica, a writer through the balancer, the fault mid-stream, then the
accounting of tests/cluster/checks.py."""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from tests.cluster.checks import account
from tests.cluster.streams import Api, Watcher, Writer, create_namespace
from tests.support.cluster import Cluster


@dataclass
class Outcome:
    problems: list[str]
    writer: Writer
    watchers: list[Watcher]
    acknowledged_before_fault: int
    seconds: float

    def summary(self) -> str:
        watchers = ", ".join(f"{w.name}: {len(w.timeline.event_rvs)} events, {w.resumes} resumes, {w.gone} gone, "
                             f"{w.relists} relists" for w in self.watchers)
        causes = {**self.writer.retry_causes, **({"messages": self.writer.retry_messages} if self.writer.retry_messages
                                                 else {})}
        return (f"{len(self.writer.history)} writes acknowledged ({self.writer.retries} retries {causes}, "
                f"{self.writer.recovered} recovered, slowest {self.writer.slowest:.2f}s), "
                f"fault after {self.acknowledged_before_fault}; {watchers}; "
                f"{self.seconds:.1f}s")


def run_with_fault(cluster: Cluster, apis: dict[str, Api], fault: Callable[[], None], *, creates: int = 30,
                   fault_after: int = 12, after_fault: Callable[[], None] | None = None) -> Outcome:
    """Stream `creates` creates (+ half as many updates) with `fault()` injected after `fault_after` acknowledged
    writes; `after_fault()` runs once the writer is done (say, to restart what the fault killed) before the
    accounting."""
    started = time.monotonic()
    namespace = create_namespace(apis["lb"])
    watchers = [Watcher(apis[replica.host], namespace, f"watch@{replica.host}") for replica in cluster.replicas]
    for watcher in watchers:
        watcher.start()
    writer = Writer(apis["lb"], namespace, creates=creates)
    try:
        writer.start()
        acknowledged = writer.wait_for(fault_after)
        fault()
        writer.join(90)
        if after_fault is not None:
            after_fault()
        problems = account(apis["lb"], namespace, writer, watchers)
    finally:
        for watcher in watchers:
            watcher.stop()
    if acknowledged >= writer.total:
        problems.append(f"the fault came after the stream ended ({acknowledged} writes)")
    return Outcome(problems, writer, watchers, acknowledged, time.monotonic() - started)
