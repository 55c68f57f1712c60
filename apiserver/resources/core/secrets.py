"""Secrets (core/v1): confidential data; the printer counts keys and never shows values."""
from __future__ import annotations

from apiserver.registry.columns import mapping, text
from apiserver.registry.spec import AGE, NAME, Column, ResourceSpec, SelectableField

COLUMNS = (
    NAME,
    Column("Type", "string", description="Used to facilitate programmatic handling of secret data.",
           value=lambda obj, now: text(obj.get("type"))),
    Column("Data", "string", description="Number of keys in data.",
           value=lambda obj, now: len(mapping(obj.get("data")))),
    AGE,
)

SPEC = ResourceSpec(
    group="", version="v1", kind="Secret", plural="secrets", namespaced=True, columns=COLUMNS,
    selectable_fields=(SelectableField("type", lambda obj: text(obj.get("type"))),),
)
