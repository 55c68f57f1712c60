"""The seats and queues of one limited priority level (upstream's fair-queuing QueueSet, simplified).

A request takes one seat. While a seat is free and nobody waits, it runs at once, without yielding to the event
loop. Otherwise, with queuing, its flow is dealt a hand of `hand_size` queues out of `queues` (shuffle sharding
on a hash of the flow, as upstream's Dealer does, written here from the algorithm's description) and it joins
the shortest of them, unless that one already holds `queue_length_limit` requests; then, or with a Reject level,
or when it has waited `wait_limit` seconds, it is rejected. A freed seat goes to the head of the next non-empty
queue in round-robin order, so flows that share a level share its seats by turns (upstream orders by virtual
finish time; with one seat per request this is the same turn-taking without the virtual clock). Everything runs
on one event loop, so there is no lock.

With a `ready` gate (flowcontrol_loop.py), a queuing level also starts nothing while the gate is shut: requests
queue instead, and `dispatch` starts them once it opens. Reject levels have no queue to wait in and ignore it.
"""
from __future__ import annotations

import asyncio
import hashlib
from collections import deque
from collections.abc import Callable

from apiserver.filters.flowcontrol_config import PriorityLevel

CONCURRENCY_LIMIT, QUEUE_FULL, TIME_OUT = "concurrency-limit", "queue-full", "time-out"


def deal_hand(flow_hash: int, queues: int, hand_size: int) -> list[int]:
    """`hand_size` distinct queue indexes in [0, queues) drawn from `flow_hash` as mixed-radix digits."""
    hand: list[int] = []
    for remaining in range(queues, queues - hand_size, -1):
        flow_hash, digit = divmod(flow_hash, remaining)
        card = digit
        for taken in sorted(hand):  # the digit-th index not dealt yet
            if card >= taken:
                card += 1
        hand.append(card)
    return hand


def flow_hash(schema: str, flow: str) -> int:
    digest = hashlib.blake2b(f"{schema}\x00{flow}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


class QueueSet:
    """Seats and queues of one limited priority level; `configure` applies a changed level in place."""

    def __init__(self, level: PriorityLevel, ready: Callable[[], bool] | None = None) -> None:
        self.level = level
        self._ready = ready
        self.executing = 0
        self.waiting = 0
        self._queues: list[deque[asyncio.Future[bool]]] = []
        self._turns: deque[int] = deque()  # indexes of non-empty queues, in round-robin order
        self.configure(level)

    def configure(self, level: PriorityLevel) -> None:
        self.level = level
        if len(self._queues) < level.queues:
            self._queues.extend(deque() for _ in range(level.queues - len(self._queues)))
        self._dispatch()

    def try_take(self) -> bool:
        """Take a seat without waiting; only when one is free, nobody is queued and the gate is open."""
        if self.waiting or self.executing >= self.level.concurrency_limit or not self._open():
            return False
        self.executing += 1
        return True

    async def take(self, hashed_flow: int, wait_limit: float) -> bool:
        """A seat (True), or False when rejected: queues full, Reject level, or `wait_limit` passed in a queue."""
        return await self.admit(hashed_flow, wait_limit) is None

    async def admit(self, hashed_flow: int, wait_limit: float) -> str | None:
        """None with a seat taken, else why not, as upstream's rejection reasons: `concurrency-limit` (a full
        Reject level), `queue-full`, `time-out` (`wait_limit` passed in a queue). Raises CancelledError, seat
        given back, when the caller is cancelled."""
        if self.try_take():
            return None
        level = self.level
        if not level.queues:
            if self.executing < level.concurrency_limit:  # only the gate said no: a Reject level has no queue
                self.executing += 1
                return None
            return CONCURRENCY_LIMIT
        hand = deal_hand(hashed_flow, level.queues, level.hand_size)
        index = min(hand, key=lambda candidate: len(self._queues[candidate]))
        queue = self._queues[index]
        if len(queue) >= level.queue_length_limit:
            return QUEUE_FULL
        granted: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        if not queue:
            self._turns.append(index)
        queue.append(granted)
        self.waiting += 1
        try:
            await asyncio.wait_for(granted, wait_limit)
            return None
        except TimeoutError:
            self._forget(index, granted)
            return TIME_OUT
        except asyncio.CancelledError:
            if granted.done() and not granted.cancelled():
                self.give_back()  # granted just as the caller went away
            else:
                self._forget(index, granted)
            raise

    def _forget(self, index: int, granted: asyncio.Future[bool]) -> None:
        queue = self._queues[index]
        try:
            queue.remove(granted)
        except ValueError:
            return  # already dispatched
        self.waiting -= 1
        if not queue:
            self._turns.remove(index)

    def queue_lengths(self) -> list[int]:
        """Requests waiting in each queue, by queue index (for the debug dumps)."""
        return [len(queue) for queue in self._queues[:self.level.queues]]

    def give_back(self) -> None:
        self.executing -= 1
        self._dispatch()

    def dispatch(self) -> None:
        """Start queued requests while seats are free (the gate's owner calls this when it opens)."""
        self._dispatch()

    def _open(self) -> bool:
        # One request of each level always runs: a late loop holds back a level's additional requests, not its
        # only one (leader election must renew while creates flood the loop).
        return self._ready is None or self.executing == 0 or self._ready()

    def _dispatch(self) -> None:
        while self._turns and self.executing < self.level.concurrency_limit and self._open():
            index = self._turns.popleft()
            queue = self._queues[index]
            granted = queue.popleft()
            if queue:
                self._turns.append(index)
            self.waiting -= 1
            if granted.done():  # timed out or cancelled while queued
                continue
            self.executing += 1
            granted.set_result(True)
