"""managedFields on every write, and server-side apply: the endpoint side of registry.apply/managedfields.

Upstream's fieldmanager wraps create, update and patch the same way: the manager is the `fieldManager` parameter
or the user agent's name, status is reset on the main resource of kinds with a status subresource (and spec
through `/status`), and kinds that are not stored (the review APIs) track nothing.

Bodies arrive here defaulted (the strategies' `default`, as upstream's decoder), so an Update manager owns the
defaults its write introduced. Upstream computes the fields of the Go object, where a zero time with
`omitempty` (a template's `creationTimestamp: null`) is no field at all; those nulls are left out here too.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from apiserver.meta.objects import JSONDict
from apiserver.registry.apply import ApplyResult, apply
from apiserver.registry.managedfields import (
    managed_fields_of,
    manager_from_user_agent,
    reset_fields,
    set_managed_fields,
    update_managed_fields,
    without_managed_fields,
)
from apiserver.registry.schema import TypeSchemas

if TYPE_CHECKING:
    from apiserver.endpoints.resources import ResourceRequest


class FieldManager:
    """The managedFields bookkeeping of one request."""

    def __init__(self, resource: ResourceRequest, field_manager: str) -> None:
        spec = resource.spec
        self._resource = resource
        self.enabled = not spec.virtual
        self.manager = field_manager or manager_from_user_agent(resource.request.header("user-agent") or "")
        self._schema: Any = spec.schema or TypeSchemas.builtin().for_kind(spec.group, spec.version, spec.kind)
        self._ignored = reset_fields(spec.subresource("status") is not None, resource.subresource)

    def track(self, live: JSONDict | None, new: JSONDict) -> JSONDict:
        """`new` with managedFields recording this manager's change from `live` (None for a create)."""
        if not self.enabled:
            return new
        typed_new = omit_zero_times(new)
        tracked = update_managed_fields(
            omit_zero_times(live) if live is not None else None, typed_new, self.manager, schema=self._schema,
            api_version=self._resource.spec.group_version, now=self._resource.server.clock(),
            subresource=self._resource.subresource, ignored=self._ignored,
        )
        if typed_new is new:
            return tracked
        result = without_managed_fields(new)
        set_managed_fields(result, managed_fields_of(tracked))
        return result

    def apply(self, live: JSONDict | None, applied: JSONDict, *, force: bool) -> ApplyResult:
        """Server-side apply of `applied` onto `live` (None: the object does not exist yet)."""
        spec = self._resource.spec
        return apply(
            live, applied, self.manager, force=force, schema=self._schema, api_version=spec.group_version,
            kind=spec.kind, now=self._resource.server.clock(), subresource=self._resource.subresource,
            ignored=self._ignored,
        )


def omit_zero_times(obj: Any) -> Any:
    """`obj` without the `creationTimestamp: null` members it holds at any depth (the zero time upstream's
    encoder writes for templates' metadata, which its typed field sets omit); `obj` itself when it has none."""
    if isinstance(obj, dict):
        changed: dict[str, Any] | None = None
        for key, value in obj.items():
            if value is None and key == "creationTimestamp":
                changed = dict(obj) if changed is None else changed
                del changed[key]
            elif isinstance(value, dict | list) and (kept := omit_zero_times(value)) is not value:
                changed = dict(obj) if changed is None else changed
                changed[key] = kept
        return obj if changed is None else changed
    if isinstance(obj, list):
        items = [omit_zero_times(item) for item in obj]
        return obj if all(kept is item for kept, item in zip(items, obj, strict=True)) else items
    return obj
