"""Namespaces (core/v1): cluster-scoped; no deletecollection; `finalize` lets the lifecycle controller finish."""
from __future__ import annotations

from apiserver.registry.columns import dig, text
from apiserver.registry.spec import (
    AGE,
    NAME,
    NO_DELETECOLLECTION,
    UPDATE_ONLY,
    Column,
    ResourceSpec,
    SelectableField,
    Subresource,
)

COLUMNS = (
    NAME,
    Column("Status", "string", description="The status of the namespace",
           value=lambda obj, now: text(dig(obj, "status", "phase"))),
    AGE,
)

SPEC = ResourceSpec(
    group="", version="v1", kind="Namespace", plural="namespaces", namespaced=False,
    short_names=("ns",), verbs=NO_DELETECOLLECTION,
    subresources=(
        Subresource("finalize", "Namespace", verbs=UPDATE_ONLY),
        Subresource("status", "Namespace"),
    ),
    columns=COLUMNS,
    selectable_fields=(SelectableField("status.phase", lambda obj: text(dig(obj, "status", "phase"))),),
)
