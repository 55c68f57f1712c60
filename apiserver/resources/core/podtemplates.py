"""PodTemplates (core/v1): stored pod templates; the printer shows containers and images without -o wide."""
from __future__ import annotations

from apiserver.registry.columns import dig, format_labels
from apiserver.registry.spec import NAME, Column, ResourceSpec
from apiserver.resources.template_columns import containers_column, images_column

COLUMNS = (
    NAME,
    containers_column("template", "spec", priority=0),
    images_column("template", "spec", priority=0),
    Column("Pod Labels", "string", description="The labels for the pod template.",
           value=lambda obj, now: format_labels(dig(obj, "template", "metadata", "labels"))),
)

SPEC = ResourceSpec(group="", version="v1", kind="PodTemplate", plural="podtemplates", namespaced=True, columns=COLUMNS)
