"""The `scale` subresource: an autoscaling/v1 Scale read from, and written to, a parent's spec.replicas.

As upstream's ScaleREST (pkg/registry/apps/deployment/storage, core/replicationcontroller/storage): a GET builds
the Scale from the parent (name, namespace, uid, resourceVersion and creationTimestamp of the parent; spec and
status replicas; the selector as a label-selector string); a PUT or PATCH is an update of the parent that changes
only spec.replicas, through the parent's store, so its strategy, generation and optimistic concurrency apply. A
Scale carrying a resourceVersion is a precondition on the parent's. A missing parent on GET is NotFound on
`<plural>/scale`; on a write it is the parent's own NotFound.

Field ownership follows upstream's scale handler (scale_fields): a write's manager is recorded on the parent as
owning `spec.replicas`, with subresource `scale`; server-side apply of a Scale conflicts with the parent's owners
of replicas. Scale answers carry no managedFields.
"""
from __future__ import annotations

import copy
import inspect
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from apiserver.meta.errors import Invalid, NotFound
from apiserver.meta.objects import JSONDict
from apiserver.meta.selectors import LabelSelector, SelectorError
from apiserver.meta.validation import IS_NEGATIVE_MESSAGE, FieldError, FieldPath
from apiserver.registry.context import RequestContext, StoredObject
from apiserver.registry.managedfields import managed_fields_of, set_managed_fields
from apiserver.registry.scale_fields import to_parent, to_scale
from apiserver.registry.spec import ResourceSpec

if TYPE_CHECKING:
    from apiserver.registry.store import AdmissionHook, ResourceStore, Transform

SCALE: Final = "scale"
AUTOSCALING: Final = "autoscaling"


def scale_spec(parent: ResourceSpec) -> ResourceSpec:
    """What a `<plural>/scale` request reads and answers: an autoscaling/v1 Scale addressed under the parent."""
    return ResourceSpec(group=AUTOSCALING, version="v1", kind="Scale", plural=parent.plural,
                        namespaced=parent.namespaced, garbage_collected=False)


def scale_selector(parent: Mapping[str, Any]) -> str:
    """status.selector: the parent's selector as a label-selector string (a map for ReplicationControllers)."""
    selector = (parent.get("spec") or {}).get("selector")
    try:
        if parent.get("apiVersion") == "v1":
            return str(LabelSelector.from_set(dict(selector or {})))
        return str(LabelSelector.from_label_selector(selector))
    except SelectorError:
        return ""


ScalePaths = tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]
"""A custom resource's (spec replicas, status replicas, label selector) paths, from its CRD's scale subresource."""


def scale_paths(spec: ResourceSpec) -> ScalePaths | None:
    """The replica and selector paths a parent's strategy declares (`scale_paths`: custom resources), or None
    for the built-in layout (spec.replicas, status.replicas, spec.selector)."""
    paths: ScalePaths | None = getattr(spec.strategy, "scale_paths", None)
    return paths


def _nested(obj: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    current: Any = obj
    for step in path:
        current = current.get(step) if isinstance(current, Mapping) else None
    return current


def scale_of(parent: Mapping[str, Any], paths: ScalePaths | None = None) -> JSONDict:
    """The Scale of a parent object, in autoscaling/v1's field order and omitempty rules."""
    meta = parent.get("metadata") or {}
    metadata = {key: meta[key] for key in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
                if meta.get(key)}
    if paths is None:
        replicas = (parent.get("spec") or {}).get("replicas") or 0
        status: dict[str, Any] = {"replicas": (parent.get("status") or {}).get("replicas") or 0}
        selector = scale_selector(parent)
    else:  # scaleFromCustomResource: integers at the CRD's paths, the selector a string already
        replicas = _int_at(parent, paths[0])
        status = {"replicas": _int_at(parent, paths[1])}
        found = _nested(parent, paths[2]) if paths[2] else None
        selector = found if isinstance(found, str) else ""
    if selector:
        status["selector"] = selector
    return {"kind": "Scale", "apiVersion": f"{AUTOSCALING}/v1", "metadata": metadata,
            "spec": {"replicas": replicas} if replicas else {}, "status": status}


def _int_at(obj: Mapping[str, Any], path: tuple[str, ...]) -> int:
    value = _nested(obj, path)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _set_replicas(parent: JSONDict, replicas: Any, paths: ScalePaths | None) -> None:
    """Write the new replicas into the parent: spec.replicas, or a custom resource's spec replicas path."""
    steps = ("spec", "replicas") if paths is None else paths[0]
    current: dict[str, Any] = parent
    for step in steps[:-1]:
        child = current.get(step)
        if not isinstance(child, dict):
            child = current[step] = {}
        current = child
    current[steps[-1]] = replicas


def _replicas(scale: Mapping[str, Any]) -> Any:
    spec = scale.get("spec")
    return spec.get("replicas", 0) if isinstance(spec, Mapping) else 0


class ScaleStore:
    """Serves get, update and patch of one parent resource's `scale` subresource through the parent's store."""

    def __init__(self, parent: ResourceStore) -> None:
        self.parent = parent
        self.spec = scale_spec(parent.spec)
        self._paths = scale_paths(parent.spec)

    def _not_found(self, name: str) -> NotFound:
        return NotFound(f"{self.parent.spec.plural}/{SCALE}", name, group=self.parent.spec.group)

    async def get(self, namespace: str, name: str, *, resource_version: str = "") -> StoredObject:
        try:
            stored = await self.parent.get(namespace, name, resource_version=resource_version)
        except NotFound:
            raise self._not_found(name) from None
        return StoredObject.of(scale_of(stored.obj, self._paths))

    async def update(self, namespace: str, name: str, obj: JSONDict, ctx: RequestContext, *, subresource: str = "",
                     validate: AdmissionHook | None = None,
                     mutate: AdmissionHook | None = None) -> tuple[StoredObject, bool]:
        """PUT: the body is the new Scale (its resourceVersion, when set, a precondition). Never creates."""

        async def replace(current: JSONDict) -> JSONDict:
            new = copy.deepcopy(obj)
            if mutate is not None:
                await mutate(new, current)
            return new

        return await self._write(namespace, name, replace, ctx, validate), False

    async def guaranteed_update(self, namespace: str, name: str, transform: Transform, ctx: RequestContext, *,
                                subresource: str = "", validate: AdmissionHook | None = None) -> StoredObject:
        """PATCH: `transform` gets the current Scale and returns the patched one."""

        async def patched(current: JSONDict) -> JSONDict:
            outcome = transform(current)
            return await outcome if inspect.isawaitable(outcome) else outcome

        return await self._write(namespace, name, patched, ctx, validate)

    async def _write(self, namespace: str, name: str, change: Any, ctx: RequestContext,
                     validate: AdmissionHook | None) -> StoredObject:
        group_version = self.parent.spec.group_version

        async def update_parent(parent: JSONDict) -> JSONDict:
            current = scale_of(parent, self._paths)
            # The write's field manager sees the parent's owners of replicas as the Scale's owners of spec.replicas.
            set_managed_fields(current, to_scale(managed_fields_of(parent), group_version))
            new = await change(copy.deepcopy(current))
            replicas = _replicas(new)
            if isinstance(replicas, int) and replicas < 0:
                error = FieldError.invalid(FieldPath("spec", "replicas"), replicas, IS_NEGATIVE_MESSAGE)
                raise Invalid("Scale", name, [error.to_cause()], group=AUTOSCALING)
            if validate is not None:
                await validate(copy.deepcopy(new), current)
            updated = copy.deepcopy(parent)
            _set_replicas(updated, replicas, self._paths)
            entries = to_parent(managed_fields_of(parent), managed_fields_of(new), group_version)
            set_managed_fields(updated, entries)
            resource_version = (new.get("metadata") or {}).get("resourceVersion")
            if resource_version:
                updated["metadata"]["resourceVersion"] = resource_version
            return updated

        stored = await self.parent.guaranteed_update(namespace, name, update_parent, ctx, subresource=SCALE)
        return StoredObject.of(scale_of(stored.obj, self._paths))
