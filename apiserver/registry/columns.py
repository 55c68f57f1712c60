"""Pure helpers for Table cells: durations, timestamps and the formatting kubectl users know.

Every function here is a pure function of its arguments (the time is always passed in as `now`), so a Table
row is reproducible in tests. The rules mirror upstream's printers (`pkg/printers/internalversion/printers.go`)
and `k8s.io/apimachinery/pkg/util/duration`, because kubectl prints the server's cells verbatim.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

NONE = "<none>"
UNKNOWN = "<unknown>"
UNSET = "<unset>"

_SECOND_NS = 1_000_000_000
_MINUTE_NS = 60 * _SECOND_NS
_HOUR_NS = 60 * _MINUTE_NS
_DAY_HOURS = 24
_YEAR_DAYS = 365


def _nanoseconds(delta: timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * _SECOND_NS + delta.microseconds * 1_000


def _whole_seconds(nanoseconds: int) -> int:
    # Go's int(d.Seconds()) truncates toward zero, also for negative durations.
    return int(nanoseconds / _SECOND_NS)


def short_human_duration(delta: timedelta) -> str:
    """One unit, as upstream's ShortHumanDuration: 59s, 59m, 23h, 364d, 2y; `<invalid>` below -1s."""
    nanoseconds = _nanoseconds(delta)
    seconds = _whole_seconds(nanoseconds)
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    if seconds < 60:
        return f"{seconds}s"
    if (minutes := nanoseconds // _MINUTE_NS) < 60:
        return f"{minutes}m"
    if (hours := nanoseconds // _HOUR_NS) < _DAY_HOURS:
        return f"{hours}h"
    if hours < _DAY_HOURS * _YEAR_DAYS:
        return f"{hours // _DAY_HOURS}d"
    return f"{hours // _DAY_HOURS // _YEAR_DAYS}y"


def human_duration(delta: timedelta) -> str:
    """Two or three significant figures, as upstream's HumanDuration (the AGE column): 90s, 5m30s, 3h5m, 4d2h, 3y40d.

    A clock skew of up to one second reads as `0s`; anything further in the future is `<invalid>`.
    """
    nanoseconds = _nanoseconds(delta)
    seconds = _whole_seconds(nanoseconds)
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    if seconds < 120:
        return f"{seconds}s"
    minutes = nanoseconds // _MINUTE_NS
    if minutes < 10:
        return _with_remainder(minutes, "m", (nanoseconds // _SECOND_NS) % 60, "s")
    if minutes < 180:
        return f"{minutes}m"
    hours = nanoseconds // _HOUR_NS
    if hours < 8:
        return _with_remainder(hours, "h", minutes % 60, "m")
    if hours < 48:
        return f"{hours}h"
    if hours < _DAY_HOURS * 8:
        return _with_remainder(hours // _DAY_HOURS, "d", hours % _DAY_HOURS, "h")
    days = hours // _DAY_HOURS
    if hours < _DAY_HOURS * _YEAR_DAYS * 2:
        return f"{days}d"
    if hours < _DAY_HOURS * _YEAR_DAYS * 8:
        return _with_remainder(days // _YEAR_DAYS, "y", days % _YEAR_DAYS, "d")
    return f"{days // _YEAR_DAYS}y"


def _with_remainder(whole: int, unit: str, remainder: int, remainder_unit: str) -> str:
    return f"{whole}{unit}{remainder}{remainder_unit}" if remainder else f"{whole}{unit}"


def parse_time(value: object) -> datetime | None:
    """An RFC 3339 `Time` or `MicroTime` value as an aware UTC datetime; None when absent or unparseable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def since(value: object, now: datetime) -> str:
    """Elapsed time since a timestamp field, as upstream's translateTimestampSince (`<unknown>` when unset)."""
    timestamp = parse_time(value)
    if timestamp is None:
        return UNKNOWN
    return human_duration(now - timestamp)


def format_rfc3339(value: object) -> str:
    """A timestamp in RFC 3339, UTC, whole seconds; Go's zero time when unset (the default Table's Created At)."""
    timestamp = parse_time(value)
    if timestamp is None:
        return "0001-01-01T00:00:00Z"
    return timestamp.strftime("%Y-%m-%dT%H:%M:%SZ")


def dig(obj: object, *path: str) -> Any:
    """The value at a path of keys, or None as soon as a step is missing or not a mapping."""
    current: Any = obj
    for key in path:
        if not isinstance(current, Mapping):
            return None
        current = current.get(key)
    return current


def mapping(value: object) -> Mapping[str, Any]:
    """The value when it is a mapping, else an empty one (JSON null, absent, or malformed)."""
    return value if isinstance(value, Mapping) else {}


def sequence(value: object) -> Sequence[Any]:
    """The value when it is a list, else an empty one."""
    return value if isinstance(value, list) else ()


def integer(value: object) -> int:
    """An integer field, 0 when unset (Go's zero value)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def text(value: object) -> str:
    """A string field, "" when unset (Go's zero value)."""
    return value if isinstance(value, str) else ""


def int_or_string(value: object) -> str:
    """An IntOrString field as upstream prints it."""
    if isinstance(value, bool):
        return ""
    return str(value) if isinstance(value, int | str) else ""


def bool_text(value: object) -> str:
    """`True`/`False` for a *bool field, `<unset>` when nil (upstream's printBoolPtr)."""
    if isinstance(value, bool):
        return "True" if value else "False"
    return UNSET


def format_labels(labels: object) -> str:
    """A label map as `k=v,k2=v2` sorted by key; `<none>` when empty (labels.FormatLabels)."""
    pairs = mapping(labels)
    if not pairs:
        return NONE
    return ",".join(f"{key}={pairs[key]}" for key in sorted(pairs))


def label_selector_string(selector: object) -> str | None:
    """A LabelSelector in selector syntax (`a=b,c in (d,e),!f`), "" when it selects everything or nothing.

    None when the selector is invalid (an unknown operator), like LabelSelectorAsSelector's error.
    """
    if selector is None:
        return ""
    selector = mapping(selector)
    requirements: list[tuple[str, str]] = [
        (key, f"{key}={value}") for key, value in mapping(selector.get("matchLabels")).items()
    ]
    for expression in sequence(selector.get("matchExpressions")):
        requirement = _expression_string(mapping(expression))
        if requirement is None:
            return None
        requirements.append(requirement)
    requirements.sort(key=lambda requirement: requirement[0])
    return ",".join(rendered for _, rendered in requirements)


def _expression_string(expression: Mapping[str, Any]) -> tuple[str, str] | None:
    key = text(expression.get("key"))
    operator = expression.get("operator")
    values = ",".join(sorted(text(value) for value in sequence(expression.get("values"))))
    rendered = {
        "In": f"{key} in ({values})",
        "NotIn": f"{key} notin ({values})",
        "Exists": key,
        "DoesNotExist": f"!{key}",
    }.get(text(operator))
    return None if rendered is None else (key, rendered)


def format_label_selector(selector: object) -> str:
    """A LabelSelector for display: `<none>` when empty, `<error>` when invalid (metav1.FormatLabelSelector)."""
    rendered = label_selector_string(selector)
    if rendered is None:
        return "<error>"
    return rendered or NONE


def container_cells(containers: object) -> tuple[str, str]:
    """Container names and images, each comma-separated, in declaration order (layoutContainerCells)."""
    entries = [mapping(container) for container in sequence(containers)]
    names = ",".join(text(container.get("name")) for container in entries)
    images = ",".join(text(container.get("image")) for container in entries)
    return names, images


def first_items(items: Iterable[str], limit: int = 3) -> str:
    """Up to `limit` items joined by commas, then ` + N more...`; `<unset>` when there are none."""
    collected = list(items)
    shown = ",".join(collected[:limit])
    if len(collected) > limit:
        return f"{shown} + {len(collected) - limit} more..."
    return shown or UNSET


def condition(obj: object, condition_type: str, *path: str) -> Mapping[str, Any] | None:
    """The first condition of a type in the list at `path` (default status.conditions), if any."""
    for entry in sequence(dig(obj, *(path or ("status", "conditions")))):
        entry = mapping(entry)
        if entry.get("type") == condition_type:
            return entry
    return None


def access_modes(modes: object) -> str:
    """PersistentVolume access modes in upstream's fixed order and abbreviations (RWO,ROX,RWX,RWOP)."""
    present = set(sequence(modes))
    abbreviations = (
        ("ReadWriteOnce", "RWO"),
        ("ReadOnlyMany", "ROX"),
        ("ReadWriteMany", "RWX"),
        ("ReadWriteOncePod", "RWOP"),
    )
    return ",".join(short for mode, short in abbreviations if mode in present)
