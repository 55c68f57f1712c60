"""Binding a pod to a node: `POST .../pods/<name>/binding` and the legacy `POST .../bindings`.

Upstream's BindingREST and LegacyBindingREST (pkg/registry/core/pod/storage/storage.go), step for step:
- the URL's name must be the Binding's (400); the target must name a Node (ValidatePodBinding, whose aggregate
  error upstream returns unwrapped, so it is a 500 without a reason);
- validating admission runs on the Binding;
- the pod is rewritten straight in storage, past the pod strategy (whose update rules forbid changing
  spec.nodeName), with the Binding's uid and resourceVersion as preconditions: spec.nodeName set, the Binding's
  annotations merged into the pod's, and the PodScheduled=True condition recorded;
- a pod being deleted, already assigned, or with scheduling gates cannot be bound (409 on pods/binding);
- the answer is a Success Status (201).
"""
from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, Protocol

from apiserver.meta.errors import ApiError, BadRequest, Conflict, go_quote
from apiserver.meta.objects import JSONDict, format_time
from apiserver.meta.validation import FieldError, FieldPath, aggregate_messages, is_valid_path_segment_name
from apiserver.registry.context import RequestContext, StoredObject
from apiserver.registry.reviews import Answer, Validate
from apiserver.registry.spec import CREATE_ONLY, ResourceSpec
from apiserver.registry.store import ResourceStore

# What a `pods/binding` request reads and answers: a Binding, addressed under pods.
BINDING_SPEC = ResourceSpec(
    group="", version="v1", kind="Binding", plural="pods", namespaced=True,
    verbs=CREATE_ONLY, virtual=True, garbage_collected=False,
)
SUCCESS: JSONDict = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}
NAME_MISMATCH = "name in URL does not match name in Binding object"


class StoreLookup(Protocol):
    def store_for(self, group: str, version: str, plural: str) -> Any:
        """The store serving the resource, or None."""
        ...


def success_status() -> StoredObject:
    """What binding and eviction answer: a Success Status with code 201 (upstream's createHandler sets it)."""
    return StoredObject.of(copy.deepcopy(SUCCESS))


def pod_store(registry: StoreLookup) -> ResourceStore:
    store = registry.store_for("", "v1", "pods")
    if not isinstance(store, ResourceStore):
        raise BadRequest("pods are not served")
    return store


class BindingStore:
    """The `create` of `pods/<name>/binding` for one pod name (one store per request). The create handler keeps
    the body's metadata.uid (`keeps_uid`): the scheduler sends the pod's uid as a precondition."""

    spec = BINDING_SPEC
    keeps_uid = True

    def __init__(self, registry: StoreLookup, pod: str) -> None:
        self._registry = registry
        self._pod = pod

    async def create(self, namespace: str, obj: JSONDict, ctx: RequestContext, *,
                     validate: Validate = None) -> StoredObject:
        if str((obj.get("metadata") or {}).get("name") or "") != self._pod:
            raise BadRequest(NAME_MISMATCH)
        return await bind(pod_store(self._registry), namespace, obj, ctx, validate)


def binding_stores(registry: Callable[[], StoreLookup]) -> dict[tuple[str, str, str], Callable[[str], BindingStore]]:
    """The `pods/binding` subresource, for ResourceServer.subresources."""
    return {("", "pods", "binding"): lambda name: BindingStore(registry(), name)}


def binding_answers(registry: Callable[[], StoreLookup]) -> dict[tuple[str, str], Answer]:
    """The answer of the legacy `bindings` resource (a VirtualStore): the pod is the one the body names."""

    async def answer(obj: JSONDict, namespace: str, ctx: RequestContext, validate: Validate) -> JSONDict:
        return (await bind(pod_store(registry()), namespace, obj, ctx, validate)).copy()

    return {("", "bindings"): answer}


async def bind(pods: ResourceStore, namespace: str, binding: JSONDict, ctx: RequestContext,
               validate: Validate) -> StoredObject:
    """Assign the pod the Binding names to its target node; answers the Success Status."""
    errors = binding_errors(binding)
    if errors:
        raise ApiError(aggregate_messages(error.error_message() for error in errors))
    if validate is not None:
        await validate(copy.deepcopy(binding), None)
    metadata = binding.get("metadata") or {}
    name = str(metadata.get("name") or "")
    if not name:
        raise BadRequest("Name parameter required.")
    if problems := is_valid_path_segment_name(name):
        raise BadRequest(f"Name parameter invalid: {go_quote(name)}: {';'.join(problems)}")
    target = str((binding.get("target") or {}).get("name") or "")
    annotations = metadata.get("annotations") or {}
    preconditions = (str(metadata.get("uid") or ""), str(metadata.get("resourceVersion") or ""))
    await _assign(pods, namespace, name, target, annotations, preconditions, ctx)
    return success_status()


def binding_errors(binding: JSONDict) -> list[FieldError]:
    """ValidatePodBinding: the target is a Node (or of no kind) and has a name."""
    target = binding.get("target") or {}
    errors: list[FieldError] = []
    kind = str(target.get("kind") or "")
    if kind and kind != "Node":
        errors.append(FieldError.not_supported(FieldPath("target", "kind"), kind, ["Node", "<empty>"]))
    if not target.get("name"):
        errors.append(FieldError.required(FieldPath("target", "name")))
    return errors


async def _assign(pods: ResourceStore, namespace: str, name: str, node: str, annotations: dict[str, str],
                  preconditions: tuple[str, str], ctx: RequestContext) -> None:
    """setPodHostAndAnnotations in a guaranteed-update loop; refusals are Conflicts on pods/binding."""
    key = pods.key(namespace, name)

    def change(pod: JSONDict, revision: int) -> None:
        _check_preconditions(pod, key, revision, preconditions)
        if reason := _refusal(pod):
            raise Conflict("pods/binding", name, reason)
        assign_pod(pod, node, annotations, format_time(ctx.now()))

    await pods.update_in_storage(namespace, name, change, dry_run=ctx.dry_run)


def _check_preconditions(pod: JSONDict, key: str, revision: int, preconditions: tuple[str, str]) -> None:
    """storage.Preconditions: an invalid-object storage error, which InterpretUpdateError makes a Conflict."""
    uid, resource_version = preconditions
    metadata = pod.get("metadata") or {}
    failure = ""
    if uid and uid != metadata.get("uid"):
        failure = f"UID in precondition: {uid}, UID in object meta: {metadata.get('uid') or ''}"
    elif resource_version and resource_version != str(revision):
        failure = f"ResourceVersion in precondition: {resource_version}, ResourceVersion in object meta: {revision}"
    if failure:
        raise Conflict("pods", str(metadata.get("name") or ""),
                       f"StorageError: invalid object, Code: 4, Key: {key}, ResourceVersion: 0, "
                       f"AdditionalErrorMsg: Precondition failed: {failure}")


def _refusal(pod: JSONDict) -> str:
    metadata, spec = pod.get("metadata") or {}, pod.get("spec") or {}
    name = str(metadata.get("name") or "")
    if metadata.get("deletionTimestamp"):
        return f"pod {name} is being deleted, cannot be assigned to a host"
    if spec.get("nodeName"):
        return f"pod {name} is already assigned to node {go_quote(str(spec['nodeName']))}"
    if spec.get("schedulingGates"):
        return f"pod {name} has non-empty .spec.schedulingGates"
    return ""


def assign_pod(pod: JSONDict, node: str, annotations: dict[str, str], now: str) -> None:
    """Set the node, merge the annotations and record PodScheduled=True (podutil.UpdatePodCondition)."""
    pod.setdefault("spec", {})["nodeName"] = node
    if annotations:
        metadata = pod.setdefault("metadata", {})
        metadata["annotations"] = {**(metadata.get("annotations") or {}), **annotations}
    set_pod_condition(pod, {"type": "PodScheduled", "status": "True"}, now)


def set_pod_condition(pod: JSONDict, condition: JSONDict, now: str) -> None:
    """UpdatePodCondition: replace or add the condition of its type; the transition time moves only when the
    status changes."""
    status = pod.setdefault("status", {})
    conditions: list[JSONDict] = status.setdefault("conditions", [])
    new = {"type": condition["type"], "status": condition["status"], "lastProbeTime": None,
           "lastTransitionTime": now}
    new.update({key: condition[key] for key in ("reason", "message") if condition.get(key)})
    for index, old in enumerate(conditions):
        if old.get("type") == condition["type"]:
            if old.get("status") == condition["status"]:
                new["lastTransitionTime"] = old.get("lastTransitionTime")
            conditions[index] = new
            return
    conditions.append(new)
