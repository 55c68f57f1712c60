"""The resource pages through the real composition root: as admin, as a ServiceAccount limited to one namespace,
as a user who may get but not list, and anonymously."""
from __future__ import annotations

import html
import re

from tests.console.harness import TOKENS, ConsoleHarness

XSS = "<script>window.pwned=1</script>"


def row_names(page: str) -> list[str]:
    body = page.split('<tbody id="resource-rows">')[1].split("</tbody>")[0]
    return re.findall(r'<td><a href="[^"]+">([^<]+)</a></td>', body)


async def test_anonymous_users_are_sent_to_log_in(console: ConsoleHarness) -> None:
    async with console.browser() as browser:
        for path in ("/console/resources/", "/console/resources/core/v1/pods/",
                     "/console/resources/core/v1/pods/web/", "/console/resources/palette.json"):
            answer = await browser.get(path)
            assert answer.status_code == 302
            assert answer.headers["location"].startswith("/console/login/?next=%2Fconsole%2Fresources%2F")


async def test_admin_browses_from_discovery_to_a_list_and_an_object(console: ConsoleHarness) -> None:
    await console.namespace("shop")
    for index in range(3):
        await console.api("POST", "/api/v1/namespaces/shop/configmaps", {
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"cfg-{index}", "labels": {"app": "shop"}},
            "data": {"key": f"value-{index}"}})
    async with console.browser() as browser:
        await console.log_in(browser, TOKENS["admin"])
        index = await browser.get("/console/resources/?namespace=shop")
        assert index.status_code == 200
        assert '<a href="/console/resources/core/v1/pods/?namespace=shop">Pod</a>' in index.text
        assert '<a href="/console/resources/apps/v1/deployments/?namespace=shop">Deployment</a>' in index.text
        assert '<a href="/console/resources/core/v1/nodes/">Node</a>' in index.text  # cluster-scoped: no namespace
        assert "<code>deploy</code>" in index.text and '<script src="/static/console/js/palette.js" defer>' in (
            index.text)

        page = await browser.get("/console/resources/core/v1/configmaps/", params={
            "namespace": "shop", "labelSelector": "app=shop"})
        assert page.status_code == 200
        assert row_names(page.text) == ["cfg-0", "cfg-1", "cfg-2"]
        assert ('<code id="kubectl-command" aria-labelledby="kubectl-label">kubectl get configmaps -n shop -l app=shop'
                in page.text)
        assert re.search(r'<table class="resources" id="resource-table" data-resource-version="\d+"', page.text)
        # The first page follows a live watch of the same selection (static/console/js/live.js).
        assert 'data-watch-path="/api/v1/namespaces/shop/configmaps"' in page.text
        assert 'data-label-selector="app=shop"' in page.text
        assert 'data-detail-href="/console/resources/core/v1/configmaps/{name}/?namespace={namespace}"' in page.text
        assert re.search(r'<tr data-uid="[0-9a-f-]{36}" data-filter-text="cfg-0">', page.text)
        assert 'href="/console/resources/core/v1/configmaps/cfg-0/?namespace=shop">cfg-0</a>' in page.text
        assert '<a href="?namespace=shop" aria-current="true">shop</a>' in page.text

        across = await browser.get("/console/resources/core/v1/configmaps/", params={
            "all": "1", "labelSelector": "app=shop", "sort": "Name", "desc": "1"})
        assert row_names(across.text) == ["cfg-2", "cfg-1", "cfg-0"]
        assert '<th scope="col" aria-sort="none" title="The object&#x27;s namespace.">' in across.text
        assert "Sorted by Name on this page only" in across.text
        assert "kubectl get configmaps -A -l app=shop</code>" in across.text

        bad = await browser.get("/console/resources/core/v1/configmaps/", params={
            "namespace": "shop", "labelSelector": "app in"})
        assert bad.status_code == 400
        assert "The server refused the filter:</strong>\n    unable to parse requirement: " in bad.text

        detail = await browser.get("/console/resources/core/v1/configmaps/cfg-1/?namespace=shop")
        assert detail.status_code == 200
        assert "kubectl get configmap cfg-1 -n shop -o yaml</code>" in detail.text
        assert re.search(r'<article id="resource-detail" data-uid="[0-9a-f-]{36}" data-resource-version="\d+"',
                         detail.text)
        assert '<li class="chip"><span class="key">app</span>=<span class="value">shop</span></li>' in detail.text
        assert "data:\n  key: value-1\n" in detail.text
        assert '<details class="managed" id="managed-fields">' in detail.text
        assert ('href="/console/edit/core/v1/configmaps/cfg-1/?namespace=shop">Edit YAML</a>' in detail.text
                and 'href="/console/delete/core/v1/configmaps/cfg-1/?namespace=shop">Delete…</a>' in detail.text)

        nodes = await browser.get("/console/resources/core/v1/nodes/")
        assert nodes.status_code == 200 and 'id="namespace"' not in nodes.text
        assert "kubectl get nodes</code>" in nodes.text

        missing = await browser.get("/console/resources/example.com/v1/widgets/")
        assert missing.status_code == 404 and "<code>widgets.v1.example.com</code>" in missing.text
        gone = await browser.get("/console/resources/core/v1/configmaps/nope/?namespace=shop")
        assert gone.status_code == 404 and "configmaps &quot;nope&quot; not found" in gone.text

        palette = await browser.get("/console/resources/palette.json", headers={"Accept": "application/json"})
        assert palette.status_code == 200
        data = palette.json()
        assert {"default", "kube-system", "shop"} <= set(data["namespaces"])
        assert any(entry["plural"] == "pods" and entry["shortNames"] == ["po"] for entry in data["resources"])


async def test_pages_follow_continue_tokens(console: ConsoleHarness) -> None:
    await console.namespace("many")
    for index in range(12):
        await console.api("POST", "/api/v1/namespaces/many/secrets", {
            "apiVersion": "v1", "kind": "Secret", "metadata": {"name": f"s-{index:02d}"}})
    async with console.browser() as browser:
        await console.log_in(browser, TOKENS["admin"])
        url = "/console/resources/core/v1/secrets/?namespace=many&limit=5"
        seen: list[str] = []
        pages = 0
        while url:
            page = await browser.get(url)
            assert page.status_code == 200
            names = row_names(page.text)
            assert len(names) <= 5
            seen += names
            pages += 1
            match = re.search(r'<a href="([^"]+)" id="next-page" rel="next">', page.text)
            url = "/console/resources/core/v1/secrets/" + html.unescape(match.group(1)) if match else ""
            if pages == 1:
                assert "5 shown, 7 more after this page" in page.text and 'id="first-page"' not in page.text
                assert 'data-watch-path="/api/v1/namespaces/many/secrets"' in page.text
            else:
                assert "data-watch-path" not in page.text  # later pages do not follow changes
        assert seen == [f"s-{index:02d}" for index in range(12)] and pages == 3
        assert 'id="first-page"' in page.text
        expired = await browser.get("/console/resources/core/v1/secrets/?namespace=many&continue=garbage")
        assert expired.status_code == 400 and "continue key is not valid" in expired.text


async def test_a_service_account_limited_to_one_namespace(console: ConsoleHarness) -> None:
    await console.namespace("team-a")
    await console.namespace("team-b")
    token = await console.service_account_token("team-a", "reader")
    await console.grant_view("team-a", {"kind": "ServiceAccount", "name": "reader", "namespace": "team-a"})
    await console.api("POST", "/api/v1/namespaces/team-a/configmaps", {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "visible"}})
    await console.until_allowed("/api/v1/namespaces/team-a/configmaps", token)
    async with console.browser() as browser:
        await console.log_in(browser, token)
        page = await browser.get("/console/resources/core/v1/configmaps/")  # defaults to its own namespace
        assert page.status_code == 200
        assert "visible" in row_names(page.text)
        assert '<a href="?namespace=team-a" aria-current="true">team-a</a>' in page.text
        assert "?namespace=team-b" not in page.text
        assert "You may not list namespaces (namespaces is forbidden: User" in page.text

        secrets = await browser.get("/console/resources/core/v1/secrets/?namespace=team-a")
        assert secrets.status_code == 403
        assert ("Not allowed:</strong>\n    secrets is forbidden: User &quot;system:serviceaccount:team-a:reader&quot; "
                "cannot list resource &quot;secrets&quot; in API group &quot;&quot; in the namespace "
                "&quot;team-a&quot;") in secrets.text
        other = await browser.get("/console/resources/core/v1/configmaps/?namespace=team-b")
        assert other.status_code == 403 and "in the namespace &quot;team-b&quot;" in other.text
        everywhere = await browser.get("/console/resources/core/v1/configmaps/?all=1")
        assert everywhere.status_code == 403 and "at the cluster scope" in everywhere.text
        nodes = await browser.get("/console/resources/core/v1/nodes/")
        assert nodes.status_code == 403
        assert ("cannot list resource &quot;nodes&quot; in API group &quot;&quot; at the cluster scope"
                in nodes.text)

        detail = await browser.get("/console/resources/core/v1/configmaps/visible/?namespace=team-a")
        assert detail.status_code == 200 and "kind: ConfigMap" in detail.text
        refused = await browser.get("/console/resources/core/v1/secrets/anything/?namespace=team-a")
        assert refused.status_code == 403
        assert "cannot get resource &quot;secrets&quot;" in refused.text

        palette = (await browser.get("/console/resources/palette.json")).json()
        assert palette["namespaces"] == ["team-a"]


async def test_get_without_list_still_opens_an_object_by_url(console: ConsoleHarness) -> None:
    await console.namespace("narrow")
    token = await console.service_account_token("narrow", "getter")
    await console.api("POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/narrow/roles", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "get-cm"},
        "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}]})
    await console.api("POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/narrow/rolebindings", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "get-cm"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "get-cm"},
        "subjects": [{"kind": "ServiceAccount", "name": "getter", "namespace": "narrow"}]})
    await console.api("POST", "/api/v1/namespaces/narrow/configmaps", {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}, "data": {"a": "b"}})
    await console.until_allowed("/api/v1/namespaces/narrow/configmaps/settings", token)
    async with console.browser() as browser:
        await console.log_in(browser, token)
        listed = await browser.get("/console/resources/core/v1/configmaps/?namespace=narrow")
        assert listed.status_code == 403
        assert "cannot list resource &quot;configmaps&quot;" in listed.text
        detail = await browser.get("/console/resources/core/v1/configmaps/settings/?namespace=narrow")
        assert detail.status_code == 200
        assert "data:\n  a: b\n" in detail.text
        # Events and dependents it may not list are explained on the page, not fatal.
        assert "Not allowed: events is forbidden" in detail.text
        assert "Not allowed: pods is forbidden" in detail.text


async def test_labels_and_annotations_render_as_text(console: ConsoleHarness) -> None:
    await console.namespace("xss")
    await console.api("POST", "/api/v1/namespaces/xss/configmaps", {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "evil", "labels": {"app": "x"}, "annotations": {"note": XSS}},
        "data": {"html": XSS}})
    async with console.browser() as browser:
        await console.log_in(browser, TOKENS["admin"])
        detail = await browser.get("/console/resources/core/v1/configmaps/evil/?namespace=xss")
        assert detail.status_code == 200
        assert XSS not in detail.text
        escaped = html.escape(XSS)
        assert f'<span class="key">note</span>=<span class="value">{escaped}</span>' in detail.text
        assert f"html: {escaped}" in detail.text
        listed = await browser.get("/console/resources/core/v1/configmaps/?namespace=xss&labelSelector=" + "app%3Dx")
        assert XSS not in listed.text
        hostile = await browser.get("/console/resources/core/v1/configmaps/", params={
            "namespace": "xss", "labelSelector": XSS})
        assert hostile.status_code == 400 and XSS not in hostile.text
