"""Table columns shared by every resource that embeds a pod template: Containers, Images and Selector.

Workload printers upstream lay a template's containers out on one line (layoutContainerCells); these factories
take the path of the template's pod spec so each resource declares only where its template lives.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from apiserver.registry.columns import container_cells, dig, format_label_selector
from apiserver.registry.spec import Column, JSONObject

CONTAINERS_DESCRIPTION = "Names of each container in the template."
IMAGES_DESCRIPTION = "Images referenced by each container in the template."


def containers_column(*pod_spec_path: str, priority: int = 1) -> Column:
    """The Containers column for a template whose pod spec is at `pod_spec_path`."""

    def cell(obj: JSONObject, now: datetime) -> str:
        return container_cells(dig(obj, *pod_spec_path, "containers"))[0]

    return Column("Containers", "string", description=CONTAINERS_DESCRIPTION, priority=priority, value=cell)


def images_column(*pod_spec_path: str, priority: int = 1) -> Column:
    """The Images column for a template whose pod spec is at `pod_spec_path`."""

    def cell(obj: JSONObject, now: datetime) -> str:
        return container_cells(dig(obj, *pod_spec_path, "containers"))[1]

    return Column("Images", "string", description=IMAGES_DESCRIPTION, priority=priority, value=cell)


def selector_column(
    *selector_path: str,
    description: str = "Label query over the pods this object manages.",
    render: Callable[[object], str] = format_label_selector,
) -> Column:
    """The wide Selector column, rendering the selector at `selector_path` (a LabelSelector by default)."""

    def cell(obj: JSONObject, now: datetime) -> str:
        return render(dig(obj, *selector_path))

    return Column("Selector", "string", description=description, priority=1, value=cell)


def template_columns(*pod_spec_path: str) -> tuple[Column, Column]:
    """Containers and Images (both wide), the pair nearly every workload printer ends with."""
    return containers_column(*pod_spec_path), images_column(*pod_spec_path)
