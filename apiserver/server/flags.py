"""Command-line flags with kube-apiserver's syntax and error wording (cobra + pflag).

A flag is one `Flag` value in a table; `parse_flags` turns argv into a dict of values keyed by the flag's
Python name (`secure-port` → `secure_port`). Errors carry pflag's wording, so a mistyped flag reads exactly as
it would against kube-apiserver: `unknown flag: --bogus`, `invalid argument "abc" for "--secure-port" flag: ...`.
"""
from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass


class FlagError(Exception):
    """A flag is unknown, lacks its value or has a value that does not parse; the message is pflag's."""


class HelpRequested(Exception):
    """`--help` or `-h` was given: print the usage and exit 0."""


@dataclass(frozen=True, slots=True)
class FlagKind:
    """How one type of flag parses and shows its default.

    `parse` raises ValueError whose message is the part pflag prints after `flag: `.
    """

    name: str
    parse: Callable[[str], object]
    show: Callable[[object], str]
    is_boolean: bool = False
    accumulates: bool = False


@dataclass(frozen=True, slots=True)
class Flag:
    """One flag: `--<name>`, its kind, its default value and the help line."""

    name: str
    kind: FlagKind
    default: object
    help: str

    @property
    def dest(self) -> str:
        return self.name.replace("-", "_")


# --- Go durations ------------------------------------------------------------------------------------------

_NANOSECONDS_PER_UNIT = {
    "ns": 1,
    "us": 1_000,
    "\u00b5s": 1_000,  # micro sign
    "\u03bcs": 1_000,  # Greek mu
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}
_DURATION_PART = re.compile(r"(\d*)(?:\.(\d*))?([^\d.]*)")
_MAX_DURATION_NS = 2**63 - 1


def parse_duration_ns(text: str) -> int:
    """Parse a Go duration ("300ms", "1h30m", "-1.5s", "0") into nanoseconds, as Go's time.ParseDuration.

    Raises ValueError with Go's message (`time: invalid duration "abc"`).
    """
    original, rest, sign = text, text, 1
    if rest[:1] in ("-", "+"):
        sign, rest = (-1 if rest[0] == "-" else 1), rest[1:]
    if rest == "0":
        return 0
    if rest == "":
        raise ValueError(f"time: invalid duration {_go_quote(original)}")
    total = 0
    while rest:
        match = _DURATION_PART.match(rest)
        assert match is not None  # the pattern matches the empty string
        whole, fraction, unit = match.group(1), match.group(2), match.group(3)
        if not whole and not fraction:
            raise ValueError(f"time: invalid duration {_go_quote(original)}")
        if not unit:
            raise ValueError(f"time: missing unit in duration {_go_quote(original)}")
        if unit not in _NANOSECONDS_PER_UNIT:
            raise ValueError(f"time: unknown unit {_go_quote(unit)} in duration {_go_quote(original)}")
        scale = _NANOSECONDS_PER_UNIT[unit]
        total += int(whole or "0") * scale + _fraction_ns(fraction or "", scale)
        if total > _MAX_DURATION_NS:
            raise ValueError(f"time: invalid duration {_go_quote(original)}")
        rest = rest[match.end():]
    return sign * total


def _fraction_ns(digits: str, scale: int) -> int:
    return int(digits) * scale // 10 ** len(digits) if digits else 0


def format_duration_ns(nanoseconds: int) -> str:
    """Format nanoseconds as Go's time.Duration.String does ("5m0s", "300ms", "0s")."""
    if nanoseconds == 0:
        return "0s"
    sign, value = ("-" if nanoseconds < 0 else ""), abs(nanoseconds)
    if value < 1_000_000_000:
        for unit, scale in (("ms", 1_000_000), ("\u00b5s", 1_000), ("ns", 1)):
            if value >= scale:
                return sign + _decimal(value, scale) + unit
    hours, value = divmod(value, 3_600_000_000_000)
    minutes, value = divmod(value, 60_000_000_000)
    seconds = _decimal(value, 1_000_000_000) + "s"
    if hours:
        return f"{sign}{hours}h{minutes}m{seconds}"
    return f"{sign}{minutes}m{seconds}" if minutes else sign + seconds


def _decimal(value: int, scale: int) -> str:
    whole, fraction = divmod(value, scale)
    digits = str(fraction).rjust(len(str(scale)) - 1, "0").rstrip("0")
    return f"{whole}.{digits}" if digits else str(whole)


def _go_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


# --- value kinds ---------------------------------------------------------------------------------------------


def _parse_int(text: str) -> int:
    # pflag's IntVar: strconv.ParseInt(s, 0, 64), so 0x/0o/0b prefixes and underscores after a prefix work.
    try:
        value = int(text, 0) if text.strip() == text and text else None
    except ValueError:
        value = None
    if value is None:
        raise ValueError(f"strconv.ParseInt: parsing {_go_quote(text)}: invalid syntax")
    if not -(2**63) <= value < 2**63:
        raise ValueError(f"strconv.ParseInt: parsing {_go_quote(text)}: value out of range")
    return value


def _parse_ip(text: str) -> str:
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        raise ValueError(f"failed to parse IP: {_go_quote(text)}") from None


def _parse_bool(text: str) -> bool:
    if text in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if text in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    raise ValueError(f"strconv.ParseBool: parsing {_go_quote(text)}: invalid syntax")


def _parse_strings(text: str) -> tuple[str, ...]:
    # pflag's StringSlice reads one CSV record; plain comma splitting covers every value without quotes.
    return tuple(part.strip() for part in text.split(",")) if text else ()


def _show_duration(value: object) -> str:
    assert isinstance(value, int)
    return format_duration_ns(value)


def _show_strings(value: object) -> str:
    assert isinstance(value, tuple)
    return "[" + ",".join(value) + "]"


INT = FlagKind("int", _parse_int, str)
STRING = FlagKind("string", str, str)
IP = FlagKind("ip", _parse_ip, str)
BOOL = FlagKind("", _parse_bool, lambda value: str(value).lower(), is_boolean=True)
DURATION = FlagKind("duration", parse_duration_ns, _show_duration)  # values are nanoseconds
STRINGS = FlagKind("strings", _parse_strings, _show_strings, accumulates=True)
# pflag's StringArray: every occurrence adds its whole text, commas included (--service-account-key-file).
STRING_ARRAY = FlagKind("stringArray", lambda text: (text,), _show_strings, accumulates=True)
# pflag's mapStringString as cliflag.ConfigurationMap uses it: every occurrence adds its `k=v,k=v` text.
MAP_STRING_STRING = FlagKind("mapStringString", lambda text: (text,), lambda value: "", accumulates=True)


# --- parsing ------------------------------------------------------------------------------------------------


def parse_flags(flags: Sequence[Flag], args: Sequence[str], *, command: str) -> dict[str, object]:
    """Parse `args` as pflag does (interspersed, `--name value` and `--name=value`, `--` ends flags).

    Returns every flag's value keyed by `Flag.dest`, defaults included. Raises FlagError or HelpRequested.
    """
    by_name = {flag.name: flag for flag in flags}
    values: dict[str, object] = {flag.dest: flag.default for flag in flags}
    changed: set[str] = set()
    positional: list[str] = []
    remaining = list(args)
    while remaining:
        arg = remaining.pop(0)
        if arg == "--":
            positional.extend(remaining)
            break
        if not arg.startswith("-") or arg == "-":
            positional.append(arg)
        elif arg.startswith("--"):
            _parse_long(arg, remaining, by_name, values, changed)
        else:
            _reject_shorthand(arg)
    if any(positional):
        raise FlagError(f"{_go_quote(command)} does not take any arguments, got {_go_string_list(positional)}")
    return values


def _parse_long(
    arg: str, remaining: list[str], by_name: Mapping[str, Flag], values: dict[str, object], changed: set[str]
) -> None:
    name, has_value, value = arg[2:].partition("=")
    if not name or name[0] in "-=":
        raise FlagError(f"bad flag syntax: {arg}")
    flag = by_name.get(name)
    if flag is None:
        if name == "help":
            raise HelpRequested
        raise FlagError(f"unknown flag: --{name}")
    if not has_value:
        if flag.kind.is_boolean:
            value = "true"
        elif remaining:
            value = remaining.pop(0)
        else:
            raise FlagError(f"flag needs an argument: --{name}")
    try:
        parsed = flag.kind.parse(value)
    except ValueError as error:
        raise FlagError(f"invalid argument {_go_quote(value)} for {_go_quote('--' + name)} flag: {error}") from None
    if flag.kind.accumulates and flag.dest in changed:
        parsed = (*values[flag.dest], *parsed)  # type: ignore[misc]
    values[flag.dest] = parsed
    changed.add(flag.dest)


def _reject_shorthand(arg: str) -> None:
    letter = arg[1]
    if letter == "h":
        raise HelpRequested
    if letter in "-=":
        raise FlagError(f"bad flag syntax: {arg}")
    raise FlagError(f"unknown shorthand flag: {letter!r} in {arg}")


def _go_string_list(items: Sequence[str]) -> str:
    return "[" + " ".join(_go_quote(item) for item in items) + "]"


def format_usage(flags: Sequence[Flag], *, usage_line: str) -> str:
    """The `--help` text: a usage line, then one aligned line per flag, as cobra prints them."""
    rows = []
    for flag in flags:
        left = f"      --{flag.name}" + (f" {flag.kind.name}" if flag.kind.name else "")
        shown = flag.kind.show(flag.default)
        default = f" (default {_go_quote(shown) if flag.kind is STRING else shown})" if _is_set(flag.default) else ""
        rows.append((left, flag.help + default))
    width = max(len(left) for left, _ in rows) + 3
    lines = [f"Usage:\n  {usage_line}\n", "Flags:"]
    lines += [left.ljust(width) + text for left, text in rows]
    lines.append("  -h, --help".ljust(width) + "help for serve")
    return "\n".join(lines) + "\n"


def _is_set(default: object) -> bool:
    return default not in ("", (), None, False)
