"""Unknown console pages answer 404 inside the console's own layout (a landmark, the skip link, no stack trace)."""
from __future__ import annotations

from tests.console.harness import ConsoleHarness


async def test_an_unknown_console_page_is_a_404_in_the_console_layout(console: ConsoleHarness) -> None:
    async with console.browser() as browser:
        answer = await browser.get("/console/no-such-page/<b>x</b>")
    assert answer.status_code == 404
    assert '<main id="main" tabindex="-1">' in answer.text and 'class="skip-link"' in answer.text
    assert "<b>x</b>" not in answer.text
    assert "Content-Security-Policy" in answer.headers or "content-security-policy" in answer.headers
