"""What admission plugins see and promise: `AdmissionAttributes` and the plugin protocols.

Upstream's k8s.io/apiserver/pkg/admission: a write is described once (operation, resource, names, the new and
the old object, the user, dry-run), mutating plugins run first and may change the new object, validating
plugins run last and may only reject. Plugins read cluster state through small read-only listers, never through
storage, so admission stays below the HTTP layer and above the registry.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Protocol

from apiserver.meta.objects import JSONDict


class Operation(enum.StrEnum):
    """The admission operation of a request (upstream's admission.Operation)."""

    CREATE = "CREATE"
    UPDATE = "UPDATE"
    DELETE = "DELETE"
    CONNECT = "CONNECT"


@dataclass(frozen=True, slots=True)
class AdmissionAttributes:
    """One write as admission sees it.

    `group`, `version`, `resource` name the resource of the URL (`kind` its kind); `namespace` is "" for
    cluster-scoped resources; `name` may be "" for a create with generateName. `object` is the new object
    (mutating plugins may change it in place; None for DELETE), `old_object` the stored one for UPDATE and
    DELETE. `user` is the authenticated user (None until authentication lands).
    """

    operation: Operation
    group: str
    version: str
    resource: str
    kind: str
    namespace: str = ""
    name: str = ""
    subresource: str = ""
    object: JSONDict | None = None
    old_object: JSONDict | None = None
    user: Any = None
    dry_run: bool = False

    @property
    def group_resource(self) -> str:
        """`deployments.apps`, or `pods` in the core group."""
        return f"{self.resource}.{self.group}" if self.group else self.resource


class AdmissionPlugin(Protocol):
    """A named plugin that declares which operations it looks at."""

    name: str

    def handles(self, operation: Operation) -> bool:
        """Whether the plugin wants to see requests with this operation."""
        ...


class MutatingPlugin(AdmissionPlugin, Protocol):
    """May change `attributes.object`; raises an ApiError to reject the request."""

    async def admit(self, attributes: AdmissionAttributes) -> None:
        """Mutate or reject. Runs before the object is validated and stored."""
        ...


class ValidatingPlugin(AdmissionPlugin, Protocol):
    """Must not change anything; raises an ApiError to reject the request."""

    async def validate(self, attributes: AdmissionAttributes) -> None:
        """Reject or accept the final object. Runs after the resource's own validation, before the write."""
        ...


class NamespaceLister(Protocol):
    """Read-only view of the namespaces (the watch cache); what namespace-aware plugins read."""

    async def get(self, name: str) -> JSONDict | None:
        """The namespace object, or None when it does not exist. The result is shared: never mutate it."""
        ...


class PluginContext(Protocol):
    """What plugins may be built from (upstream's plugin initializers): read-only cluster state."""

    @property
    def namespaces(self) -> NamespaceLister:
        """Namespaces from the cache."""
        ...

    @property
    def live_namespaces(self) -> NamespaceLister:
        """Namespaces read from storage (a consistent read), for when the cache may lag behind."""
        ...

    def is_ready(self) -> bool:
        """Whether the caches behind the listers have synced."""
        ...
