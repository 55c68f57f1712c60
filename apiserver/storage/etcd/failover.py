"""Unary KV calls that move to another member when theirs dies or hangs, within one request timeout.

etcd's clientv3 retries a read on another endpoint whenever it is Unavailable, and a mutation only when it
provably never left the client. Ours go further for writes, because every write of this backend is a
compare-and-swap transaction on the key's revisions: running it twice can never apply it twice, only make one run
report a failed comparison that the other run caused. So a write is retried (and hedged) like a read, and its
answer is marked `uncertain` when another run of it may have been applied; before reporting a failed comparison
the backend then reads the key's history to see whether the change right after the compared revision is its own
(backend.py, `_first_change`).

How a fault is noticed (measured on a 3-member cluster, docs/benchmarks.md):
- kill -9 resets the connection: the call fails at once with UNAVAILABLE and the next member is tried at once.
  Calls are fail-fast (no wait-for-ready) while another member exists, so a channel still reconnecting to a dead
  member answers UNAVAILABLE instead of holding the call until its deadline.
- a hung member (SIGSTOP, a lost network) answers nothing, and keepalive cannot tell sooner than etcd's 5 s
  minimum ping interval; a follower whose leader died holds a write until etcd's own timeout (5 s + 2 election
  timeouts). So when an attempt has not answered within `FAILOVER_AFTER`, the call is hedged: the same request
  goes to the next member while the first attempt keeps running, and the first answer wins. A member that is
  merely slow loses nothing, and a member that never answers costs the call `FAILOVER_AFTER`.
- hedging multiplies load exactly when etcd is slow, so hedges draw on a `HedgeBudget` (gRPC's retry
  throttling): when most calls need one, the cluster is slow rather than a member gone, and calls stop hedging.
  An attempt on a member that has been demoted meanwhile hedges for free: the member is known to be in trouble.

A member whose attempt failed in transport (UNAVAILABLE from gRPC itself), or that lost a hedge to a later member,
is demoted: calls go to the next member from then on, and the watches on it restart elsewhere (watch.py). Errors
etcd itself returns during an election ("etcdserver: ...", "raft proposal dropped") move the call to the next
member without demoting the one that answered.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import grpc
import grpc.aio

from apiserver.storage.etcd.endpoints import Endpoint, EndpointSet

# How long an attempt may go unanswered before the call is hedged on the next member; docs/benchmarks.md.
FAILOVER_AFTER = 1.0
FIRST_BACKOFF = 0.05
MAX_BACKOFF = 0.5

# Not CANCELLED: gRPC reports a channel closed under the call (the storage closing) with it.
RETRIED_CODES = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})
# Answers of a live member that cannot take the request now (no leader yet); not the member's own fault.
MEMBER_ANSWERS = ("etcdserver:", "raft proposal dropped")
# A write that failed with one of these never reached raft.
NOT_APPLIED = (
    "failed to connect", "connection refused", "connections to all backends failing", "no leader",
    "raft proposal dropped", "too many requests",
)


@dataclass(frozen=True, slots=True)
class Answer:
    """The response, and whether another run of the same write may have been applied (writes only)."""

    response: Any
    uncertain: bool = False


class CallFailed(Exception):
    """The call failed on `endpoint` with `error` and is not worth retrying, or the request timeout ran out."""

    def __init__(self, error: grpc.aio.AioRpcError, endpoint: Endpoint) -> None:
        super().__init__(str(error))
        self.error = error
        self.endpoint = endpoint


class HedgeBudget:
    """gRPC's retry throttling (gRFC A6), applied to hedges: a hedge costs a token, an answered call earns
    `token_ratio` of one, and hedging stops while half the tokens or fewer are left. A member gone at once costs
    as many hedges as calls were in flight on it; a cluster slow for every call soon stops being hedged."""

    def __init__(self, max_tokens: float = 50.0, token_ratio: float = 0.1) -> None:
        self._max = max_tokens
        self._ratio = token_ratio
        self._tokens = max_tokens

    def take(self) -> bool:
        if self._tokens <= self._max / 2:
            return False
        self._tokens -= 1
        return True

    def answered(self) -> None:
        self._tokens = min(self._max, self._tokens + self._ratio)


def is_retried(error: grpc.aio.AioRpcError) -> bool:
    return error.code() in RETRIED_CODES or "raft proposal dropped" in (error.details() or "")


def is_member_answer(error: grpc.aio.AioRpcError) -> bool:
    details = error.details() or ""
    return any(details.startswith(prefix) for prefix in MEMBER_ANSWERS)


def may_have_applied(error: grpc.aio.AioRpcError) -> bool:
    details = (error.details() or "").lower()
    return not any(marker in details for marker in NOT_APPLIED)


class FailoverCall:
    """One unary call (`method` of the KV service) on the members in turn, hedged on the next one while an attempt
    is unanswered, until one answers or `timeout` runs out. `is_write` tracks whether runs may have applied."""

    def __init__(self, endpoints: EndpointSet, budget: HedgeBudget, method: str, request: Any, *, timeout: float,
                 is_write: bool) -> None:
        self._endpoints = endpoints
        self._budget = budget
        self._method = method
        self._request = request
        self._is_write = is_write
        self._loop = asyncio.get_running_loop()
        self._deadline = self._loop.time() + timeout
        self._hedge_after = min(FAILOVER_AFTER, timeout / 2)
        self._pending: dict[asyncio.Task[Any], Endpoint] = {}
        self._started: list[Endpoint] = []  # every attempt's member, in the order the attempts started
        self._failed: list[Endpoint] = []  # members whose attempt failed since the last back-off
        self._failed_maybe_applied = False
        self._last: CallFailed | None = None
        self._backoff = FIRST_BACKOFF

    async def run(self) -> Answer:
        """The first answer; raises CallFailed for an error not worth retrying or when the timeout ran out."""
        try:
            while True:
                free = self._free()
                if free and (not self._pending or self._abandoned() or self._budget.take()):
                    self._start(free.pop(0))
                if not self._pending:
                    await self._back_off()
                    continue
                answer = await self._wait(can_hedge=bool(free))
                if answer is not None:
                    return answer
        finally:
            for task in self._pending:
                task.cancel()
            if self._pending:
                await asyncio.gather(*self._pending, return_exceptions=True)

    def _abandoned(self) -> bool:
        """Every running attempt is on a member demoted since (calls already go elsewhere): hedging is free."""
        current = self._endpoints.current
        return all(endpoint is not current for endpoint in self._pending.values())

    def _remaining(self) -> float:
        return self._deadline - float(self._loop.time())

    def _free(self) -> list[Endpoint]:
        """Members that could take a new attempt now: none running one, none failed since the last back-off."""
        if self._remaining() <= 0:
            return []
        busy = set(self._pending.values())
        return [endpoint for endpoint in self._endpoints.in_order()
                if endpoint not in busy and endpoint not in self._failed]

    def _start(self, endpoint: Endpoint) -> None:
        self._started.append(endpoint)
        call = getattr(endpoint.kv, self._method)(self._request, timeout=self._remaining(), wait_for_ready=False)
        self._pending[asyncio.ensure_future(call)] = endpoint

    async def _wait(self, *, can_hedge: bool) -> Answer | None:
        """Wait for an attempt to end; or until it is time to hedge on a free member, or to try the failed ones
        again. Past the deadline, the attempts end by their own gRPC deadline."""
        timeout: float | None = None
        if self._remaining() > 0 and can_hedge:
            timeout = min(self._hedge_after, self._remaining())
        elif self._remaining() > 0 and self._failed:
            timeout = min(self._backoff, self._remaining())
        done, _ = await asyncio.wait(self._pending, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        if not done and not can_hedge and self._failed:
            self._new_round()
        for task in done:
            endpoint = self._pending.pop(task)
            error = task.exception()
            if error is None:
                self._budget.answered()
                self._demote_slower(endpoint)
                return Answer(task.result(), self._is_write and (self._failed_maybe_applied or bool(self._pending)))
            self._failed_attempt(endpoint, error)
        return None

    def _failed_attempt(self, endpoint: Endpoint, error: BaseException) -> None:
        if not isinstance(error, grpc.aio.AioRpcError):
            raise error
        failure = CallFailed(error, endpoint)
        if not is_retried(error):
            raise failure
        self._last = failure
        self._failed.append(endpoint)
        self._failed_maybe_applied = self._failed_maybe_applied or may_have_applied(error)
        if not is_member_answer(error):
            self._endpoints.demote(endpoint)
        if self._remaining() <= 0 and not self._pending:
            raise failure

    def _demote_slower(self, winner: Endpoint) -> None:
        """A later attempt answered first: the members of the earlier ones did not answer in time. A list page is
        slow because it is large, not because its member hangs, so losing with one demotes nobody."""
        if getattr(self._request, "range_end", b""):
            return
        earlier = self._started[: self._started.index(winner)]
        for endpoint in self._pending.values():
            if endpoint in earlier:
                self._endpoints.demote(endpoint)

    async def _back_off(self) -> None:
        """Every member failed this round: wait a little (an election, a restart), then try them all again."""
        pause = min(self._backoff, self._remaining())
        if pause <= 0:
            raise self._last or CallFailed(_timed_out(), self._endpoints.pick())
        await asyncio.sleep(pause)
        self._new_round()

    def _new_round(self) -> None:
        self._backoff = min(self._backoff * 2, MAX_BACKOFF)
        self._failed.clear()


def _timed_out() -> grpc.aio.AioRpcError:
    return grpc.aio.AioRpcError(
        grpc.StatusCode.DEADLINE_EXCEEDED, grpc.aio.Metadata(), grpc.aio.Metadata(), details="Deadline Exceeded"
    )


async def call_with_failover(
    endpoints: EndpointSet, budget: HedgeBudget, method: str, request: Any, *, timeout: float, is_write: bool
) -> Answer:
    """`FailoverCall(...).run()`; with a single member, one wait-for-ready attempt bounded by `timeout`."""
    if len(endpoints.all) == 1:
        endpoint = endpoints.all[0]
        try:
            response = await getattr(endpoint.kv, method)(request, timeout=timeout, wait_for_ready=True)
        except grpc.aio.AioRpcError as error:
            raise CallFailed(error, endpoint) from None
        return Answer(response)
    return await FailoverCall(endpoints, budget, method, request, timeout=timeout, is_write=is_write).run()
