"""The resource browser in a real browser (Debian's chromium) against a live `serve`: the command palette, a Pods
list in a namespace, a click through to the pod's detail page and its YAML, copy-as-kubectl, no CSP violations."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.console.test_browser import api, shot
from tests.support.server import ServerProcess

NAMESPACE = "shop"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with ServerProcess(tmp_path_factory.mktemp("console-browse-live")) as process:
        yield process


@pytest.fixture(scope="module")
def token(server: ServerProcess) -> str:
    api(server, "POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                 "metadata": {"name": NAMESPACE}})
    api(server, "POST", f"/api/v1/namespaces/{NAMESPACE}/serviceaccounts",
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "browser"}})
    api(server, "POST", f"/apis/rbac.authorization.k8s.io/v1/namespaces/{NAMESPACE}/rolebindings", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "browser"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
        "subjects": [{"kind": "ServiceAccount", "name": "browser", "namespace": NAMESPACE}]})
    api(server, "POST", f"/api/v1/namespaces/{NAMESPACE}/pods", {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web", "labels": {"app": "web"},
                     "annotations": {"note": "<img src=x onerror=window.pwned=1>"}},
        "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}})
    answer = api(server, "POST", f"/api/v1/namespaces/{NAMESPACE}/serviceaccounts/browser/token",
                 {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}})
    return str(answer["status"]["token"])  # type: ignore[index]


def log_in(page: Page, server: ServerProcess, token: str) -> None:
    page.goto(server.url + "/console/login/")
    page.get_by_label("Token").fill(token)
    page.get_by_role("button", name="Log in with token").click()
    page.wait_for_url(server.url + "/console/")


def test_palette_list_detail_and_yaml(server: ServerProcess, token: str, browser: Browser) -> None:
    context = browser.new_context(ignore_https_errors=True, viewport={"width": 1280, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    log_in(page, server, token)

    # ":" opens the palette; typing a short name and Enter jumps to that type's list, in the user's namespace.
    page.keyboard.press(":")
    dialog = page.get_by_role("dialog", name="Go to a resource or namespace")
    expect(dialog).to_be_visible()
    palette_input = dialog.get_by_role("combobox")
    expect(palette_input).to_be_focused()
    palette_input.fill("po")
    expect(page.locator("#palette-option-0")).to_contain_text("pods (po)")
    expect(page.locator("#palette-option-0")).to_have_attribute("aria-selected", "true")
    shot(page, "palette")
    page.keyboard.press("Tab")  # the focus stays in the dialog
    expect(palette_input).to_be_focused()
    page.keyboard.press("Enter")
    page.wait_for_url(server.url + "/console/resources/core/v1/pods/")
    expect(page.locator("h1")).to_contain_text(f"Pod pods in {NAMESPACE}")
    row = page.locator("#resource-rows tr[data-uid]")
    expect(row).to_have_count(1)
    expect(page.locator("#resource-table thead th")).to_have_text(["Name", "Ready", "Status", "Restarts", "Age"])
    expect(page.locator("#kubectl-command")).to_have_text(f"kubectl get pods -n {NAMESPACE}")
    page.get_by_role("button", name="Copy command").click()
    expect(page.locator(".kubectl .copied")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == f"kubectl get pods -n {NAMESPACE}"
    shot(page, "resources-pods")

    # Ctrl+K opens it too, and Escape closes it and gives the focus back.
    page.keyboard.press("Control+k")
    expect(dialog).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()

    page.get_by_role("link", name="web", exact=True).click()
    page.wait_for_url(server.url + f"/console/resources/core/v1/pods/web/?namespace={NAMESPACE}")
    yaml_text = page.locator("#object-yaml").inner_text()
    assert yaml_text.startswith("apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n"), yaml_text
    assert "image: nginx:1.27" in yaml_text and "managedFields" not in yaml_text
    expect(page.locator("#annotations .value")).to_have_text("<img src=x onerror=window.pwned=1>")
    assert page.evaluate("window.pwned") is None
    expect(page.locator("#managed-fields")).not_to_have_attribute("open", "")
    page.locator("#managed-fields summary").click()
    expect(page.locator("#managed-fields pre")).to_contain_text("manager:")
    expect(page.locator("#kubectl-command")).to_have_text(f"kubectl get pod web -n {NAMESPACE} -o yaml")
    shot(page, "resources-pod-detail")

    page.locator(".crumbs").get_by_role("link", name="Resources").click()
    page.wait_for_url(server.url + f"/console/resources/?namespace={NAMESPACE}")
    page.get_by_label("Filter types").fill("deploy")
    expect(page.locator(".types tbody tr:visible")).to_have_count(1)
    expect(page.locator(".typegroups .group:visible")).to_have_count(1)
    page.get_by_label("Filter types").fill("")
    shot(page, "resources-index")

    # "ns NAME" in the palette jumps to a namespace; Ctrl+K works while typing in a field (":" is typed there).
    page.keyboard.press(":")
    expect(dialog).to_be_hidden()
    page.keyboard.press("Control+k")
    dialog.get_by_role("combobox").fill(f"ns {NAMESPACE}")
    page.keyboard.press("Enter")
    page.wait_for_url(server.url + f"/console/?namespace={NAMESPACE}")
    assert problems == [], problems
    context.close()
