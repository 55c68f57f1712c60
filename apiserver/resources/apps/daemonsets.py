"""DaemonSets (apps/v1): one pod per eligible node."""
from __future__ import annotations

from apiserver.registry.columns import dig, format_labels, integer
from apiserver.registry.spec import AGE, NAME, Column, ResourceSpec, Subresource
from apiserver.resources.template_columns import selector_column, template_columns


def _status_count(field: str, description: str, title: str) -> Column:
    return Column(title, "integer", description=description,
                  value=lambda obj, now: integer(dig(obj, "status", field)))


COLUMNS = (
    NAME,
    _status_count("desiredNumberScheduled", "The number of nodes that should be running the daemon pod.", "Desired"),
    _status_count("currentNumberScheduled", "The number of nodes running at least one daemon pod.", "Current"),
    _status_count("numberReady", "The number of nodes whose daemon pod is ready.", "Ready"),
    _status_count("updatedNumberScheduled", "The number of nodes running the updated daemon pod.", "Up-to-date"),
    _status_count("numberAvailable", "The number of nodes whose daemon pod is available.", "Available"),
    Column("Node Selector", "string", description="The node selector of the pod template.",
           value=lambda obj, now: format_labels(dig(obj, "spec", "template", "spec", "nodeSelector"))),
    AGE,
    *template_columns("spec", "template", "spec"),
    selector_column("spec", "selector"),
)

SPEC = ResourceSpec(
    group="apps", version="v1", kind="DaemonSet", plural="daemonsets", namespaced=True,
    short_names=("ds",), categories=("all",),
    subresources=(Subresource("status", "DaemonSet"),),
    columns=COLUMNS,
)
