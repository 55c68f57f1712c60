"""`/debug/api_priority_and_fairness/dump_priority_levels` and `.../dump_queues`: API Priority and Fairness state
as the text tables kube-apiserver writes (k8s.io/apiserver/pkg/util/flowcontrol/apf_controller_debug.go).

As upstream:
- unlisted non-resource URLs that go through the whole filter chain, so only a user granted `get` on them may read
  them (by default RBAC: cluster-admin and system:masters);
- served only while Priority and Fairness runs (the filter hands its state over in the request scope); otherwise,
  and for any other path below the prefix, the 404 Status;
- cells joined by `,` and aligned as Go's text/tabwriter does (minimum width 8, padding 1), priority levels sorted
  by name, one row per queue of each queuing level in `dump_queues`; `text/plain; charset=utf-8`, any method.

Deviations, because the seats here belong to a level rather than to a queue and there is no virtual clock:
`dump_queues` writes 0 for a queue's ExecutingRequests and SeatsInUse, and `0.00000000ss` for NextDispatchR and
TotalWorkSum; each waiting request counts one seat. `dump_requests` is not served.
"""
from __future__ import annotations

from collections.abc import Sequence

from apiserver.endpoints.router import Route
from apiserver.filters.flowcontrol import FLOW_CONTROL_SCOPE_KEY, WithPriorityAndFairness
from apiserver.filters.flowcontrol_queues import TIME_OUT
from apiserver.http.asgi import Receive, Scope, Send
from apiserver.http.responses import send_bytes, send_status
from apiserver.meta.errors import path_not_found

DEBUG_PATH = "/debug/api_priority_and_fairness"
CONTENT_TYPE = b"text/plain; charset=utf-8"
NO_SEAT_SECONDS = "0.00000000ss"
_LEVEL_COLUMNS = ("PriorityLevelName", "ActiveQueues", "IsIdle", "IsQuiescing", "WaitingRequests",
                  "ExecutingRequests", "DispatchedRequests", "RejectedRequests", "TimedoutRequests",
                  "CancelledRequests")
_QUEUE_COLUMNS = ("PriorityLevelName", "Index", "PendingRequests", "ExecutingRequests", "SeatsInUse",
                  "NextDispatchR", "InitialSeatsSum", "MaxSeatsSum", "TotalWorkSum")


def tabulate(rows: Sequence[Sequence[str]]) -> str:
    """Rows as Go's tabwriter.NewWriter(w, 8, 0, 1, ' ', 0) writes cells joined by ",\\t": every cell but the last
    gets its comma and is padded to its column's widest cell plus one, at least 8."""
    cells = [[f"{value}," for value in row[:-1]] for row in rows]
    widths = [max(8, *(len(row[index]) + 1 for row in cells)) for index in range(len(cells[0]))]
    return "".join("".join(cell.ljust(width) for cell, width in zip(padded, widths, strict=True)) + row[-1] + "\n"
                   for padded, row in zip(cells, rows, strict=True))


def dump_priority_levels(apf: WithPriorityAndFairness) -> str:
    """One row per priority level, configured or still draining (quiescing), sorted by name."""
    totals: dict[str, list[int]] = {}  # waiting, executing, dispatched, rejected, timed out, cancelled
    for series in apf.metrics.all_series():
        total = totals.setdefault(series.labels[0], [0] * 6)
        for index, value in enumerate((series.inqueue, series.executing, series.dispatched_count,
                                       sum(series.rejections.values()), series.rejections.get(TIME_OUT, 0),
                                       series.rejections.get("cancelled", 0))):
            total[index] += value
    rows: list[Sequence[str]] = [_LEVEL_COLUMNS]
    for name in sorted({*apf.config.levels, *apf.queue_sets}):
        waiting, executing, *counts = totals.get(name, [0] * 6)
        queue_set = apf.queue_sets.get(name)
        active = 0 if queue_set is None else sum(1 for length in queue_set.queue_lengths() if length)
        quiescing = name not in apf.config.levels
        rows.append((name, str(active), _go_bool(waiting == 0 and executing == 0), _go_bool(quiescing),
                     str(waiting), str(executing), *(str(count) for count in counts)))
    return tabulate(rows)


def dump_queues(apf: WithPriorityAndFairness) -> str:
    """One row per queue of each queuing level that has had a request (see the module docstring)."""
    rows: list[Sequence[str]] = [_QUEUE_COLUMNS]
    for name, queue_set in sorted(apf.queue_sets.items()):
        for index, length in enumerate(queue_set.queue_lengths()):
            rows.append((name, str(index), str(length), "0", "0", NO_SEAT_SECONDS, str(length), str(length),
                         NO_SEAT_SECONDS))
    return tabulate(rows)


def _go_bool(value: bool) -> str:
    return "true" if value else "false"


_DUMPS = {f"{DEBUG_PATH}/dump_priority_levels": dump_priority_levels, f"{DEBUG_PATH}/dump_queues": dump_queues}


class FlowControlDebugEndpoint:
    """Serves the dumps under `DEBUG_PATH` (route it at that prefix)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        dump = _DUMPS.get(scope["path"])
        apf = scope.get(FLOW_CONTROL_SCOPE_KEY)
        if dump is None or not isinstance(apf, WithPriorityAndFairness):
            return await send_status(send, path_not_found())
        await send_bytes(send, 200, dump(apf).encode(), content_type=CONTENT_TYPE)


def flowcontrol_debug_route() -> Route:
    return Route(DEBUG_PATH, FlowControlDebugEndpoint())
