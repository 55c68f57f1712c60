"""Clients for the fault tests: a writer that records every acknowledged write, watchers that record every event.

The writer retries as client-go does on a lost connection or a 429/5xx, through the balancer; a retried create
answered 409 AlreadyExists (or a retried update answered 409 Conflict) means the earlier attempt was committed
before its answer was lost, which a GET confirms. Watchers resume from their last resourceVersion when a watch
drops and relist when told 410 Gone, as a reflector does; each keeps its timeline of lists and events.
"""
from __future__ import annotations

import contextlib
import json
import socket
import ssl
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
LABEL = "stream"


class Api:
    """HTTPS with the admin client certificate against one base URL (a replica or the balancer)."""

    def __init__(self, base_url: str, ca_file: Path, credentials: tuple[Path, Path], timeout: float = 15.0, *,
                 keep_alive: bool = True) -> None:
        """Without `keep_alive`, every request opens a connection (so the balancer spreads them over replicas)."""
        context = ssl.create_default_context(cafile=str(ca_file))
        context.load_cert_chain(str(credentials[0]), str(credentials[1]))
        self.base_url = base_url
        limits = httpx.Limits() if keep_alive else httpx.Limits(max_keepalive_connections=0)
        self.http = httpx.Client(base_url=base_url, verify=context, timeout=timeout, follow_redirects=False,
                                 limits=limits)

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, dict[str, Any]]:
        response = self.http.request(method, path, json=body)
        return response.status_code, response.json() if response.content else {}

    def ok(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        status, answer = self.call(method, path, body)
        assert 200 <= status < 300, (method, path, status, answer)
        return answer

    def close(self) -> None:
        self.http.close()


def configmaps(namespace: str, name: str = "") -> str:
    return f"/api/v1/namespaces/{namespace}/configmaps" + (f"/{name}" if name else "")


def create_namespace(api: Api, name: str = "") -> str:
    name = name or f"c-{uuid.uuid4().hex[:8]}"
    api.ok("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    return name


class Writer(threading.Thread):
    """`creates` ConfigMaps, and after every second one an update of the previous one, through `api`.

    `acked` maps each name to the (resourceVersion, data) of its last acknowledged write; `history` lists every
    acknowledged (name, resourceVersion) in order. Unexpected answers end the stream and land in `errors`.
    """

    def __init__(self, api: Api, namespace: str, creates: int = 40, pause: float = 0.02,
                 give_up_after: float = 60.0) -> None:
        super().__init__(daemon=True)
        self.api, self.namespace, self.creates, self.pause = api, namespace, creates, pause
        self.give_up_after = give_up_after
        self.acked: dict[str, tuple[int, dict[str, str]]] = {}
        self.history: list[tuple[str, int]] = []
        self.errors: list[str] = []
        self.retries = 0
        self.retry_causes: Counter[int] = Counter()  # status of each retried answer, 0 for a lost connection
        self.retry_messages: list[str] = []
        self.recovered = 0  # writes committed whose answer was lost, confirmed by a GET
        self.slowest = 0.0  # seconds from a write's first attempt to its acknowledgement, retries included
        self._progress = threading.Condition()

    @property
    def total(self) -> int:
        return self.creates + self.creates // 2

    def run(self) -> None:
        try:
            for index in range(self.creates):
                self._create(f"cm-{index:04d}", {"v": "0"})
                if index % 2 == 1:
                    self._update(f"cm-{index - 1:04d}", {"v": "1"})
                time.sleep(self.pause)
        except Exception as error:
            self.errors.append(repr(error))
        finally:
            with self._progress:
                self._progress.notify_all()

    def wait_for(self, acknowledged: int, timeout: float = 30.0) -> int:
        """Block until `acknowledged` writes were acknowledged (or the writer ended); returns how many were."""
        deadline = time.monotonic() + timeout
        with self._progress:
            while len(self.history) < acknowledged and self.is_alive() and time.monotonic() < deadline:
                self._progress.wait(0.1)
        return len(self.history)

    def _record(self, name: str, answer: dict[str, Any]) -> None:
        rv = int(answer["metadata"]["resourceVersion"])
        with self._progress:
            self.acked[name] = (rv, dict(answer.get("data") or {}))
            self.history.append((name, rv))
            self._progress.notify_all()

    def _create(self, name: str, data: dict[str, str]) -> None:
        body = {"apiVersion": "v1", "kind": "ConfigMap", "data": data,
                "metadata": {"name": name, "labels": {LABEL: "1"}}}
        self._until_answered("POST", configmaps(self.namespace), body, name, data, committed_status=409)

    def _update(self, name: str, data: dict[str, str]) -> None:
        rv, _ = self.acked[name]
        body = {"apiVersion": "v1", "kind": "ConfigMap", "data": data,
                "metadata": {"name": name, "labels": {LABEL: "1"}, "resourceVersion": str(rv)}}
        self._until_answered("PUT", configmaps(self.namespace, name), body, name, data, committed_status=409)

    def _until_answered(self, method: str, path: str, body: dict[str, Any], name: str, data: dict[str, str],
                        committed_status: int) -> None:
        began = time.monotonic()
        deadline = began + self.give_up_after
        try:
            self._attempt(method, path, body, name, data, committed_status, deadline)
        finally:
            self.slowest = max(self.slowest, time.monotonic() - began)

    def _attempt(self, method: str, path: str, body: dict[str, Any], name: str, data: dict[str, str],
                 committed_status: int, deadline: float) -> None:
        attempt = 0
        while True:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{method} {name}: no answer within {self.give_up_after}s")
            try:
                status, answer = self.api.call(method, path, body)
            except httpx.TransportError:
                status, answer = 0, {}
            if 200 <= status < 300:
                self._record(name, answer)
                return
            if status == committed_status and attempt > 0 and self._confirm(name, data):
                return
            if status not in RETRY_STATUSES and status != 0:
                raise AssertionError(f"{method} {name}: {status} {json.dumps(answer)[:400]}")
            attempt += 1
            self.retries += 1
            self.retry_causes[status] += 1
            if status and len(self.retry_messages) < 5:
                self.retry_messages.append(f"{status} {answer.get('message', '')}"[:200])
            time.sleep(min(0.05 * attempt, 0.5))

    def _confirm(self, name: str, data: dict[str, str]) -> bool:
        """Whether the object now holds `data`: the lost answer's write was committed."""
        with contextlib.suppress(httpx.TransportError):
            status, answer = self.api.call("GET", configmaps(self.namespace, name))
            if status == 200 and (answer.get("data") or {}) == data:
                self.recovered += 1
                self._record(name, answer)
                return True
        return False


@dataclass
class Timeline:
    """What one watcher saw, in order: ("list", rv, {name: rv}) and ("event", rv, (type, name))."""

    items: list[tuple[str, int, Any]] = field(default_factory=list)

    @property
    def event_rvs(self) -> list[int]:
        return [rv for kind, rv, _ in self.items if kind == "event"]


class Watcher(threading.Thread):
    """A reflector on the stream's ConfigMaps of `namespace` at one replica: list, watch, resume, relist on 410."""

    def __init__(self, api: Api, namespace: str, name: str) -> None:
        super().__init__(daemon=True, name=name)
        self.api, self.namespace = api, namespace
        self.state: dict[str, int] = {}
        self.timeline = Timeline()
        self.rv = 0
        self.relists = self.gone = self.resumes = 0
        self.errors: list[str] = []
        self._halt = threading.Event()
        self._response: httpx.Response | None = None
        self._listed = threading.Event()

    def start(self) -> None:
        super().start()
        if not self._listed.wait(30):
            raise TimeoutError(f"{self.name}: no initial list")

    def stop(self) -> None:
        self._halt.set()
        response = self._response
        if response is not None:  # a blocked read ends only when its socket is shut down under it
            with contextlib.suppress(Exception):
                response.extensions["network_stream"].get_extra_info("socket").shutdown(socket.SHUT_RDWR)
        self.join(10)
        assert not self.is_alive(), f"{self.name} did not stop"

    def run(self) -> None:
        needs_list = True
        while not self._halt.is_set():
            try:
                if needs_list:
                    self._list()
                    needs_list = False
                needs_list = self._watch()
            except (httpx.TransportError, httpx.StreamError, json.JSONDecodeError, KeyError) as error:
                if self._halt.is_set():
                    return
                self.resumes += 1
                if len(self.errors) < 20:
                    self.errors.append(repr(error))
                time.sleep(0.1)

    def _list(self) -> None:
        status, answer = self.api.call("GET", configmaps(self.namespace) + f"?labelSelector={LABEL}")
        if status != 200:
            raise httpx.TransportError(f"list answered {status}")
        self.rv = int(answer["metadata"]["resourceVersion"])
        self.state = {item["metadata"]["name"]: int(item["metadata"]["resourceVersion"]) for item in answer["items"]}
        self.timeline.items.append(("list", self.rv, dict(self.state)))
        if self._listed.is_set():
            self.relists += 1
        self._listed.set()

    def _watch(self) -> bool:
        """One watch from `self.rv` until it ends; True when the caller must relist (410 Gone)."""
        query = f"?watch=1&labelSelector={LABEL}&allowWatchBookmarks=true&resourceVersion={self.rv}"
        with self.api.http.stream("GET", configmaps(self.namespace) + query,
                                  timeout=httpx.Timeout(10.0, read=None)) as response:
            self._response = response
            if response.status_code == 410:
                self.gone += 1
                return True
            if response.status_code != 200:
                raise httpx.TransportError(f"watch answered {response.status_code}")
            for line in response.iter_lines():
                if self._halt.is_set():
                    return False
                if not line.strip():
                    continue
                event = json.loads(line)
                kind, obj = event["type"], event["object"]
                if kind == "ERROR":
                    if obj.get("code") == 410:
                        self.gone += 1
                        return True
                    raise httpx.TransportError(f"watch error {obj}")
                rv = int(obj["metadata"]["resourceVersion"])
                self.rv = rv
                if kind == "BOOKMARK":
                    continue
                name = obj["metadata"]["name"]
                if kind == "DELETED":
                    self.state.pop(name, None)
                else:
                    self.state[name] = rv
                self.timeline.items.append(("event", rv, (kind, name)))
        return False
