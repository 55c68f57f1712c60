"""ReplicaSets (apps/v1): keep a number of identical pods running."""
from __future__ import annotations

from apiserver.registry.columns import dig, integer
from apiserver.registry.spec import AGE, NAME, Column, ResourceSpec, SelectableField, Subresource
from apiserver.resources.template_columns import selector_column, template_columns

COLUMNS = (
    NAME,
    Column("Desired", "integer", description="The number of desired replicas.",
           value=lambda obj, now: integer(dig(obj, "spec", "replicas"))),
    Column("Current", "integer", description="The most recently observed number of replicas.",
           value=lambda obj, now: integer(dig(obj, "status", "replicas"))),
    Column("Ready", "integer", description="The number of ready replicas.",
           value=lambda obj, now: integer(dig(obj, "status", "readyReplicas"))),
    AGE,
    *template_columns("spec", "template", "spec"),
    selector_column("spec", "selector"),
)

SPEC = ResourceSpec(
    group="apps", version="v1", kind="ReplicaSet", plural="replicasets", namespaced=True,
    short_names=("rs",), categories=("all",),
    subresources=(
        Subresource("scale", "Scale", group="autoscaling", version="v1"),
        Subresource("status", "ReplicaSet"),
    ),
    columns=COLUMNS,
    selectable_fields=(SelectableField("status.replicas", lambda obj: str(integer(dig(obj, "status", "replicas")))),),
)
