"""StatefulSets (apps/v1): pods with stable identities and storage."""
from __future__ import annotations

from apiserver.registry.spec import AGE, NAME, Column, ResourceSpec, Subresource
from apiserver.resources.apps.deployments import ready
from apiserver.resources.template_columns import template_columns

COLUMNS = (
    NAME,
    Column("Ready", "string", description="Number of the pod with ready state", value=ready),
    AGE,
    *template_columns("spec", "template", "spec"),
)

SPEC = ResourceSpec(
    group="apps", version="v1", kind="StatefulSet", plural="statefulsets", namespaced=True,
    short_names=("sts",), categories=("all",),
    subresources=(
        Subresource("scale", "Scale", group="autoscaling", version="v1"),
        Subresource("status", "StatefulSet"),
    ),
    columns=COLUMNS,
)
