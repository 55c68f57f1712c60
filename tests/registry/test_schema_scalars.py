"""Go's errors for base64 bytes (encoding/base64) and RFC 3339 times (time.Parse), positions included."""
from __future__ import annotations

import base64

import pytest

from apiserver.registry.schema_scalars import RFC3339_MICRO, go_base64_error, go_time_error

BASE64 = [
    ("", None), ("aGVsbG8=", None), ("aGVsbA==", None), ("aGVs", None), ("aGVs\nbG8=", None), ("aGVs\r\n", None),
    ("hello", 4), ("hello!", 5), ("a", 0), ("ab", 0), ("abc", 0), ("ab=", 3), ("=abc", 0), ("a===", 1),
    ("ab=c", 2), ("aGVsbA==x", 8), ("aGVsbA=", 7), ("aGVsbG8=\n\nx", 10), ("aGVs bG8=", 4), ("héllo", 1),
]


@pytest.mark.parametrize(("text", "offset"), BASE64)
def test_base64_errors_report_go_offsets(text: str, offset: int | None) -> None:
    expected = None if offset is None else f"illegal base64 data at input byte {offset}"
    assert go_base64_error(text) == expected


@pytest.mark.parametrize("size", range(12))
def test_base64_of_any_length_is_accepted(size: int) -> None:
    assert go_base64_error(base64.b64encode(bytes(range(size))).decode()) is None


LAYOUT = '"2006-01-02T15:04:05Z07:00"'
TIMES = [
    ("2024-01-02T03:04:05Z", None),
    ("2024-01-02T03:04:05+01:00", None),
    ("2024-01-02T03:04:05.123456789Z", None),
    ("2024-01-02T3:04:05Z", None),
    ("2024-02-29T00:00:00Z", None),
    ("yesterday", f'parsing time "yesterday" as {LAYOUT}: cannot parse "yesterday" as "2006"'),
    ("2024-1-02T03:04:05Z", f'parsing time "2024-1-02T03:04:05Z" as {LAYOUT}: cannot parse "1-02T03:04:05Z" as "01"'),
    ("2024-01-02 03:04:05Z", f'parsing time "2024-01-02 03:04:05Z" as {LAYOUT}: cannot parse " 03:04:05Z" as "T"'),
    ("2024-01-02T03:04:05", f'parsing time "2024-01-02T03:04:05" as {LAYOUT}: cannot parse "" as "Z07:00"'),
    ("2024-13-02T03:04:05Z", 'parsing time "2024-13-02T03:04:05Z": month out of range'),
    ("2024-01-02T25:04:05Z", 'parsing time "2024-01-02T25:04:05Z": hour out of range'),
    ("2024-01-02T03:60:05Z", 'parsing time "2024-01-02T03:60:05Z": minute out of range'),
    ("2023-02-29T00:00:00Z", 'parsing time "2023-02-29T00:00:00Z": day out of range'),
    ("2024-01-02T03:04:05Zjunk", 'parsing time "2024-01-02T03:04:05Zjunk": extra text: "junk"'),
    ("2024-01-02T03:04:05+25:00", 'parsing time "2024-01-02T03:04:05+25:00": time zone offset hour out of range'),
]


@pytest.mark.parametrize(("text", "error"), TIMES)
def test_rfc3339_errors_match_time_parse(text: str, error: str | None) -> None:
    assert go_time_error(text) == error


def test_micro_time_needs_six_fraction_digits() -> None:
    assert go_time_error("2024-01-02T03:04:05.123456Z", RFC3339_MICRO) is None
    assert go_time_error("2024-01-02T03:04:05Z", RFC3339_MICRO) == (
        'parsing time "2024-01-02T03:04:05Z" as "2006-01-02T15:04:05.000000Z07:00": cannot parse "Z" as ".000000"'
    )
