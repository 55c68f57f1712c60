"""PodDisruptionBudgets (policy/v1): how many pods voluntary disruptions may take down at once.

The strategy is upstream's (pkg/registry/policy/poddisruptionbudget/strategy.go): a create starts from an empty
status at generation 1, spec changes bump the generation, and the status (written by the disruption controller
and the eviction subresource) changes only through `/status`.
"""
from __future__ import annotations

from apiserver.meta.selector_validation import has_invalid_label_value_in_selector
from apiserver.meta.validation import FieldErrors
from apiserver.registry.columns import dig, int_or_string, integer
from apiserver.registry.context import RequestContext
from apiserver.registry.spec import AGE, NAME, Column, JSONObject, ResourceSpec, Subresource
from apiserver.registry.strategy import DefaultStrategy, MutableObject
from apiserver.resources.policy.validation import validate_pdb_spec, validate_pdb_status


def empty_status() -> dict[str, int]:
    """PodDisruptionBudgetStatus{} as policy/v1 serialises it (the counts are not omitempty)."""
    return {"disruptionsAllowed": 0, "currentHealthy": 0, "desiredHealthy": 0, "expectedPods": 0}


def _spec(obj: MutableObject) -> dict[str, object]:
    spec = obj.get("spec")
    return spec if isinstance(spec, dict) else {}


class PodDisruptionBudgetStrategy(DefaultStrategy):
    """Status cleared on create; spec and status validated as ValidatePodDisruptionBudget(StatusUpdate)."""

    def prepare_for_create(self, obj: MutableObject, ctx: RequestContext) -> None:
        obj["status"] = empty_status()

    def validate(self, obj: MutableObject, ctx: RequestContext) -> FieldErrors:
        return validate_pdb_spec(_spec(obj))

    def validate_update(self, obj: MutableObject, old: MutableObject, ctx: RequestContext) -> FieldErrors:
        # Selectors stored before label values were checked may keep their values (upstream's option
        # AllowInvalidLabelValueInSelector, set from the old object).
        allow = has_invalid_label_value_in_selector(_spec(old).get("selector"))
        status = obj.get("status")
        status_errors = validate_pdb_status(status) if isinstance(status, dict) else []
        return [*validate_pdb_spec(_spec(obj), allow_invalid_label_values=allow), *status_errors]


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
    strategy=PodDisruptionBudgetStrategy(),
)
