"""ServiceAccount pages through the real composition root: create, issue a token (shown once, it authenticates),
download a kubeconfig, see bindings, revoke a legacy token Secret; and the refusals, explained."""
from __future__ import annotations

import asyncio
import base64
import re
from typing import Any

import httpx
import yaml

from apiserver.auth.authn.tokencache import SUCCESS_TTL_SECONDS
from tests.console.harness import ORIGIN, TOKENS, ConsoleHarness
from tests.console.test_rbac_pages import TOKEN_VALUE, post

ACCOUNT = "/console/serviceaccounts/team/robot/"


async def token_review(console: ConsoleHarness, token: str, audiences: list[str] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"token": token}
    if audiences:
        spec["audiences"] = audiences
    review = await console.api("POST", "/apis/authentication.k8s.io/v1/tokenreviews", {
        "apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": spec})
    status: dict[str, Any] = review["status"]
    return status


async def admin_with_robot(console: ConsoleHarness, browser: httpx.AsyncClient) -> None:
    await console.namespace("team")
    await console.log_in(browser, TOKENS["admin"])
    created = await post(browser, "/console/serviceaccounts/", "/console/serviceaccounts/?namespace=team",
                         {"name": "robot"})
    assert created.status_code == 302, created.text


async def test_an_issued_token_is_shown_once_and_authenticates(console: ConsoleHarness) -> None:
    async with console.browser() as browser:
        await admin_with_robot(console, browser)
        listing = (await browser.get("/console/serviceaccounts/?namespace=team")).text
        assert '<a href="/console/serviceaccounts/team/robot/">robot</a>' in listing
        page = (await browser.get(ACCOUNT)).text
        assert "they stop working as soon as the ServiceAccount is deleted" in page
        answer = await post(browser, ACCOUNT, ACCOUNT + "token/", {"audiences": "", "expiration_seconds": "3600"})
        assert answer.headers["cache-control"] == "no-store"
        match = TOKEN_VALUE.search(answer.text)
        assert match
        review = await token_review(console, match.group(1))
        assert review["authenticated"] is True
        assert review["user"]["username"] == "system:serviceaccount:team:robot"
        assert match.group(1) not in (await browser.get(ACCOUNT)).text  # not kept anywhere
        custom = await post(browser, ACCOUNT, ACCOUNT + "token/", {"audiences": "vault", "expiration_seconds": ""})
        token = TOKEN_VALUE.search(custom.text)
        assert token and "<dd>vault</dd>" in custom.text
        assert (await token_review(console, token.group(1), ["vault"]))["authenticated"] is True
        assert (await token_review(console, token.group(1))).get("authenticated") is None  # not for the API audience


async def test_the_servers_token_limits_are_shown(console: ConsoleHarness) -> None:
    async with console.browser() as browser:
        await admin_with_robot(console, browser)
        short = await post(browser, ACCOUNT, ACCOUNT + "token/", {"audiences": "", "expiration_seconds": "599"})
        assert short.status_code == 422
        assert ("The API server refused the token request: TokenRequest.authentication.k8s.io &quot;&quot; is "
                "invalid: spec.expirationSeconds: Invalid value: 599: may not specify a duration less than 10 "
                "minutes") in short.text
        bad = await post(browser, ACCOUNT, ACCOUNT + "token/", {"expiration_seconds": "soon"})
        assert bad.status_code == 400 and "expirationSeconds must be a whole number of seconds" in bad.text
        missing = await post(browser, ACCOUNT, "/console/serviceaccounts/team/ghost/token/", {})
        assert missing.status_code == 404
        assert "serviceaccounts &quot;ghost&quot; not found" in missing.text


async def test_the_kubeconfig_download_carries_server_ca_and_a_working_token(console: ConsoleHarness) -> None:
    async with console.browser() as browser:
        await admin_with_robot(console, browser)
        answer = await post(browser, ACCOUNT, ACCOUNT + "kubeconfig/", {"audiences": "", "expiration_seconds": ""})
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-disposition"] == 'attachment; filename="kubeconfig-team-robot.yaml"'
        assert answer.headers["cache-control"] == "no-store"
        config = yaml.safe_load(answer.text)
        cluster = config["clusters"][0]["cluster"]
        assert cluster["server"] == "https://testserver"
        assert base64.b64decode(cluster["certificate-authority-data"]).decode() == console.ca_file.read_text()
        assert config["contexts"][0]["context"] == {"cluster": "pilothouse", "user": "team-robot", "namespace": "team"}
        review = await token_review(console, config["users"][0]["user"]["token"])
        assert review["user"]["username"] == "system:serviceaccount:team:robot"


async def test_a_legacy_token_secret_is_listed_and_revoked_by_deletion(console: ConsoleHarness) -> None:
    async with console.browser() as browser:
        await admin_with_robot(console, browser)
        await console.api("POST", "/api/v1/namespaces/team/secrets", {
            "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
            "metadata": {"name": "robot-legacy", "annotations": {"kubernetes.io/service-account.name": "robot"}}})
        deadline = asyncio.get_running_loop().time() + 5
        while not (secret := await console.api("GET", "/api/v1/namespaces/team/secrets/robot-legacy")).get("data"):
            assert asyncio.get_running_loop().time() < deadline, "the token controller did not fill the Secret"
            await asyncio.sleep(0.05)
        token = base64.b64decode(secret["data"]["token"]).decode()
        assert (await token_review(console, token))["authenticated"] is True
        page = (await browser.get(ACCOUNT)).text
        assert '<a href="secrets/robot-legacy/revoke/">Revoke…</a>' in page
        confirm = ACCOUNT + "secrets/robot-legacy/revoke/"
        unconfirmed = await post(browser, confirm, confirm, {})
        assert unconfirmed.status_code == 400 and "Confirm the revocation." in unconfirmed.text
        no_csrf = await browser.post(confirm, data={"confirm": "yes"}, headers=ORIGIN)
        assert no_csrf.status_code == 403
        assert (await console.server.request("GET", "/api/v1/namespaces/team/secrets/robot-legacy")).status == 200
        revoked = await post(browser, confirm, confirm, {"confirm": "yes"})
        assert revoked.status_code == 302 and revoked.headers["location"] == ACCOUNT + "?revoked=robot-legacy"
        assert (await console.server.request("GET", "/api/v1/namespaces/team/secrets/robot-legacy")).status == 404
        # Within the API server's 10 s token cache (apiserver/auth/authn/tokencache.py), as upstream's.
        deadline = asyncio.get_running_loop().time() + SUCCESS_TTL_SECONDS + 5
        while (await token_review(console, token)).get("authenticated"):
            assert asyncio.get_running_loop().time() < deadline, "the revoked token still authenticates"
            await asyncio.sleep(0.05)
        page = (await browser.get(ACCOUNT + "?revoked=robot-legacy")).text
        assert "No legacy token Secrets." in page and "its token stops authenticating within 10 seconds" in page


async def test_only_token_secrets_of_the_account_can_be_revoked_here(console: ConsoleHarness) -> None:
    async with console.browser() as browser:
        await admin_with_robot(console, browser)
        await console.api("POST", "/api/v1/namespaces/team/secrets", {
            "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "plain"}, "stringData": {"a": "b"}})
        confirm = ACCOUNT + "secrets/plain/revoke/"
        refused = await post(browser, confirm, confirm, {"confirm": "yes"})
        assert refused.status_code == 400
        assert "Secret plain is not a token Secret of ServiceAccount robot" in refused.text
        assert (await console.server.request("GET", "/api/v1/namespaces/team/secrets/plain")).status == 200


async def test_a_restricted_user_is_told_what_is_missing(console: ConsoleHarness) -> None:
    await console.namespace("team")
    await console.service_account_token("team", "robot")
    async with console.browser() as browser:
        await console.log_in(browser, TOKENS["viewer"])
        page = await browser.get(ACCOUNT)
        assert page.status_code == 403
        assert ("The API server refused: serviceaccounts &quot;robot&quot; is forbidden: User &quot;viewer&quot; "
                "cannot get resource &quot;serviceaccounts&quot; in API group &quot;&quot; in the namespace "
                "&quot;team&quot;") in page.text
        token = await post(browser, "/console/serviceaccounts/", ACCOUNT + "token/", {})
        assert token.status_code == 403
        assert ("serviceaccounts &quot;robot&quot; is forbidden: User &quot;viewer&quot; cannot create resource "
                "&quot;serviceaccounts/token&quot; in API group &quot;&quot; in the namespace &quot;team&quot;"
                ) in token.text
        created = await post(browser, "/console/serviceaccounts/", "/console/serviceaccounts/?namespace=team",
                             {"name": "mine"})
        assert created.status_code == 403
        assert re.search(r"The API server refused: serviceaccounts is forbidden: User &quot;viewer&quot; cannot "
                         r"create resource", created.text)
