"""Live-tail delivery latency: the console's WebSocket beside a raw API watch of the same burst.

Both observers watch one namespace from the same resourceVersion, as the same user, at the same time: the console's
/console/ws/watch (Table rows, batched per ~100 ms window) and a raw `?watch=1` HTTP watch asking for the same
Table rows. A writer process creates ConfigMaps paced at the asked rate; each name carries its POST start time.
An object's latency is the time from its POST start to the first message (batch or watch line) that names it.
"""
from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from typing import Any
from urllib.parse import urlencode

import aiohttp
import orjson

from bench.console_side import TABLE_ACCEPT, Target, admin, stamp_of, write_burst
from bench.measure import percentile

DEADLINE = 60.0  # seconds after the writer ends for the last events to arrive


@dataclass
class Observer:
    """First-seen times of object names, and the batches (console) or lines (raw) that carried them."""

    seen: dict[str, float] = field(default_factory=dict)
    messages: list[float] = field(default_factory=list)

    def saw(self, name: str, at: float) -> None:
        self.seen.setdefault(name, at)

    def latencies(self) -> list[float]:
        return [at - stamp_of(name) for name, at in self.seen.items() if name.startswith("ev-")]


async def console_tail(socket: aiohttp.ClientWebSocketResponse, observer: Observer, live: asyncio.Event) -> None:
    async for frame in socket:
        at = time.perf_counter()
        message = orjson.loads(frame.data)
        if message["type"] == "status":
            live.set()
        elif message["type"] == "events":
            observer.messages.append(at)
            for event in message["events"]:
                if event["type"] != "DELETED":
                    observer.saw(event["object"]["name"], at)
        elif message["type"] in ("error", "relist"):
            raise RuntimeError(f"console live tail ended: {message}")


async def raw_tail(session: aiohttp.ClientSession, token: str, path: str, resource_version: str,
                   observer: Observer) -> None:
    query = urlencode({"watch": "1", "resourceVersion": resource_version, "allowWatchBookmarks": "true"})
    headers = {"Accept": TABLE_ACCEPT, "Authorization": f"Bearer {token}"}
    async with session.get(f"{path}?{query}", headers=headers, timeout=aiohttp.ClientTimeout(total=None)) as answer:
        if answer.status != 200:
            raise RuntimeError(f"raw watch: HTTP {answer.status} {(await answer.read())[:200]!r}")
        async for line in answer.content:
            at = time.perf_counter()
            event = orjson.loads(line)
            observer.messages.append(at)
            if event["type"] in ("ADDED", "MODIFIED"):
                for row in event["object"].get("rows") or ():
                    observer.saw(row["object"]["metadata"]["name"], at)


async def until(condition: Callable[[], bool], within: float, what: str) -> None:
    deadline = time.perf_counter() + within
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError(what)
        await asyncio.sleep(0.02)


@dataclass(frozen=True, slots=True)
class Burst:
    console: list[float]
    raw: list[float]
    writer: dict[str, Any]
    batches_per_second: float
    missing: int


async def one_burst(target: Target, admin_session: aiohttp.ClientSession, user: aiohttp.ClientSession, token: str,
                    namespace: str, rate: float, seconds: float) -> Burst:
    await admin(admin_session, "POST", "/api/v1/namespaces",
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}, 201)
    path = f"/api/v1/namespaces/{namespace}/configmaps"
    version = str((await admin(admin_session, "GET", path))["metadata"]["resourceVersion"])
    ours, raw, live = Observer(), Observer(), asyncio.Event()
    socket = await user.ws_connect("/console/ws/watch", headers={"Origin": target.url}, max_msg_size=0)
    tasks = [asyncio.create_task(console_tail(socket, ours, live)),
             asyncio.create_task(raw_tail(user, token, path, version, raw))]
    try:
        await socket.send_json({"action": "watch", "path": path, "resourceVersion": version})
        await until(lambda: live.is_set() or any(task.done() for task in tasks), 10, "console watch not live")
        # Both watches prove they are live before the timed writes: a warm-up object reaches both.
        await admin(admin_session, "POST", path, {"apiVersion": "v1", "kind": "ConfigMap",
                                                  "metadata": {"name": "warm-up"}}, 201)
        await until(lambda: ("warm-up" in ours.seen and "warm-up" in raw.seen) or any(task.done() for task in tasks),
                    20, "warm-up object not seen by both watches")
        _raise_failed(tasks)
        ours.messages.clear()
        with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
            writer = await asyncio.get_running_loop().run_in_executor(
                pool, write_burst, target, namespace, rate, seconds)
        expected = int(rate * seconds) - writer["errors"]
        with contextlib.suppress(TimeoutError):  # what is missing then is reported, not raised
            await until(lambda: min(len(ours.latencies()), len(raw.latencies())) >= expected
                        or any(task.done() for task in tasks), DEADLINE, "events still missing")
        _raise_failed(tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await socket.close()
    span = (max(ours.messages) - min(ours.messages)) if len(ours.messages) > 1 else 0.0
    missing = max(0, expected - len(ours.latencies())) + max(0, expected - len(raw.latencies()))
    return Burst(ours.latencies(), raw.latencies(), writer, len(ours.messages) / span if span else float("nan"),
                 missing)


def _raise_failed(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        if task.done() and not task.cancelled() and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]


def describe(bursts: list[Burst]) -> str:
    parts = []
    for index, burst in enumerate(bursts):
        parts.append(
            f"rep {index}: writer {burst.writer['rate']:.0f}/s, console p50 {percentile(burst.console, 0.5) * 1e3:.0f}"
            f" p99 {percentile(burst.console, 0.99) * 1e3:.0f} ms, raw p50 {percentile(burst.raw, 0.5) * 1e3:.1f}"
            f" p99 {percentile(burst.raw, 0.99) * 1e3:.0f} ms, {burst.batches_per_second:.1f} batches/s")
    return "; ".join(parts)


def pooled(bursts: list[Burst], side: str, fraction: float) -> float:
    """Median over repetitions of each repetition's percentile, in milliseconds."""
    return statistics.median(percentile(getattr(burst, side), fraction) for burst in bursts) * 1e3
