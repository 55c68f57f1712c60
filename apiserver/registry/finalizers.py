"""Deletion rules: finalizers for garbage collection, marking an object as deleting, graceful deletion.

Pure functions over object dicts that re-implement k8s.io/apiserver's generic registry rules
(registry/generic/registry/store.go: deletionFinalizersForGarbageCollection, markAsDeleting,
ShouldDeleteDuringUpdate; registry/rest/delete.go: BeforeDelete). The store decides when to call them; they only
change the dict they are given.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from apiserver.meta.errors import Conflict
from apiserver.meta.objects import JSONDict, format_time, parse_time
from apiserver.meta.validation import FINALIZER_DELETE_DEPENDENTS, FINALIZER_ORPHAN
from apiserver.registry.context import BACKGROUND, FOREGROUND, ORPHAN, DeleteOptions


def _metadata(obj: JSONDict) -> dict[str, Any]:
    metadata = obj.get("metadata")
    if not isinstance(metadata, dict):
        metadata = obj["metadata"] = {}
    return metadata


def finalizers_of(obj: JSONDict) -> list[str]:
    value = _metadata(obj).get("finalizers")
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def should_orphan(options: DeleteOptions, finalizers: list[str]) -> bool:
    """Whether the `orphan` finalizer belongs on the object: options first, then existing finalizers."""
    if options.orphan_dependents is not None:
        return options.orphan_dependents
    if options.propagation_policy == ORPHAN:
        return True
    if options.propagation_policy in (BACKGROUND, FOREGROUND):
        return False
    for finalizer in finalizers:
        if finalizer == FINALIZER_ORPHAN:
            return True
        if finalizer == FINALIZER_DELETE_DEPENDENTS:
            return False
    return False


def should_delete_dependents(options: DeleteOptions, finalizers: list[str]) -> bool:
    """Whether the `foregroundDeletion` finalizer belongs on the object."""
    if options.orphan_dependents is not None:
        return False
    if options.propagation_policy == FOREGROUND:
        return True
    if options.propagation_policy in (BACKGROUND, ORPHAN):
        return False
    for finalizer in finalizers:
        if finalizer == FINALIZER_DELETE_DEPENDENTS:
            return True
        if finalizer == FINALIZER_ORPHAN:
            return False
    return False


def finalizers_for_garbage_collection(obj: JSONDict, options: DeleteOptions) -> list[str] | None:
    """The finalizer list the delete options call for, or None when the current set already is right."""
    current = finalizers_of(obj)
    wanted = [item for item in current if item not in (FINALIZER_ORPHAN, FINALIZER_DELETE_DEPENDENTS)]
    if should_orphan(options, current):
        wanted.append(FINALIZER_ORPHAN)
    if should_delete_dependents(options, current):
        wanted.append(FINALIZER_DELETE_DEPENDENTS)
    return None if set(wanted) == set(current) else wanted


def propagation_finalizers(obj: JSONDict, options: DeleteOptions) -> list[str] | None:
    """The namespace flavour: add or drop `orphan`/`foregroundDeletion` only when the options say so.

    Returns the new list, or None when nothing changes (upstream's namespace REST Delete).
    """
    current = finalizers_of(obj)
    wanted = {item: True for item in current}
    changed = False
    for finalizer, explicit in ((FINALIZER_ORPHAN, _explicit_orphan(options)),
                                (FINALIZER_DELETE_DEPENDENTS, _explicit_foreground(options))):
        have = finalizer in wanted
        should_have = have if explicit is None else explicit
        changed = changed or should_have != have
        if should_have:
            wanted[finalizer] = True
        else:
            wanted.pop(finalizer, None)
    return list(wanted) if changed else None


def _explicit_orphan(options: DeleteOptions) -> bool | None:
    if options.orphan_dependents is not None:
        return options.orphan_dependents
    return None if options.propagation_policy is None else options.propagation_policy == ORPHAN


def _explicit_foreground(options: DeleteOptions) -> bool | None:
    if options.orphan_dependents is not None:
        return not options.orphan_dependents
    return None if options.propagation_policy is None else options.propagation_policy == FOREGROUND


def mark_as_deleting(obj: JSONDict, now: datetime) -> None:
    """Set deletionTimestamp (unless an earlier one is set) and a zero grace period; bump a tracked generation."""
    metadata = _metadata(obj)
    existing = metadata.get("deletionTimestamp")
    generation = metadata.get("generation")
    if not existing and isinstance(generation, int) and generation > 0:
        metadata["generation"] = generation + 1
    if not existing or _later_than(existing, now):
        metadata["deletionTimestamp"] = format_time(now)
    metadata["deletionGracePeriodSeconds"] = 0


def _later_than(timestamp: object, now: datetime) -> bool:
    try:
        return isinstance(timestamp, str) and parse_time(timestamp) > now
    except ValueError:
        return False


class GracefulState(enum.Enum):
    """BeforeDelete's answer: delete at once, start (or shorten) a graceful deletion, or one is already pending."""

    IMMEDIATE = "immediate"
    GRACEFUL = "graceful"
    PENDING = "pending"


@dataclass(frozen=True, slots=True)
class GracefulDecision:
    state: GracefulState
    grace_period_seconds: int = 0


def check_preconditions(obj: JSONDict, options: DeleteOptions, *, kind: str, group: str) -> None:
    """BeforeDelete's early precondition check; raises Conflict naming the kind, as upstream does."""
    metadata = _metadata(obj)
    name = str(metadata.get("name") or "")
    uid, resource_version = str(metadata.get("uid") or ""), str(metadata.get("resourceVersion") or "")
    if options.preconditions_uid is not None and options.preconditions_uid != uid:
        reason = (f"the UID in the precondition ({options.preconditions_uid}) does not match the UID in record "
                  f"({uid}). The object might have been deleted and then recreated")
        raise Conflict(kind, name, reason, group=group)
    wanted = options.preconditions_resource_version
    if wanted is not None and wanted != resource_version:
        reason = (f"the ResourceVersion in the precondition ({wanted}) does not "
                  f"match the ResourceVersion in record ({resource_version}). The object might have been modified")
        raise Conflict(kind, name, reason, group=group)


def begin_graceful_delete(obj: JSONDict, options: DeleteOptions, grace: int | None, now: datetime) -> GracefulDecision:
    """BeforeDelete's graceful-deletion part for a strategy that supports it; `grace` is what the strategy chose.

    A negative requested or stored grace period counts as 1 s. An object already being deleted may only have its
    grace period shortened.
    """
    metadata = _metadata(obj)
    requested = options.grace_period_seconds
    if requested is not None and requested < 0:
        requested = 1
    stored = metadata.get("deletionGracePeriodSeconds")
    if isinstance(stored, int) and stored < 0:
        stored = metadata["deletionGracePeriodSeconds"] = 1
    if metadata.get("deletionTimestamp"):
        if not isinstance(stored, int) or stored == 0:
            return GracefulDecision(GracefulState.IMMEDIATE)
        if requested is None or requested >= stored:
            return GracefulDecision(GracefulState.PENDING, stored)
        deadline = parse_time(str(metadata["deletionTimestamp"])) - timedelta(seconds=stored - requested)
        metadata["deletionTimestamp"] = format_time(deadline)
        metadata["deletionGracePeriodSeconds"] = requested
        return GracefulDecision(GracefulState.GRACEFUL, requested)
    if grace is None:
        return GracefulDecision(GracefulState.IMMEDIATE)
    metadata["deletionTimestamp"] = format_time(now + timedelta(seconds=grace))
    metadata["deletionGracePeriodSeconds"] = grace
    generation = metadata.get("generation")
    if isinstance(generation, int) and generation > 0:
        metadata["generation"] = generation + 1
    return GracefulDecision(GracefulState.GRACEFUL, grace)


def should_delete_during_update(new: JSONDict, old: JSONDict) -> bool:
    """An update that leaves no finalizers on an object marked for deletion with grace 0 removes the object."""
    return not finalizers_of(new) and _metadata(old).get("deletionGracePeriodSeconds") == 0
