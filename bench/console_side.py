"""The console benchmark's clients: a user logged in to the console of a live server, the admin, and the writer.

Both sides of every comparison are the same user (a ServiceAccount bound to cluster-admin) over the same kind of
connection: the console page with the session cookie, the raw API request with the user's bearer token. The client
is aiohttp (already installed) because it speaks WebSocket; its cost is on both sides of every ratio.
"""
from __future__ import annotations

import asyncio
import re
import ssl
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson

TABLE_ACCEPT = "application/json;as=Table;v=v1;g=meta.k8s.io"
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@dataclass(frozen=True, slots=True)
class Target:
    """Where the server is and the files its clients need (all plain strings: it crosses to the writer process)."""

    url: str
    ca_file: str
    cert_file: str
    key_file: str

    def context(self, *, client_cert: bool) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self.ca_file)
        if client_cert:
            context.load_cert_chain(self.cert_file, self.key_file)
        return context


def admin_session(target: Target, connections: int = 32) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(ssl=target.context(client_cert=True), limit=connections)
    return aiohttp.ClientSession(target.url, connector=connector, json_serialize=lambda v: orjson.dumps(v).decode())


async def admin(session: aiohttp.ClientSession, method: str, path: str, body: object = None,
                expect: int = 200) -> Any:
    async with session.request(method, path, json=body) as response:
        payload = await response.read()
        if response.status != expect:
            raise RuntimeError(f"{method} {path}: HTTP {response.status} {payload[:200]!r}")
        return orjson.loads(payload) if payload else None


def configmap(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": "v"}}


async def user_token(session: aiohttp.ClientSession, namespace: str, name: str) -> str:
    """A ServiceAccount in `namespace` bound to cluster-admin, and a one-hour token for it."""
    await admin(session, "POST", f"/api/v1/namespaces/{namespace}/serviceaccounts",
                {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name}}, 201)
    await admin(session, "POST", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": namespace}]}, 201)
    answer = await admin(session, "POST", f"/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token", {
        "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"expirationSeconds": 3600}}, 201)
    return str(answer["status"]["token"])


async def log_in(target: Target, token: str) -> aiohttp.ClientSession:
    """A browser-like session logged in to the console with `token` (the cookie jar accepts an IP host)."""
    session = aiohttp.ClientSession(target.url, connector=aiohttp.TCPConnector(ssl=target.context(client_cert=False)),
                                    cookie_jar=aiohttp.CookieJar(unsafe=True))
    deadline = time.monotonic() + 10
    while True:  # RBAC reads the watch caches, a moment behind the binding
        async with session.get("/console/login/") as page:
            csrf = CSRF_INPUT.search(await page.text())
        assert csrf, "no CSRF token on the login page"
        async with session.post("/console/login/", data={
                "csrfmiddlewaretoken": csrf.group(1), "method": "token", "token": token, "next": ""},
                headers={"Origin": target.url}, allow_redirects=False) as answer:
            if answer.status == 302:
                return session
            if time.monotonic() > deadline:
                raise RuntimeError(f"console login: HTTP {answer.status} {(await answer.text())[:300]}")
        await asyncio.sleep(0.1)


async def create_many(session: aiohttp.ClientSession, namespace: str, names: list[str], in_flight: int = 32) -> None:
    cursor = iter(names)

    async def worker() -> None:
        for name in cursor:
            await admin(session, "POST", f"/api/v1/namespaces/{namespace}/configmaps", configmap(name), 201)

    await asyncio.gather(*(worker() for _ in range(in_flight)))


def write_burst(target: Target, namespace: str, rate: float, seconds: float, in_flight: int = 32) -> dict[str, Any]:
    """The writer process: creates paced at `rate`/s for `seconds`, each named `ev-INDEX-MICROS` where MICROS is
    `perf_counter()` (CLOCK_MONOTONIC, shared by every process of the box) when its POST started."""
    return asyncio.run(_write_burst(target, namespace, rate, seconds, in_flight))


async def _write_burst(target: Target, namespace: str, rate: float, seconds: float, in_flight: int) -> dict[str, Any]:
    errors: list[str] = []
    slots = asyncio.Semaphore(in_flight)
    tasks: list[asyncio.Task[None]] = []
    async with admin_session(target, in_flight) as session:

        async def one(index: int) -> None:
            try:
                name = f"ev-{index:05d}-{int(time.perf_counter() * 1e6)}"
                await admin(session, "POST", f"/api/v1/namespaces/{namespace}/configmaps", configmap(name), 201)
            except Exception as error:  # A benchmark counts failures instead of stopping at the first.
                errors.append(repr(error))
            finally:
                slots.release()

        count = int(rate * seconds)
        started = time.perf_counter()
        for index in range(count):
            delay = started + index / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            await slots.acquire()
            tasks.append(asyncio.create_task(one(index)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - started
    return {"count": count, "errors": len(errors), "first_error": errors[0] if errors else "",
            "rate": count / elapsed if elapsed else 0.0}


def stamp_of(name: str) -> float:
    """The POST start time carried in a writer's object name."""
    return int(name.rsplit("-", 1)[1]) / 1e6
