"""Evicting a pod: `POST .../pods/<name>/eviction` deletes it unless a PodDisruptionBudget forbids that now.

Upstream's EvictionREST (pkg/registry/core/pod/storage/eviction.go), step for step:
- the URL's name must be the Eviction's (400); the Eviction's deleteOptions take the request's dryRun unless
  they carry their own (different ones are a 500); validating admission runs on the Eviction;
- a pod that is Pending, Succeeded, Failed or already being deleted is deleted without consulting budgets (a
  non-terminal one with its resourceVersion as precondition, so a pod that just started is not raced);
- otherwise the budgets of the namespace whose (non-empty) selector matches the pod decide: more than one is a
  500; an unready pod passes when the budget says AlwaysAllow, or is healthy enough already (IfHealthyBudget,
  the default), and is then deleted only if it is still unchanged; a ready one needs the budget to be observed
  at its generation (429, retry after 10 s) and to allow a disruption (429), which is then taken with a
  compare-and-swap on the budget's status, recording the pod in status.disruptedPods;
- before the delete the pod gets the DisruptionTarget condition (not in a dry run);
- the answer is a Success Status (201).
"""
from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from apiserver.meta.errors import ApiError, BadRequest, Conflict, Forbidden, StatusCause, StatusDetails, TooManyRequests
from apiserver.meta.objects import JSONDict, format_time
from apiserver.meta.selectors import LabelSelector, SelectorError
from apiserver.registry import finalizers
from apiserver.registry.binding import StoreLookup, pod_store, set_pod_condition, success_status
from apiserver.registry.context import DRY_RUN_ALL, DeleteOptions, ListOptions, RequestContext, StoredObject
from apiserver.registry.reviews import Validate
from apiserver.registry.spec import CREATE_ONLY, ResourceSpec
from apiserver.registry.store import ResourceStore

EVICTION_SPEC = ResourceSpec(
    group="policy", version="v1", kind="Eviction", plural="pods", namespaced=True,
    verbs=CREATE_ONLY, virtual=True, garbage_collected=False,
)
NAME_MISMATCH = "name in URL does not match name in Eviction object"
MULTIPLE_BUDGETS = "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support."
VIOLATES_BUDGET = "Cannot evict pod as it would violate the pod's disruption budget."
DISRUPTION_BUDGET_CAUSE = "DisruptionBudget"
MAX_DISRUPTED_PODS = 2000
# EvictionsRetry: 20 attempts; upstream waits 500 ms between them, in-process writers settle much faster.
RETRY_ATTEMPTS = 20
RETRY_DELAY = 0.05
DISRUPTION_ALLOWED = "DisruptionAllowed"


class EvictionStore:
    """The `create` of `pods/<name>/eviction` for one pod name (one store per request). Bodies may be policy/v1
    or policy/v1beta1 Evictions (`accepted_kinds`, upstream's EvictionREST.AcceptsGroupVersion): the two are the
    same shape."""

    spec = EVICTION_SPEC
    accepted_kinds = frozenset({("policy", "v1", "Eviction"), ("policy", "v1beta1", "Eviction")})

    def __init__(self, registry: StoreLookup, pod: str) -> None:
        self._registry = registry
        self._pod = pod

    async def create(self, namespace: str, obj: JSONDict, ctx: RequestContext, *,
                     validate: Validate = None) -> StoredObject:
        if str((obj.get("metadata") or {}).get("name") or "") != self._pod:
            raise BadRequest(NAME_MISMATCH)
        options = eviction_delete_options(obj.get("deleteOptions"), ctx.dry_run)
        if validate is not None:
            await validate(copy.deepcopy(obj), None)
        budgets = self._registry.store_for("policy", "v1", "poddisruptionbudgets")
        if not isinstance(budgets, ResourceStore):
            raise BadRequest("poddisruptionbudgets are not served")
        eviction = _Eviction(pod_store(self._registry), budgets, namespace, self._pod, options, ctx)
        await eviction.run()
        return success_status()


def eviction_stores(registry: Callable[[], StoreLookup]) -> dict[tuple[str, str, str], Callable[[str], EvictionStore]]:
    """The `pods/eviction` subresource, for ResourceServer.subresources."""
    return {("", "pods", "eviction"): lambda name: EvictionStore(registry(), name)}


def eviction_delete_options(body: object, request_dry_run: bool) -> DeleteOptions:
    """propagateDryRun, then the options as a DELETE body would give them."""
    fields: dict[str, Any] = dict(body) if isinstance(body, dict) else {}
    requested = [DRY_RUN_ALL] if request_dry_run else []
    given = fields.get("dryRun") or []
    if not given:
        fields["dryRun"] = requested
    elif requested and given != requested:
        raise ApiError(f"Non-matching dry-run options in request and content: [{' '.join(requested)}] and "
                       f"[{' '.join(str(value) for value in given)}]")
    return DeleteOptions.from_body_and_query(fields, {})


def is_pod_ready(pod: JSONDict) -> bool:
    """podutil.IsPodReady: the Ready condition is True."""
    return any(condition.get("type") == "Ready" and condition.get("status") == "True"
               for condition in (pod.get("status") or {}).get("conditions") or ())


def can_ignore_budgets(pod: JSONDict) -> bool:
    """canIgnorePDB: terminal and pending pods, and pods already being deleted."""
    phase = (pod.get("status") or {}).get("phase")
    return phase in ("Succeeded", "Failed", "Pending") or bool((pod.get("metadata") or {}).get("deletionTimestamp"))


def _enforces_resource_version(pod: JSONDict) -> bool:
    """shouldEnforceResourceVersion: not for terminal pods or pods already being deleted."""
    phase = (pod.get("status") or {}).get("phase")
    return phase not in ("Succeeded", "Failed") and not (pod.get("metadata") or {}).get("deletionTimestamp")


def budget_selects(budget: JSONDict, labels: dict[str, str]) -> bool:
    """Whether a budget covers a pod with `labels`; a missing, empty or invalid selector covers nothing."""
    selector = (budget.get("spec") or {}).get("selector")
    try:
        parsed = LabelSelector.from_label_selector(selector)
    except SelectorError:
        return False
    return not parsed.is_empty() and parsed.matches(labels)


def too_many_requests(message: str, retry_after_seconds: int) -> TooManyRequests:
    """A 429 refusing the eviction, the reason given as a DisruptionBudget cause."""
    details = StatusDetails(causes=(StatusCause(type=DISRUPTION_BUDGET_CAUSE, message=message),),
                            retry_after_seconds=retry_after_seconds)
    return TooManyRequests.from_message(VIOLATES_BUDGET, details=details)


def still_processing(budget_name: str) -> TooManyRequests:
    return too_many_requests(f"The disruption budget {budget_name} is still being processed by the server.", 10)


def set_disruption_allowed_condition(status: JSONDict, now: str, *, reason: str = "", message: str = "") -> None:
    """UpdateDisruptionAllowedCondition (or failSafe's SyncFailed with `reason` and `message`), merged as
    meta.SetStatusCondition merges: the transition time moves only when the status changes."""
    allowed = not reason and int(status.get("disruptionsAllowed") or 0) > 0
    wanted: JSONDict = {"type": DISRUPTION_ALLOWED, "status": "True" if allowed else "False"}
    observed = int(status.get("observedGeneration") or 0)
    if observed:
        wanted["observedGeneration"] = observed
    wanted.update({"lastTransitionTime": now,
                   "reason": reason or ("SufficientPods" if allowed else "InsufficientPods"), "message": message})
    conditions: list[JSONDict] = status.setdefault("conditions", [])
    for index, old in enumerate(conditions):
        if old.get("type") == DISRUPTION_ALLOWED:
            if old.get("status") == wanted["status"] and old.get("lastTransitionTime"):
                wanted["lastTransitionTime"] = old["lastTransitionTime"]
            conditions[index] = wanted
            return
    conditions.append(wanted)


class _Eviction:
    """One eviction request at work (the body of EvictionREST.Create)."""

    def __init__(self, pods: ResourceStore, budgets: ResourceStore, namespace: str, name: str,
                 options: DeleteOptions, ctx: RequestContext) -> None:
        self.pods, self.budgets = pods, budgets
        self.namespace, self.name = namespace, name
        self.options, self.ctx = options, ctx
        self.delete_ctx = RequestContext(namespace=namespace, dry_run=options.dry_run, user=ctx.user, now=ctx.now,
                                         warnings=ctx.warnings)

    async def run(self) -> None:
        pod = await self._pod_or_delete_unguarded()
        if pod is None:
            return
        budget_name, guarded_by_version = await self._take_disruption(pod)
        options = self.options
        if guarded_by_version:
            options = _with_resource_version(options, _resource_version(pod))
        try:
            await self._delete(options)
        except Conflict:
            if guarded_by_version and self.options.preconditions_resource_version is None:
                raise still_processing(budget_name) from None
            raise

    async def _pod_or_delete_unguarded(self) -> JSONDict | None:
        """The pod when budgets decide; None once a pod they do not guard was deleted (retried on conflicts
        unless the client gave a resourceVersion precondition)."""
        for attempt in range(RETRY_ATTEMPTS):
            pod = (await self.pods.get(self.namespace, self.name)).copy()
            if not can_ignore_budgets(pod):
                return pod
            options = self.options
            if _enforces_resource_version(pod) and options.preconditions_resource_version is None:
                options = _with_resource_version(options, _resource_version(pod))
            try:
                await self._delete(options)
                return None
            except Conflict:
                if self.options.preconditions_resource_version is not None or attempt == RETRY_ATTEMPTS - 1:
                    raise
            await asyncio.sleep(RETRY_DELAY)
        raise AssertionError("unreachable")

    async def _take_disruption(self, pod: JSONDict) -> tuple[str, bool]:
        """Consult the pod's budget: (its name, whether the delete must find the pod unchanged). Raises the
        refusals; with no budget there is nothing to take."""
        labels = (pod.get("metadata") or {}).get("labels") or {}
        listed = await self.budgets.list(self.namespace, ListOptions())
        matching = [item.copy() for item in listed.items if budget_selects(item.obj, labels)]
        if len(matching) > 1:
            raise ApiError(MULTIPLE_BUDGETS)
        if not matching:
            return "", False
        budget = matching[0]
        name = str(budget["metadata"]["name"])
        if not is_pod_ready(pod):
            spec, status = budget.get("spec") or {}, budget.get("status") or {}
            if spec.get("unhealthyPodEvictionPolicy") == "AlwaysAllow":
                return name, True
            desired = int(status.get("desiredHealthy") or 0)
            if int(status.get("currentHealthy") or 0) >= desired > 0:
                return name, True
        await self._decrement(budget)
        return name, False

    async def _decrement(self, budget: JSONDict) -> None:
        """checkAndDecrement, retried with a fresh budget while its status update conflicts."""
        for attempt in range(RETRY_ATTEMPTS):
            try:
                await self._check_and_decrement(budget)
                return
            except Conflict:
                if attempt == RETRY_ATTEMPTS - 1:
                    raise
            await asyncio.sleep(RETRY_DELAY)
            metadata = budget["metadata"]
            budget = (await self.budgets.get(self.namespace, str(metadata["name"]))).copy()

    async def _check_and_decrement(self, budget: JSONDict) -> None:
        metadata, status = budget["metadata"], budget.setdefault("status", {})
        name = str(metadata["name"])
        if int(status.get("observedGeneration") or 0) < int(metadata.get("generation") or 0):
            raise still_processing(name)
        allowed = int(status.get("disruptionsAllowed") or 0)
        if allowed < 0:
            raise Forbidden("poddisruptionbudget", name, "pdb disruptions allowed is negative", group="policy")
        if len(status.get("disruptedPods") or {}) > MAX_DISRUPTED_PODS:
            raise Forbidden("poddisruptionbudget", name,
                            "DisruptedPods map too big - too many evictions not confirmed by PDB controller",
                            group="policy")
        if allowed == 0:
            raise too_many_requests(f"The disruption budget {name} needs {int(status.get('desiredHealthy') or 0)} "
                                    f"healthy pods and has {int(status.get('currentHealthy') or 0)} currently", 0)
        status["disruptionsAllowed"] = allowed - 1
        now = format_time(self.ctx.now())
        if allowed == 1:
            set_disruption_allowed_condition(status, now)
        if self.options.dry_run:
            return
        status["disruptedPods"] = {**(status.get("disruptedPods") or {}), self.name: now}
        writer = RequestContext(namespace=self.namespace, now=self.ctx.now)
        await self.budgets.update(self.namespace, name, budget, writer, subresource="status")

    async def _delete(self, options: DeleteOptions) -> None:
        """addConditionAndDeletePod: mark the pod DisruptionTarget (checking the preconditions), then delete it
        at the version that mark produced."""
        if not options.dry_run:
            marked = await self.pods.guaranteed_update(self.namespace, self.name, self._mark(options),
                                                       self.delete_ctx, subresource="status")
            if options.preconditions_resource_version is not None:
                options = _with_resource_version(options, marked.resource_version)
        await self.pods.delete(self.namespace, self.name, options, self.delete_ctx)

    def _mark(self, options: DeleteOptions) -> Callable[[JSONDict], JSONDict]:
        def transform(pod: JSONDict) -> JSONDict:
            finalizers.check_preconditions(pod, options, kind="Pod", group="")
            set_pod_condition(pod, {"type": "DisruptionTarget", "status": "True", "reason": "EvictionByEvictionAPI",
                                    "message": "Eviction API: evicting"}, format_time(self.ctx.now()))
            return pod
        return transform


def _resource_version(pod: JSONDict) -> str:
    return str((pod.get("metadata") or {}).get("resourceVersion") or "")


def _with_resource_version(options: DeleteOptions, resource_version: str) -> DeleteOptions:
    return replace(options, preconditions_resource_version=resource_version)
