"""A real browser creates a ConfigMap from pasted YAML, sees the per-object result, then edits it with a diff.

Debian's chromium through Playwright (never a downloaded one) against a live `serve`, logged in with a
ServiceAccount token bound to the `edit` ClusterRole in `default`. Screenshots go to tests/console/artifacts/.
"""
from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser

from tests.console.test_browser import ARTIFACTS, bound_token
from tests.support.server import ServerProcess

YAML = """apiVersion: v1
kind: ConfigMap
metadata:
  name: from-the-browser
  annotations:
    note: "<img src=x id=injected>"
data:
  greeting: hello
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with ServerProcess(tmp_path_factory.mktemp("console-edit-live")) as process:
        yield process


@pytest.fixture(scope="module")
def token(server: ServerProcess) -> str:
    return bound_token(server, "default", "editor", "edit")


def test_create_a_config_map_from_pasted_yaml_then_edit_it(server: ServerProcess, token: str,
                                                            browser: Browser) -> None:
    context = browser.new_context(ignore_https_errors=True, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(server.url + "/console/login/")
    page.get_by_label("Token").fill(token)
    page.get_by_role("button", name="Log in with token").click()
    page.wait_for_url(server.url + "/console/")

    page.get_by_role("link", name="Create").click()
    page.wait_for_url(server.url + "/console/create/")
    page.get_by_label("YAML (documents separated by ---)").fill(YAML)
    page.get_by_role("button", name="Create / apply").click()
    row = page.locator("table.results tbody tr")
    assert row.count() == 1
    assert row.locator("td.outcome").inner_text() == "created", row.inner_text()
    assert row.get_by_role("link").inner_text() == "ConfigMap/from-the-browser"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "create.png"), full_page=True)
    status, _, raw = server.request("GET", "/api/v1/namespaces/default/configmaps/from-the-browser", client_cert=True)
    assert status == 200 and json.loads(raw)["data"] == {"greeting": "hello"}

    row.get_by_role("link").click()  # the editor, pre-filled; Tab indents inside it
    editor = page.get_by_label("YAML", exact=False).first
    assert "greeting: hello" in editor.input_value()
    assert "note: <img src=x id=injected>" in editor.input_value()  # text in the editor, never markup
    assert page.locator("#injected").count() == 0
    assert page.locator(".editor .gutter").inner_text().splitlines()[:3] == ["1", "2", "3"]
    editor.fill(editor.input_value().replace("greeting: hello", "greeting: bonjour"))
    page.get_by_role("button", name="Dry run and diff").click()
    assert page.locator(".diff-add").filter(has_text="greeting: bonjour").count() == 1
    assert page.locator(".diff-remove").filter(has_text="greeting: hello").count() == 1
    page.screenshot(path=str(ARTIFACTS / "edit-diff.png"), full_page=True)
    page.get_by_role("button", name="Apply", exact=True).click()
    assert "Applied" in page.locator("#edit-result .success").inner_text()
    status, _, raw = server.request("GET", "/api/v1/namespaces/default/configmaps/from-the-browser", client_cert=True)
    assert json.loads(raw)["data"] == {"greeting": "bonjour"}
    assert problems == [], problems
    context.close()
