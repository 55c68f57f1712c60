"""ResourceQuotas (core/v1): aggregate limits per namespace; the printer shows used/hard per resource."""
from __future__ import annotations

from datetime import datetime

from apiserver.registry.columns import dig, mapping, text
from apiserver.registry.spec import AGE, NAME, Column, JSONObject, ResourceSpec, Subresource


def quota_usage(obj: JSONObject, limits: bool) -> str:
    """`name: used/hard` for each hard limit, sorted by name, split into requests and `limits.*`."""
    hard, used = mapping(dig(obj, "status", "hard")), mapping(dig(obj, "status", "used"))
    entries = []
    for name in sorted(hard):
        if name.startswith("limits.") == limits:
            entries.append(f"{name}: {text(used.get(name)) or '0'}/{text(hard[name])}")
    return ", ".join(entries)


def _requests(obj: JSONObject, now: datetime) -> str:
    return quota_usage(obj, limits=False)


def _limits(obj: JSONObject, now: datetime) -> str:
    return quota_usage(obj, limits=True)


COLUMNS = (
    NAME,
    Column("Request", "string",
           description="Request represents a minimum amount of cpu/memory that a container may consume.",
           value=_requests),
    Column("Limit", "string",
           description="Limits control the maximum amount of cpu/memory that a container may use independent of "
                       "contention on the node.",
           value=_limits),
    AGE,
)

SPEC = ResourceSpec(
    group="", version="v1", kind="ResourceQuota", plural="resourcequotas", namespaced=True,
    short_names=("quota",), subresources=(Subresource("status", "ResourceQuota"),), columns=COLUMNS,
)
