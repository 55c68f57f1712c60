"""API Priority and Fairness waits for a late event loop (filters/flowcontrol_loop.py): a limited level starts a
second request only while the loop keeps up, queued requests start once it does, exempt ones never wait."""
from __future__ import annotations

import asyncio
import time
from dataclasses import replace

from apiserver.auth.user import UserInfo
from apiserver.filters.flowcontrol import WithPriorityAndFairness
from apiserver.filters.flowcontrol_config import PriorityLevel
from apiserver.filters.flowcontrol_loop import LoopLoad
from apiserver.filters.flowcontrol_queues import CONCURRENCY_LIMIT, QueueSet
from apiserver.filters.requestinfo import WithRequestInfo
from apiserver.http.asgi import Receive, Scope, Send
from apiserver.http.request import set_user
from tests.filters.test_flowcontrol_filter import ADMIN, Gate, Objects, level, request, schema, settle


def limited(concurrency: int, *, queues: int = 4) -> PriorityLevel:
    return PriorityLevel("workload-low", "uid", exempt=False, shares=100, concurrency_limit=concurrency,
                         queues=queues, hand_size=2 if queues else 0, queue_length_limit=10 if queues else 0)


def test_observations_switch_keeps_up_and_call_back_only_when_the_loop_catches_up() -> None:
    load = LoopLoad(late_limit=0.003)
    calls: list[float] = []
    load.when_caught_up(lambda: calls.append(load.lateness))
    load.when_caught_up(lambda: 1 / 0)  # a failing callback is logged and the others still run
    load.observe(0.001)
    assert load.keeps_up and calls == []
    load.observe(0.02)
    assert not load.keeps_up and calls == []
    load.observe(0.01)
    assert calls == []
    load.observe(0.002)
    assert load.keeps_up and calls == [0.002]
    load.observe(0.001)
    assert calls == [0.002]


async def test_a_blocked_loop_is_seen_late_then_on_time_again() -> None:
    load = LoopLoad(tick=0.002, late_limit=0.005)
    caught_up = asyncio.Event()
    load.when_caught_up(caught_up.set)
    await load.start()
    try:
        await asyncio.sleep(0.01)
        time.sleep(0.05)  # the loop is stuck: the next sample is 50 ms late
        await asyncio.sleep(0)
        await asyncio.sleep(0.001)
        assert load.lateness > 0.02 and not load.keeps_up
        await asyncio.wait_for(caught_up.wait(), 1)
        assert load.keeps_up
    finally:
        await load.stop()
    assert load.keeps_up and load._task is None


async def test_a_late_loop_queues_a_levels_second_request_until_it_keeps_up() -> None:
    load = LoopLoad()
    seats = QueueSet(limited(3), ready=lambda: load.keeps_up)
    load.when_caught_up(seats.dispatch)
    load.observe(0.5)  # late
    assert seats.try_take()  # nothing of this level runs: one request always may
    second = asyncio.create_task(seats.admit(7, wait_limit=5))
    await asyncio.sleep(0.01)
    assert not second.done() and (seats.executing, seats.waiting) == (1, 1)
    load.observe(0.0)  # on time again: the queued request starts
    assert await asyncio.wait_for(second, 1) is None
    assert (seats.executing, seats.waiting) == (2, 0)
    assert seats.try_take()  # on time: up to the limit at once
    assert not seats.try_take()
    seats.give_back()
    load.observe(0.5)
    assert not seats.try_take()  # late again: two run, the third waits
    assert seats.executing == 2


async def test_a_late_loop_never_refuses_a_reject_level_with_free_seats() -> None:
    seats = QueueSet(limited(2, queues=0), ready=lambda: False)
    assert await seats.admit(1, wait_limit=1) is None
    assert await seats.admit(1, wait_limit=1) is None
    assert await seats.admit(1, wait_limit=1) == CONCURRENCY_LIMIT


async def test_requests_waiting_for_the_loop_still_time_out() -> None:
    seats = QueueSet(limited(3), ready=lambda: False)
    assert seats.try_take()
    assert await seats.admit(7, wait_limit=0.05) == "time-out"
    assert (seats.executing, seats.waiting) == (1, 0)


async def test_through_the_filter_exempt_requests_pass_a_late_loop_and_queued_ones_start_when_it_keeps_up() -> None:
    gate = Gate()
    load = LoopLoad()
    apf = WithPriorityAndFairness(gate, objects=Objects([schema("bob", "wide", "bob")],
                                                        [level("wide", queues=4, hand_size=2, queue_length=5)]),
                                  server_limit=1, wait_limit=5, loop_load=load)

    async def as_user(scope: Scope, receive: Receive, send: Send) -> None:
        set_user(scope, scope.pop("test_user"))
        await apf(scope, receive, send)

    app = WithRequestInfo(as_user)
    bob = UserInfo("bob", groups=("system:authenticated",))
    load.observe(0.5)
    first = request(app, bob, "/api/v1/namespaces/a/configmaps", "POST")
    await settle()
    assert gate.entered == 1  # the level's only request runs on a late loop
    apf.queue_sets["wide"].level = replace(apf.queue_sets["wide"].level, concurrency_limit=3)
    second = request(app, bob, "/api/v1/namespaces/a/configmaps", "POST")
    probe = request(app, ADMIN, "/api/v1/namespaces/a/configmaps", "POST")
    await settle()
    assert gate.entered == 2 and gate.order[-1] == "/api/v1/namespaces/a/configmaps"  # the admin's; bob's waits
    assert apf.queue_sets["wide"].waiting == 1
    load.observe(0.0)
    await settle()
    assert gate.entered == 3 and apf.queue_sets["wide"].waiting == 0
    gate.release(3)
    assert [(await task).status for task in (first, second, probe)] == [200, 200, 200]
