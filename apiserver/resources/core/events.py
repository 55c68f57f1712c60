"""Events (core/v1): what happened to an object; `kubectl get events` shows LAST SEEN TYPE REASON OBJECT MESSAGE.

events.k8s.io/v1 serves the same stored objects under other field names, so the printer is written once over
an `EventShape` that names the fields of each version.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from apiserver.registry.columns import dig, integer, mapping, parse_time, since, text
from apiserver.registry.spec import Column, ColumnValue, JSONObject, ResourceSpec, SelectableField


@dataclass(frozen=True, slots=True)
class EventShape:
    """Where one API version keeps the fields the printer reads."""

    involved: str
    message: str
    first_timestamp: str
    last_timestamp: str
    count: str
    source: str
    reporting_controller: str


CORE_SHAPE = EventShape(
    involved="involvedObject", message="message", first_timestamp="firstTimestamp",
    last_timestamp="lastTimestamp", count="count", source="source", reporting_controller="reportingComponent",
)
V1_SHAPE = EventShape(
    involved="regarding", message="note", first_timestamp="deprecatedFirstTimestamp",
    last_timestamp="deprecatedLastTimestamp", count="deprecatedCount", source="deprecatedSource",
    reporting_controller="reportingController",
)
SHAPES = {"v1": CORE_SHAPE, "events.k8s.io/v1": V1_SHAPE}


def shape_of(event: JSONObject, default: EventShape) -> EventShape:
    """The shape of this object's apiVersion, or `default` when the object does not say.

    Both versions share storage, so a Table may be rendered from either form; the object decides.
    """
    return SHAPES.get(text(event.get("apiVersion")), default)


def _first_seen(shape: EventShape, event: JSONObject, now: datetime) -> str:
    if parse_time(event.get(shape.first_timestamp)) is None:
        return since(event.get("eventTime"), now)
    return since(event.get(shape.first_timestamp), now)


def _last_seen(shape: EventShape, event: JSONObject, now: datetime) -> str:
    series = event.get("series")
    if isinstance(series, Mapping):
        return since(series.get("lastObservedTime"), now)
    if parse_time(event.get(shape.last_timestamp)) is None:
        return _first_seen(shape, event, now)
    return since(event.get(shape.last_timestamp), now)


def _count(shape: EventShape, event: JSONObject) -> int:
    series = event.get("series")
    if isinstance(series, Mapping):
        return integer(series.get("count"))
    # Singleton events of the new API have no count: they happened once.
    return integer(event.get(shape.count)) or 1


def _object(shape: EventShape, event: JSONObject) -> str:
    involved = mapping(event.get(shape.involved))
    kind, name = text(involved.get("kind")).lower(), text(involved.get("name"))
    return f"{kind}/{name}" if name else kind


def _source(shape: EventShape, event: JSONObject) -> str:
    component = text(dig(event, shape.source, "component")) or text(event.get(shape.reporting_controller))
    host = text(dig(event, shape.source, "host")) or text(event.get("reportingInstance"))
    return f"{component}, {host}" if host else component


def event_columns(default: EventShape) -> tuple[Column, ...]:
    """The event printer's columns; unlike every other printer, Name comes last and only with `-o wide`."""

    def cell(render: Callable[[EventShape, JSONObject, datetime], Any]) -> ColumnValue:
        return lambda event, now: render(shape_of(event, default), event, now)

    return (
        Column("Last Seen", "string", description="The time at which the most recent occurrence was recorded.",
               value=cell(_last_seen)),
        Column("Type", "string", description="Type of this event (Normal, Warning).",
               value=lambda event, now: text(event.get("type"))),
        Column("Reason", "string", description="Why the action was taken, short and machine readable.",
               value=lambda event, now: text(event.get("reason"))),
        Column("Object", "string", description="The object this event is about.",
               value=cell(lambda shape, event, now: _object(shape, event))),
        Column("Subobject", "string", priority=1, description="The part of the object this event is about.",
               value=cell(lambda shape, event, now: text(dig(event, shape.involved, "fieldPath")))),
        Column("Source", "string", priority=1, description="The component reporting this event.",
               value=cell(lambda shape, event, now: _source(shape, event))),
        Column("Message", "string", description="A human-readable description of the event.",
               value=cell(lambda shape, event, now: text(event.get(shape.message)).strip())),
        Column("First Seen", "string", priority=1, description="The time at which the event was first recorded.",
               value=cell(_first_seen)),
        Column("Count", "string", priority=1, description="The number of times this event has occurred.",
               value=cell(lambda shape, event, now: _count(shape, event))),
        Column("Name", "string", "name", priority=1, description="Name of the object, unique within its namespace.",
               value=lambda event, now: text(dig(event, "metadata", "name"))),
    )


def involved_field(prefix: str, key: str, default: EventShape) -> SelectableField:
    """`<prefix>.<key>` (involvedObject.kind, regarding.name, …) read from whichever form the event is in."""
    return SelectableField(f"{prefix}.{key}", lambda event: text(dig(event, shape_of(event, default).involved, key)))


def reporting_controller(event: JSONObject, default: EventShape) -> str:
    """The reporting controller, from either form."""
    return text(event.get(shape_of(event, default).reporting_controller))


def _source_component(event: JSONObject) -> str:
    shape = shape_of(event, CORE_SHAPE)
    return text(dig(event, shape.source, "component")) or text(event.get(shape.reporting_controller))


INVOLVED_KEYS = ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")

SELECTABLE_FIELDS = (
    *(involved_field("involvedObject", key, CORE_SHAPE) for key in INVOLVED_KEYS),
    SelectableField("reason", lambda event: text(event.get("reason"))),
    SelectableField("reportingComponent", lambda event: reporting_controller(event, CORE_SHAPE)),
    SelectableField("source", _source_component),
    SelectableField("type", lambda event: text(event.get("type"))),
)

SPEC = ResourceSpec(
    group="", version="v1", kind="Event", plural="events", namespaced=True,
    short_names=("ev",), columns=event_columns(CORE_SHAPE), selectable_fields=SELECTABLE_FIELDS,
)
