"""Events (events.k8s.io/v1): the core events, stored as core/v1 under `/registry/events`, with renamed fields."""
from __future__ import annotations

from apiserver.registry.columns import text
from apiserver.registry.spec import ResourceSpec, SelectableField
from apiserver.resources.core.events import INVOLVED_KEYS, V1_SHAPE, event_columns, involved_field, reporting_controller

# Upstream converts these names to the core fields before selecting (events/v1 field label conversion).
SELECTABLE_FIELDS = (
    SelectableField("reason", lambda event: text(event.get("reason"))),
    *(involved_field("regarding", key, V1_SHAPE) for key in INVOLVED_KEYS),
    SelectableField("reportingController", lambda event: reporting_controller(event, V1_SHAPE)),
    SelectableField("type", lambda event: text(event.get("type"))),
)

SPEC = ResourceSpec(
    group="events.k8s.io", version="v1", kind="Event", plural="events", namespaced=True,
    short_names=("ev",), columns=event_columns(V1_SHAPE), selectable_fields=SELECTABLE_FIELDS,
    storage_version="v1",
)
