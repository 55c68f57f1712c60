"""The API Priority and Fairness filter on its own: seats, queues, rejection, exemption and the PF headers."""
from __future__ import annotations

import asyncio
import copy
import os
from collections.abc import Sequence
from typing import Any

import pytest

from apiserver.auth.user import UserInfo
from apiserver.filters.chain import build_chain
from apiserver.filters.flowcontrol import FLOW_SCHEMA_HEADER, PRIORITY_LEVEL_HEADER, WithPriorityAndFairness
from apiserver.filters.flowcontrol_queues import deal_hand, flow_hash
from apiserver.filters.requestinfo import WithRequestInfo
from apiserver.http.asgi import ASGIApp, Receive, Scope, Send
from apiserver.http.request import set_user
from apiserver.http.responses import send_bytes
from apiserver.resources.flowcontrol.bootstrap import FLOW_SCHEMAS, PRIORITY_LEVELS
from apiserver.server.config import SERVE_FLAGS, ServerConfig
from apiserver.server.flags import parse_flags
from tests.http.asgi_harness import Response, call

ADMIN = UserInfo("admin", groups=("system:masters", "system:authenticated"))
ANONYMOUS = UserInfo("system:anonymous", groups=("system:unauthenticated",))
# ServerConfig reads settings; a fixed secret key keeps settings from creating ./var/secret_key on import.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "apiserver.settings")
os.environ.setdefault("PILOTHOUSE_SECRET_KEY", "tests-only-not-a-secret")
TOO_MANY = (429, b"Too many requests, please try again later.\n")


def level(name: str, *, queues: int = 0, hand_size: int = 1, queue_length: int = 1) -> dict[str, Any]:
    response: dict[str, Any] = {"type": "Reject"}
    if queues:
        response = {"type": "Queue", "queuing": {"queues": queues, "handSize": hand_size,
                                                 "queueLengthLimit": queue_length}}
    return {"metadata": {"name": name, "uid": f"pl-{name}"},
            "spec": {"type": "Limited", "limited": {"nominalConcurrencyShares": 1, "limitResponse": response}}}


def schema(name: str, level_name: str, *users: str, distinguisher: str = "ByUser") -> dict[str, Any]:
    return {"metadata": {"name": name, "uid": f"fs-{name}"},
            "spec": {"priorityLevelConfiguration": {"name": level_name}, "matchingPrecedence": 50,
                     "distinguisherMethod": {"type": distinguisher},
                     "rules": [{"subjects": [{"kind": "User", "user": {"name": user}} for user in users],
                                "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"],
                                                   "clusterScope": True, "namespaces": ["*"]}]}]}}


def with_uids(objects: Sequence[dict[str, Any]], prefix: str) -> list[dict[str, Any]]:
    result = copy.deepcopy(list(objects))
    for obj in result:
        obj["metadata"]["uid"] = f"{prefix}-{obj['metadata']['name']}"
    return result


class Objects:
    """FlowControlObjects over lists the test may change."""

    def __init__(self, schemas: Sequence[dict[str, Any]], levels: Sequence[dict[str, Any]]) -> None:
        self.schemas = [*with_uids(FLOW_SCHEMAS, "fs"), *schemas]
        self.levels = [*with_uids(PRIORITY_LEVELS, "pl"), *levels]
        self.version = 1

    def revision(self) -> object:
        return self.version

    def snapshot(self) -> tuple[object, Sequence[dict[str, Any]], Sequence[dict[str, Any]]]:
        return self.version, self.schemas, self.levels


class Gate:
    """The innermost app: every request waits for `release` (one per request), then answers 200."""

    def __init__(self) -> None:
        self.entered = 0
        self.order: list[str] = []
        self._releases: asyncio.Queue[None] = asyncio.Queue()

    def release(self, count: int = 1) -> None:
        for _ in range(count):
            self._releases.put_nowait(None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.entered += 1
        self.order.append(scope["path"])
        await self._releases.get()
        await send_bytes(send, 200, b"ok", content_type=b"text/plain")


def chain(inner: ASGIApp, objects: Objects, *, wait_limit: float = 5.0) -> tuple[ASGIApp, WithPriorityAndFairness]:
    apf = WithPriorityAndFairness(inner, objects=objects, server_limit=1, wait_limit=wait_limit)

    async def as_user(scope: Scope, receive: Receive, send: Send) -> None:
        set_user(scope, scope.pop("test_user"))
        await apf(scope, receive, send)

    return WithRequestInfo(as_user), apf


def request(app: ASGIApp, user: UserInfo, path: str, method: str = "GET", query: bytes = b"") -> asyncio.Task[Response]:
    scope = {"type": "http", "method": method, "path": path, "raw_path": path.encode(), "query_string": query,
             "headers": [], "test_user": user}
    return asyncio.create_task(call(app, scope=scope))


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def header(response: Response, name: bytes) -> bytes | None:
    return next((value for key, value in response.headers if key == name), None)


async def test_responses_name_the_flow_schema_and_priority_level_by_uid() -> None:
    gate = Gate()
    app, _ = chain(gate, Objects([], []))
    gate.release(3)
    user = UserInfo("alice", groups=("system:authenticated",))
    limited = await request(app, user, "/api/v1/namespaces/a/pods")
    probe = await request(app, ANONYMOUS, "/readyz")
    admin = await request(app, ADMIN, "/api/v1/nodes")
    assert [(header(response, FLOW_SCHEMA_HEADER), header(response, PRIORITY_LEVEL_HEADER))
            for response in (limited, probe, admin)] == [
        (b"fs-global-default", b"pl-global-default"), (b"fs-probes", b"pl-exempt"), (b"fs-exempt", b"pl-exempt")]


async def test_a_full_reject_level_answers_429_with_retry_after_and_the_pf_headers() -> None:
    gate = Gate()
    app, apf = chain(gate, Objects([schema("bob", "tiny", "bob")], [level("tiny")]))
    bob = UserInfo("bob", groups=("system:authenticated",))
    first = request(app, bob, "/api/v1/namespaces/a/configmaps", "POST")
    await settle()
    rejected = await request(app, bob, "/api/v1/namespaces/a/configmaps", "POST")
    assert (rejected.status, rejected.body) == TOO_MANY
    assert (b"retry-after", b"1") in rejected.headers
    assert header(rejected, b"x-kubernetes-pf-flowschema-uid") == b"fs-bob"
    assert header(rejected, b"x-kubernetes-pf-prioritylevel-uid") == b"pl-tiny"
    assert apf.seats_in_use()["tiny"] == 1 and gate.entered == 1
    gate.release()
    assert (await first).status == 200
    assert apf.seats_in_use()["tiny"] == 0


async def test_exempt_traffic_passes_while_a_level_is_saturated() -> None:
    gate = Gate()
    app, _ = chain(gate, Objects([schema("bob", "tiny", "bob")], [level("tiny")]))
    bob = UserInfo("bob", groups=("system:authenticated",))
    holding = request(app, bob, "/api/v1/namespaces/a/configmaps", "POST")
    await settle()
    assert (await request(app, bob, "/api/v1/namespaces/a/configmaps", "POST")).status == 429
    probe, admin = request(app, ANONYMOUS, "/readyz"), request(app, ADMIN, "/api/v1/namespaces/a/configmaps", "POST")
    await settle()
    assert gate.entered == 3  # both went straight to the handler
    gate.release(3)
    assert [(await task).status for task in (holding, probe, admin)] == [200, 200, 200]


async def test_queued_requests_run_in_turn_and_a_full_queue_rejects() -> None:
    gate = Gate()
    app, apf = chain(gate, Objects([schema("bob", "queued", "bob")], [level("queued", queues=1, queue_length=2)]))
    bob = UserInfo("bob", groups=("system:authenticated",))
    tasks = [request(app, bob, f"/api/v1/namespaces/a/configmaps/c{index}") for index in range(3)]
    await settle()
    assert (gate.entered, apf.queue_sets["queued"].waiting) == (1, 2)
    assert (await request(app, bob, "/api/v1/namespaces/a/configmaps/c3")).status == 429
    for _ in tasks:
        gate.release()
        await settle()
    assert [(await task).status for task in tasks] == [200, 200, 200]
    assert gate.order == [f"/api/v1/namespaces/a/configmaps/c{index}" for index in range(3)]


async def test_a_request_waiting_past_the_wait_limit_is_rejected() -> None:
    gate = Gate()
    app, apf = chain(gate, Objects([schema("bob", "queued", "bob")], [level("queued", queues=1, queue_length=5)]),
                     wait_limit=0.05)
    bob = UserInfo("bob", groups=("system:authenticated",))
    holding = request(app, bob, "/api/v1/namespaces/a/configmaps/c0")
    await settle()
    timed_out = await asyncio.wait_for(request(app, bob, "/api/v1/namespaces/a/configmaps/c1"), 2)
    assert (timed_out.status, timed_out.body) == TOO_MANY
    assert apf.queue_sets["queued"].waiting == 0
    gate.release(2)
    assert (await holding).status == 200
    assert (await request(app, bob, "/api/v1/namespaces/a/configmaps/c2")).status == 200


async def test_flows_sharing_a_level_take_turns() -> None:
    gate = Gate()
    objects = Objects([schema("shared", "queued", "heavy", "light")], [level("queued", queues=64, queue_length=10)])
    app, _ = chain(gate, objects)
    heavy, light = UserInfo("heavy"), UserInfo("light")
    assert deal_hand(flow_hash("shared", "heavy"), 64, 1) != deal_hand(flow_hash("shared", "light"), 64, 1)
    tasks = [request(app, heavy, f"/api/v1/namespaces/a/pods/h{index}") for index in range(4)]
    await settle()
    tasks.append(request(app, light, "/api/v1/namespaces/a/pods/l0"))
    await settle()
    for _ in tasks:
        gate.release()
        await settle()
    assert [path.rsplit("/", 1)[1] for path in gate.order] == ["h0", "h1", "l0", "h2", "h3"]
    assert [(await task).status for task in tasks] == [200] * 5


async def test_a_request_cancelled_in_its_queue_gives_its_place_up() -> None:
    gate = Gate()
    app, apf = chain(gate, Objects([schema("bob", "queued", "bob")], [level("queued", queues=1, queue_length=1)]))
    bob = UserInfo("bob")
    holding = request(app, bob, "/api/v1/namespaces/a/pods/p0")
    queued = request(app, bob, "/api/v1/namespaces/a/pods/p1")
    await settle()
    queued.cancel()
    await asyncio.gather(queued, return_exceptions=True)
    assert apf.queue_sets["queued"].waiting == 0
    after = request(app, bob, "/api/v1/namespaces/a/pods/p2")
    await settle()
    gate.release(2)
    assert [(await task).status for task in (holding, after)] == [200, 200]
    assert apf.seats_in_use()["queued"] == 0


async def test_a_watch_holds_its_seat_until_its_response_starts() -> None:
    started, finish = asyncio.Event(), asyncio.Event()

    async def watch_app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["query_string"]:
            await send({"type": "http.response.start", "status": 200, "headers": []})
            started.set()
            await finish.wait()
            await send({"type": "http.response.body", "body": b""})
        else:
            await send_bytes(send, 200, b"ok", content_type=b"text/plain")

    app, apf = chain(watch_app, Objects([schema("bob", "tiny", "bob")], [level("tiny")]))
    bob = UserInfo("bob")
    watch = request(app, bob, "/api/v1/namespaces/a/pods", query=b"watch=true")
    await started.wait()
    assert apf.seats_in_use()["tiny"] == 0
    assert (await request(app, bob, "/api/v1/namespaces/a/pods")).status == 200
    finish.set()
    response = await watch
    assert header(response, b"x-kubernetes-pf-prioritylevel-uid") == b"pl-tiny"


async def test_other_long_running_requests_are_not_limited_or_classified() -> None:
    gate = Gate()
    app, apf = chain(gate, Objects([schema("bob", "tiny", "bob")], [level("tiny")]))
    bob = UserInfo("bob")
    holding = request(app, bob, "/api/v1/namespaces/a/pods/p/log", query=b"follow=true")
    proxy = request(app, bob, "/api/v1/namespaces/a/services/s/proxy/x")
    await settle()
    assert gate.entered == 2 and apf.seats_in_use() == {}
    gate.release(2)
    responses = [await holding, await proxy]
    assert [(response.status, header(response, b"x-kubernetes-pf-flowschema-uid")) for response in responses] == [
        (200, None), (200, None)]


async def test_a_changed_configuration_applies_to_the_next_request() -> None:
    gate = Gate()
    objects = Objects([], [])
    app, _ = chain(gate, objects)
    bob = UserInfo("bob")
    gate.release(2)
    before = await request(app, bob, "/api/v1/namespaces/a/pods")
    objects.schemas.append(schema("bob", "tiny", "bob"))
    objects.levels.append(level("tiny"))
    objects.version += 1
    after = await request(app, bob, "/api/v1/namespaces/a/pods")
    assert [header(response, b"x-kubernetes-pf-prioritylevel-uid") for response in (before, after)] == [
        b"pl-catch-all", b"pl-tiny"]


@pytest.mark.parametrize(("server_limit", "divisor"), [(0, 1), (600, 0)])
def test_non_positive_limits_are_refused(server_limit: int, divisor: int) -> None:
    with pytest.raises(ValueError, match="must be positive"):
        WithPriorityAndFairness(Gate(), server_limit=server_limit, loop_seat_divisor=divisor)


async def test_the_chain_uses_priority_and_fairness_only_when_given_the_objects() -> None:
    gate = Gate()
    gate.release(2)
    with_apf = await call(build_chain(gate, flow_control_objects=Objects([], [])), path="/api/v1/namespaces")
    without = await call(build_chain(gate), path="/api/v1/namespaces")
    assert header(with_apf, FLOW_SCHEMA_HEADER) == b"fs-global-default"
    assert header(without, FLOW_SCHEMA_HEADER) is None


@pytest.mark.parametrize(("args", "enabled"), [([], True), (["--enable-priority-and-fairness=false"], False)])
def test_the_flag_turns_priority_and_fairness_off(args: list[str], enabled: bool) -> None:
    config = ServerConfig.from_flags(parse_flags(SERVE_FLAGS, args, command="serve"))
    assert config.enable_priority_and_fairness is enabled
