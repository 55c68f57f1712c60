"""API Priority and Fairness metrics: the filter driven in process, read back from its own registry."""
from __future__ import annotations

import asyncio

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from apiserver.auth.user import UserInfo
from apiserver.endpoints.metrics import _AsGoWritesIt
from apiserver.filters.flowcontrol import WithPriorityAndFairness
from apiserver.filters.flowcontrol_metrics import DURATION_BUCKETS, FlowControlMetrics
from apiserver.filters.requestinfo import WithRequestInfo
from apiserver.http.asgi import ASGIApp, Receive, Scope, Send
from apiserver.http.request import set_user
from tests.filters.test_flowcontrol_filter import ADMIN, ANONYMOUS, Gate, Objects, level, request, schema, settle

BOB = UserInfo("bob", groups=("system:authenticated",))
PATH = "/api/v1/namespaces/a/configmaps"


class Measured:
    """The filter over `inner` with metrics in a registry of its own."""

    def __init__(self, inner: ASGIApp, objects: Objects, *, wait_limit: float = 5.0) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.apf = WithPriorityAndFairness(inner, objects=objects, server_limit=1, wait_limit=wait_limit,
                                           metrics=FlowControlMetrics(self.registry))

        async def as_user(scope: Scope, receive: Receive, send: Send) -> None:
            set_user(scope, scope.pop("test_user"))
            await self.apf(scope, receive, send)

        self.app = WithRequestInfo(as_user)

    def value(self, name: str, **labels: str) -> float | None:
        return self.registry.get_sample_value(name, labels)

    def current(self, level_name: str, schema_name: str) -> tuple[float | None, ...]:
        """(in queue, executing requests, executing seats) of one series."""
        labels = {"priority_level": level_name, "flow_schema": schema_name}
        return tuple(self.value(f"apiserver_flowcontrol_current_{name}", **labels)
                     for name in ("inqueue_requests", "executing_requests", "executing_seats"))

    def rejected(self, level_name: str, schema_name: str, reason: str) -> float | None:
        return self.value("apiserver_flowcontrol_rejected_requests_total", priority_level=level_name,
                          flow_schema=schema_name, reason=reason)

    def waits(self, level_name: str, schema_name: str, execute: str) -> float | None:
        return self.value("apiserver_flowcontrol_request_wait_duration_seconds_count", priority_level=level_name,
                          flow_schema=schema_name, execute=execute)


async def test_every_request_is_counted_as_dispatched_under_its_level_and_schema() -> None:
    gate = Gate()
    measured = Measured(gate, Objects([], []))
    gate.release(3)
    for user, path in ((BOB, PATH), (ADMIN, PATH), (ANONYMOUS, "/readyz")):
        assert (await request(measured.app, user, path)).status == 200
    dispatched = {(level_name, schema_name): measured.value(
        "apiserver_flowcontrol_dispatched_requests_total", priority_level=level_name, flow_schema=schema_name)
        for level_name, schema_name in (("global-default", "global-default"), ("exempt", "exempt"),
                                        ("exempt", "probes"))}
    assert dispatched == {("global-default", "global-default"): 1.0, ("exempt", "exempt"): 1.0,
                          ("exempt", "probes"): 1.0}
    assert measured.value("apiserver_flowcontrol_request_execution_seconds_count", priority_level="exempt",
                          flow_schema="exempt", type="regular") == 1.0


async def test_only_limited_requests_observe_a_wait() -> None:
    gate = Gate()
    measured = Measured(gate, Objects([], []))
    gate.release(2)
    await request(measured.app, BOB, PATH)
    await request(measured.app, ADMIN, PATH)
    assert measured.waits("global-default", "global-default", "true") == 1.0
    assert measured.waits("exempt", "exempt", "true") is None
    assert measured.value("apiserver_flowcontrol_request_wait_duration_seconds_bucket", priority_level="global-default",
                          flow_schema="global-default", execute="true", le="0.005") == 1.0


async def test_a_full_reject_level_counts_a_concurrency_limit_rejection() -> None:
    gate = Gate()
    measured = Measured(gate, Objects([schema("bob", "tiny", "bob")], [level("tiny")]))
    holding = request(measured.app, BOB, PATH, "POST")
    await settle()
    assert (await request(measured.app, BOB, PATH, "POST")).status == 429
    assert measured.rejected("tiny", "bob", "concurrency-limit") == 1.0
    assert (measured.waits("tiny", "bob", "true"), measured.waits("tiny", "bob", "false")) == (1.0, 1.0)
    assert measured.current("tiny", "bob") == (0.0, 1.0, 1.0)
    gate.release()
    await holding
    assert measured.current("tiny", "bob") == (0.0, 0.0, 0.0)


async def test_queued_requests_show_in_the_gauges_and_a_full_queue_counts_queue_full() -> None:
    gate = Gate()
    measured = Measured(gate, Objects([schema("bob", "queued", "bob")], [level("queued", queues=1, queue_length=2)]))
    tasks = [request(measured.app, BOB, f"{PATH}/c{index}") for index in range(3)]
    await settle()
    assert measured.current("queued", "bob") == (2.0, 1.0, 1.0)
    assert (await request(measured.app, BOB, f"{PATH}/c3")).status == 429
    assert measured.rejected("queued", "bob", "queue-full") == 1.0
    for _ in tasks:
        gate.release()
        await settle()
    assert [(await task).status for task in tasks] == [200, 200, 200]
    assert measured.current("queued", "bob") == (0.0, 0.0, 0.0)
    assert measured.waits("queued", "bob", "true") == 3.0
    assert measured.value("apiserver_flowcontrol_dispatched_requests_total", priority_level="queued",
                          flow_schema="bob") == 3.0


async def test_a_request_waiting_past_the_limit_counts_a_time_out() -> None:
    gate = Gate()
    objects = Objects([schema("bob", "queued", "bob")], [level("queued", queues=1, queue_length=5)])
    measured = Measured(gate, objects, wait_limit=0.05)
    holding = request(measured.app, BOB, f"{PATH}/c0")
    await settle()
    assert (await asyncio.wait_for(request(measured.app, BOB, f"{PATH}/c1"), 2)).status == 429
    assert measured.rejected("queued", "bob", "time-out") == 1.0
    assert measured.current("queued", "bob") == (0.0, 1.0, 1.0)
    wait_sum = measured.value("apiserver_flowcontrol_request_wait_duration_seconds_sum", priority_level="queued",
                              flow_schema="bob", execute="false")
    assert wait_sum is not None and wait_sum >= 0.05
    gate.release()
    await holding


async def test_a_client_going_away_while_queued_counts_a_cancelled_rejection() -> None:
    gate = Gate()
    measured = Measured(gate, Objects([schema("bob", "queued", "bob")], [level("queued", queues=1, queue_length=5)]))
    holding = request(measured.app, BOB, f"{PATH}/c0")
    queued = request(measured.app, BOB, f"{PATH}/c1")
    await settle()
    assert measured.current("queued", "bob") == (1.0, 1.0, 1.0)
    queued.cancel()
    with pytest.raises(asyncio.CancelledError):
        await queued
    assert measured.rejected("queued", "bob", "cancelled") == 1.0
    assert measured.current("queued", "bob") == (0.0, 1.0, 1.0)
    gate.release()
    await holding
    assert measured.current("queued", "bob") == (0.0, 0.0, 0.0)


async def test_a_watch_executes_until_its_response_starts() -> None:
    started, finish = asyncio.Event(), asyncio.Event()

    async def watch_app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        started.set()
        await finish.wait()
        await send({"type": "http.response.body", "body": b""})

    measured = Measured(watch_app, Objects([schema("bob", "tiny", "bob")], [level("tiny")]))
    watch = request(measured.app, BOB, "/api/v1/namespaces/a/pods", query=b"watch=true")
    await started.wait()
    assert measured.current("tiny", "bob") == (0.0, 0.0, 0.0)
    assert measured.value("apiserver_flowcontrol_request_execution_seconds_count", priority_level="tiny",
                          flow_schema="bob", type="watch") == 1.0
    finish.set()
    assert (await watch).status == 200


async def test_a_failing_handler_still_ends_its_execution() -> None:
    async def failing(scope: Scope, receive: Receive, send: Send) -> None:
        raise RuntimeError("handler failed")

    measured = Measured(failing, Objects([schema("bob", "tiny", "bob")], [level("tiny")]))
    with pytest.raises(RuntimeError):
        await request(measured.app, BOB, PATH)
    assert measured.current("tiny", "bob") == (0.0, 0.0, 0.0)
    assert measured.value("apiserver_flowcontrol_request_execution_seconds_count", priority_level="tiny",
                          flow_schema="bob", type="regular") == 1.0


async def test_seat_limits_follow_the_configuration() -> None:
    gate = Gate()
    objects = Objects([schema("bob", "tiny", "bob")], [level("tiny")])
    measured = Measured(gate, objects)
    gate.release(2)
    await request(measured.app, ADMIN, "/readyz")  # each request applies a changed configuration first
    seats = measured.apf.config.levels["tiny"].concurrency_limit
    limits = {name: measured.value(f"apiserver_flowcontrol_{name}", priority_level="tiny")
              for name in ("nominal_limit_seats", "current_limit_seats", "lower_limit_seats", "upper_limit_seats")}
    assert set(limits.values()) == {float(seats)} and seats >= 1
    assert measured.value("apiserver_flowcontrol_nominal_limit_seats", priority_level="exempt") == 0.0
    objects.levels.pop()
    objects.schemas.pop()
    objects.version += 1
    await request(measured.app, ADMIN, "/readyz")
    assert measured.value("apiserver_flowcontrol_nominal_limit_seats", priority_level="tiny") is None


async def test_the_families_are_exposed_with_upstreams_names_and_buckets() -> None:
    gate = Gate()
    measured = Measured(gate, Objects([schema("bob", "tiny", "bob")], [level("tiny")]))
    holding = request(measured.app, BOB, PATH)
    await settle()
    await request(measured.app, BOB, PATH)
    text = generate_latest(_AsGoWritesIt(measured.registry)).decode()
    gate.release()
    await holding
    types = {line.split()[2]: line.split()[3] for line in text.splitlines() if line.startswith("# TYPE")}
    assert {name: kind for name, kind in types.items() if name.startswith("apiserver_flowcontrol_")} == {
        "apiserver_flowcontrol_current_executing_requests": "gauge",
        "apiserver_flowcontrol_current_executing_seats": "gauge",
        "apiserver_flowcontrol_current_inqueue_requests": "gauge",
        "apiserver_flowcontrol_current_limit_seats": "gauge",
        "apiserver_flowcontrol_dispatched_requests_total": "counter",
        "apiserver_flowcontrol_lower_limit_seats": "gauge",
        "apiserver_flowcontrol_nominal_limit_seats": "gauge",
        "apiserver_flowcontrol_rejected_requests_total": "counter",
        "apiserver_flowcontrol_request_wait_duration_seconds": "histogram",
        "apiserver_flowcontrol_upper_limit_seats": "gauge",
    }
    buckets = [line.split('le="')[1].split('"')[0] for line in text.splitlines()
               if line.startswith("apiserver_flowcontrol_request_wait_duration_seconds_bucket")
               and 'execute="false"' in line]
    assert buckets == [*(repr(bound) for bound in DURATION_BUCKETS), "+Inf"]
    assert ('apiserver_flowcontrol_rejected_requests_total{flow_schema="bob",priority_level="tiny",'
            'reason="concurrency-limit"} 1.0') in text
