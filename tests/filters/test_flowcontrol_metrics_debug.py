"""The API Priority and Fairness debug dumps, served behind the filter in process."""
from __future__ import annotations

import json

from apiserver.auth.user import UserInfo
from apiserver.endpoints.flowcontrol_debug import FlowControlDebugEndpoint, tabulate
from apiserver.http.asgi import Receive, Scope, Send
from tests.filters.test_flowcontrol_filter import ADMIN, Gate, Objects, level, request, schema, settle
from tests.filters.test_flowcontrol_metrics import Measured
from tests.http.asgi_harness import call

BOB = UserInfo("bob", groups=("system:authenticated",))
LEVELS = "/debug/api_priority_and_fairness/dump_priority_levels"
QUEUES = "/debug/api_priority_and_fairness/dump_queues"


class GateOrDump:
    """The debug endpoint for its paths, the gate for every other request."""

    def __init__(self) -> None:
        self.gate = Gate()
        self.dumps = FlowControlDebugEndpoint()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        target = self.dumps if scope["path"].startswith("/debug/") else self.gate
        await target(scope, receive, send)


def rows(text: str) -> dict[str, list[str]]:
    """Each row's cells by its first cell (priority levels are unique in the levels dump)."""
    return {cells[0]: cells[1:] for cells in ([cell.strip() for cell in line.split(",")]
                                              for line in text.splitlines())}


def test_cells_are_aligned_as_gos_tabwriter_writes_them() -> None:
    assert tabulate([("PriorityLevelName", "ActiveQueues", "IsIdle"), ("catch-all", "0", "true"),
                     ("x", "12", "false")]) == (
        "PriorityLevelName, ActiveQueues, IsIdle\n"
        "catch-all,         0,            true\n"
        "x,                 12,           false\n")
    assert tabulate([("a", "b"), ("c", "d")]) == "a,      b\nc,      d\n"  # at least 8 wide


async def test_the_levels_dump_counts_each_levels_requests() -> None:
    app = GateOrDump()
    measured = Measured(app, Objects([schema("bob", "tiny", "bob")], [level("tiny")]))
    holding = request(measured.app, BOB, "/api/v1/namespaces/a/configmaps")
    await settle()
    assert (await request(measured.app, BOB, "/api/v1/namespaces/a/configmaps")).status == 429
    answer = await request(measured.app, ADMIN, LEVELS)
    app.gate.release()
    await holding
    assert answer.status == 200
    assert (b"content-type", b"text/plain; charset=utf-8") in answer.headers
    text = answer.body.decode()
    assert text.splitlines()[0].split(",") == [
        "PriorityLevelName", " ActiveQueues", " IsIdle", " IsQuiescing", " WaitingRequests", " ExecutingRequests",
        " DispatchedRequests", " RejectedRequests", " TimedoutRequests", " CancelledRequests"]
    table = rows(text)
    assert table["tiny"] == ["0", "false", "false", "0", "1", "1", "1", "0", "0"]
    assert table["exempt"] == ["0", "false", "false", "0", "1", "1", "0", "0", "0"]  # the dump request itself
    assert table["catch-all"] == ["0", "true", "false", "0", "0", "0", "0", "0", "0"]
    names = [line.split(",")[0] for line in text.splitlines()[1:]]
    assert names == sorted(names)


async def test_a_removed_level_still_draining_is_quiescing() -> None:
    app = GateOrDump()
    objects = Objects([schema("bob", "tiny", "bob")], [level("tiny")])
    measured = Measured(app, objects)
    holding = request(measured.app, BOB, "/api/v1/namespaces/a/configmaps")
    await settle()
    objects.schemas.pop()
    objects.levels.pop()
    objects.version += 1
    answer = await request(measured.app, ADMIN, LEVELS)
    app.gate.release()
    await holding
    assert rows(answer.body.decode())["tiny"][:5] == ["0", "false", "true", "0", "1"]


async def test_the_queues_dump_has_a_row_per_queue_of_each_queuing_level() -> None:
    app = GateOrDump()
    measured = Measured(app, Objects([schema("bob", "queued", "bob")], [level("queued", queues=2, queue_length=5)]))
    tasks = [request(measured.app, BOB, f"/api/v1/namespaces/a/configmaps/c{index}") for index in range(3)]
    await settle()
    answer = await request(measured.app, ADMIN, QUEUES)
    levels = rows((await request(measured.app, ADMIN, LEVELS)).body.decode())
    app.gate.release(3)
    for task in tasks:
        await task
    lines = answer.body.decode().splitlines()
    assert [cell.strip() for cell in lines[0].split(",")] == [
        "PriorityLevelName", "Index", "PendingRequests", "ExecutingRequests", "SeatsInUse", "NextDispatchR",
        "InitialSeatsSum", "MaxSeatsSum", "TotalWorkSum"]
    queues = [[cell.strip() for cell in line.split(",")] for line in lines[1:]]
    assert [cells[:2] for cells in queues] == [["queued", "0"], ["queued", "1"]]
    assert sum(int(cells[2]) for cells in queues) == 2  # one executes, two wait (one flow: one queue)
    assert {cells[5] for cells in queues} == {"0.00000000ss"}
    assert levels["queued"][:5] == ["1", "false", "false", "2", "1"]


async def test_other_paths_and_a_server_without_priority_and_fairness_answer_404() -> None:
    app = GateOrDump()
    measured = Measured(app, Objects([], []))
    missing = await request(measured.app, ADMIN, "/debug/api_priority_and_fairness/dump_requests")
    unfiltered = await call(FlowControlDebugEndpoint(), path=LEVELS)
    for answer in (missing, unfiltered):
        assert answer.status == 404
        assert json.loads(answer.body)["reason"] == "NotFound"
