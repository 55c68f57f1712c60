"""The console through the load balancer: a real browser (Debian's chromium under Playwright) logs in through
HAProxy, browses a resource list and follows its live tail over a WebSocket that passes through HAProxy, while a
ConfigMap is created through the *other* replica (its direct address) and appears on the page.

The balancer is HAProxy started from deploy/haproxy.cfg itself (docker-compose.yml's balancer, with its default
`balance source`) in front of the package's cluster replicas: console sessions live in each replica's own database,
so the browser must stay on one replica, which source affinity gives and the shared cluster's roundrobin frontend
(for API clients) does not. Which replica holds the session is read from the replicas' console databases.
"""
from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, WebSocket, expect, sync_playwright

from tests.console.test_browser import CHROMIUM, CHROMIUM_ARGS, bound_token
from tests.support.cluster import Cluster, Replica, poll
from tests.support.ports import free_port, wait_for_port

HAPROXY_CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "haproxy.cfg"
NAMESPACE = "console-through-lb"
CONFIGMAPS = f"/api/v1/namespaces/{NAMESPACE}/configmaps"
LIST_PAGE = f"/console/resources/core/v1/configmaps/?namespace={NAMESPACE}"


@pytest.fixture(scope="module")
def balancer_url(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """deploy/haproxy.cfg on a free loopback port in front of the cluster's two replicas (a short check interval)."""
    assert len(cluster.replicas) == 2
    root = tmp_path_factory.mktemp("console-balancer")
    port = free_port()
    env = {**os.environ, "PILOTHOUSE_LISTEN": f"127.0.0.1:{port}", "PILOTHOUSE_CHECK_INTERVAL": "300ms",
           **{f"PILOTHOUSE_REPLICA_{index + 1}": f"{replica.host}:{replica.port}"
              for index, replica in enumerate(cluster.replicas)}}
    env.pop("PILOTHOUSE_BALANCE", None)  # the shipped default: source affinity
    haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
    with open(root / "haproxy.log", "wb") as log:
        process = subprocess.Popen([haproxy, "-db", "-f", str(HAPROXY_CONFIG)], env=env, stdout=log,
                                   stderr=subprocess.STDOUT)
    try:
        wait_for_port(port)
        yield f"https://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


def admin(replica: Replica, method: str, path: str, body: dict[str, object]) -> dict[str, object]:
    status, _, raw = replica.request(method, path, client_cert=True, body=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    assert status < 300, raw
    answer: dict[str, object] = json.loads(raw)
    return answer


def sessions(replica: Replica) -> int:
    """How many console sessions this replica's own database holds."""
    database = replica.data_dir / "console.sqlite3"
    if not database.exists():
        return 0
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "django_session" not in tables:
            return 0
        return int(connection.execute("SELECT COUNT(*) FROM django_session").fetchone()[0])


def test_console_login_browse_and_live_tail_through_the_balancer(cluster: Cluster, balancer_url: str,
                                                                  browser: Browser) -> None:
    first, second = cluster.replicas
    admin(first, "POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                "metadata": {"name": NAMESPACE}})
    admin(second, "POST", CONFIGMAPS, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "before-login"},
                                       "data": {"a": "1"}})
    token = bound_token(first, NAMESPACE, "console-viewer", "view")
    before = {replica.host: sessions(replica) for replica in cluster.replicas}

    context = browser.new_context(ignore_https_errors=True, viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(str(error)))
        sockets: list[WebSocket] = []
        frames: list[str] = []

        def opened(socket: WebSocket) -> None:
            sockets.append(socket)
            socket.on("framereceived", lambda payload: frames.append(str(payload)))

        page.on("websocket", opened)

        page.goto(balancer_url + "/console/login/")
        page.get_by_label("Token").fill(token)
        page.get_by_role("button", name="Log in with token").click()
        page.wait_for_url(balancer_url + "/console/")
        assert page.locator(".identity .user").inner_text() == f"system:serviceaccount:{NAMESPACE}:console-viewer"

        # The session lives in exactly one replica's database: the one the balancer keeps this browser on.
        after = poll(lambda: {replica.host: sessions(replica) for replica in cluster.replicas}
                     if sum(sessions(replica) for replica in cluster.replicas) > sum(before.values()) else None,
                     10.0, "the console session row")
        serving = [replica for replica in cluster.replicas if after[replica.host] > before[replica.host]]
        assert len(serving) == 1, (before, after)
        other = second if serving[0] is first else first

        page.goto(balancer_url + LIST_PAGE)  # every later request must land on the same replica, or login again
        assert page.url == balancer_url + LIST_PAGE
        expect(page.locator("#resource-rows tr", has_text="before-login")).to_have_count(1)
        expect(page.locator(".live-state")).to_have_text("Live", timeout=10_000)
        assert [socket.url.split("?")[0] for socket in sockets] == [
            balancer_url.replace("https://", "wss://") + "/console/ws/watch"]

        admin(other, "POST", CONFIGMAPS, {"apiVersion": "v1", "kind": "ConfigMap",
                                          "metadata": {"name": "from-the-other-replica"}, "data": {"k": "v"}})
        row = page.locator("#resource-rows tr", has_text="from-the-other-replica")
        expect(row).to_have_count(1, timeout=10_000)
        expect(row.get_by_role("link", name="from-the-other-replica")).to_have_attribute(
            "href", f"/console/resources/core/v1/configmaps/from-the-other-replica/?namespace={NAMESPACE}")
        assert any("from-the-other-replica" in frame for frame in frames), frames  # it came over the WebSocket

        status, _, raw = other.request("DELETE", f"{CONFIGMAPS}/from-the-other-replica", client_cert=True)
        assert status == 200, raw
        expect(row).to_have_count(0, timeout=10_000)
        expect(page.locator(".live-state")).to_have_text("Live")
        assert not sockets[0].is_closed()
        assert problems == []
    finally:
        context.close()
