"""The log formatter prints `extra=` fields after the event name."""
from __future__ import annotations

import logging

from apiserver.observability.logging import KeyValueFormatter


def _record(extra: dict[str, object], exc_info: object = None) -> logging.LogRecord:
    logger = logging.getLogger("pilothouse.test")
    return logger.makeRecord("pilothouse.test", logging.INFO, __file__, 1, "compacted", (), exc_info, extra=extra)


def test_extra_fields_follow_the_event_sorted_and_quoted_when_needed() -> None:
    formatter = KeyValueFormatter("%(levelname)s %(name)s: %(message)s")
    line = formatter.format(_record({"revision": 42, "reason": "no CA key", "empty": ""}))
    assert line == 'INFO pilothouse.test: compacted empty="" reason="no CA key" revision=42'


def test_a_record_without_extra_is_printed_as_the_format_says() -> None:
    formatter = KeyValueFormatter("%(levelname)s %(name)s: %(message)s")
    assert formatter.format(_record({})) == "INFO pilothouse.test: compacted"


def test_a_traceback_stays_below_the_fields() -> None:
    formatter = KeyValueFormatter("%(message)s")
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        import sys

        record = _record({"controller": "gc"}, sys.exc_info())
    first, _, rest = formatter.format(record).partition("\n")
    assert first == "compacted controller=gc"
    assert rest.startswith("Traceback") and "RuntimeError: boom" in rest


def test_settings_use_the_formatter() -> None:
    from apiserver import settings

    assert settings.LOGGING["formatters"]["plain"]["()"] == "apiserver.observability.logging.KeyValueFormatter"
