"""PriorityClasses (scheduling.k8s.io/v1): named pod priorities for scheduling and preemption.

The strategy follows upstream v1.32 (pkg/apis/scheduling/validation, registry/scheduling/priorityclass): the
`system-` prefix is reserved for the built-in classes (which cannot be deleted), user classes are capped at
one billion, value and preemptionPolicy are immutable, preemptionPolicy defaults to PreemptLowerPriority.
"""
from __future__ import annotations

from typing import Any

from apiserver.meta.errors import Forbidden
from apiserver.meta.validation import FieldError, FieldErrors, FieldPath
from apiserver.registry.columns import integer, text
from apiserver.registry.context import DeleteOptions
from apiserver.registry.spec import AGE, NAME, Column, ResourceSpec
from apiserver.registry.strategy import DefaultStrategy, DeleteDecision, MutableObject, RequestContext

SYSTEM_PREFIX = "system-"
HIGHEST_USER_DEFINABLE_PRIORITY = 1_000_000_000
SYSTEM_CRITICAL_PRIORITY = 2 * HIGHEST_USER_DEFINABLE_PRIORITY
PREEMPTION_POLICIES = ("PreemptLowerPriority", "Never")

SYSTEM_PRIORITY_CLASSES: tuple[dict[str, Any], ...] = (
    {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": "system-node-critical"},
     "value": SYSTEM_CRITICAL_PRIORITY + 1000,
     "description": "Used for system critical pods that must not be moved from their current node."},
    {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": "system-cluster-critical"},
     "value": SYSTEM_CRITICAL_PRIORITY,
     "description": "Used for system critical pods that must run in the cluster, but can be moved to another node "
                    "if necessary."},
)


def _known_system_class_error(name: str, value: object, global_default: bool) -> str:
    """IsKnownSystemPriorityClass's error, or "" for an exact built-in class."""
    for known in SYSTEM_PRIORITY_CLASSES:
        if known["metadata"]["name"] == name:
            if known["value"] != value:
                return f"value of {name} PriorityClass must be {known['value']}"
            if global_default:
                return f"globalDefault of {name} PriorityClass must be false"
            return ""
    return f"{name} is not a known system priority class"


class PriorityClassStrategy(DefaultStrategy):
    def default(self, obj: MutableObject) -> None:
        """Upstream's scheme defaults, applied by the endpoints when they decode a body."""
        obj.setdefault("preemptionPolicy", "PreemptLowerPriority")

    def prepare_for_create(self, obj: MutableObject, ctx: RequestContext) -> None:
        obj.setdefault("preemptionPolicy", "PreemptLowerPriority")

    def prepare_for_update(self, obj: MutableObject, old: MutableObject, ctx: RequestContext) -> None:
        obj.setdefault("preemptionPolicy", "PreemptLowerPriority")

    def validate(self, obj: MutableObject, ctx: RequestContext) -> FieldErrors:
        name = str((obj.get("metadata") or {}).get("name") or "")
        value = obj.get("value", 0)
        errors: FieldErrors = []
        if name.startswith(SYSTEM_PREFIX):
            problem = _known_system_class_error(name, value, obj.get("globalDefault") is True)
            if problem:
                errors.append(FieldError.forbidden(
                    FieldPath("metadata", "name"),
                    f"priority class names with '{SYSTEM_PREFIX}' prefix are reserved for system use only. "
                    f"error: {problem}"))
        elif isinstance(value, int) and value > HIGHEST_USER_DEFINABLE_PRIORITY:
            errors.append(FieldError.forbidden(
                FieldPath("value"),
                f"maximum allowed value of a user defined priority is {HIGHEST_USER_DEFINABLE_PRIORITY}"))
        policy = obj.get("preemptionPolicy")
        if policy is not None:
            if policy == "":
                errors.append(FieldError.required(FieldPath("preemptionPolicy")))
            elif policy not in PREEMPTION_POLICIES:
                errors.append(FieldError.not_supported(FieldPath("preemptionPolicy"), policy, PREEMPTION_POLICIES))
        return errors

    def validate_update(self, obj: MutableObject, old: MutableObject, ctx: RequestContext) -> FieldErrors:
        errors: FieldErrors = []
        if obj.get("value", 0) != old.get("value", 0):
            errors.append(FieldError.forbidden(FieldPath("value"), "may not be changed in an update."))
        if obj.get("preemptionPolicy") != old.get("preemptionPolicy"):
            errors.append(FieldError.invalid(FieldPath("preemptionPolicy"), obj.get("preemptionPolicy"),
                                             "field is immutable"))
        return errors

    def prepare_for_delete(self, obj: MutableObject, options: DeleteOptions, ctx: RequestContext) -> DeleteDecision:
        name = str((obj.get("metadata") or {}).get("name") or "")
        if any(known["metadata"]["name"] == name for known in SYSTEM_PRIORITY_CLASSES):
            raise Forbidden("priorityclasses", name, "this is a system priority class and cannot be deleted",
                            group="scheduling.k8s.io")
        return DeleteDecision.DELETE


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
    short_names=("pc",), columns=COLUMNS, strategy=PriorityClassStrategy(),
)
