"""PodDisruptionBudgets (policy/v1): how many pods voluntary disruptions may take down at once."""
from __future__ import annotations

from apiserver.registry.columns import dig, int_or_string, integer
from apiserver.registry.spec import AGE, NAME, Column, JSONObject, ResourceSpec, Subresource


def _bound(obj: JSONObject, field: str) -> str:
    value = dig(obj, "spec", field)
    return int_or_string(value) if value is not None else "N/A"


COLUMNS = (
    NAME,
    Column("Min Available", "string", description="The minimum number of pods that must be available.",
           value=lambda obj, now: _bound(obj, "minAvailable")),
    Column("Max Unavailable", "string", description="The maximum number of pods that may be unavailable.",
           value=lambda obj, now: _bound(obj, "maxUnavailable")),
    Column("Allowed Disruptions", "integer",
           description="Calculated number of pods that may be disrupted at this time.",
           value=lambda obj, now: integer(dig(obj, "status", "disruptionsAllowed"))),
    AGE,
)

SPEC = ResourceSpec(
    group="policy", version="v1", kind="PodDisruptionBudget", plural="poddisruptionbudgets", namespaced=True,
    short_names=("pdb",), subresources=(Subresource("status", "PodDisruptionBudget"),), columns=COLUMNS,
)
