"""WorkQueue (de-duplication, one worker per key, backoff) and the informer's relist."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from apiserver.client.client import Resource
from apiserver.client.informer import Informer
from apiserver.controllers.base import WorkQueue, controller_user
from apiserver.meta.errors import Expired


async def test_queue_deduplicates_waiting_keys() -> None:
    queue = WorkQueue()
    for key in ("a", "b", "a", "a"):
        queue.add(key)
    assert len(queue) == 2
    assert [await queue.get(), await queue.get()] == ["a", "b"]


async def test_key_added_while_processing_comes_back_after_done() -> None:
    queue = WorkQueue()
    queue.add("a")
    key = await queue.get()
    queue.add("a")
    assert len(queue) == 0  # never handed to a second worker while the first holds it
    queue.done(key)
    assert await asyncio.wait_for(queue.get(), 1) == "a"


async def test_retry_backs_off_exponentially_until_forgotten() -> None:
    queue = WorkQueue(base_delay=0.01, max_delay=0.04)
    delays = [queue.retry("a") for _ in range(4)]
    assert delays == [0.01, 0.02, 0.04, 0.04]
    assert await asyncio.wait_for(queue.get(), 1) == "a"
    queue.forget("a")
    assert queue.failures("a") == 0
    queue.shut_down()


def test_controllers_act_as_their_service_account() -> None:
    user = controller_user("certificate-controller")
    assert user.name == "system:serviceaccount:kube-system:certificate-controller"
    assert user.groups == ("system:serviceaccounts", "system:serviceaccounts:kube-system")


class _ExpiringClient:
    """A client whose first watch ends with 410 Expired (the revision was compacted); lists what `items` holds."""

    def __init__(self) -> None:
        self.items = [{"metadata": {"name": "a", "resourceVersion": "1"}}]
        self.watches = 0
        self.released = asyncio.Event()

    async def list(self, resource: object) -> dict[str, Any]:
        return {"metadata": {"resourceVersion": str(len(self.items))}, "items": list(self.items)}

    async def watch(self, resource: object, *, resource_version: str = "") -> AsyncIterator[tuple[str, Any]]:
        self.watches += 1
        if self.watches == 1:
            self.items = [{"metadata": {"name": "b", "resourceVersion": "2"}}]
            raise Expired.too_old(1, 2)
        await self.released.wait()
        yield "ADDED", {"metadata": {"name": "c", "resourceVersion": "3"}}


async def test_informer_relists_after_410_and_reports_the_difference() -> None:
    client = _ExpiringClient()
    events: list[tuple[str, str]] = []
    informer = Informer(client, Resource("", "v1", "configmaps"),  # type: ignore[arg-type]
                        lambda kind, obj: events.append((kind, obj["metadata"]["name"])))
    task = asyncio.create_task(informer.run())
    try:
        await asyncio.wait_for(informer.wait_synced(), 1)
        while client.watches < 2:
            await asyncio.sleep(0.01)
        client.released.set()
        while ("ADDED", "c") not in events:
            await asyncio.sleep(0.01)
    finally:
        task.cancel()
    assert events == [("ADDED", "a"), ("DELETED", "a"), ("ADDED", "b"), ("ADDED", "c")]
    assert informer.relists == 2
    assert sorted(item["metadata"]["name"] for item in informer.items()) == ["b", "c"]
