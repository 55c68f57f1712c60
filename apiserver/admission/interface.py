"""What admission plugins see and promise: `AdmissionAttributes` and the plugin protocols.

Upstream's k8s.io/apiserver/pkg/admission: a write is described once (operation, resource, names, the new and
the old object, the user, dry-run), mutating plugins run first and may change the new object, validating
plugins run last and may only reject. Plugins read cluster state through small read-only listers, never through
storage, so admission stays below the HTTP layer and above the registry.
"""
from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
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

    `warnings` collects the texts of `Warning` headers for the response (upstream's warning.AddWarning); the
    endpoint shares one list per request. `annotate(key, value)` adds an audit annotation to the request's
    audit event (upstream's AddAnnotation); a no-op when the request is not audited.
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
    warnings: list[str] = field(default_factory=list)
    annotate: Callable[[str, str], None] = lambda key, value: None
    # The request's CreateOptions/UpdateOptions/DeleteOptions as JSON (what admission webhooks are sent); None
    # when the caller did not say.
    options: JSONDict | None = None

    def add_warning(self, text: str) -> None:
        """Queue a `Warning` header (once per text)."""
        if text not in self.warnings:
            self.warnings.append(text)

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


class ObjectLister(Protocol):
    """Read-only view of one resource (upstream's listers). Results are shared: never mutate them."""

    async def get(self, namespace: str, name: str) -> JSONDict | None:
        """The object, or None when it does not exist ("" namespace for cluster-scoped resources)."""
        ...

    async def list(self, namespace: str) -> Sequence[JSONDict]:
        """Every object of a namespace ("" for all namespaces, or a cluster-scoped resource)."""
        ...


class StatusWriter(Protocol):
    """Writes an object's `status` subresource with its resourceVersion as precondition (server-internal)."""

    async def write_status(self, group: str, version: str, plural: str, obj: JSONDict) -> JSONDict:
        """The stored object. Raises Conflict when `obj`'s resourceVersion is stale, NotFound when it is gone."""
        ...


class PluginContext(Protocol):
    """What plugins may be built from (upstream's plugin initializers): read-only cluster state.

    Beyond namespaces, plugins read any resource through `objects` (the watch cache) and `live_objects`
    (storage), and may find `status_writer` (what ResourceQuota records usage with); plugins read the optional
    members with `getattr`, so small test contexts need only the namespaces.
    """

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

    def objects(self, group: str, version: str, plural: str) -> ObjectLister:
        """A resource from its watch cache (an unknown resource lists as empty)."""
        ...

    def live_objects(self, group: str, version: str, plural: str) -> ObjectLister:
        """A resource read from storage (consistent reads), for when the cache may lag behind."""
        ...
