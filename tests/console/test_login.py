"""Login, logout, sessions and timeouts, through the real composition root (httpx against the ASGI app)."""
from __future__ import annotations

import time

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session

from tests.console.harness import BASE, ORIGIN, TOKENS, ConsoleHarness


async def session_rows() -> int:
    return await Session.objects.acount()


async def test_anonymous_pages_redirect_to_login_with_next(console: ConsoleHarness) -> None:
    async with console.browser() as browser:
        answer = await browser.get("/console/?namespace=kube-system")
        assert answer.status_code == 302
        assert answer.headers["location"] == "/console/login/?next=%2Fconsole%2F%3Fnamespace%3Dkube-system"


async def test_admin_logs_in_with_a_token_and_sees_the_overview(console: ConsoleHarness) -> None:
    async with console.browser() as browser:
        answer = await console.log_in(browser, TOKENS["admin"])
        assert (answer.status_code, answer.headers["location"]) == (302, "/console/"), answer.text
        cookie = answer.headers["set-cookie"]
        assert "pilothouse_session=" in cookie
        for attribute in ("HttpOnly", "Secure", "SameSite=Strict", "Path=/console/"):
            assert attribute in cookie, cookie
        assert TOKENS["admin"] not in cookie
        page = await browser.get("/console/")
        assert page.status_code == 200, page.text
        assert '<span class="user" title="Logged in as">admin</span>' in page.text
        assert "<li>system:masters</li>" in page.text and "<li>system:authenticated</li>" in page.text
        assert TOKENS["admin"] not in page.text
        assert 'id="server-version">v1.32' in page.text
        assert "<code>/livez</code>" in page.text and "<code>/readyz</code>" in page.text
        assert 'href="?namespace=kube-system"' in page.text  # admin may list namespaces


async def test_an_invalid_token_is_refused_and_nothing_is_stored(console: ConsoleHarness) -> None:
    before = await session_rows()
    async with console.browser() as browser:
        answer = await console.log_in(browser, "not-a-real-token")
        assert answer.status_code == 401
        assert "Invalid credential: the API server did not accept it (401 Unauthorized)." in answer.text
        assert "pilothouse_session" not in answer.headers.get("set-cookie", "")
        assert (await browser.get("/console/")).status_code == 302
    assert await session_rows() == before


@pytest.mark.parametrize("token", ["", "two words", "line\nbreak"])
async def test_a_malformed_token_is_refused_before_any_api_call(console: ConsoleHarness, token: str) -> None:
    async with console.browser() as browser:
        answer = await console.log_in(browser, token)
        assert answer.status_code == 400
        assert 'role="alert"' in answer.text


async def test_logout_destroys_the_session(console: ConsoleHarness) -> None:
    async with console.browser() as browser:
        await console.log_in(browser, TOKENS["admin"])
        session_id = browser.cookies.get("pilothouse_session")
        assert await Session.objects.filter(session_key=session_id).aexists()
        page = await browser.get("/console/")
        csrf = page.text.split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
        answer = await browser.post("/console/logout/", data={"csrfmiddlewaretoken": csrf}, headers=ORIGIN)
        assert (answer.status_code, answer.headers["location"]) == (302, "/console/login/")
        assert not await Session.objects.filter(session_key=session_id).aexists()
        assert (await browser.get("/console/")).status_code == 302
        # An old copy of the cookie is worth nothing either.
        browser.cookies.set("pilothouse_session", session_id, domain="testserver", path="/console/")
        assert (await browser.get("/console/")).status_code == 302


async def test_logout_is_post_only(console: ConsoleHarness) -> None:
    async with console.browser() as browser:
        await console.log_in(browser, TOKENS["admin"])
        assert (await browser.get("/console/logout/")).status_code == 405
        assert (await browser.get("/console/")).status_code == 200


async def test_login_rotates_the_session_id(console: ConsoleHarness) -> None:
    async with console.browser() as browser:
        await console.log_in(browser, TOKENS["viewer"])
        first = browser.cookies.get("pilothouse_session")
        await console.log_in(browser, TOKENS["admin"])
        assert browser.cookies.get("pilothouse_session") != first
        assert not await Session.objects.filter(session_key=first).aexists()


@pytest.mark.parametrize("setting", ["CONSOLE_SESSION_IDLE_TIMEOUT", "CONSOLE_SESSION_ABSOLUTE_TIMEOUT"])
async def test_timeouts_end_the_session(console: ConsoleHarness, setting: str,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    async with console.browser() as browser:
        await console.log_in(browser, TOKENS["admin"])
        assert (await browser.get("/console/")).status_code == 200
        session_id = browser.cookies.get("pilothouse_session")
        now = time.time()
        monkeypatch.setattr(time, "time", lambda: now + getattr(settings, setting) + 1)
        answer = await browser.get("/console/")
        assert answer.status_code == 302 and answer.headers["location"].startswith("/console/login/")
        assert not await Session.objects.filter(session_key=session_id).aexists()


async def test_activity_keeps_an_idle_session_alive_but_not_past_the_absolute_timeout(
        console: ConsoleHarness, monkeypatch: pytest.MonkeyPatch) -> None:
    idle = settings.CONSOLE_SESSION_IDLE_TIMEOUT
    assert (idle, settings.CONSOLE_SESSION_ABSOLUTE_TIMEOUT) == (1800, 43200)
    async with console.browser() as browser:
        await console.log_in(browser, TOKENS["admin"])
        start = time.time()
        clock = [start]
        monkeypatch.setattr(time, "time", lambda: clock[0])
        for step in range(1, 5):
            clock[0] = start + step * (idle - 60)
            assert (await browser.get("/console/")).status_code == 200
        clock[0] = start + settings.CONSOLE_SESSION_ABSOLUTE_TIMEOUT + 1
        assert (await browser.get("/console/")).status_code == 302


async def test_next_stays_inside_the_console(console: ConsoleHarness) -> None:
    async with console.browser() as browser:
        for next_url, expected in [("/console/?namespace=default", "/console/?namespace=default"),
                                   ("https://evil.example/", "/console/"), ("//evil.example/", "/console/"),
                                   ("/api/v1/secrets", "/console/")]:
            answer = await console.log_in(browser, TOKENS["admin"], next_url=next_url)
            assert answer.headers["location"] == expected


def test_base_is_https() -> None:
    assert BASE.startswith("https://")
