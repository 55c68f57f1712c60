"""Kubernetes objects as plain dicts: the `JSONDict` alias, TypedDicts for metadata, accessors and timestamps.

Objects travel through the server as decoded JSON (`JSONDict`); the TypedDicts name the metadata fields that
the generic machinery reads, so type checkers catch misspelt keys. Accessors never mutate and never raise
on a missing or null field: they return the zero value, as Go's accessors on an empty struct do.
Timestamps are written as upstream writes them: RFC 3339 in UTC with `Z`, whole seconds for `metav1.Time`,
exactly six fractional digits for `metav1.MicroTime`. The clock is a parameter, so tests never read the wall.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, NotRequired, TypedDict, cast

JSONDict = dict[str, Any]
"""A decoded JSON object. `Any` stays inside dict values; typed views come from the TypedDicts below."""

Clock = Callable[[], datetime]
"""Returns the current time as an aware datetime. Injected wherever a timestamp is stamped."""


class OwnerReference(TypedDict):
    apiVersion: str
    kind: str
    name: str
    uid: str
    controller: NotRequired[bool]
    blockOwnerDeletion: NotRequired[bool]


class ManagedFieldsEntry(TypedDict, total=False):
    manager: str
    operation: str
    apiVersion: str
    time: str
    fieldsType: str
    fieldsV1: JSONDict
    subresource: str


class ObjectMeta(TypedDict, total=False):
    name: str
    generateName: str
    namespace: str
    selfLink: str
    uid: str
    resourceVersion: str
    generation: int
    creationTimestamp: str | None
    deletionTimestamp: str
    deletionGracePeriodSeconds: int
    labels: dict[str, str]
    annotations: dict[str, str]
    ownerReferences: list[OwnerReference]
    finalizers: list[str]
    managedFields: list[ManagedFieldsEntry]


# `continue` is a Python keyword, hence the functional form.
ListMeta = TypedDict(
    "ListMeta",
    {"selfLink": str, "resourceVersion": str, "continue": str, "remainingItemCount": int},
    total=False,
)


def metadata_of(obj: Mapping[str, Any]) -> ObjectMeta:
    """The object's `metadata` (an empty mapping when absent or null). Read-only: never mutate the result."""
    metadata = obj.get("metadata")
    return cast(ObjectMeta, metadata) if isinstance(metadata, dict) else ObjectMeta()


def _string_field(obj: Mapping[str, Any], key: str) -> str:
    value = metadata_of(obj).get(key)
    return value if isinstance(value, str) else ""


def name_of(obj: Mapping[str, Any]) -> str:
    return _string_field(obj, "name")


def generate_name_of(obj: Mapping[str, Any]) -> str:
    return _string_field(obj, "generateName")


def namespace_of(obj: Mapping[str, Any]) -> str:
    return _string_field(obj, "namespace")


def uid_of(obj: Mapping[str, Any]) -> str:
    return _string_field(obj, "uid")


def resource_version_of(obj: Mapping[str, Any]) -> str:
    return _string_field(obj, "resourceVersion")


def _string_map_field(obj: Mapping[str, Any], key: str) -> Mapping[str, str]:
    value = metadata_of(obj).get(key)
    return cast(Mapping[str, str], value) if isinstance(value, dict) else {}


def labels_of(obj: Mapping[str, Any]) -> Mapping[str, str]:
    """The object's labels; an empty mapping when there are none. Read-only."""
    return _string_map_field(obj, "labels")


def annotations_of(obj: Mapping[str, Any]) -> Mapping[str, str]:
    """The object's annotations; an empty mapping when there are none. Read-only."""
    return _string_map_field(obj, "annotations")


def utc_now() -> datetime:
    """The production clock."""
    return datetime.now(UTC)


def _as_utc(moment: datetime) -> datetime:
    # A naive datetime is taken to be UTC already; an aware one is converted.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _seconds_part(moment: datetime) -> str:
    # Formatted by hand: strftime does not zero-pad years below 1000, Go's layout does.
    return (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
        f"T{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}"
    )


def format_time(moment: datetime) -> str:
    """A `metav1.Time` value: `2024-05-01T12:00:00Z`. Sub-second parts are truncated, as upstream does."""
    return _seconds_part(_as_utc(moment)) + "Z"


def format_micro_time(moment: datetime) -> str:
    """A `metav1.MicroTime` value: `2024-05-01T12:00:00.000042Z`, always six fractional digits."""
    utc = _as_utc(moment)
    return f"{_seconds_part(utc)}.{utc.microsecond:06d}Z"


def now_time(clock: Clock = utc_now) -> str:
    """The current time as a `metav1.Time` string, read from `clock`."""
    return format_time(clock())


def now_micro_time(clock: Clock = utc_now) -> str:
    """The current time as a `metav1.MicroTime` string, read from `clock`."""
    return format_micro_time(clock())


_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:(Z)|([+-])(\d{2}):(\d{2}))"
)


def parse_time(text: str) -> datetime:
    """Read an RFC 3339 timestamp (with or without fraction, `Z` or a numeric offset) as an aware UTC datetime.

    Raises ValueError for anything else. Fractions beyond microseconds are truncated.
    """
    match = _RFC3339.fullmatch(text)
    if match is None:
        raise ValueError(f"not an RFC 3339 time: {text!r}")
    year, month, day, hour, minute, second, fraction, zulu, sign, offset_hours, offset_minutes = match.groups()
    offset = UTC
    if not zulu:
        delta = timedelta(hours=int(offset_hours), minutes=int(offset_minutes))
        offset = timezone(-delta if sign == "-" else delta)
    microsecond = int((fraction or "").ljust(6, "0")[:6])
    moment = datetime(
        int(year), int(month), int(day), int(hour), int(minute), int(second), microsecond, tzinfo=offset
    )
    return moment.astimezone(UTC)
