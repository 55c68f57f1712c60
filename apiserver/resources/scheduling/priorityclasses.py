"""PriorityClasses (scheduling.k8s.io/v1): named pod priorities for scheduling and preemption."""
from __future__ import annotations

from apiserver.registry.columns import integer, text
from apiserver.registry.spec import AGE, NAME, Column, ResourceSpec

COLUMNS = (
    NAME,
    Column("Value", "integer", description="The priority of pods using this class.",
           value=lambda obj, now: integer(obj.get("value"))),
    Column("Global-Default", "boolean", description="Whether pods without a class get this one.",
           value=lambda obj, now: obj.get("globalDefault") is True),
    AGE,
    Column("PreemptionPolicy", "string", description="Whether pods of this class may preempt others.",
           value=lambda obj, now: text(obj.get("preemptionPolicy"))),
)

SPEC = ResourceSpec(
    group="scheduling.k8s.io", version="v1", kind="PriorityClass", plural="priorityclasses", namespaced=False,
    short_names=("pc",), columns=COLUMNS,
)
