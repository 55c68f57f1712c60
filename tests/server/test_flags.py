"""Flags: Go duration syntax, pflag's forms and wording, and `manage.py serve`'s exit codes for bad flags."""
from __future__ import annotations

import subprocess

import pytest

from apiserver.server.config import SERVE_FLAGS
from apiserver.server.flags import (
    DURATION,
    INT,
    STRINGS,
    Flag,
    FlagError,
    HelpRequested,
    format_duration_ns,
    parse_duration_ns,
    parse_flags,
)
from tests.support.server import ROOT, VENV_PYTHON

MS, S = 1_000_000, 1_000_000_000


@pytest.mark.parametrize(
    ("text", "nanoseconds"),
    [
        ("0", 0),
        ("0s", 0),
        ("300ms", 300 * MS),
        ("5m", 300 * S),
        ("1h30m", 5400 * S),
        ("1.5s", 1500 * MS),
        (".5s", 500 * MS),
        ("2h45m10.5s", (2 * 3600 + 45 * 60 + 10) * S + 500 * MS),
        ("-1s", -S),
        ("+2s", 2 * S),
        ("1us", 1_000),
        ("1\u00b5s", 1_000),
        ("7ns", 7),
    ],
)
def test_go_durations_parse(text: str, nanoseconds: int) -> None:
    assert parse_duration_ns(text) == nanoseconds


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", 'time: invalid duration ""'),
        ("abc", 'time: invalid duration "abc"'),
        ("5", 'time: missing unit in duration "5"'),
        ("5x", 'time: unknown unit "x" in duration "5x"'),
        ("1h5", 'time: missing unit in duration "1h5"'),
        (".s", 'time: invalid duration ".s"'),
        ("5 s", 'time: unknown unit " s" in duration "5 s"'),
        ("-", 'time: invalid duration "-"'),
    ],
)
def test_malformed_go_durations_are_rejected_with_go_wording(text: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_duration_ns(text)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("nanoseconds", "text"),
    [(0, "0s"), (300 * S, "5m0s"), (60 * S, "1m0s"), (5400 * S, "1h30m0s"), (300 * MS, "300ms"), (1500 * MS, "1.5s")],
)
def test_durations_format_as_go_prints_them(nanoseconds: int, text: str) -> None:
    assert format_duration_ns(nanoseconds) == text


TABLE = (
    Flag("port", INT, 1, ""),
    Flag("period", DURATION, 0, ""),
    Flag("servers", STRINGS, (), ""),
)


@pytest.mark.parametrize(
    "args",
    [["--port", "7", "--period", "2s"], ["--port=7", "--period=2s"], ["--period=2s", "--", ], ["--port=0x7"]],
    ids=["separate-values", "equals-values", "double-dash", "hex-int"],
)
def test_flags_accept_both_value_forms(args: list[str]) -> None:
    values = parse_flags(TABLE, args, command="serve")
    assert values["port"] == (7 if "--port" in " ".join(args) else 1)


def test_string_slices_split_on_commas_and_accumulate() -> None:
    values = parse_flags(TABLE, ["--servers", "a,b", "--servers=c"], command="serve")
    assert values["servers"] == ("a", "b", "c")


def test_defaults_fill_unset_flags() -> None:
    assert parse_flags(TABLE, [], command="serve") == {"port": 1, "period": 0, "servers": ()}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--bogus"], "unknown flag: --bogus"),
        (["--bogus=1"], "unknown flag: --bogus"),
        (["-x"], "unknown shorthand flag: 'x' in -x"),
        (["--port"], "flag needs an argument: --port"),
        (["--port", "abc"],
         'invalid argument "abc" for "--port" flag: strconv.ParseInt: parsing "abc": invalid syntax'),
        (["--port="], 'invalid argument "" for "--port" flag: strconv.ParseInt: parsing "": invalid syntax'),
        (["--period", "5"], 'invalid argument "5" for "--period" flag: time: missing unit in duration "5"'),
        (["---port"], "bad flag syntax: ---port"),
        (["stray"], '"serve" does not take any arguments, got ["stray"]'),
    ],
)
def test_bad_flags_fail_with_pflag_wording(args: list[str], message: str) -> None:
    with pytest.raises(FlagError) as caught:
        parse_flags(TABLE, args, command="serve")
    assert str(caught.value) == message


@pytest.mark.parametrize("args", [["--help"], ["-h"], ["--port", "2", "--help"]])
def test_help_is_recognised(args: list[str]) -> None:
    with pytest.raises(HelpRequested):
        parse_flags(TABLE, args, command="serve")


def test_serve_flag_names_are_kube_apiserver_spelling() -> None:
    names = {flag.name for flag in SERVE_FLAGS}
    assert {
        "secure-port", "bind-address", "advertise-address", "storage-backend", "etcd-servers", "etcd-prefix",
        "etcd-cafile", "etcd-certfile", "etcd-keyfile", "etcd-compaction-interval", "tls-cert-file",
        "tls-private-key-file", "client-ca-file", "livez-grace-period", "shutdown-delay-duration", "data-dir",
    } <= names


def _serve(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(VENV_PYTHON), "manage.py", "serve", *args], cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={"PATH": "/usr/bin:/bin", "PILOTHOUSE_SECRET_KEY": "tests-only",
             "DJANGO_SETTINGS_MODULE": "apiserver.settings"},
    )


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["--bogus"], "Error: unknown flag: --bogus"),
        (["--secure-port", "abc"],
         'Error: invalid argument "abc" for "--secure-port" flag: strconv.ParseInt: parsing "abc": invalid syntax'),
        (["--shutdown-delay-duration=5x"],
         'Error: invalid argument "5x" for "--shutdown-delay-duration" flag: time: unknown unit "x" in duration "5x"'),
        (["--secure-port", "70000"],
         "Error: --secure-port 70000 must be between 1 and 65535, inclusive. It cannot be turned off with 0"),
    ],
    ids=["unknown", "malformed-port", "malformed-duration", "port-out-of-range"],
)
def test_serve_rejects_bad_flags_with_one_line_and_exit_code_2(args: list[str], line: str) -> None:
    result = _serve(*args)
    assert (result.returncode, result.stderr, result.stdout) == (2, line + "\n", "")


def test_serve_help_lists_every_flag_and_exits_0() -> None:
    result = _serve("--help")
    assert result.returncode == 0, result.stderr
    for flag in SERVE_FLAGS:
        assert f"--{flag.name} " in result.stdout
    assert "(default 6443)" in result.stdout and "(default 5m0s)" in result.stdout
