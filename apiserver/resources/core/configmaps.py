"""ConfigMaps (core/v1): non-confidential configuration as key/value pairs."""
from __future__ import annotations

from apiserver.registry.columns import mapping
from apiserver.registry.spec import AGE, NAME, Column, ResourceSpec

COLUMNS = (
    NAME,
    Column("Data", "string", description="Number of keys in data and binaryData.",
           value=lambda obj, now: len(mapping(obj.get("data"))) + len(mapping(obj.get("binaryData")))),
    AGE,
)

SPEC = ResourceSpec(
    group="", version="v1", kind="ConfigMap", plural="configmaps", namespaced=True,
    short_names=("cm",), columns=COLUMNS,
)
