"""Timestamps and durations as cel-go v0.22 holds them: nanosecond precision, timestamps within years 1-9999
(`timestamp overflow`), durations within int64 nanoseconds (`integer overflow`), Go's duration parsing and printing."""
from __future__ import annotations

import datetime

import pytest

from apiserver.cel import DYN, EvaluationError, compile_expression, schema_type
from apiserver.cel.timelib import format_duration, parse_duration, parse_timestamp
from apiserver.cel.timevalues import Duration, Timestamp


def evaluate(expression: str, **variables: object) -> object:
    declared = {name: DYN for name in variables} or {"self": DYN}
    return compile_expression(expression, declared).evaluate(variables or {"self": {}})


@pytest.mark.parametrize(("expression", "message"), [
    ("timestamp('9999-12-31T23:59:59Z') + duration('1s')", "timestamp overflow"),
    ("duration('1s') + timestamp('9999-12-31T23:59:59Z')", "timestamp overflow"),
    ("timestamp('0001-01-01T00:00:00Z') - duration('1ns')", "timestamp overflow"),
    ("timestamp('9999-12-31T23:59:59.999999999Z') + duration('1ns')", "timestamp overflow"),
    ("duration('2562047h') + duration('2562047h')", "integer overflow"),
    ("duration('-2562047h') - duration('2562047h')", "integer overflow"),
    ("timestamp('9999-12-31T23:59:59Z') - timestamp('0001-01-01T00:00:00Z')", "integer overflow"),
    ("timestamp(253402300800 + dyn(0))", "timestamp overflow"),
    ("duration(dyn('1d'))", "type conversion error from 'string' to 'google.protobuf.Duration'"),
    ("duration(dyn('2562048h'))", "type conversion error from 'string' to 'google.protobuf.Duration'"),
    ("timestamp(dyn('2024-05-01'))", "type conversion error from 'string' to 'google.protobuf.Timestamp'"),
    ("timestamp(dyn('0001-01-01T00:00:00+01:00'))", "timestamp overflow"),
], ids=[
    "timestamp-plus", "duration-plus-timestamp", "timestamp-minus", "nanosecond-past-max", "duration-sum",
    "duration-difference", "timestamp-difference", "int-to-timestamp", "bad-duration-string", "duration-too-long",
    "bad-timestamp-string", "timestamp-before-year-one",
])
def test_overflow_and_conversion_errors_match_cel_go(expression: str, message: str) -> None:
    with pytest.raises(EvaluationError) as raised:
        evaluate(expression)
    assert str(raised.value) == message


@pytest.mark.parametrize(("expression", "expected"), [
    ("timestamp('9999-12-31T23:59:59.999999999Z') - timestamp('9999-12-31T23:59:59Z') == duration('999999999ns')",
     True),
    ("string(timestamp('2024-05-01T10:00:00.120Z') + duration('1ns'))", "2024-05-01T10:00:00.120000001Z"),
    ("timestamp('2024-05-01T10:00:00.000000001Z') != timestamp('2024-05-01T10:00:00Z')", True),
    ("string(duration('1.000000001s'))", "1.000000001s"),
    ("string(duration('1h1m1.5s'))", "3661.5s"),
    ("string(duration('-0.5ms'))", "-0.0005s"),
    ("string(duration('2562047h47m16.854775807s'))", "9223372036.854776s"),
    ("duration('-2562047h47m16.854775808s') < duration('0s')", True),
    ("duration('1.999999999s').getSeconds()", 1),
    ("duration('-90s').getMinutes()", -1),
    ("duration('1h').getMilliseconds()", 3600000),
    ("timestamp('2024-05-01T10:20:30.999999999Z').getMilliseconds()", 999),
    ("int(timestamp('1969-12-31T23:59:59.999999999Z'))", -1),
    ("optional.ofNonZeroValue(timestamp('0001-01-01T00:00:00Z')).hasValue()", False),
    ("optional.ofNonZeroValue(duration('1ns')).hasValue()", True),
    ("[duration('1ns'), duration('2ns')].sum() == duration('3ns')", True),
], ids=[
    "nanosecond-difference", "nanosecond-sum-printed", "nanosecond-inequality", "duration-nanoseconds-printed",
    "duration-fraction-printed", "negative-fraction-printed", "max-duration-printed-as-float", "min-duration",
    "seconds-truncate", "minutes-truncate-toward-zero", "milliseconds", "timestamp-milliseconds",
    "unix-seconds-floor", "zero-timestamp", "non-zero-duration", "list-sum",
])
def test_nanosecond_values_match_cel_go(expression: str, expected: object) -> None:
    assert evaluate(expression) == expected


def test_schema_values_keep_nanoseconds() -> None:
    schema = schema_type({"type": "object", "properties": {
        "at": {"type": "string", "format": "date-time"}, "wait": {"type": "string", "format": "duration"}}})
    program = compile_expression("string(self.at + self.wait)", {"self": schema})
    assert program.evaluate({"self": {"at": "2024-05-01T10:00:00.000000001Z", "wait": "1ns"}}) == \
        "2024-05-01T10:00:00.000000002Z"


@pytest.mark.parametrize("text", ["", "-", "1", "1d", ".s", "1.5.5s", "9223372037s", "2562048h", "1e3s"])
def test_go_duration_parsing_rejects(text: str) -> None:
    with pytest.raises(EvaluationError) as raised:
        parse_duration(text)
    assert str(raised.value) == f'time: invalid duration "{text}"'


@pytest.mark.parametrize(("text", "nanoseconds"), [
    ("0", 0), ("+1s", 10**9), ("1.s", 10**9), (".5s", 5 * 10**8), ("1h30m", 5400 * 10**9), ("1\u00b5s", 1000),
    ("1\u03bcs", 1000), ("1.5us", 1500), ("-9223372036854775808ns", -(2**63)), ("9223372036854775807ns", 2**63 - 1),
    ("0.1h", 360 * 10**9),
])
def test_go_duration_parsing_is_exact(text: str, nanoseconds: int) -> None:
    assert parse_duration(text) == Duration(nanoseconds)


def test_values_convert_to_python_time_truncated_to_microseconds() -> None:
    stamp = parse_timestamp("2024-05-01T12:00:00.123456789+02:00")
    assert stamp == Timestamp(1714557600, 123456789)
    assert stamp.to_datetime() == datetime.datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=datetime.UTC)
    assert Duration(-1999).to_timedelta() == datetime.timedelta(microseconds=-1)
    assert format_duration(Duration(1)) == "0.000000001s"
