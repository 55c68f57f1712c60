"""The RBAC and ServiceAccount pages in a real browser (Debian's chromium) against a live `serve`: create a binding
in the editor and see it listed; download a ServiceAccount's kubeconfig and use it with real kubectl 1.32."""
from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.console.test_browser import api, bound_token, shot
from tests.support.kubectl import Kubectl
from tests.support.server import ServerProcess

RBAC = "/apis/rbac.authorization.k8s.io/v1"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with ServerProcess(tmp_path_factory.mktemp("console-rbac-live")) as process:
        yield process


@pytest.fixture(scope="module")
def admin_token(server: ServerProcess) -> str:
    return bound_token(server, "kube-system", "console-admin", "cluster-admin", cluster_wide=True)


def logged_in(browser: Browser, server: ServerProcess, token: str) -> tuple[BrowserContext, Page, list[str]]:
    context = browser.new_context(ignore_https_errors=True, viewport={"width": 1280, "height": 900},
                                  accept_downloads=True)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(server.url + "/console/login/")
    page.get_by_label("Token").fill(token)
    page.get_by_role("button", name="Log in with token").click()
    page.wait_for_url(server.url + "/console/")
    return context, page, problems


def test_create_a_binding_in_the_editor_and_see_it_listed(server: ServerProcess, admin_token: str,
                                                          browser: Browser) -> None:
    api(server, "POST", "/api/v1/namespaces/default/serviceaccounts",
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "builder"}})
    context, page, problems = logged_in(browser, server, admin_token)
    page.get_by_role("link", name="RBAC").click()
    page.get_by_role("link", name="New binding").click()
    page.get_by_label("Binding name").fill("builder-view")
    page.get_by_label("Role name").fill("view")
    first = page.locator(".subject-row").first
    first.get_by_label("Subject kind").select_option("ServiceAccount")
    first.get_by_label("Subject name", exact=True).fill("default/builder")
    page.locator("#add-subject").click()  # the script adds a row
    assert page.locator(".subject-row").count() == 3
    last = page.locator(".subject-row").last
    last.get_by_label("Subject kind").select_option("Group")
    assert last.get_by_label("Subject name", exact=True).get_attribute("list") == "group-options"
    last.get_by_label("Subject name", exact=True).fill("system:serviceaccounts:default")
    shot(page, "rbac-binding-editor")
    page.get_by_role("button", name="Create binding").click()
    page.wait_for_url(server.url + "/console/rbac/rolebindings/default/builder-view/?saved=created")
    assert page.locator("#saved").inner_text() == "Binding created."
    page.goto(server.url + "/console/rbac/?namespace=default")
    row = page.locator("#role-bindings tr", has_text="builder-view")
    assert "ClusterRole/view" in row.inner_text()
    assert "default/builder" in row.inner_text() and "system:serviceaccounts:default" in row.inner_text()
    shot(page, "rbac-lists")
    assert problems == [], problems
    context.close()


def test_the_downloaded_kubeconfig_works_with_kubectl(server: ServerProcess, admin_token: str, browser: Browser,
                                                      tmp_path: Path) -> None:
    api(server, "POST", "/api/v1/namespaces/default/serviceaccounts",
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "reader"}})
    api(server, "POST", f"{RBAC}/namespaces/default/rolebindings", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "reader-view"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
        "subjects": [{"kind": "ServiceAccount", "name": "reader", "namespace": "default"}]})
    context, page, problems = logged_in(browser, server, admin_token)
    page.get_by_role("link", name="ServiceAccounts").click()
    page.get_by_role("link", name="reader", exact=True).click()
    assert "RoleBinding default/reader-view" in page.locator("#account-bindings").inner_text()
    shot(page, "serviceaccount")
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download kubeconfig").click()
    download = download_info.value
    assert download.suggested_filename == "kubeconfig-default-reader.yaml"
    kubeconfig = tmp_path / "reader.kubeconfig"
    download.save_as(kubeconfig)
    kubectl = Kubectl(kubeconfig, tmp_path / "home")
    deadline = time.monotonic() + 10
    while (result := kubectl.run("get", "sa", "-o", "name")).returncode != 0 and time.monotonic() < deadline:
        time.sleep(0.2)  # the binding reaches the authorizer's cache a moment after it is written
    assert result.returncode == 0, result.stderr
    assert "serviceaccount/reader" in result.stdout.split()
    denied = kubectl.run("get", "secrets")
    assert denied.returncode == 1
    assert ('User "system:serviceaccount:default:reader" cannot list resource "secrets" in API group "" in the '
            'namespace "default"') in denied.stderr

    page.get_by_role("button", name="Issue token").click()
    token = page.locator("#token-value").input_value()
    assert token.count(".") == 2
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    page.get_by_role("button", name="Copy").click()
    expect(page.locator("#copy-status")).to_have_text("Copied.")
    assert page.evaluate("navigator.clipboard.readText()") == token
    shot(page, "serviceaccount-token")
    assert problems == [], problems
    context.close()
