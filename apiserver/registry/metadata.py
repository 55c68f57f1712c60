"""The generic rules every create and update goes through, whatever the type (upstream's rest.BeforeCreate and
rest.BeforeUpdate with the store's own metadata handling).

Create: the namespace of the request wins (a different one in the body is a 400), uid and creationTimestamp are
set, deletion fields dropped, status dropped for types with a status subresource, generation set to 1 where the
type tracks it; then the strategy, the type's name rule and ObjectMeta validation, then the generic path-segment
rule. Update: name, namespace, uid and creationTimestamp cannot change, deletion fields cannot be removed, the
status/spec split of the status subresource applies, generation counts changes outside metadata and status.
"""
from __future__ import annotations

import uuid
from typing import Any, Final

from apiserver.meta.errors import BadRequest, Invalid
from apiserver.meta.objects import JSONDict, format_time
from apiserver.meta.validation import (
    FieldErrors,
    name_is_path_segment,
    validate_object_meta,
    validate_object_meta_update,
)
from apiserver.registry.context import RequestContext
from apiserver.registry.spec import ResourceSpec
from apiserver.registry.traits import ResourceTraits

STATUS: Final = "status"
NAMESPACE_MISMATCH: Final = "the namespace of the provided object does not match the namespace sent on the request"
_NOT_SPEC: Final = frozenset({"apiVersion", "kind", "metadata", "status"})


def metadata(obj: JSONDict) -> dict[str, Any]:
    """The object's metadata dict, created when absent or not a dict."""
    value = obj.get("metadata")
    if not isinstance(value, dict):
        value = obj["metadata"] = {}
    return value


def has_status(spec: ResourceSpec) -> bool:
    return spec.subresource(STATUS) is not None


def tracks_generation(spec: ResourceSpec, traits: ResourceTraits) -> bool:
    return has_status(spec) if traits.tracks_generation is None else traits.tracks_generation


def stamp_kind(obj: JSONDict, spec: ResourceSpec) -> JSONDict:
    """The object with the spec's apiVersion and kind first (the endpoint checked what the client sent)."""
    rest = {key: value for key, value in obj.items() if key not in ("apiVersion", "kind")}
    return {"apiVersion": spec.group_version, "kind": spec.kind, **rest}


def match_request_namespace(obj: JSONDict, namespace: str, namespaced: bool) -> None:
    """EnsureObjectNamespaceMatchesRequestNamespace: fill in or clear the namespace; a different one is a 400."""
    meta = metadata(obj)
    expected = namespace if namespaced else ""
    current = meta.get("namespace") or ""
    if current == expected:
        return
    if not current:
        meta["namespace"] = expected
    elif not expected:
        meta.pop("namespace", None)
    else:
        raise BadRequest(NAMESPACE_MISMATCH)


def invalid(spec: ResourceSpec, name: str, errors: FieldErrors) -> Invalid:
    """The 422 for `errors`, naming the kind as upstream does (`Deployment.apps "x" is invalid: ...`)."""
    return Invalid(spec.kind, name, [error.to_cause() for error in errors], group=spec.group)


def fill_system_fields(obj: JSONDict, ctx: RequestContext) -> None:
    """FillObjectMetaSystemFields: a fresh uid and creationTimestamp."""
    meta = metadata(obj)
    meta["creationTimestamp"] = format_time(ctx.now())
    meta["uid"] = str(uuid.uuid4())


def before_create(spec: ResourceSpec, traits: ResourceTraits, obj: JSONDict, ctx: RequestContext) -> None:
    """Everything between name generation and admission on create; raises Invalid."""
    meta = metadata(obj)
    meta.pop("deletionTimestamp", None)
    meta.pop("deletionGracePeriodSeconds", None)
    if has_status(spec) and not traits.keeps_status_on_create:
        obj.pop(STATUS, None)
    if tracks_generation(spec, traits):
        meta["generation"] = 1
    spec.strategy.prepare_for_create(obj, ctx)
    name = str(meta.get("name") or "")
    errors = [*spec.strategy.validate(obj, ctx),
              *validate_object_meta(meta, spec.namespaced, traits.name_validator)]
    if errors:
        raise invalid(spec, name, errors)
    errors = validate_object_meta(meta, spec.namespaced, name_is_path_segment)
    if errors:
        raise invalid(spec, name, errors)
    spec.strategy.canonicalize(obj)


def keep_only_status(new: JSONDict, old: JSONDict) -> None:
    """The status subresource: everything but status (and the resourceVersion to check) comes from `old`."""
    status = new.get(STATUS)
    resource_version = metadata(new).get("resourceVersion")
    new.clear()
    new.update({key: value for key, value in old.items() if key != STATUS})
    new["metadata"] = dict(metadata(old))
    if resource_version is not None:
        new["metadata"]["resourceVersion"] = resource_version
    if status is not None:
        new[STATUS] = status


def spec_changed(new: JSONDict, old: JSONDict) -> bool:
    """Whether anything outside apiVersion, kind, metadata and status differs."""
    return ({key: value for key, value in new.items() if key not in _NOT_SPEC}
            != {key: value for key, value in old.items() if key not in _NOT_SPEC})


def bumps_generation(spec: ResourceSpec, new: JSONDict, old: JSONDict) -> bool:
    """Whether an update moves metadata.generation: a change outside metadata and status, or, for a strategy with
    `bumps_generation_on_annotations` (Deployments: their annotations are copied to their ReplicaSets), a change
    of annotations (nil and empty alike, as apiequality.Semantic)."""
    if spec_changed(new, old):
        return True
    if not getattr(spec.strategy, "bumps_generation_on_annotations", False):
        return False
    return (metadata(new).get("annotations") or {}) != (metadata(old).get("annotations") or {})


def _keep_system_fields(new_meta: dict[str, Any], old_meta: dict[str, Any]) -> None:
    if "generation" in old_meta:
        new_meta["generation"] = old_meta["generation"]
    else:
        new_meta.pop("generation", None)
    if not new_meta.get("uid") and old_meta.get("uid"):
        new_meta["uid"] = old_meta["uid"]
    if old_meta.get("creationTimestamp"):
        new_meta["creationTimestamp"] = old_meta["creationTimestamp"]
    if old_meta.get("deletionTimestamp"):
        new_meta["deletionTimestamp"] = old_meta["deletionTimestamp"]
    if old_meta.get("deletionGracePeriodSeconds") is not None and new_meta.get("deletionGracePeriodSeconds") is None:
        new_meta["deletionGracePeriodSeconds"] = old_meta["deletionGracePeriodSeconds"]


def before_update(spec: ResourceSpec, traits: ResourceTraits, new: JSONDict, old: JSONDict, ctx: RequestContext,
                  subresource: str) -> None:
    """Everything between the resourceVersion check and admission on update; raises Invalid.

    `new` must already carry the resourceVersion it is checked against (the stored one for an unconditional
    update).
    """
    if subresource == STATUS:
        keep_only_status(new, old)
    elif subresource:
        spec.strategy.prepare_for_subresource_update(subresource, new, old, ctx)
    else:
        if has_status(spec):
            new.pop(STATUS, None)
            if STATUS in old:
                new[STATUS] = old[STATUS]
        spec.strategy.prepare_for_update(new, old, ctx)
    new_meta, old_meta = metadata(new), metadata(old)
    _keep_system_fields(new_meta, old_meta)
    if tracks_generation(spec, traits) and bumps_generation(spec, new, old):
        new_meta["generation"] = int(old_meta.get("generation") or 0) + 1
    errors = [*validate_object_meta(new_meta, spec.namespaced, name_is_path_segment),
              *validate_object_meta_update(new_meta, old_meta),
              *spec.strategy.validate_update(new, old, ctx)]
    if errors:
        raise invalid(spec, str(new_meta.get("name") or old_meta.get("name") or ""), errors)
    spec.strategy.canonicalize(new)
