"""The overview as admin, as a restricted ServiceAccount and as a user with no permissions at all."""
from __future__ import annotations

import re

from tests.console.harness import TOKENS, ConsoleHarness


def count_of(page: str, label: str) -> str:
    match = re.search(rf'<th scope="row">{label}</th>\s*<td class="([a-z]+)">([^<]*)</td>', page)
    assert match, label
    return f"{match.group(1)}:{match.group(2).strip()}"


async def test_admin_sees_counts_health_and_warning_events(console: ConsoleHarness) -> None:
    await console.namespace("team-a")
    for index in range(3):
        await console.api("POST", "/api/v1/namespaces/team-a/configmaps", {
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"cm-{index}"}})
    await console.api("POST", "/api/v1/namespaces/team-a/events", {
        "apiVersion": "v1", "kind": "Event", "metadata": {"name": "e1"}, "type": "Warning", "reason": "BackOff",
        "message": "Back-off restarting failed container", "involvedObject": {"kind": "Pod", "name": "web-1"},
        "lastTimestamp": "2026-01-01T00:00:00Z"})
    await console.api("POST", "/api/v1/namespaces/team-a/events", {
        "apiVersion": "v1", "kind": "Event", "metadata": {"name": "e2"}, "type": "Normal", "reason": "Pulled",
        "message": "pulled", "involvedObject": {"kind": "Pod", "name": "web-1"}})
    async with console.browser() as browser:
        await console.log_in(browser, TOKENS["admin"])
        page = (await browser.get("/console/?namespace=team-a")).text
        assert "In namespace <code>team-a</code>" in page
        # Each namespace gets a kube-root-ca.crt ConfigMap from its controller (it may lag a moment).
        assert count_of(page, "ConfigMaps") in ("number:3", "number:4")
        assert count_of(page, "Secrets") == "number:0"
        assert "BackOff" in page and "Pod/web-1" in page and "Pulled" not in page
        assert re.search(r"<li class=\"ok\"><span class=\"state\">ok</span> ping</li>", page)
        for name in ("default", "kube-system", "team-a"):
            assert f'href="?namespace={name}"' in page


async def test_a_restricted_service_account_gets_a_working_page_with_explanations(console: ConsoleHarness) -> None:
    await console.namespace("team-a")
    await console.namespace("team-b")
    token = await console.service_account_token("team-a", "reader")
    await console.grant_view("team-a", {"kind": "ServiceAccount", "name": "reader", "namespace": "team-a"})
    await console.grant_view("team-b", {"kind": "ServiceAccount", "name": "reader", "namespace": "team-a"})
    await console.until_allowed("/api/v1/namespaces/team-b/pods", token)
    async with console.browser() as browser:
        answer = await console.log_in(browser, token)
        assert answer.status_code == 302, answer.text
        page = (await browser.get("/console/")).text
        assert '<span class="user" title="Logged in as">system:serviceaccount:team-a:reader</span>' in page
        assert "<li>system:serviceaccounts:team-a</li>" in page
        # No `list namespaces`: the page says so, and found team-a (its own namespace) by rules review.
        assert "You may not list namespaces (namespaces is forbidden: User" in page
        assert 'href="?namespace=team-a"' in page and 'href="?namespace=team-b"' not in page
        assert "In namespace <code>team-a</code>" in page
        assert count_of(page, "Pods") == "number:0"
        # The view role has no secrets: the missing permission is explained instead of a crash.
        assert count_of(page, "Secrets") == ("forbidden:Not allowed: secrets is forbidden: User "
                                             "&quot;system:serviceaccount:team-a:reader&quot; cannot list resource "
                                             "&quot;secrets&quot; in API group &quot;&quot; in the namespace "
                                             "&quot;team-a&quot;")
        # Typing team-b checks it, and the session remembers it for the list.
        page = (await browser.get("/console/?namespace=team-b")).text
        assert "In namespace <code>team-b</code>" in page
        page = (await browser.get("/console/")).text
        assert 'href="?namespace=team-a"' in page and 'href="?namespace=team-b"' in page


async def test_a_user_without_permissions_sees_explanations_not_errors(console: ConsoleHarness) -> None:
    async with console.browser() as browser:
        await console.log_in(browser, TOKENS["viewer"])
        answer = await browser.get("/console/?namespace=kube-system")
        assert answer.status_code == 200
        page = answer.text
        assert "No namespace found where you can read anything." in page
        assert count_of(page, "Pods").startswith("forbidden:Not allowed: pods is forbidden: User &quot;viewer&quot;")
        assert "Not allowed: events is forbidden" in page
        assert 'id="server-version">v1.32' in page  # /version is public
        # Not remembered: it was not accessible.
        page = (await browser.get("/console/")).text
        assert "kube-system" not in page.split('id="ns-heading"')[1].split("</section>")[0].replace(
            "checked with a SelfSubjectRulesReview (default)", "")


async def test_an_invalid_namespace_parameter_is_ignored(console: ConsoleHarness) -> None:
    async with console.browser() as browser:
        await console.log_in(browser, TOKENS["admin"])
        page = (await browser.get("/console/", params={"namespace": "../../etc<script>"})).text
        assert "In namespace <code>default</code>" in page
        assert "<script>" not in page.replace('<script src="', "")
