"""Deployments (apps/v1): declarative rollouts of replica sets."""
from __future__ import annotations

from datetime import datetime

from apiserver.registry.columns import dig, integer, label_selector_string
from apiserver.registry.spec import AGE, NAME, Column, JSONObject, ResourceSpec, Subresource
from apiserver.resources.template_columns import selector_column, template_columns


def ready(obj: JSONObject, now: datetime | None = None) -> str:
    """READY as `ready/desired` replicas."""
    return f"{integer(dig(obj, 'status', 'readyReplicas'))}/{integer(dig(obj, 'spec', 'replicas'))}"


def _selector(selector: object) -> str:
    rendered = label_selector_string(selector)
    return "<invalid>" if rendered is None else rendered


COLUMNS = (
    NAME,
    Column("Ready", "string", description="Number of the pod with ready state", value=ready),
    Column("Up-to-date", "string", description="Total number of pods targeted by this deployment that have the "
                                                "desired template.",
           value=lambda obj, now: integer(dig(obj, "status", "updatedReplicas"))),
    Column("Available", "string", description="Total number of available pods targeted by this deployment.",
           value=lambda obj, now: integer(dig(obj, "status", "availableReplicas"))),
    AGE,
    *template_columns("spec", "template", "spec"),
    selector_column("spec", "selector", render=_selector),
)

SPEC = ResourceSpec(
    group="apps", version="v1", kind="Deployment", plural="deployments", namespaced=True,
    short_names=("deploy",), categories=("all",),
    subresources=(
        Subresource("scale", "Scale", group="autoscaling", version="v1"),
        Subresource("status", "Deployment"),
    ),
    columns=COLUMNS,
)
