"""RBAC pages through the real composition root: lists, the binding editor, who-can, can-i and the matrix, as
admin, as a ServiceAccount whose token was issued through the console, and as restricted users."""
from __future__ import annotations

import asyncio
import html
import re

import httpx

from tests.console.harness import CSRF_INPUT, ORIGIN, TOKENS, ConsoleHarness

RBAC = "/apis/rbac.authorization.k8s.io/v1"
TOKEN_VALUE = re.compile(r'<textarea id="token-value"[^>]*>([^<]+)</textarea>')


async def csrf(browser: httpx.AsyncClient, path: str) -> str:
    page = await browser.get(path)
    match = CSRF_INPUT.search(page.text)
    assert match, page.text
    return match.group(1)


async def post(browser: httpx.AsyncClient, form_page: str, action: str, data: dict[str, object]) -> httpx.Response:
    token = await csrf(browser, form_page)
    return await browser.post(action, data={"csrfmiddlewaretoken": token, **data}, headers=ORIGIN)


async def issue_token_through_page(browser: httpx.AsyncClient, namespace: str, name: str) -> str:
    page = f"/console/serviceaccounts/{namespace}/{name}/"
    answer = await post(browser, page, page + "token/", {"audiences": "", "expiration_seconds": "3600"})
    assert answer.status_code == 200, answer.text
    match = TOKEN_VALUE.search(answer.text)
    assert match, answer.text
    return match.group(1)


def binding_form(name: str, namespace: str, role: str, subjects: list[tuple[str, str, str]], *,
                 kind: str = "RoleBinding", role_kind: str = "ClusterRole", original: str = "") -> dict[str, object]:
    return {"kind": kind, "namespace": namespace, "name": name, "role_kind": role_kind, "role_name": role,
            "original_name": original, "subject_kind": [s[0] for s in subjects],
            "subject_name": [s[1] for s in subjects], "subject_namespace": [s[2] for s in subjects]}


async def can_i(browser: httpx.AsyncClient, verb: str, resource: str, namespace: str) -> str:
    page = (await browser.get("/console/rbac/can-i/", params={"verb": verb, "resource": resource,
                                                              "namespace": namespace})).text
    match = re.search(r'<p class="verdict (yes|no)">', page)
    assert match, page
    return match.group(1)


async def until_can_i(browser: httpx.AsyncClient, verb: str, resource: str, namespace: str, wanted: str) -> None:
    deadline = asyncio.get_running_loop().time() + 5
    while (answer := await can_i(browser, verb, resource, namespace)) != wanted:
        assert asyncio.get_running_loop().time() < deadline, answer
        await asyncio.sleep(0.05)


async def test_admin_sees_roles_with_rule_tables_and_bindings_with_links(console: ConsoleHarness) -> None:
    async with console.browser() as browser:
        await console.log_in(browser, TOKENS["admin"])
        page = (await browser.get("/console/rbac/")).text
        assert '<a href="/console/rbac/clusterrolebindings/cluster-admin/">cluster-admin</a>' in page
        assert '<a href="/console/rbac/matrix/?kind=Group&amp;name=system%3Amasters">system:masters</a>' in page
        assert "aggregated from: rbac.authorization.k8s.io/aggregate-to-view=true" in page
        role = (await browser.get("/console/rbac/clusterroles/view/")).text
        assert "An aggregated ClusterRole" in role and "<code>rbac.authorization.k8s.io/aggregate-to-view=true</code>" \
            in role
        assert "<td><code>pods</code>" in role or "<code>pods</code>," in role  # aggregated rules are in the object
        feeder = (await browser.get("/console/rbac/clusterroles/system:aggregate-to-view/")).text
        assert 'Its rules are aggregated into: <a href="/console/rbac/clusterroles/view/">view</a>' in feeder
        missing = await browser.get("/console/rbac/clusterroles/no-such-role/")
        assert missing.status_code == 404


async def test_a_user_without_rbac_access_gets_explanations(console: ConsoleHarness) -> None:
    async with console.browser() as browser:
        await console.log_in(browser, TOKENS["viewer"])
        page = await browser.get("/console/rbac/")
        assert page.status_code == 200
        assert ("Cannot list clusterrolebindings: clusterrolebindings.rbac.authorization.k8s.io is forbidden: User "
                "&quot;viewer&quot; cannot list resource &quot;clusterrolebindings&quot; in API group "
                "&quot;rbac.authorization.k8s.io&quot; at the cluster scope") in page.text
        detail = await browser.get("/console/rbac/clusterroles/view/")
        assert detail.status_code == 403
        assert ("The API server refused: clusterroles.rbac.authorization.k8s.io &quot;view&quot; is forbidden: User "
                "&quot;viewer&quot; cannot get resource &quot;clusterroles&quot;") in detail.text
        who = (await browser.get("/console/rbac/who-can/", params={"verb": "get", "resource": "pods",
                                                                  "namespace": "default"})).text
        assert "Cannot list rolebindings, so the answer may be incomplete" in who
        matrix = (await browser.get("/console/rbac/matrix/", params={"kind": "User", "name": "viewer",
                                                                    "namespace": "default"})).text
        assert "Computed with: <strong>RBAC objects</strong>" in matrix
        assert "You may not create SubjectAccessReviews" in matrix
        accounts = (await browser.get("/console/serviceaccounts/?namespace=default")).text
        assert "Cannot list ServiceAccounts: serviceaccounts is forbidden: User &quot;viewer&quot;" in accounts


async def test_binding_a_service_account_turns_its_can_i_from_no_to_yes(console: ConsoleHarness) -> None:
    await console.namespace("team")
    async with console.browser() as admin, console.browser() as robot:
        await console.log_in(admin, TOKENS["admin"])
        created = await post(admin, "/console/serviceaccounts/", "/console/serviceaccounts/?namespace=team",
                             {"name": "robot"})
        assert created.status_code == 302, created.text
        assert created.headers["location"] == "/console/serviceaccounts/team/robot/?created=1"
        token = await issue_token_through_page(admin, "team", "robot")
        assert (await console.log_in(robot, token)).status_code == 302
        assert await can_i(robot, "list", "pods", "team") == "no"

        editor = "/console/rbac/bindings/edit/?namespace=team"
        form = await admin.get(editor)
        assert '<option value="team/robot"></option>' in form.text  # the ServiceAccount picker
        assert '<option value="view" label="ClusterRole"></option>' in form.text
        saved = await post(admin, editor, "/console/rbac/bindings/edit/",
                           binding_form("robot-view", "team", "view", [("ServiceAccount", "team/robot", "")]))
        assert saved.status_code == 302, saved.text
        assert saved.headers["location"] == "/console/rbac/rolebindings/team/robot-view/?saved=created"
        binding = await console.api("GET", f"{RBAC}/namespaces/team/rolebindings/robot-view")
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "robot", "namespace": "team"}]
        await until_can_i(robot, "list", "pods", "team", "yes")
        assert await can_i(robot, "list", "secrets", "team") == "no"
        answer = (await robot.get("/console/rbac/can-i/", params={"verb": "list", "resource": "pods",
                                                                 "namespace": "team"})).text
        assert 'Reason: RBAC: allowed by RoleBinding &quot;robot-view/team&quot; of ClusterRole &quot;view&quot; ' \
               "to ServiceAccount &quot;robot/team&quot;" in answer

        who = (await admin.get("/console/rbac/who-can/", params={"verb": "list", "resource": "pods",
                                                                "namespace": "team"})).text
        assert '<a href="/console/serviceaccounts/team/robot/">team/robot</a>' in who
        assert '<a href="/console/rbac/rolebindings/team/robot-view/">RoleBinding team/robot-view</a>' in who
        assert '<a href="/console/rbac/clusterroles/view/">ClusterRole/view</a>' in who
        assert "members of system:masters may do everything" in who

        detail = (await admin.get("/console/serviceaccounts/team/robot/")).text
        assert '<a href="/console/rbac/rolebindings/team/robot-view/">RoleBinding team/robot-view</a>' in detail


async def test_changing_the_role_replaces_the_binding(console: ConsoleHarness) -> None:
    await console.namespace("team")
    async with console.browser() as admin:
        await console.log_in(admin, TOKENS["admin"])
        editor = "/console/rbac/bindings/edit/?namespace=team"
        await post(admin, editor, "/console/rbac/bindings/edit/",
                   binding_form("ops", "team", "view", [("User", "alice", ""), ("Group", "ops", "")]))
        before = await console.api("GET", f"{RBAC}/namespaces/team/rolebindings/ops")
        edit_page = "/console/rbac/bindings/edit/?kind=RoleBinding&namespace=team&name=ops"
        page = (await admin.get(edit_page)).text
        assert "REPLACES the binding" in page and 'value="alice"' in page
        # Same role, fewer subjects: an update in place (same uid).
        saved = await post(admin, edit_page, "/console/rbac/bindings/edit/",
                           binding_form("ops", "team", "view", [("User", "alice", "")], original="ops"))
        assert saved.headers["location"].endswith("?saved=updated")
        updated = await console.api("GET", f"{RBAC}/namespaces/team/rolebindings/ops")
        assert updated["metadata"]["uid"] == before["metadata"]["uid"]
        assert updated["subjects"] == [{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "alice"}]
        # Another role: deleted and created again (new uid).
        saved = await post(admin, edit_page, "/console/rbac/bindings/edit/",
                           binding_form("ops", "team", "edit", [("User", "alice", "")], original="ops"))
        assert saved.headers["location"] == "/console/rbac/rolebindings/team/ops/?saved=replaced"
        replaced = await console.api("GET", f"{RBAC}/namespaces/team/rolebindings/ops")
        assert replaced["roleRef"]["name"] == "edit"
        assert replaced["metadata"]["uid"] != before["metadata"]["uid"]
        page = (await admin.get("/console/rbac/rolebindings/team/ops/?saved=replaced")).text
        assert "Binding replaced." in page and replaced["metadata"]["uid"] in page


async def test_an_escalation_refusal_lists_the_missing_permissions(console: ConsoleHarness) -> None:
    await console.namespace("team")
    await console.api("POST", f"{RBAC}/namespaces/team/roles", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "binder"},
        "rules": [{"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["rolebindings"], "verbs": ["create"]}]})
    await console.api("POST", f"{RBAC}/namespaces/team/rolebindings", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "binder"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "binder"},
        "subjects": [{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "viewer"}]})
    await console.api("POST", f"{RBAC}/namespaces/team/roles", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "pod-reader"},
        "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]},
                  {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["delete"],
                   "resourceNames": ["web"]}]})
    async with console.browser() as viewer:
        await console.log_in(viewer, TOKENS["viewer"])
        editor = "/console/rbac/bindings/edit/?namespace=team"
        deadline = asyncio.get_running_loop().time() + 5
        while True:
            refused = await post(viewer, editor, "/console/rbac/bindings/edit/", binding_form(
                "sneaky", "team", "pod-reader", [("User", "viewer", "")], role_kind="Role"))
            if "attempting to grant" in refused.text or asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.05)  # the binder grant reaches the authorizer's cache a moment later
        assert refused.status_code == 403, refused.text
        text = html.unescape(refused.text)
        assert re.search(r'rolebindings\.rbac\.authorization\.k8s\.io "sneaky" is forbidden: user "viewer" '
                         r'\(groups=\[[^]]*"system:authenticated"\]\) is attempting to grant RBAC permissions not '
                         r'currently held:\n\{APIGroups', text)
        table = text.split('id="missing-permissions"')[1].split("</table>")[0]
        rows = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip() for row in table.split("<tr>")[2:]]
        assert rows == ['"" pods get list', "apps deployments delete web"]
        assert "Some choices are unavailable: clusterroles.rbac.authorization.k8s.io is forbidden" in text
    assert (await console.server.request("GET", f"{RBAC}/namespaces/team/rolebindings/sneaky")).status == 404


async def test_the_access_matrix_uses_subject_access_reviews_when_allowed(console: ConsoleHarness) -> None:
    await console.namespace("team")
    await console.grant_view("team", {"kind": "ServiceAccount", "name": "robot", "namespace": "team"})
    async with console.browser() as admin:
        await console.log_in(admin, TOKENS["admin"])
        page = (await admin.get("/console/rbac/matrix/", params={
            "kind": "ServiceAccount", "name": "robot", "subject_namespace": "team", "namespace": "team"})).text
        assert "Computed with: <strong>SubjectAccessReview</strong>" in page
        row = page.split('data-resource="pods"')[1].split("</tr>")[0]
        cells = re.findall(r'<td class="(yes|no)">', row)
        assert cells == ["yes", "yes", "yes", "no", "no", "no", "no", "no"]
        secrets = page.split('data-resource="secrets"')[1].split("</tr>")[0]
        assert re.findall(r'<td class="(yes|no)">', secrets) == ["no"] * 8


async def test_the_local_matrix_matches_the_authorizer_for_a_reader_of_rbac(console: ConsoleHarness) -> None:
    """A user who may list RBAC objects but not create SubjectAccessReviews gets the local evaluation."""
    await console.namespace("team")
    await console.api("POST", f"{RBAC}/clusterroles", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "rbac-reader"},
        "rules": [{"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["*"], "verbs": ["get", "list"]}]})
    await console.api("POST", f"{RBAC}/clusterrolebindings", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "rr"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "rbac-reader"},
        "subjects": [{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "viewer"}]})
    await console.grant_view("team", {"kind": "ServiceAccount", "name": "robot", "namespace": "team"})
    await console.until_allowed(f"{RBAC}/rolebindings", TOKENS["viewer"])
    async with console.browser() as viewer:
        await console.log_in(viewer, TOKENS["viewer"])
        page = (await viewer.get("/console/rbac/matrix/", params={
            "kind": "ServiceAccount", "name": "robot", "subject_namespace": "team", "namespace": "team"})).text
        assert "Computed with: <strong>RBAC objects</strong>" in page
        row = page.split('data-resource="pods"')[1].split("</tr>")[0]
        assert re.findall(r'<td class="(yes|no)">', row) == ["yes", "yes", "yes", "no", "no", "no", "no", "no"]
        log = page.split('data-resource="pods/log"')[1].split("</tr>")[0]
        assert re.findall(r'<td class="(yes|no)">', log)[:3] == ["yes", "yes", "yes"]


async def test_the_editor_needs_csrf_and_subject_names_render_as_text(console: ConsoleHarness) -> None:
    await console.namespace("team")
    async with console.browser() as admin:
        await console.log_in(admin, TOKENS["admin"])
        forged = await admin.post("/console/rbac/bindings/edit/", headers=ORIGIN,
                                  data=binding_form("forged", "team", "view", [("User", "x", "")]))
        assert forged.status_code == 403
        assert (await console.server.request("GET", f"{RBAC}/namespaces/team/rolebindings/forged")).status == 404
        saved = await post(admin, "/console/rbac/bindings/edit/", "/console/rbac/bindings/edit/", binding_form(
            "odd", "team", "view", [("User", "<script>alert(1)</script>", "")]))
        assert saved.status_code == 302, saved.text
        page = (await admin.get("/console/rbac/?namespace=team")).text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert "<script>alert" not in page
        invalid = await post(admin, "/console/rbac/bindings/edit/", "/console/rbac/bindings/edit/", binding_form(
            "bad", "", "view", [("User", "x", "")]))
        assert invalid.status_code == 400 and "A RoleBinding needs a namespace." in invalid.text
