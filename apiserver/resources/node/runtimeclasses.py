"""RuntimeClasses (node.k8s.io/v1): named container runtime configurations."""
from __future__ import annotations

from apiserver.registry.columns import text
from apiserver.registry.spec import AGE, NAME, Column, ResourceSpec

COLUMNS = (
    NAME,
    Column("Handler", "string", description="The CRI handler that runs pods of this class.",
           value=lambda obj, now: text(obj.get("handler"))),
    AGE,
)

SPEC = ResourceSpec(
    group="node.k8s.io", version="v1", kind="RuntimeClass", plural="runtimeclasses", namespaced=False,
    columns=COLUMNS,
)
