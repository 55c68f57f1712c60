"""CRD status conditions and the cleanup finalizer, as upstream's apihelpers set them.

`set_condition` is SetCRDCondition: a condition of a new type is appended with lastTransitionTime now; an
existing one keeps its lastTransitionTime unless its status changes, and takes the new reason and message.
`prepare_crd_delete` is what upstream's CRD REST Delete does on the first delete of a CRD: it adds the
`customresourcecleanup.apiextensions.k8s.io` finalizer and the `Terminating` condition (InstanceDeletionPending),
so the object stays, marked for deletion, until the cleanup controller has deleted every custom resource and
removed the finalizer. The CRD strategy's `prepare_for_delete` calls it.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from apiserver.meta.objects import format_time
from apiserver.registry.context import DeleteOptions, RequestContext
from apiserver.registry.strategy import DeleteDecision, MutableObject

CLEANUP_FINALIZER: Final = "customresourcecleanup.apiextensions.k8s.io"
NAMES_ACCEPTED: Final = "NamesAccepted"
ESTABLISHED: Final = "Established"
TERMINATING: Final = "Terminating"


def find_condition(crd: Mapping[str, Any], condition_type: str) -> Mapping[str, Any] | None:
    for condition in (crd.get("status") or {}).get("conditions") or ():
        if condition.get("type") == condition_type:
            found: Mapping[str, Any] = condition
            return found
    return None


def is_condition_true(crd: Mapping[str, Any], condition_type: str) -> bool:
    condition = find_condition(crd, condition_type)
    return condition is not None and condition.get("status") == "True"


def condition(condition_type: str, status: str, reason: str, message: str) -> dict[str, Any]:
    return {"type": condition_type, "status": status, "reason": reason, "message": message}


def is_equivalent(new: Mapping[str, Any], old: Mapping[str, Any] | None) -> bool:
    """IsCRDConditionEquivalent: same type, status, reason and message (times ignored)."""
    if old is None:
        return False
    return all(new.get(key) == old.get(key) for key in ("type", "status", "reason", "message"))


def set_condition(crd: MutableObject, new: Mapping[str, Any], now: datetime) -> None:
    """SetCRDCondition on `crd` (in place)."""
    status = crd.setdefault("status", {})
    conditions: list[dict[str, Any]] = status.setdefault("conditions", [])
    for index, existing in enumerate(conditions):
        if existing.get("type") != new.get("type"):
            continue
        changed = existing.get("status") != new.get("status")
        transition = format_time(now) if changed or not existing.get("lastTransitionTime") else \
            existing["lastTransitionTime"]
        conditions[index] = {"type": new["type"], "status": new["status"], "lastTransitionTime": transition,
                             "reason": new.get("reason", ""), "message": new.get("message", "")}
        return
    conditions.append({"type": new["type"], "status": new["status"], "lastTransitionTime": format_time(now),
                       "reason": new.get("reason", ""), "message": new.get("message", "")})


def remove_condition(crd: MutableObject, condition_type: str) -> None:
    status = crd.get("status")
    if isinstance(status, dict) and isinstance(status.get("conditions"), list):
        status["conditions"] = [item for item in status["conditions"] if item.get("type") != condition_type]


def prepare_crd_delete(crd: MutableObject, options: DeleteOptions, ctx: RequestContext) -> DeleteDecision:
    """The first delete of a CRD keeps it behind the cleanup finalizer, with the Terminating condition set; the
    store's finalizer rules then mark it deleted (deletionTimestamp) instead of removing it."""
    metadata = crd.setdefault("metadata", {})
    if metadata.get("deletionTimestamp"):
        return DeleteDecision.DELETE
    finalizers = list(metadata.get("finalizers") or [])
    if CLEANUP_FINALIZER not in finalizers:
        metadata["finalizers"] = [*finalizers, CLEANUP_FINALIZER]
    set_condition(crd, condition(TERMINATING, "True", "InstanceDeletionPending",
                                 "CustomResourceDefinition marked for deletion; CustomResource deletion will begin "
                                 "soon"), ctx.now())
    return DeleteDecision.DELETE


class CleanupOnDelete:
    """A CRD strategy whose deletes go through `prepare_crd_delete` first; everything else is `strategy`'s."""

    def __init__(self, strategy: Any) -> None:
        self._strategy = strategy

    def __getattr__(self, name: str) -> Any:
        return getattr(self._strategy, name)

    def prepare_for_delete(self, obj: MutableObject, options: DeleteOptions, ctx: RequestContext) -> DeleteDecision:
        decision: DeleteDecision = self._strategy.prepare_for_delete(obj, options, ctx)
        if decision is not DeleteDecision.DELETE:
            return decision
        return prepare_crd_delete(obj, options, ctx)
