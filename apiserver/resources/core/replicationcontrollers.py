"""ReplicationControllers (core/v1): the original replica manager; stored under upstream's `controllers` prefix."""
from __future__ import annotations

from apiserver.registry.columns import dig, format_labels, integer
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
    selector_column("spec", "selector", render=format_labels),
)

SPEC = ResourceSpec(
    group="", version="v1", kind="ReplicationController", plural="replicationcontrollers", namespaced=True,
    short_names=("rc",), categories=("all",),
    subresources=(
        Subresource("scale", "Scale", group="autoscaling", version="v1"),
        Subresource("status", "ReplicationController"),
    ),
    columns=COLUMNS,
    selectable_fields=(SelectableField("status.replicas", lambda obj: str(integer(dig(obj, "status", "replicas")))),),
    storage_path="controllers",
)
