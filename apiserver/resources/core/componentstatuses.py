"""ComponentStatuses (core/v1, deprecated): computed on read from health probes, never stored."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from apiserver.registry.columns import condition, text
from apiserver.registry.spec import GET_LIST, NAME, Column, JSONObject, ResourceSpec


def _healthy(obj: JSONObject) -> Mapping[str, Any] | None:
    return condition(obj, "Healthy", "conditions")


def _status(obj: JSONObject, now: datetime) -> str:
    found = _healthy(obj)
    if found is None:
        return "Unknown"
    return "Healthy" if found.get("status") == "True" else "Unhealthy"


COLUMNS = (
    NAME,
    Column("Status", "string", description="Status of the component conditions", value=_status),
    Column("Message", "string", description="Message of the component conditions",
           value=lambda obj, now: text((_healthy(obj) or {}).get("message"))),
    Column("Error", "string", description="Error of the component conditions",
           value=lambda obj, now: text((_healthy(obj) or {}).get("error"))),
)

SPEC = ResourceSpec(
    group="", version="v1", kind="ComponentStatus", plural="componentstatuses", namespaced=False,
    short_names=("cs",), verbs=GET_LIST, columns=COLUMNS, virtual=True, garbage_collected=False,
)
