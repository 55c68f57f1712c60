"""Live tail in a real browser (Debian's chromium) against a live `serve`: rows appear and disappear as the admin
(or kubectl) creates and deletes objects, and the Events stream follows new events.

The list table is templates/console/live_test.html, served to the browser through Playwright's routing at a console
URL (so the page has the server's origin, its static files and its WebSocket), with the console's own CSP.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from django.template.loader import render_to_string
from playwright.sync_api import Browser, Page, Route, expect, sync_playwright

from console.security import CONTENT_SECURITY_POLICY
from tests.console.test_browser import CHROMIUM, CHROMIUM_ARGS, api, bound_token, shot
from tests.support.server import ServerProcess

NAMESPACE = "default"
CONFIGMAPS = f"/api/v1/namespaces/{NAMESPACE}/configmaps"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with ServerProcess(tmp_path_factory.mktemp("console-live-tail")) as process:
        yield process


@pytest.fixture(scope="module")
def token(server: ServerProcess) -> str:
    return bound_token(server, "default", "live-tail", "view")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        # A routed page has no network address, so chromium's Local Network Access would count it as public and
        # block its WebSocket to 127.0.0.1; the console's own pages (served by the server) are not affected.
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                              args=[*CHROMIUM_ARGS, "--disable-features=LocalNetworkAccessChecks"])
        yield launched
        launched.close()


@pytest.fixture
def page(server: ServerProcess, token: str, browser: Browser) -> Iterator[Page]:
    context = browser.new_context(ignore_https_errors=True, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(server.url + "/console/login/")
    page.get_by_label("Token").fill(token)
    page.get_by_role("button", name="Log in with token").click()
    page.wait_for_url(server.url + "/console/")
    yield page
    context.close()


def delete(server: ServerProcess, path: str) -> None:
    status, _, raw = server.request("DELETE", path, client_cert=True)
    assert status < 300, raw


def test_a_configmap_row_appears_and_disappears_live(server: ServerProcess, page: Page) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    listing = json.loads(server.request("GET", CONFIGMAPS, client_cert=True)[2])

    def serve_test_page(route: Route) -> None:
        html = render_to_string("console/live_test.html", {
            "watch_path": CONFIGMAPS, "resource_version": listing["metadata"]["resourceVersion"],
            "items": listing["items"]})
        route.fulfill(status=200, body=html, headers={"content-type": "text/html; charset=utf-8",
                                                      "content-security-policy": CONTENT_SECURITY_POLICY})

    page.route(server.url + "/console/live-test/", serve_test_page)
    page.goto(server.url + "/console/live-test/")
    indicator = page.get_by_role("status")
    expect(indicator).to_have_text("Live", timeout=10_000)

    api(server, "POST", CONFIGMAPS, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "appears-live"},
                                     "data": {"a": "1", "b": "2"}})
    row = page.locator("#resource-rows tr", has_text="appears-live")
    expect(row).to_have_count(1, timeout=10_000)
    expect(row.locator("td").nth(1)).to_have_text("2")
    expect(row.get_by_role("link", name="appears-live")).to_have_attribute(
        "href", "/console/resources/core/v1/configmaps/appears-live/?namespace=default")
    shot(page, "live-tail-added")

    delete(server, f"{CONFIGMAPS}/appears-live")
    expect(row).to_have_count(0, timeout=10_000)
    expect(indicator).to_have_text("Live")

    page.get_by_role("button", name="Pause").click()
    expect(indicator).to_have_text("Paused")
    api(server, "POST", CONFIGMAPS, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "while-paused"}})
    page.get_by_role("button", name="Resume").click()  # resumes from the last resourceVersion: nothing missed
    expect(page.locator("#resource-rows tr", has_text="while-paused")).to_have_count(1, timeout=10_000)
    assert errors == []


def test_the_events_stream_follows_new_warnings(server: ServerProcess, page: Page) -> None:
    page.goto(server.url + f"/console/events/?namespace={NAMESPACE}&type=Warning")
    expect(page.get_by_role("status")).to_have_text("Live", timeout=10_000)
    api(server, "POST", f"/api/v1/namespaces/{NAMESPACE}/events", {
        "apiVersion": "v1", "kind": "Event", "metadata": {"name": "live-warning"}, "type": "Warning",
        "reason": "BackOff", "message": "<b>restarting</b> failed container",
        "involvedObject": {"kind": "Pod", "name": "web", "namespace": NAMESPACE}})
    api(server, "POST", f"/api/v1/namespaces/{NAMESPACE}/events", {
        "apiVersion": "v1", "kind": "Event", "metadata": {"name": "live-normal"}, "type": "Normal",
        "reason": "Pulled", "message": "pulled", "involvedObject": {"kind": "Pod", "name": "web"}})
    row = page.locator("#resource-rows tr", has_text="BackOff")
    expect(row).to_have_count(1, timeout=10_000)
    expect(row).to_have_class(re.compile(r"\bevent-warning\b"))
    expect(row).to_contain_text("pod/web")
    expect(row).to_contain_text("<b>restarting</b> failed container")  # text, never markup
    expect(page.locator("#resource-rows tr", has_text="Pulled")).to_have_count(0)
    shot(page, "events-stream")


def test_the_resources_page_follows_kubectl(server: ServerProcess, page: Page,
                                            tmp_path_factory: pytest.TempPathFactory) -> None:
    """The real list page (console/browse) goes live: a ConfigMap kubectl creates appears, and goes when deleted."""
    from tests.support.kubectl import Kubectl

    kubectl = Kubectl(server.kubeconfig, tmp_path_factory.mktemp("kubectl-home"))
    page.goto(server.url + f"/console/resources/core/v1/configmaps/?namespace={NAMESPACE}")
    expect(page.locator(".live-state")).to_have_text("Live", timeout=10_000)
    created = kubectl.run("-n", NAMESPACE, "create", "configmap", "from-kubectl", "--from-literal=k=v")
    assert created.returncode == 0, created.stderr
    row = page.locator("#resource-rows tr", has_text="from-kubectl")
    expect(row).to_have_count(1, timeout=10_000)
    expect(row.get_by_role("link", name="from-kubectl")).to_have_attribute(
        "href", f"/console/resources/core/v1/configmaps/from-kubectl/?namespace={NAMESPACE}")
    deleted = kubectl.run("-n", NAMESPACE, "delete", "configmap", "from-kubectl")
    assert deleted.returncode == 0, deleted.stderr
    expect(row).to_have_count(0, timeout=10_000)
