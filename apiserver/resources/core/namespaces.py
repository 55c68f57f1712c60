"""Namespaces (core/v1): cluster-scoped; no deletecollection; `finalize` lets the lifecycle controller finish.

The namespace strategy (upstream pkg/registry/core/namespace): every namespace starts Active with the `kubernetes`
finalizer in spec.finalizers; spec.finalizers change only through `finalize`. The first delete marks the namespace
Terminating (deletionTimestamp set, the object stays); the namespace controller empties it and removes the
finalizer; a delete while spec.finalizers remain answers with the namespace unchanged; after that the generic
delete removes it.
"""
from __future__ import annotations

from typing import Any, Final

from apiserver.meta.errors import Conflict
from apiserver.meta.objects import format_time
from apiserver.registry.columns import dig, text
from apiserver.registry.context import DeleteOptions, RequestContext
from apiserver.registry.finalizers import propagation_finalizers
from apiserver.registry.spec import (
    AGE,
    NAME,
    NO_DELETECOLLECTION,
    UPDATE_ONLY,
    Column,
    ResourceSpec,
    SelectableField,
    Subresource,
)
from apiserver.registry.strategy import DefaultStrategy, DeleteDecision, MutableObject

FINALIZER_KUBERNETES: Final = "kubernetes"
NAME_LABEL: Final = "kubernetes.io/metadata.name"  # upstream's LabelMetadataName
ACTIVE: Final = "Active"
TERMINATING: Final = "Terminating"


def _spec_finalizers(obj: MutableObject) -> list[Any]:
    spec = obj.get("spec")
    finalizers = spec.get("finalizers") if isinstance(spec, dict) else None
    return list(finalizers) if isinstance(finalizers, list) else []


def _mapping(obj: MutableObject, key: str) -> dict[str, Any]:
    value = obj.get(key)
    return value if isinstance(value, dict) else {}


def _metadata(obj: MutableObject) -> dict[str, Any]:
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        meta = obj["metadata"] = {}
    return meta


def set_name_label(obj: MutableObject) -> None:
    """SetDefaults_Namespace and the strategy's Canonicalize: the `kubernetes.io/metadata.name` label is the name."""
    meta = _metadata(obj)
    name = meta.get("name")
    if not isinstance(name, str) or not name:
        return
    labels = meta.get("labels")
    meta["labels"] = {**(labels if isinstance(labels, dict) else {}), NAME_LABEL: name}


def default_status_phase(obj: MutableObject, phase: str) -> None:
    """An empty status.phase becomes `phase` (upstream's defaults of Namespace, PV and PVC status).

    Only where the body has a status: Go always has the struct, but a body without one gets its status from the
    strategy (create) or the stored object (update), so adding it here would change nothing but the body that
    managedFields and admission see."""
    status = obj.get("status")
    if isinstance(status, dict) and not status.get("phase"):
        status["phase"] = phase


class NamespaceStrategy(DefaultStrategy):
    """Phase, the `kubernetes` finalizer and the two-step delete of namespaces."""

    def default(self, obj: MutableObject) -> None:
        """Upstream's scheme defaults, applied by the endpoints when they decode a body: the name label and
        SetDefaults_NamespaceStatus (an empty phase is Active)."""
        set_name_label(obj)
        default_status_phase(obj, ACTIVE)

    def prepare_for_create(self, obj: MutableObject, ctx: RequestContext) -> None:
        set_name_label(obj)
        finalizers = _spec_finalizers(obj)
        if FINALIZER_KUBERNETES not in finalizers:
            finalizers.append(FINALIZER_KUBERNETES)
        obj["spec"] = {**_mapping(obj, "spec"), "finalizers": finalizers}
        obj["status"] = {"phase": ACTIVE}

    def prepare_for_update(self, obj: MutableObject, old: MutableObject, ctx: RequestContext) -> None:
        set_name_label(obj)
        # spec.finalizers may only change through the finalize subresource.
        spec = {key: value for key, value in _mapping(obj, "spec").items() if key != "finalizers"}
        old_finalizers = _spec_finalizers(old)
        if old_finalizers or "finalizers" in (old.get("spec") or {}):
            spec["finalizers"] = old_finalizers
        if spec or "spec" in old:
            obj["spec"] = spec

    def prepare_for_subresource_update(
        self, subresource: str, obj: MutableObject, old: MutableObject, ctx: RequestContext
    ) -> None:
        # finalize: everything but status may change (in practice spec.finalizers).
        set_name_label(obj)
        obj.pop("status", None)
        if "status" in old:
            obj["status"] = old["status"]

    def prepare_for_delete(self, obj: MutableObject, options: DeleteOptions, ctx: RequestContext) -> DeleteDecision:
        self._check_preconditions(obj, options)
        meta = _metadata(obj)
        if not meta.get("deletionTimestamp"):
            meta["deletionTimestamp"] = format_time(ctx.now())
            obj["status"] = {**_mapping(obj, "status"), "phase": TERMINATING}
            finalizers = propagation_finalizers(obj, options)
            if finalizers is not None:
                if finalizers:
                    meta["finalizers"] = finalizers
                else:
                    meta.pop("finalizers", None)
            return DeleteDecision.UPDATE
        if _spec_finalizers(obj):
            return DeleteDecision.KEEP
        return DeleteDecision.DELETE

    @staticmethod
    def _check_preconditions(obj: MutableObject, options: DeleteOptions) -> None:
        meta = _metadata(obj)
        name, uid = str(meta.get("name") or ""), str(meta.get("uid") or "")
        if options.preconditions_uid is not None and options.preconditions_uid != uid:
            reason = f"Precondition failed: UID in precondition: {options.preconditions_uid}, UID in object meta: {uid}"
            raise Conflict("namespaces", name, reason)
        resource_version = str(meta.get("resourceVersion") or "")
        wanted = options.preconditions_resource_version
        if wanted is not None and wanted != resource_version:
            reason = (f"Precondition failed: ResourceVersion in precondition: {wanted}, "
                      f"ResourceVersion in object meta: {resource_version}")
            raise Conflict("namespaces", name, reason)

    def may_delete_during_update(self, obj: MutableObject) -> bool:
        return not _spec_finalizers(obj)

    def canonicalize(self, obj: MutableObject) -> None:
        set_name_label(obj)


COLUMNS = (
    NAME,
    Column("Status", "string", description="The status of the namespace",
           value=lambda obj, now: text(dig(obj, "status", "phase"))),
    AGE,
)

SPEC = ResourceSpec(
    group="", version="v1", kind="Namespace", plural="namespaces", namespaced=False,
    short_names=("ns",), verbs=NO_DELETECOLLECTION,
    subresources=(
        Subresource("finalize", "Namespace", verbs=UPDATE_ONLY),
        Subresource("status", "Namespace"),
    ),
    strategy=NamespaceStrategy(),
    columns=COLUMNS,
    selectable_fields=(SelectableField("status.phase", lambda obj: text(dig(obj, "status", "phase"))),),
)
