"""managedFields on every write, and server-side apply: the endpoint side of registry.apply/managedfields.

Upstream's fieldmanager wraps create, update and patch the same way: the manager is the `fieldManager` parameter
or the user agent's name, status is reset on the main resource of kinds with a status subresource (and spec
through `/status`), and kinds that are not stored (the review APIs) track nothing.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from apiserver.meta.objects import JSONDict
from apiserver.registry.apply import ApplyResult, apply
from apiserver.registry.managedfields import manager_from_user_agent, reset_fields, update_managed_fields
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
        self._schema: Any = TypeSchemas.builtin().for_kind(spec.group, spec.version, spec.kind)
        self._ignored = reset_fields(spec.subresource("status") is not None, resource.subresource)

    def track(self, live: JSONDict | None, new: JSONDict) -> JSONDict:
        """`new` with managedFields recording this manager's change from `live` (None for a create)."""
        if not self.enabled:
            return new
        return update_managed_fields(
            live, new, self.manager, schema=self._schema, api_version=self._resource.spec.group_version,
            now=self._resource.server.clock(), subresource=self._resource.subresource, ignored=self._ignored,
        )

    def apply(self, live: JSONDict | None, applied: JSONDict, *, force: bool) -> ApplyResult:
        """Server-side apply of `applied` onto `live` (None: the object does not exist yet)."""
        spec = self._resource.spec
        return apply(
            live, applied, self.manager, force=force, schema=self._schema, api_version=spec.group_version,
            kind=spec.kind, now=self._resource.server.clock(), subresource=self._resource.subresource,
            ignored=self._ignored,
        )
