"""Console security: headers everywhere, CSRF, cookie authentication only on console routes, escaping, Origin."""
from __future__ import annotations

from typing import Any

import pytest

from apiserver.asgi import BrowserRootRedirect
from console.security import CONTENT_SECURITY_POLICY, OriginCheck, origin_allowed
from tests.console.harness import ORIGIN, TOKENS, ConsoleHarness

EXPECTED_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY, "x-frame-options": "DENY",
    "x-content-type-options": "nosniff", "referrer-policy": "same-origin",
}


def test_the_policy_allows_nothing_inline_and_no_framing() -> None:
    assert "default-src 'self'" in CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY
    assert "unsafe" not in CONTENT_SECURITY_POLICY


@pytest.mark.parametrize("path", ["/console/login/", "/console/", "/static/console/css/base.css",
                                  "/static/django_htmx/htmx-2.min.js", "/console/nope/"])
async def test_every_console_response_carries_the_security_headers(console: ConsoleHarness, path: str) -> None:
    async with console.browser() as browser:
        answer = await browser.get(path)
        assert answer.status_code in (200, 302, 404), answer.status_code
        for name, value in EXPECTED_HEADERS.items():
            assert answer.headers.get(name) == value, (path, name, answer.headers)


async def test_pages_have_no_inline_script_or_style(console: ConsoleHarness) -> None:
    async with console.browser() as browser:
        await console.log_in(browser, TOKENS["admin"])
        for path in ("/console/login/", "/console/"):
            text = (await browser.get(path)).text
            assert "<script>" not in text and " style=" not in text and "<style" not in text, path
            assert ' on' + 'click=' not in text
            assert 'src="/static/django_htmx/htmx-2.min.js"' in text
            assert "https://" not in text.replace('value="https://', "")  # no CDN


async def test_a_form_without_csrf_token_is_refused_and_nothing_is_stored(console: ConsoleHarness) -> None:
    async with console.browser() as browser:
        await console.login_page_token(browser)  # has the CSRF cookie, but the form will not carry the token
        answer = await browser.post("/console/login/", data={"method": "token", "token": TOKENS["admin"]},
                                    headers=ORIGIN)
        assert answer.status_code == 403
        assert "CSRF check failed" in answer.text
        assert "pilothouse_session" not in answer.headers.get("set-cookie", "")
        assert (await browser.get("/console/")).status_code == 302


async def test_a_cross_site_post_is_refused(console: ConsoleHarness) -> None:
    async with console.browser() as browser:
        csrf = await console.login_page_token(browser)
        answer = await browser.post("/console/login/", data={
            "csrfmiddlewaretoken": csrf, "method": "token", "token": TOKENS["admin"]},
            headers={"Origin": "https://evil.example"})
        assert answer.status_code == 403


async def test_logout_needs_the_csrf_token(console: ConsoleHarness) -> None:
    async with console.browser() as browser:
        await console.log_in(browser, TOKENS["admin"])
        assert (await browser.post("/console/logout/", headers=ORIGIN)).status_code == 403
        assert (await browser.get("/console/")).status_code == 200


async def test_the_csrf_cookie_is_strict_and_unreadable_by_scripts(console: ConsoleHarness) -> None:
    async with console.browser() as browser:
        answer = await browser.get("/console/login/")
        cookie = answer.headers["set-cookie"]
        assert cookie.startswith("pilothouse_csrf=")
        for attribute in ("HttpOnly", "Secure", "SameSite=Strict", "Path=/console/"):
            assert attribute in cookie


@pytest.mark.parametrize("path", ["/api/v1/namespaces", "/apis/apps/v1/deployments", "/livez", "/version"])
async def test_the_session_cookie_does_not_authenticate_api_requests(console: ConsoleHarness, path: str) -> None:
    async with console.browser() as browser:
        await console.log_in(browser, TOKENS["admin"])
        session_id = browser.cookies.get("pilothouse_session")
        answer = await browser.get(path, headers={"Accept": "application/json",
                                                  "Cookie": f"pilothouse_session={session_id}"})
        if path in ("/livez", "/version"):
            assert answer.status_code == 200  # public to anonymous anyway
            return
        assert answer.status_code == 403, answer.text
        assert 'User "system:anonymous" cannot list resource' in answer.json()["message"]


async def test_a_browser_asking_root_for_html_goes_to_the_console(console: ConsoleHarness) -> None:
    async with console.browser() as browser:
        answer = await browser.get("/")
        assert (answer.status_code, answer.headers["location"]) == (302, "/console/")
        api = await browser.get("/", headers={"Accept": "application/json"})
        assert api.status_code in (200, 403) and api.headers["content-type"].startswith("application/json")
        with_token = await browser.get("/", headers={"Authorization": f"Bearer {TOKENS['admin']}"})
        assert with_token.status_code == 200 and "/api" in with_token.json()["paths"]
        assert (await browser.get("/api", headers={"Accept": "text/html"})).status_code != 302


@pytest.mark.parametrize(("method", "headers", "redirect"), [
    ("GET", [(b"accept", b"text/html,application/xhtml+xml,*/*;q=0.8")], True),
    ("HEAD", [(b"accept", b"text/html")], True),
    ("GET", [(b"accept", b"Text/HTML; q=0.9")], True),
    ("POST", [(b"accept", b"text/html")], False),
    ("GET", [(b"accept", b"application/json, */*")], False),
    ("GET", [(b"accept", b"*/*")], False),
    ("GET", [], False),
    ("GET", [(b"accept", b"text/html"), (b"authorization", b"Bearer x")], False),
    ("GET", [(b"accept", b"text/htmlx")], False),
])
def test_root_redirect_rules(method: str, headers: list[tuple[bytes, bytes]], redirect: bool) -> None:
    scope = {"type": "http", "path": "/", "method": method, "headers": headers}
    assert BrowserRootRedirect.wants_console(scope) is redirect
    assert BrowserRootRedirect.wants_console({**scope, "path": "/api"}) is False


async def test_resource_content_is_escaped(console: ConsoleHarness) -> None:
    payload = '<script>alert("x")</script>'
    await console.api("POST", "/api/v1/namespaces/default/events", {
        "apiVersion": "v1", "kind": "Event", "metadata": {"name": "xss", "labels": {"app": "x"}},
        "involvedObject": {"kind": "Pod", "name": "web", "namespace": "default"},
        "reason": "Bad<b>", "message": payload, "type": "Warning",
    })
    async with console.browser() as browser:
        await console.log_in(browser, TOKENS["admin"])
        page = (await browser.get("/console/?namespace=default")).text
        assert payload not in page
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
        assert "Bad&lt;b&gt;" in page


def ws_scope(origin: str | None, host: str = "console.example:6443", scheme: str = "wss") -> dict[str, Any]:
    headers = [(b"host", host.encode())]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    return {"type": "websocket", "scheme": scheme, "path": "/console/ws/x", "headers": headers}


@pytest.mark.parametrize(("origin", "host", "allowed"), [
    ("https://console.example:6443", "console.example:6443", True),
    ("https://CONSOLE.example:6443", "console.example:6443", True),
    ("https://console.example", "console.example:443", True),
    ("https://console.example:6444", "console.example:6443", False),
    ("http://console.example:6443", "console.example:6443", False),
    ("https://evil.example", "console.example:6443", False),
    ("https://console.example:6443.evil.example", "console.example:6443", False),
    ("null", "console.example:6443", False),
    (None, "console.example:6443", False),
    ("https://console.example:6443", "", False),
])
def test_origin_must_be_our_own(origin: str | None, host: str, allowed: bool) -> None:
    assert origin_allowed(ws_scope(origin, host)) is allowed


async def test_origin_check_closes_foreign_upgrades_before_the_app_runs() -> None:
    reached: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        reached.append(scope["path"])

    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.connect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    guarded = OriginCheck(app)
    await guarded(ws_scope("https://evil.example"), receive, send)
    assert (reached, sent) == ([], [{"type": "websocket.close", "code": 1008}])
    await guarded(ws_scope("https://console.example:6443"), receive, send)
    assert reached == ["/console/ws/x"]
