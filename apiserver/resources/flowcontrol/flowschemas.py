"""FlowSchemas (flowcontrol.apiserver.k8s.io/v1): classify requests into priority levels."""
from __future__ import annotations

from datetime import datetime

from apiserver.registry.columns import NONE, condition, dig, integer, text
from apiserver.registry.spec import AGE, NAME, Column, JSONObject, ResourceSpec, Subresource


def _missing_priority_level(obj: JSONObject, now: datetime) -> str:
    dangling = condition(obj, "Dangling")
    return text(dangling.get("status")) if dangling is not None else "?"


def _distinguisher(obj: JSONObject, now: datetime) -> str:
    method = dig(obj, "spec", "distinguisherMethod")
    return text(dig(method, "type")) if method is not None else NONE


COLUMNS = (
    NAME,
    Column("PriorityLevel", "string", description="The priority level configuration this schema selects.",
           value=lambda obj, now: text(dig(obj, "spec", "priorityLevelConfiguration", "name"))),
    Column("MatchingPrecedence", "string", description="Lower values match first.",
           value=lambda obj, now: integer(dig(obj, "spec", "matchingPrecedence"))),
    Column("DistinguisherMethod", "string", description="How flows are told apart.", value=_distinguisher),
    AGE,
    Column("MissingPL", "string", description="references a broken or non-existent PriorityLevelConfiguration",
           value=_missing_priority_level),
)

SPEC = ResourceSpec(
    group="flowcontrol.apiserver.k8s.io", version="v1", kind="FlowSchema", plural="flowschemas",
    namespaced=False, subresources=(Subresource("status", "FlowSchema"),), columns=COLUMNS,
)
