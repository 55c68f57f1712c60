"""NamespaceLifecycle: no content in missing or terminating namespaces; the immortal namespaces stay.

Upstream's plugin/pkg/admission/namespace/lifecycle, a mutating-phase plugin (it runs before the resource's
own validation, so a create in a missing namespace is a 404 even when the object is also invalid):

- deleting `default`, `kube-system` or `kube-public` is Forbidden;
- writes to cluster-scoped resources, any operation on namespaces themselves, deletes of anything and local
  access reviews pass;
- otherwise the namespace must exist (NotFound `namespaces "x" not found`), read from the cache and, when the
  cache does not have it or may be stale, from storage;
- creating in a Terminating namespace is Forbidden with the `NamespaceTerminating` cause.
"""
from __future__ import annotations

import time
from collections.abc import Callable

from apiserver.admission.interface import AdmissionAttributes, Operation, PluginContext
from apiserver.meta.errors import Forbidden, NotFound, StatusCause, StatusDetails
from apiserver.meta.objects import JSONDict

IMMORTAL_NAMESPACES = frozenset({"default", "kube-system", "kube-public"})
# After a namespace is deleted its cached phase may still read Active for a moment (upstream: 5 s).
FORCE_LIVE_LOOKUP_SECONDS = 5.0
NAMESPACE_TERMINATING_CAUSE = "NamespaceTerminating"


class NamespaceLifecycle:
    name = "NamespaceLifecycle"

    def __init__(self, context: PluginContext, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._context = context
        self._clock = clock
        self._recently_deleted: dict[str, float] = {}

    def handles(self, operation: Operation) -> bool:
        return operation in (Operation.CREATE, Operation.UPDATE, Operation.DELETE)

    async def admit(self, attributes: AdmissionAttributes) -> None:
        if _is_namespace(attributes):
            if attributes.operation is Operation.DELETE:
                if attributes.name in IMMORTAL_NAMESPACES:
                    raise Forbidden(attributes.resource, attributes.name, "this namespace may not be deleted")
                self._recently_deleted[attributes.name] = self._clock() + FORCE_LIVE_LOOKUP_SECONDS
            return
        if not attributes.namespace or attributes.operation is Operation.DELETE or _is_access_review(attributes):
            return
        if not self._context.is_ready():
            raise _forbidden(attributes, "not yet ready to handle request")
        namespace = await self._namespace(attributes.namespace)
        if attributes.operation is Operation.CREATE and _phase(namespace) == "Terminating":
            raise _terminating(attributes)

    async def _namespace(self, name: str) -> JSONDict:
        namespace = await self._context.namespaces.get(name)
        if namespace is None or (_phase(namespace) == "Active" and self._was_deleted_recently(name)):
            namespace = await self._context.live_namespaces.get(name)
        if namespace is None:
            raise NotFound("namespaces", name)
        return namespace

    def _was_deleted_recently(self, name: str) -> bool:
        until = self._recently_deleted.get(name)
        if until is None:
            return False
        if self._clock() >= until:
            del self._recently_deleted[name]
            return False
        return True


def _is_namespace(attributes: AdmissionAttributes) -> bool:
    return attributes.group == "" and attributes.kind == "Namespace"


def _is_access_review(attributes: AdmissionAttributes) -> bool:
    return attributes.group == "authorization.k8s.io" and attributes.resource == "localsubjectaccessreviews"


def _phase(namespace: JSONDict) -> str:
    status = namespace.get("status")
    phase = status.get("phase") if isinstance(status, dict) else None
    return phase if isinstance(phase, str) else ""


def _object_name(attributes: AdmissionAttributes) -> str:
    """admission.NewForbidden's name: the request's, else the object's name or generateName, else Unknown."""
    if attributes.name:
        return attributes.name
    metadata = (attributes.object or {}).get("metadata") or {}
    return str(metadata.get("name") or metadata.get("generateName") or "Unknown")


def _forbidden(attributes: AdmissionAttributes, reason: str) -> Forbidden:
    return Forbidden(attributes.resource, _object_name(attributes), reason, group=attributes.group)


def _terminating(attributes: AdmissionAttributes) -> Forbidden:
    namespace = attributes.namespace
    error = _forbidden(
        attributes, f"unable to create new content in namespace {namespace} because it is being terminated"
    )
    details = error.details or StatusDetails()
    error.details = StatusDetails(
        name=details.name, group=details.group, kind=details.kind,
        causes=(StatusCause(NAMESPACE_TERMINATING_CAUSE, f"namespace {namespace} is being terminated",
                            "metadata.namespace"),),
    )
    return error
