"""Delete with a propagation policy, and what the answer means.

The API answers a DELETE with a `Status` (Success) when the object is gone, or with the object itself when it is
still there: marked with a deletionTimestamp and waiting for finalizers (Foreground propagation adds
`foregroundDeletion`, which the garbage collector removes once the dependents are gone; Orphan adds `orphan`) or
for a graceful termination (pods). The page says which, with the finalizers still pending.
"""
from __future__ import annotations

from dataclasses import dataclass

from apiserver.client.transports import Transport
from console.edit import apply
from console.edit.editor import EditTarget
from console.edit.status import Problem

DELETED = "deleted"
DELETING = "deleting"
REFUSED = "refused"


@dataclass(frozen=True, slots=True)
class DeleteOutcome:
    target: EditTarget
    propagation: str
    state: str
    finalizers: tuple[str, ...] = ()
    problem: Problem | None = None
    warnings: tuple[str, ...] = ()


async def delete_object(transport: Transport, target: EditTarget, propagation: str) -> DeleteOutcome:
    answer = await apply.delete(transport, target.kind.resource, target.namespace, target.name, propagation)
    if answer.problem is not None:
        return DeleteOutcome(target, propagation, REFUSED, problem=answer.problem, warnings=answer.warnings)
    obj = answer.obj or {}
    metadata = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    if obj.get("kind") == "Status" or not metadata.get("deletionTimestamp"):
        return DeleteOutcome(target, propagation, DELETED, warnings=answer.warnings)
    finalizers = tuple(str(name) for name in metadata.get("finalizers") or ())
    return DeleteOutcome(target, propagation, DELETING, finalizers, warnings=answer.warnings)
