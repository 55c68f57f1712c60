"""Cron schedules as CronJob validation parses them: robfig/cron v3's standard parser, with its error texts.

Five fields (minute, hour, day of month, month, day of week; names such as `jan` and `mon` allowed), the
descriptors `@yearly`/`@annually`, `@monthly`, `@weekly`, `@daily`/`@midnight`, `@hourly` and `@every <duration>`,
and a leading `TZ=`/`CRON_TZ=` zone. `parse_error(schedule)` returns the message upstream's ParseStandard error
carries (it becomes the detail of `spec.schedule: Invalid value`), or None for a valid schedule.
"""
from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class _Bounds:
    minimum: int
    maximum: int
    names: dict[str, int]


_MONTHS = {name: number for number, name in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}
_DAYS = {name: number for number, name in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}
# The standard parser adds a seconds field of "0" in front of the five it reads.
_FIELDS: Final = (
    _Bounds(0, 59, {}), _Bounds(0, 59, {}), _Bounds(0, 23, {}), _Bounds(1, 31, {}), _Bounds(1, 12, _MONTHS),
    _Bounds(0, 6, _DAYS),
)
_DESCRIPTORS: Final = frozenset({"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"})
_DURATION_UNITS: Final = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}
_DURATION_PART = re.compile(r"([0-9]*(?:\.[0-9]*)?)(ns|us|µs|μs|ms|s|m|h)")


class CronError(ValueError):
    """A schedule robfig/cron rejects; the text is its error message."""


def parse_error(schedule: str) -> str | None:
    """The ParseStandard error for `schedule`, None when it parses."""
    try:
        _parse(schedule)
    except CronError as error:
        return str(error)
    return None


def _parse(spec: str) -> None:
    if not spec:
        raise CronError("empty spec string")
    if spec.startswith(("TZ=", "CRON_TZ=")):
        space = spec.find(" ")
        zone = spec[spec.find("=") + 1:space if space >= 0 else len(spec) - 1]
        if not is_known_zone(zone):
            raise CronError(f"provided bad location {zone}: unknown time zone {zone}")
        spec = spec[space:].strip() if space >= 0 else ""
    if spec.startswith("@"):
        _parse_descriptor(spec)
        return
    fields = spec.split()
    if len(fields) != 5:
        raise CronError(f"expected exactly 5 fields, found {len(fields)}: [{' '.join(fields)}]")
    for field, bounds in zip(["0", *fields], _FIELDS, strict=True):
        for expression in (part for part in field.split(",") if part):
            _parse_range(expression, bounds)


def _parse_descriptor(spec: str) -> None:
    if spec in _DESCRIPTORS:
        return
    if spec.startswith("@every "):
        text = spec[len("@every "):]
        if not _is_go_duration(text):
            raise CronError(f'failed to parse duration {spec}: time: invalid duration "{text}"')
        return
    raise CronError(f"unrecognized descriptor: {spec}")


def _is_go_duration(text: str) -> bool:
    """Whether time.ParseDuration accepts `text` (sign, then number-unit pairs, or a bare 0)."""
    body = text[1:] if text[:1] in "+-" else text
    if body == "0":
        return True
    if not body:
        return False
    position = 0
    while position < len(body):
        match = _DURATION_PART.match(body, position)
        if match is None or match.group(1) in ("", "."):
            return False
        position = match.end()
    return True


def _parse_range(expression: str, bounds: _Bounds) -> None:
    range_and_step = expression.split("/")
    low_and_high = range_and_step[0].split("-")
    if low_and_high[0] in ("*", "?"):
        start, end = bounds.minimum, bounds.maximum
    else:
        start = _int_or_name(low_and_high[0], bounds.names)
        if len(low_and_high) == 1:
            end = start
        elif len(low_and_high) == 2:
            end = _int_or_name(low_and_high[1], bounds.names)
        else:
            raise CronError(f"too many hyphens: {expression}")
    if len(range_and_step) == 1:
        step = 1
    elif len(range_and_step) == 2:
        step = _non_negative_int(range_and_step[1])
        if len(low_and_high) == 1:  # "N/step" means "N-max/step"
            end = bounds.maximum
    else:
        raise CronError(f"too many slashes: {expression}")
    if start < bounds.minimum:
        raise CronError(f"beginning of range ({start}) below minimum ({bounds.minimum}): {expression}")
    if end > bounds.maximum:
        raise CronError(f"end of range ({end}) above maximum ({bounds.maximum}): {expression}")
    if start > end:
        raise CronError(f"beginning of range ({start}) beyond end of range ({end}): {expression}")
    if step == 0:
        raise CronError(f"step of range should be a positive number: {expression}")


def _int_or_name(text: str, names: dict[str, int]) -> int:
    if text.lower() in names:
        return names[text.lower()]
    return _non_negative_int(text)


def _non_negative_int(text: str) -> int:
    """mustParseInt: strconv.Atoi, then no negatives."""
    if not re.fullmatch(r"[+-]?[0-9]+", text):
        raise CronError(f'failed to parse int from {text}: strconv.Atoi: parsing "{text}": invalid syntax')
    number = int(text)
    if not -(2**63) <= number < 2**63:
        raise CronError(f'failed to parse int from {text}: strconv.Atoi: parsing "{text}": value out of range')
    if number < 0:
        raise CronError(f"negative number ({number}) not allowed: {text}")
    return number


def is_known_zone(name: str) -> bool:
    """Whether time.LoadLocation knows `name` ("" and "UTC" are UTC)."""
    if name in ("", "UTC"):
        return True
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True
