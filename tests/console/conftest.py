"""Django for the console tests: settings, and a throw-away console database for the whole session."""
from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "apiserver.settings")

import django

django.setup()

from tests.console.harness import ConsoleHarness, console_harness  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def console_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    from django.db import connection

    name = tmp_path_factory.mktemp("console-db") / "console.sqlite3"
    connection.settings_dict.setdefault("TEST", {})["NAME"] = str(name)
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    yield
    connection.creation.destroy_test_db(old_name, verbosity=0)


@pytest.fixture
async def console(tmp_path: Path) -> AsyncIterator[ConsoleHarness]:
    async with console_harness(tmp_path) as harness:
        yield harness


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's chromium under Playwright, one per module (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright

    from tests.console.test_browser import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()
