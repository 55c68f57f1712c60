"""Accessibility of the console's pages in a real browser: axe-core (WCAG 2.0/2.1 A and AA rules) finds no serious
or critical violation on any main page, in the light and the dark color scheme; the keyboard reaches everything
(skip link, command palette with a focus trap).

Debian's chromium through Playwright against one live `serve`, logged in with a ServiceAccount token bound to
`cluster-admin` (so every page shows its full content). axe-core comes with axe-playwright-python (no download).
Screenshots of every page go to tests/console/artifacts/ (gitignored; CI leaves them in place).
"""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect

from tests.console.test_browser import api, shot
from tests.support.server import ServerProcess

NAMESPACE = "shop"
RBAC = "/apis/rbac.authorization.k8s.io/v1"
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
               "resultTypes": ["violations"]}
PAGES = {  # screenshot name: console path
    "a11y-overview": "/console/",
    "a11y-health": "/console/health/",
    "a11y-resources": f"/console/resources/?namespace={NAMESPACE}",
    "a11y-pods": f"/console/resources/core/v1/pods/?namespace={NAMESPACE}",
    "a11y-configmaps": f"/console/resources/core/v1/configmaps/?namespace={NAMESPACE}",
    "a11y-pod-detail": f"/console/resources/core/v1/pods/web/?namespace={NAMESPACE}",
    "a11y-events": "/console/events/",
    "a11y-create": "/console/create/",
    "a11y-editor": f"/console/edit/core/v1/configmaps/settings/?namespace={NAMESPACE}",
    "a11y-rbac": "/console/rbac/",
    "a11y-role": "/console/rbac/clusterroles/view/",
    "a11y-who-can": f"/console/rbac/who-can/?verb=get&resource=pods&namespace={NAMESPACE}",
    "a11y-matrix": f"/console/rbac/matrix/?kind=ServiceAccount&name=reader&subject_namespace={NAMESPACE}",
    "a11y-serviceaccounts": "/console/serviceaccounts/",
    "a11y-serviceaccount": f"/console/serviceaccounts/{NAMESPACE}/reader/",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with ServerProcess(tmp_path_factory.mktemp("console-a11y")) as process:
        yield process


@pytest.fixture(scope="module")
def token(server: ServerProcess) -> str:
    api(server, "POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                 "metadata": {"name": NAMESPACE}})
    for name in ("a11y", "reader"):
        api(server, "POST", f"/api/v1/namespaces/{NAMESPACE}/serviceaccounts",
            {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name}})
    api(server, "POST", f"{RBAC}/clusterrolebindings", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "a11y"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"kind": "ServiceAccount", "name": "a11y", "namespace": NAMESPACE}]})
    api(server, "POST", f"{RBAC}/namespaces/{NAMESPACE}/rolebindings", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "reader"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
        "subjects": [{"kind": "ServiceAccount", "name": "reader", "namespace": NAMESPACE}]})
    api(server, "POST", f"/api/v1/namespaces/{NAMESPACE}/pods", {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "labels": {"app": "web"},
                                                        "annotations": {"team": "shop"}},
        "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}})
    api(server, "POST", f"/api/v1/namespaces/{NAMESPACE}/configmaps", {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}, "data": {"mode": "fast"}})
    api(server, "POST", f"/api/v1/namespaces/{NAMESPACE}/events", {
        "apiVersion": "v1", "kind": "Event", "metadata": {"name": "web.1"}, "type": "Warning", "reason": "BackOff",
        "message": "Back-off restarting failed container",
        "involvedObject": {"kind": "Pod", "name": "web", "namespace": NAMESPACE}})
    answer = api(server, "POST", f"/api/v1/namespaces/{NAMESPACE}/serviceaccounts/a11y/token",
                 {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}})
    return str(answer["status"]["token"])  # type: ignore[index]


def serious(page: Page, axe: Axe) -> list[str]:
    """The serious and critical axe violations on the page, one line per rule with its first offenders."""
    found = axe.run(page, options=AXE_OPTIONS).response["violations"]
    return [f"{v['id']} ({v['impact']}): {v['help']} at " + "; ".join(
                f"{node['target']} {node.get('failureSummary', '')!r}" for node in v["nodes"][:3])
            for v in found if v["impact"] in ("serious", "critical")]


def log_in(page: Page, server: ServerProcess, token: str) -> None:
    page.goto(server.url + "/console/login/")
    page.get_by_label("Token").fill(token)
    page.get_by_role("button", name="Log in with token").click()
    page.wait_for_url(server.url + "/console/")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_main_pages_have_no_serious_violations(server: ServerProcess, token: str, browser: Browser,
                                               scheme: str) -> None:
    context = browser.new_context(ignore_https_errors=True, viewport={"width": 1280, "height": 900},
                                  color_scheme=scheme)  # type: ignore[arg-type]
    page = context.new_page()
    axe = Axe()
    problems: dict[str, list[str]] = {}
    suffix = "" if scheme == "light" else "-dark"

    page.goto(server.url + "/console/login/")
    problems["login"] = serious(page, axe)
    shot(page, "a11y-login" + suffix)
    page.get_by_label("Token").fill("not-a-token")  # the page with its error shown
    page.get_by_role("button", name="Log in with token").click()
    expect(page.get_by_role("alert")).to_be_visible()
    problems["login-error"] = serious(page, axe)

    log_in(page, server, token)
    dark = page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches")
    assert dark == (scheme == "dark") and page.evaluate("getComputedStyle(document.body).backgroundColor") == (
        "rgb(13, 17, 23)" if dark else "rgb(255, 255, 255)")
    for name, path in PAGES.items():
        page.goto(server.url + path)
        problems[name] = serious(page, axe)
        shot(page, name + suffix)

    page.goto(server.url + "/console/create/")  # the per-object result of a create
    page.get_by_label("YAML (documents separated by ---)").fill(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: created\n  namespace: shop\ndata:\n  a: b\n")
    page.get_by_role("button", name="Dry run").click()
    expect(page.locator("table.results tbody tr")).to_have_count(1)
    problems["create-result"] = serious(page, axe)
    shot(page, "a11y-create-result" + suffix)

    page.goto(server.url + PAGES["a11y-editor"])  # the editor showing apply conflicts, then a dry run's diff
    editor = page.locator("textarea#yaml")
    original = editor.input_value()
    editor.fill(original.replace("mode: fast", "mode: slow"))  # the field belongs to the API's creator
    page.get_by_role("button", name="Dry run and diff").click()
    expect(page.locator(".conflict-table")).to_be_visible()
    problems["editor-conflict"] = serious(page, axe)
    shot(page, "a11y-editor-conflict" + suffix)
    page.locator("textarea#yaml").fill(original.replace("mode: fast", "mode: fast\n  extra: added"))
    page.get_by_role("button", name="Dry run and diff").click()
    expect(page.locator(".diff-add")).to_have_count(1)
    problems["editor-diff"] = serious(page, axe)
    shot(page, "a11y-editor-diff" + suffix)

    page.keyboard.press(":")  # the command palette, open over a page
    dialog = page.get_by_role("dialog", name="Go to a resource or namespace")
    expect(dialog).to_be_visible()
    page.keyboard.type("po")
    expect(page.locator("#palette-option-0")).to_be_visible()
    problems["palette"] = serious(page, axe)
    shot(page, "a11y-palette" + suffix)
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()

    # The check can fail: a nameless button and faint text put on the page are reported.
    page.evaluate("""() => {  // styles set through the CSSOM: the CSP refuses inline style attributes
        const main = document.querySelector('main'), faint = document.createElement('p');
        main.appendChild(document.createElement('button')).type = 'button';
        faint.textContent = 'faint'; faint.style.color = '#777'; faint.style.background = '#888';
        main.appendChild(faint); }""")
    assert {line.split(" ", 1)[0] for line in serious(page, axe)} == {"button-name", "color-contrast"}
    context.close()
    assert {name: found for name, found in problems.items() if found} == {}


def test_keyboard_skip_link_and_palette_focus(server: ServerProcess, token: str, browser: Browser) -> None:
    context = browser.new_context(ignore_https_errors=True, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    log_in(page, server, token)
    page.goto(server.url + f"/console/resources/core/v1/pods/?namespace={NAMESPACE}")

    # The first Tab stop is the skip link, visible when focused; following it puts the focus on <main>.
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page.locator("main#main")).to_be_focused()
    page.keyboard.press("Tab")  # and the next stop is inside the main content, not back in the header
    assert page.evaluate("document.getElementById('main').contains(document.activeElement)")

    # ":" opens the palette with the focus in its input; Tab and Shift+Tab stay inside; Escape closes it and
    # gives the focus back to where it was.
    opener = page.get_by_role("link", name="web", exact=True)
    opener.focus()
    page.keyboard.press(":")
    dialog = page.get_by_role("dialog", name="Go to a resource or namespace")
    expect(dialog).to_be_visible()
    combobox = dialog.get_by_role("combobox")
    expect(combobox).to_be_focused()
    for key in ("Tab", "Shift+Tab", "Tab", "Tab"):
        page.keyboard.press(key)
        assert page.evaluate("document.querySelector('dialog.palette').contains(document.activeElement)"), key
    expect(combobox).to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(opener).to_be_focused()

    # The palette's button in the header opens it for a mouse or keyboard user too, and closing returns there.
    button = page.get_by_role("button", name="Go to…")
    button.focus()
    page.keyboard.press("Enter")
    expect(combobox).to_be_focused()
    page.keyboard.press("Escape")
    expect(button).to_be_focused()
    context.close()
