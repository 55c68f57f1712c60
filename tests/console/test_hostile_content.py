"""Hostile content in a real browser: markup stored in objects, or put in a URL, stays text on every console page.

Annotations, ConfigMap data, a container image, Event messages and query parameters carry `<script>`, `<img onerror>`
and `<svg onload>` payloads that call alert() and set `window.__xss`; a label carries a valid but suspicious value.
On lists, details (chips, YAML, the object's events), the Events stream (rendered server-side and then live by JS),
the editor and its diff, and the create results, the page must show the payload as text, run nothing (no dialog,
`window.__xss` unset) and hold no element the payload would have made.

Debian's chromium through Playwright against one live `serve`, logged in as a ServiceAccount bound to cluster-admin.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from playwright.sync_api import Browser, Dialog, Page, expect

from tests.console.test_accessibility import RBAC, log_in
from tests.console.test_browser import api, shot
from tests.support.server import ServerProcess

NAMESPACE = "hostile"
SCRIPT = '<script>window.__xss="script";alert("script")</script>'
IMG = "<img src=x onerror=\"window.__xss='img';alert('img')\">"
BREAKOUT = '"></code></pre></textarea></td><script>alert("breakout")</script><svg onload=alert("svg")>'
LABEL = "javascript.alert-1_onerror"  # a valid label value that merely looks like an attack
EVENT = f"Back-off {SCRIPT} {IMG}"
# Elements or attributes the payloads would create if they were ever parsed as markup.
INJECTED = ("Array.from(document.querySelectorAll('script')).filter(s => !s.src || s.text.includes('alert')).length"
            " + document.querySelectorAll('svg[onload], img[src=x], [onerror]').length")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with ServerProcess(tmp_path_factory.mktemp("console-hostile")) as process:
        yield process


def event(server: ServerProcess, name: str, message: str) -> None:
    """A Warning Event about the ConfigMap `payload` (by its uid, as the detail page finds events)."""
    status, _, raw = server.request("GET", f"/api/v1/namespaces/{NAMESPACE}/configmaps/payload", client_cert=True)
    assert status == 200, raw
    api(server, "POST", f"/api/v1/namespaces/{NAMESPACE}/events", {
        "apiVersion": "v1", "kind": "Event", "metadata": {"name": name}, "type": "Warning", "reason": "Probe",
        "message": message, "involvedObject": {"kind": "ConfigMap", "name": "payload", "namespace": NAMESPACE,
                                               "apiVersion": "v1", "uid": json.loads(raw)["metadata"]["uid"]}})


@pytest.fixture(scope="module")
def token(server: ServerProcess) -> str:
    api(server, "POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                 "metadata": {"name": NAMESPACE}})
    api(server, "POST", f"/api/v1/namespaces/{NAMESPACE}/serviceaccounts",
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "admin"}})
    api(server, "POST", f"{RBAC}/clusterrolebindings", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "hostile"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"kind": "ServiceAccount", "name": "admin", "namespace": NAMESPACE}]})
    api(server, "POST", f"/api/v1/namespaces/{NAMESPACE}/configmaps", {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "payload", "labels": {"probe": LABEL}, "annotations": {"note": SCRIPT, "img": IMG}},
        "data": {"html": BREAKOUT, "img": IMG}})
    api(server, "POST", f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments", {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "payload"},
        "spec": {"replicas": 0, "selector": {"matchLabels": {"probe": LABEL}},
                 "template": {"metadata": {"labels": {"probe": LABEL}},
                              "spec": {"containers": [{"name": "app", "image": IMG}]}}}})
    event(server, "payload.1", EVENT)
    answer = api(server, "POST", f"/api/v1/namespaces/{NAMESPACE}/serviceaccounts/admin/token",
                 {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}})
    return str(answer["status"]["token"])  # type: ignore[index]


@pytest.fixture
def page(server: ServerProcess, token: str, browser: Browser) -> Iterator[Page]:
    context = browser.new_context(ignore_https_errors=True, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    dialogs: list[str] = []

    def dismiss(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", dismiss)
    log_in(page, server, token)
    yield page
    assert dialogs == [], dialogs  # no alert() ever ran, on any page of the test
    context.close()


def assert_inert(page: Page) -> None:
    """Nothing from a payload ran or became an element on the page as it is now."""
    assert page.evaluate("window.__xss") is None
    assert page.evaluate(INJECTED) == 0, page.content()


def test_lists_and_details_show_payloads_as_text(page: Page, server: ServerProcess) -> None:
    # A list whose server Table columns carry the payload: the Deployment's Images column (a wide one).
    page.goto(server.url + f"/console/resources/apps/v1/deployments/?namespace={NAMESPACE}&wide=1")
    expect(page.locator("#resource-rows tr[data-uid]")).to_have_count(1)
    expect(page.locator("#resource-rows")).to_contain_text(IMG)
    assert_inert(page)
    # Events as a resource list: the Message column, then the ConfigMaps filtered by the suspicious label.
    page.goto(server.url + f"/console/resources/core/v1/events/?namespace={NAMESPACE}")
    expect(page.locator("#resource-rows")).to_contain_text(EVENT)
    assert_inert(page)
    page.goto(server.url + f"/console/resources/core/v1/configmaps/?namespace={NAMESPACE}"
                           f"&labelSelector={quote('probe=' + LABEL)}")
    expect(page.locator("#resource-rows tr[data-uid]")).to_have_count(1)
    expect(page.get_by_label("Label selector")).to_have_value(f"probe={LABEL}")
    shot(page, "hostile-list")

    # The detail page: label and annotation chips, the YAML, the object's events.
    page.get_by_role("link", name="payload", exact=True).click()
    page.wait_for_url("**/console/resources/core/v1/configmaps/payload/**")
    expect(page.locator("#labels .value")).to_have_text([LABEL])
    expect(page.locator("#annotations .value")).to_have_text([IMG, SCRIPT])  # sorted by key: img, note
    yaml_text = page.locator("#object-yaml").inner_text()
    for fragment in (SCRIPT, IMG, '<script>alert("breakout")</script><svg onload=alert("svg")>'):
        assert fragment in yaml_text, yaml_text
    expect(page.locator("#object-events")).to_contain_text(EVENT)
    expect(page.locator("#object-yaml")).to_be_visible()
    assert_inert(page)
    shot(page, "hostile-detail")


def test_events_stream_shows_payloads_as_text_also_when_live(page: Page, server: ServerProcess) -> None:
    page.goto(server.url + f"/console/events/?namespace={NAMESPACE}")
    rows = page.locator("table.events-stream #resource-rows tr[data-uid]")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(EVENT)
    # A new event arrives over the live watch and is rendered by the page's script: still text.
    live = f"Live {BREAKOUT} {IMG}"
    event(server, "payload.2", live)
    expect(rows).to_have_count(2)
    expect(page.locator("table.events-stream")).to_contain_text(live)
    assert_inert(page)
    shot(page, "hostile-events")


def test_editor_diff_and_create_results_show_payloads_as_text(page: Page, server: ServerProcess) -> None:
    page.goto(server.url + f"/console/edit/core/v1/configmaps/payload/?namespace={NAMESPACE}")
    editor = page.locator("textarea#yaml")
    text = editor.input_value()
    assert SCRIPT in text and IMG in text and '<script>alert("breakout")</script>' in text, text
    assert_inert(page)
    editor.fill(text.replace("note: ", f"extra: {IMG}x\n    note: ", 1))
    page.get_by_role("button", name="Dry run and diff").click()
    expect(page.locator(".diff-add").filter(has_text=f"extra: {IMG}x")).to_have_count(1)
    assert_inert(page)
    shot(page, "hostile-diff")

    # Two documents: one created (its annotation is markup), one refused for a name that is markup; the refusal's
    # message quotes that name, as text.
    page.goto(server.url + "/console/create/")
    page.get_by_label("YAML (documents separated by ---)").fill(
        f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: created\n  namespace: {NAMESPACE}\n"
        f"  annotations:\n    note: {json.dumps(SCRIPT)}\ndata:\n  img: {json.dumps(IMG)}\n"
        f"---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {json.dumps(SCRIPT)}\n  namespace: {NAMESPACE}\n")
    page.get_by_role("button", name="Create / apply").click()
    rows = page.locator("table.results tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0).locator("td.outcome")).to_have_text("created")
    expect(rows.nth(1).locator("td.outcome")).to_have_text("error")
    expect(rows.nth(1)).to_contain_text(SCRIPT)
    assert_inert(page)
    shot(page, "hostile-create")
    status, _, raw = server.request("GET", f"/api/v1/namespaces/{NAMESPACE}/configmaps/created", client_cert=True)
    assert status == 200 and json.loads(raw)["metadata"]["annotations"] == {"note": SCRIPT}


def test_query_parameters_are_reflected_as_text(page: Page, server: ServerProcess) -> None:
    reflected = [
        (f"/console/resources/core/v1/configmaps/?namespace={NAMESPACE}&labelSelector={quote(SCRIPT)}",
         "#label-selector"),
        (f"/console/rbac/who-can/?verb=get&resource={quote(IMG)}&namespace={NAMESPACE}", None),
        (f"/console/rbac/matrix/?kind=User&name={quote(SCRIPT)}", None),
        (f"/console/events/?namespace={NAMESPACE}&reason={quote(IMG)}", None),
    ]
    for path, field in reflected:
        page.goto(server.url + path)
        if field:
            expect(page.locator(field)).to_have_value(SCRIPT)
        assert_inert(page)
        assert "alert(" in page.locator("main").inner_text() or page.evaluate(
            "Array.from(document.querySelectorAll('input')).some(i => i.value.includes('alert('))"), path
