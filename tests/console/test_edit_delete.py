"""Delete from the console: confirmation page, propagation policies, objects kept by finalizers, Forbidden, CSRF."""
from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.console.harness import CSRF_INPUT, ORIGIN, TOKENS, ConsoleHarness

CONFIG_MAPS = "/api/v1/namespaces/team/configmaps"


async def config_map(console: ConsoleHarness, name: str, **metadata: Any) -> dict[str, Any]:
    answer: dict[str, Any] = await console.api("POST", CONFIG_MAPS, {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, **metadata}})
    return answer


async def confirm_and_delete(browser: httpx.AsyncClient, name: str, policy: str) -> str:
    url = f"/console/delete/core/v1/configmaps/{name}/?namespace=team"
    page = await browser.get(url)
    assert page.status_code == 200, page.text
    assert 'value="Background" checked' in page.text  # the default, as kubectl's
    match = CSRF_INPUT.search(page.text)
    assert match
    answer = await browser.post(url, data={"csrfmiddlewaretoken": match.group(1), "propagationPolicy": policy},
                                headers=ORIGIN)
    assert answer.status_code == 200, answer.text
    return answer.text


async def until_absent(console: ConsoleHarness, path: str, within: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while (await console.server.request("GET", path)).status != 404:
        assert asyncio.get_running_loop().time() < deadline, f"{path} still present"
        await asyncio.sleep(0.05)


async def test_background_delete_removes_the_object(console: ConsoleHarness) -> None:
    await console.namespace("team")
    await config_map(console, "doomed")
    async with console.browser() as browser:
        await console.log_in(browser, TOKENS["admin"])
        page = await confirm_and_delete(browser, "doomed", "Background")
    assert "ConfigMap <code>doomed</code> deleted (Background propagation)." in page
    assert (await console.server.request("GET", f"{CONFIG_MAPS}/doomed")).status == 404


async def test_foreground_delete_keeps_the_owner_until_the_garbage_collector_is_done(console: ConsoleHarness) -> None:
    await console.namespace("team")
    owner = await config_map(console, "owner")
    reference = {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner["metadata"]["uid"],
                 "blockOwnerDeletion": True}
    await config_map(console, "dependent", ownerReferences=[reference], finalizers=["example.com/hold"])
    async with console.browser() as browser:
        await console.log_in(browser, TOKENS["admin"])
        page = await confirm_and_delete(browser, "owner", "Foreground")
    assert "is being deleted" in page and "Foreground propagation" in page
    assert "<li><code>foregroundDeletion</code></li>" in page
    held = await console.api("GET", f"{CONFIG_MAPS}/owner")
    assert held["metadata"]["finalizers"] == ["foregroundDeletion"] and held["metadata"]["deletionTimestamp"]
    # The dependent is being deleted but its own finalizer holds it, so the owner stays.
    deadline = asyncio.get_running_loop().time() + 10
    while not (await console.api("GET", f"{CONFIG_MAPS}/dependent"))["metadata"].get("deletionTimestamp"):
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.05)
    assert (await console.api("GET", f"{CONFIG_MAPS}/owner"))["metadata"]["finalizers"] == ["foregroundDeletion"]
    answer = await console.server.request("PATCH", f"{CONFIG_MAPS}/dependent", body=b'{"metadata":{"finalizers":null}}',
                                          headers=[("Content-Type", "application/merge-patch+json")])
    assert answer.status == 200, answer.body
    await until_absent(console, f"{CONFIG_MAPS}/dependent")
    await until_absent(console, f"{CONFIG_MAPS}/owner")


async def test_orphan_delete_is_reported_and_keeps_the_dependent(console: ConsoleHarness) -> None:
    await console.namespace("team")
    owner = await config_map(console, "owner")
    await config_map(console, "dependent", ownerReferences=[{
        "apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner["metadata"]["uid"]}])
    async with console.browser() as browser:
        await console.log_in(browser, TOKENS["admin"])
        page = await confirm_and_delete(browser, "owner", "Orphan")
    assert "is being deleted" in page and "<li><code>orphan</code></li>" in page
    await until_absent(console, f"{CONFIG_MAPS}/owner")
    dependent = await console.api("GET", f"{CONFIG_MAPS}/dependent")
    assert "ownerReferences" not in dependent["metadata"]


async def test_a_restricted_user_sees_the_servers_forbidden_message(console: ConsoleHarness) -> None:
    await console.namespace("team")
    await config_map(console, "kept")
    token = await console.service_account_token("team", "reader")
    await console.grant_view("team", {"kind": "ServiceAccount", "name": "reader", "namespace": "team"})
    await console.until_allowed(f"{CONFIG_MAPS}/kept", token)
    async with console.browser() as browser:
        await console.log_in(browser, token)
        page = await confirm_and_delete(browser, "kept", "Background")
    assert ("configmaps &quot;kept&quot; is forbidden: User &quot;system:serviceaccount:team:reader&quot; cannot "
            "delete resource &quot;configmaps&quot; in API group &quot;&quot; in the namespace &quot;team&quot;"
            ) in page
    await console.api("GET", f"{CONFIG_MAPS}/kept")


async def test_a_delete_without_the_csrf_token_is_refused(console: ConsoleHarness) -> None:
    await console.namespace("team")
    await config_map(console, "kept")
    async with console.browser() as browser:
        await console.log_in(browser, TOKENS["admin"])
        answer = await browser.post("/console/delete/core/v1/configmaps/kept/?namespace=team",
                                    data={"propagationPolicy": "Background"}, headers=ORIGIN)
    assert answer.status_code == 403
    await console.api("GET", f"{CONFIG_MAPS}/kept")
