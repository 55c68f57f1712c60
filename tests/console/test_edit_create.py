"""Create from multi-document YAML through the real console: per-object results with `kubectl apply --server-side`
semantics, dry-run, upload, a restricted user, and bad input that changes nothing."""
from __future__ import annotations

import re

import httpx

from tests.console.harness import CSRF_INPUT, ORIGIN, TOKENS, ConsoleHarness

DOCUMENTS = """apiVersion: v1
kind: ConfigMap
metadata:
  name: first
data:
  a: "1"
---
metadata:
  name: no-kind
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: strict
bogus: true
---
apiVersion: example.com/v1
kind: Widget
metadata:
  name: w
---
apiVersion: v1
kind: Namespace
metadata:
  name: made-here
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: second
  namespace: made-here
"""


async def create_page(console: ConsoleHarness, browser: httpx.AsyncClient, token: str = TOKENS["admin"]) -> str:
    await console.log_in(browser, token)
    page = await browser.get("/console/create/")
    assert page.status_code == 200 and 'aria-current="page">Create</a>' in page.text
    match = CSRF_INPUT.search(page.text)
    assert match
    return match.group(1)


async def post(browser: httpx.AsyncClient, csrf: str, text: str, *, action: str = "apply", namespace: str = "team",
               status: int = 200, **kwargs: object) -> str:
    answer = await browser.post("/console/create/", data={"csrfmiddlewaretoken": csrf, "yaml": text, "action": action,
                                                          "namespace": namespace}, headers=ORIGIN, **kwargs)
    assert answer.status_code == status, answer.text
    return answer.text


def rows(page: str) -> list[tuple[str, str, str, str]]:
    """(object, namespace, result, message) per result row, tags stripped."""
    found = []
    for row in re.findall(r'<tr class="outcome-[a-z]+">(.*?)</tr>', page, re.S):
        texts = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        cells = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", cell)).strip() for cell in texts]
        found.append((cells[1], cells[2], cells[3], cells[4]))
    return found


async def test_each_document_is_applied_in_order_with_a_result_per_object(console: ConsoleHarness) -> None:
    await console.namespace("team")
    async with console.browser() as browser:
        csrf = await create_page(console, browser)
        page = await post(browser, csrf, DOCUMENTS)
        assert rows(page) == [
            ("ConfigMap/first", "team", "created", ""),
            ("(no kind)/no-kind", "—", "error", "Object &#x27;Kind&#x27; is missing: every document needs apiVersion "
                                                "and kind"),
            ("ConfigMap/strict", "team", "error", "failed to create typed patch object (team/strict; /v1, "
                                                  "Kind=ConfigMap): .bogus: field not declared in schema"),
            ("Widget/w", "—", "error", "no matches for kind &quot;Widget&quot; in version &quot;example.com/v1&quot;; "
                                       "ensure CRDs are installed first"),
            ("Namespace/made-here", "—", "created", ""),
            ("ConfigMap/second", "made-here", "created", ""),
        ]
        assert '<a href="/console/edit/core/v1/configmaps/first/?namespace=team">ConfigMap/first</a>' in page
        assert '<a href="/console/edit/core/v1/namespaces/made-here/">Namespace/made-here</a>' in page

        again = await post(browser, csrf, DOCUMENTS.replace('a: "1"', 'a: "2"'))
        assert [row[2] for row in rows(again)] == ["configured", "error", "error", "error", "unchanged", "unchanged"]
    first = await console.api("GET", "/api/v1/namespaces/team/configmaps/first")
    assert first["data"] == {"a": "2"}
    assert [entry["manager"] for entry in first["metadata"]["managedFields"]] == ["pilothouse-console"]
    await console.api("GET", "/api/v1/namespaces/made-here/configmaps/second")
    absent = await console.server.request("GET", "/api/v1/namespaces/team/configmaps/strict")
    assert absent.status == 404


async def test_dry_run_reports_what_would_happen_and_stores_nothing(console: ConsoleHarness) -> None:
    await console.namespace("team")
    async with console.browser() as browser:
        csrf = await create_page(console, browser)
        page = await post(browser, csrf, DOCUMENTS, action="dry-run")
    assert "Dry run (nothing stored)" in page
    assert [row[2] for row in rows(page)] == ["created (dry run)", "error", "error", "error", "created (dry run)",
                                              "error"]  # the namespace does not exist yet
    assert 'namespaces &quot;made-here&quot; not found' in rows(page)[5][3]
    assert "/console/edit/" not in page.split('id="create-result"')[1].split("</section>")[0]
    for path in ("/api/v1/namespaces/team/configmaps/first", "/api/v1/namespaces/made-here"):
        assert (await console.server.request("GET", path)).status == 404


async def test_an_uploaded_file_is_applied(console: ConsoleHarness) -> None:
    await console.namespace("team")
    upload = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: uploaded\ndata:\n  when: 2024-01-01T00:00:00Z\n"
    async with console.browser() as browser:
        csrf = await create_page(console, browser)
        page = await post(browser, csrf, "", files={"file": ("objects.yaml", upload, "application/yaml")})
    assert rows(page) == [("ConfigMap/uploaded", "team", "created", "")]
    stored = await console.api("GET", "/api/v1/namespaces/team/configmaps/uploaded")
    assert stored["data"] == {"when": "2024-01-01T00:00:00Z"}  # a timestamp-looking value stays the string typed


async def test_text_that_is_not_yaml_is_refused_whole(console: ConsoleHarness) -> None:
    await console.namespace("team")
    async with console.browser() as browser:
        csrf = await create_page(console, browser)
        broken = await post(browser, csrf, "apiVersion: v1\nkind: [\n", status=400)
        assert "the YAML could not be parsed" in broken and "line 3" in broken
        alias = await post(browser, csrf, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: &d {a: b}\n"
                           "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: y}\ndata: *d\n", status=400)
        assert "YAML aliases are not accepted (line 9, column 7)" in alias
        empty = await post(browser, csrf, "---\n---\n")
        assert "The YAML holds no objects." in empty
    assert (await console.server.request("GET", "/api/v1/namespaces/team/configmaps/x")).status == 404


async def test_a_restricted_user_gets_the_servers_message_per_object(console: ConsoleHarness) -> None:
    await console.namespace("team")
    token = await console.service_account_token("team", "reader")
    await console.grant_view("team", {"kind": "ServiceAccount", "name": "reader", "namespace": "team"})
    await console.until_allowed("/api/v1/namespaces/team/configmaps", token)
    async with console.browser() as browser:
        csrf = await create_page(console, browser, token)
        page = await post(browser, csrf, DOCUMENTS.split("---")[0])
    assert rows(page) == [("ConfigMap/first", "team", "error", (
        "configmaps &quot;first&quot; is forbidden: User &quot;system:serviceaccount:team:reader&quot; cannot patch "
        "resource &quot;configmaps&quot; in API group &quot;&quot; in the namespace &quot;team&quot;"))]
    assert (await console.server.request("GET", "/api/v1/namespaces/team/configmaps/first")).status == 404


async def test_a_create_without_the_csrf_token_is_refused(console: ConsoleHarness) -> None:
    await console.namespace("team")
    async with console.browser() as browser:
        await create_page(console, browser)
        answer = await browser.post("/console/create/", data={"yaml": DOCUMENTS, "namespace": "team"},
                                    headers=ORIGIN)
    assert answer.status_code == 403
    assert (await console.server.request("GET", "/api/v1/namespaces/team/configmaps/first")).status == 404


async def test_names_with_markup_are_escaped_in_the_results(console: ConsoleHarness) -> None:
    await console.namespace("team")
    async with console.browser() as browser:
        csrf = await create_page(console, browser)
        page = await post(browser, csrf, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: '<img src=x>'\n")
    assert "<img src=x>" not in page
    assert "ConfigMap/&lt;img src=x&gt;" in page
    assert "metadata.name: Invalid value: &quot;&lt;img src=x&gt;&quot;: a lowercase RFC 1123 subdomain" in page


async def test_anonymous_visitors_are_sent_to_the_login_page(console: ConsoleHarness) -> None:
    async with console.browser() as browser:
        for path in ("/console/create/", "/console/edit/core/v1/configmaps/cm/?namespace=team",
                     "/console/delete/core/v1/configmaps/cm/?namespace=team"):
            answer = await browser.get(path)
            assert answer.status_code == 302 and answer.headers["location"].startswith("/console/login/?next=")
