"""Strategies: the resource-specific hooks the generic store calls at fixed points.

A strategy holds behaviour only (no state), so one instance is shared by every request for its resource.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

MutableObject = dict[str, Any]


class Strategy(Protocol):
    """Hooks a resource may override; the generic store calls them in the Kubernetes order.

    create: prepare_for_create → validate → canonicalize → storage
    update: prepare_for_update → validate_update → canonicalize → storage

    Hooks mutate only the object passed in, never `old`, and never raise for invalid input: validation
    returns its errors (empty when valid) and the store turns them into one Invalid status.
    """

    def prepare_for_create(self, obj: MutableObject) -> None:
        """Normalise a new object before validation (for example drop a status the client may not set)."""

    def prepare_for_update(self, obj: MutableObject, old: MutableObject) -> None:
        """Normalise an update before validation (for example keep the stored status on a spec update)."""

    def validate(self, obj: MutableObject) -> Sequence[object]:
        """Return the field errors of a new object; empty when it is valid."""
        ...

    def validate_update(self, obj: MutableObject, old: MutableObject) -> Sequence[object]:
        """Return the field errors of an update (including immutability rules); empty when it is valid."""
        ...

    def canonicalize(self, obj: MutableObject) -> None:
        """Bring a valid object into its stored form (for example sort or deduplicate lists)."""


class DefaultStrategy:
    """Accepts everything unchanged: the behaviour of a resource with no rules of its own."""

    def prepare_for_create(self, obj: MutableObject) -> None:
        return None

    def prepare_for_update(self, obj: MutableObject, old: MutableObject) -> None:
        return None

    def validate(self, obj: MutableObject) -> Sequence[object]:
        return ()

    def validate_update(self, obj: MutableObject, old: MutableObject) -> Sequence[object]:
        return ()

    def canonicalize(self, obj: MutableObject) -> None:
        return None


DEFAULT_STRATEGY = DefaultStrategy()
