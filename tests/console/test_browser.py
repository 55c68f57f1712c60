"""A real browser (Debian's chromium through Playwright, never a downloaded one) against a live `serve`.

Logs in with a ServiceAccount token issued through TokenRequest, sees the user in the header and the overview,
checks the page runs under the CSP without violations and that scripts can read no cookie, then logs out.
Screenshots go to tests/console/artifacts/ (gitignored; CI keeps them).
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page
from playwright.sync_api import Error as PlaywrightError

from tests.support.server import ServerProcess

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
SA_USER = "system:serviceaccount:default:console-e2e"


def api(server: ServerProcess, method: str, path: str, body: dict[str, object]) -> dict[str, object]:
    status, _, raw = server.request(method, path, client_cert=True, body=json.dumps(body).encode(),
                                    headers={"Content-Type": "application/json"})
    assert status < 300, raw
    answer: dict[str, object] = json.loads(raw)
    return answer


def bound_token(server: ServerProcess, namespace: str, name: str, cluster_role: str, *,
                cluster_wide: bool = False) -> str:
    """A token of a new ServiceAccount `namespace/name` bound to `cluster_role` (in its namespace, or cluster-wide)."""
    api(server, "POST", f"/api/v1/namespaces/{namespace}/serviceaccounts",
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name}})
    rbac = "/apis/rbac.authorization.k8s.io/v1"
    path = f"{rbac}/clusterrolebindings" if cluster_wide else f"{rbac}/namespaces/{namespace}/rolebindings"
    api(server, "POST", path, {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding" if cluster_wide else "RoleBinding",
        "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": cluster_role},
        "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": namespace}]})
    answer = api(server, "POST", f"/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token",
                 {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}})
    return str(answer["status"]["token"])  # type: ignore[index]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with ServerProcess(tmp_path_factory.mktemp("console-live")) as process:
        yield process


@pytest.fixture(scope="module")
def token(server: ServerProcess) -> str:
    api(server, "POST", "/api/v1/namespaces/default/events", {
        "apiVersion": "v1", "kind": "Event", "metadata": {"name": "xss"}, "type": "Warning", "reason": "Probe",
        "message": "<script>window.pwned=1</script><img src=x>", "involvedObject": {"kind": "Pod", "name": "web"}})
    return bound_token(server, "default", "console-e2e", "view")


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_log_in_see_the_overview_and_log_out(server: ServerProcess, token: str, browser: Browser) -> None:
    context = browser.new_context(ignore_https_errors=True, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("response", lambda response: problems.append(f"{response.status} {response.url}")
            if response.status >= 400 and not response.url.endswith("/console/login/") else None)

    page.goto(server.url + "/")  # a browser asking / for HTML lands on the console, which asks for a login
    assert page.url.startswith(server.url + "/console/login/")
    shot(page, "login")
    page.get_by_label("Token").fill("not-a-token")
    page.get_by_role("button", name="Log in with token").click()
    assert "Invalid credential" in page.get_by_role("alert").inner_text()
    assert problems == ["Failed to load resource: the server responded with a status of 401 (Unauthorized)"]
    problems.clear()

    page.get_by_label("Token").fill(token)
    page.get_by_role("button", name="Log in with token").click()
    page.wait_for_url(server.url + "/console/")
    assert page.locator(".identity .user").inner_text() == SA_USER
    assert "system:serviceaccounts:default" in page.locator(".identity .groups").inner_text()
    assert page.locator("#server-version").inner_text().startswith("v1.32")
    assert "team" not in page.locator("#namespace-list").inner_text()
    assert page.locator("#namespace-list").inner_text().strip() == "default"
    assert "Not allowed: secrets is forbidden" in page.locator("table.counts").inner_text()
    assert "<script>window.pwned=1</script>" in page.locator("table.events").inner_text()  # shown as text
    assert page.evaluate("window.pwned") is None
    assert page.evaluate("document.cookie") == ""  # nothing a script could steal
    with pytest.raises(PlaywrightError):  # the CSP is enforced: an injected inline script does not run
        page.add_script_tag(content="window.inline = 1")
    assert page.evaluate("window.inline") is None
    problems.clear()  # the refused inline script was reported as a console error, as it should be
    cookie = next(c for c in context.cookies() if c["name"] == "pilothouse_session")
    assert (cookie["httpOnly"], cookie["secure"], cookie["sameSite"], cookie["path"]) == (
        True, True, "Strict", "/console/")
    assert token not in page.content()
    shot(page, "overview")

    page.keyboard.press("Tab")  # the first stop is the skip link, and it is visible when focused
    assert page.evaluate("document.activeElement.className") == "skip-link"

    page.emulate_media(color_scheme="dark")
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(13, 17, 23)"
    shot(page, "overview-dark")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "overview-narrow")

    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(server.url + "/console/login/")
    page.goto(server.url + "/console/")
    assert page.url.startswith(server.url + "/console/login/")
    assert problems == [], problems  # CSP violations and failed loads are console errors
    context.close()

