"""LimitRanges (core/v1): per-namespace defaults and bounds for resource requests; no printer upstream."""
from __future__ import annotations

from apiserver.registry.spec import ResourceSpec

SPEC = ResourceSpec(
    group="", version="v1", kind="LimitRange", plural="limitranges", namespaced=True, short_names=("limits",),
)
