"""Strategies: the resource-specific hooks the generic store calls at fixed points.

A strategy holds behaviour only (no state), so one instance is shared by every request for its resource. What
every resource needs (system metadata, name and metadata validation, the status/spec split, generation, finalizers,
graceful deletion) is done by the store; a strategy adds only what is specific to its type.
"""
from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Any, Protocol

from apiserver.meta.validation import FieldErrors
from apiserver.registry.context import DeleteOptions, RequestContext

if TYPE_CHECKING:
    from apiserver.registry.traits import ResourceTraits

MutableObject = dict[str, Any]

__all__ = ["DEFAULT_STRATEGY", "DefaultStrategy", "DeleteDecision", "MutableObject", "RequestContext", "Strategy"]


class DeleteDecision(enum.Enum):
    """What a strategy's `prepare_for_delete` asks the store to do with a delete request."""

    DELETE = "delete"  # the generic rules: finalizers, graceful deletion, then removal
    UPDATE = "update"  # write the object as the hook changed it and keep it (namespaces: Terminating)
    KEEP = "keep"  # answer with the object as it is, change nothing


class Strategy(Protocol):
    """Hooks a resource may override; the generic store calls them in the Kubernetes order.

    decode: default (the endpoints call it on every body they decode, before managedFields and admission)
    create: prepare_for_create → validate → canonicalize → storage
    update: prepare_for_update (or prepare_for_subresource_update) → validate_update → canonicalize → storage
    delete: prepare_for_delete → check_graceful_delete → storage

    Hooks mutate only the object passed in, never `old`. Validation never raises: it returns its errors (empty
    when valid) and the store turns them into one Invalid status. `prepare_for_delete` may raise an ApiError
    (for example a Conflict on a failed precondition).
    """

    traits: ResourceTraits | None
    """Upstream's per-type constants (name rule, create-on-update, ...); None: the built-in table's entry."""

    def default(self, obj: MutableObject) -> None:
        """Upstream's scheme defaulting of the type (SetObjectDefaults_*), in place and idempotent.

        Upstream's decoder runs it on every request body (and on a patched or applied result), so the field
        manager records defaulted fields as the writer's and mutating admission sees them; a server-side apply
        defaults the merged object after its ownership is computed, so an applier never owns a default.
        """

    def prepare_for_create(self, obj: MutableObject, ctx: RequestContext) -> None:
        """Normalise a new object before validation (defaults the type sets itself, status on create)."""

    def prepare_for_update(self, obj: MutableObject, old: MutableObject, ctx: RequestContext) -> None:
        """Normalise an update of the main resource before validation (the store already kept the old status)."""

    def prepare_for_subresource_update(
        self, subresource: str, obj: MutableObject, old: MutableObject, ctx: RequestContext
    ) -> None:
        """Normalise an update through a subresource other than `status` (e.g. namespaces/finalize)."""

    def validate(self, obj: MutableObject, ctx: RequestContext) -> FieldErrors:
        """Return the field errors of a new object; empty when it is valid."""
        ...

    def validate_update(self, obj: MutableObject, old: MutableObject, ctx: RequestContext) -> FieldErrors:
        """Return the field errors of an update (including immutability rules); empty when it is valid."""
        ...

    def canonicalize(self, obj: MutableObject) -> None:
        """Bring a valid object into its stored form (for example sort or deduplicate lists)."""

    def check_graceful_delete(self, obj: MutableObject, options: DeleteOptions) -> int | None:
        """The grace period in seconds when this object is deleted gracefully (pods), None to delete at once."""
        ...

    def prepare_for_delete(self, obj: MutableObject, options: DeleteOptions, ctx: RequestContext) -> DeleteDecision:
        """Decide what a delete does before the generic rules run; may change `obj` when answering UPDATE."""
        ...

    def may_delete_during_update(self, obj: MutableObject) -> bool:
        """Whether an update that removes the last finalizer of a deleted object may remove the object."""
        ...


class DefaultStrategy:
    """Adds nothing to the generic rules: the behaviour of a resource with no rules of its own."""

    traits: ResourceTraits | None = None

    def default(self, obj: MutableObject) -> None:
        return None

    def prepare_for_create(self, obj: MutableObject, ctx: RequestContext) -> None:
        return None

    def prepare_for_update(self, obj: MutableObject, old: MutableObject, ctx: RequestContext) -> None:
        return None

    def prepare_for_subresource_update(
        self, subresource: str, obj: MutableObject, old: MutableObject, ctx: RequestContext
    ) -> None:
        return None

    def validate(self, obj: MutableObject, ctx: RequestContext) -> FieldErrors:
        return []

    def validate_update(self, obj: MutableObject, old: MutableObject, ctx: RequestContext) -> FieldErrors:
        return []

    def canonicalize(self, obj: MutableObject) -> None:
        return None

    def check_graceful_delete(self, obj: MutableObject, options: DeleteOptions) -> int | None:
        return None

    def prepare_for_delete(self, obj: MutableObject, options: DeleteOptions, ctx: RequestContext) -> DeleteDecision:
        return DeleteDecision.DELETE

    def may_delete_during_update(self, obj: MutableObject) -> bool:
        return True


DEFAULT_STRATEGY = DefaultStrategy()
