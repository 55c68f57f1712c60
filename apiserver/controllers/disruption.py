"""The disruption controller: the status of every PodDisruptionBudget, from the pods its selector matches.

The shape of kubernetes pkg/controller/disruption/disruption.go: budget events, and events of the pods a budget
covers, become budget keys; `reconcile` counts the healthy pods (Ready, not being deleted, not recently evicted),
works out how many must stay healthy (`minAvailable` as a number, or a percentage of, or `maxUnavailable`
subtracted from, the expected pods: the scale of the controllers owning them), and writes `currentHealthy`,
`desiredHealthy`, `expectedPods`, `disruptionsAllowed`, `observedGeneration`, the DisruptionAllowed condition and
the `disruptedPods` still awaited (entries older than two minutes, or whose pod is gone or being deleted, are
dropped). A budget it cannot compute gets no disruptions and a SyncFailed condition (upstream's failSafe).

Expected pods come from the owners' `spec.replicas`, read from ReplicationControllers, ReplicaSets (their
Deployment's when they have one) and StatefulSets. Pods without a controller are not counted, as upstream
ignores unmanaged pods. Simplification: a pod whose controller is of another kind (upstream asks its `/scale`)
or is missing counts as one expected pod.

Runs as `system:serviceaccount:kube-system:disruption-controller`, which `system:controller:disruption-controller`
allows to update `poddisruptionbudgets/status`; its informers read as kube-controller-manager.
"""
from __future__ import annotations

import copy
import logging
import math
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from apiserver.client.client import ApiClient, Resource
from apiserver.client.informer import Informer, object_key
from apiserver.controllers.base import RequeueAfter
from apiserver.meta.errors import ApiError, Conflict, NotFound
from apiserver.meta.objects import format_time, parse_time, utc_now
from apiserver.meta.selectors import LabelSelector, SelectorError
from apiserver.registry.eviction import is_pod_ready, set_disruption_allowed_condition

logger = logging.getLogger(__name__)

JSONDict = dict[str, Any]
PODS = Resource("", "v1", "pods")
BUDGETS = Resource("policy", "v1", "poddisruptionbudgets")
REPLICATION_CONTROLLERS = Resource("", "v1", "replicationcontrollers")
REPLICA_SETS = Resource("apps", "v1", "replicasets")
DEPLOYMENTS = Resource("apps", "v1", "deployments")
STATEFUL_SETS = Resource("apps", "v1", "statefulsets")
# How long an eviction's entry in disruptedPods keeps its pod from counting as healthy (upstream DeletionTimeout).
DELETION_TIMEOUT = timedelta(minutes=2)
SYNC_FAILED = "SyncFailed"


class BudgetError(Exception):
    """A budget whose status cannot be computed; the message becomes its SyncFailed condition's."""


def _metadata(obj: JSONDict) -> JSONDict:
    metadata = obj.get("metadata")
    return metadata if isinstance(metadata, dict) else {}


def controller_of(obj: JSONDict) -> JSONDict | None:
    """metav1.GetControllerOf: the owner reference marked as the controller."""
    for reference in _metadata(obj).get("ownerReferences") or ():
        if isinstance(reference, dict) and reference.get("controller") is True:
            return reference
    return None


def _replicas(obj: JSONDict) -> int:
    value = (obj.get("spec") or {}).get("replicas")
    return int(value) if isinstance(value, int) else 1


def scaled_value(value: int | str, total: int) -> int:
    """intstr.GetScaledValueFromIntOrPercent with rounding up; raises BudgetError for a malformed value."""
    if isinstance(value, int):
        return value
    if not value.endswith("%") or not value[:-1].isdigit():
        raise BudgetError(f"invalid value for IntOrString: invalid value {value!r}")
    return math.ceil(int(value[:-1]) * total / 100)


class DisruptionController:
    name = "disruption-controller"
    workers = 1
    watches = (BUDGETS, PODS, REPLICATION_CONTROLLERS, REPLICA_SETS, DEPLOYMENTS, STATEFUL_SETS)

    def __init__(self, *, clock: Callable[[], datetime] = utc_now) -> None:
        self._clock = clock
        self._client: ApiClient | None = None
        self._informers: dict[Resource, Informer] = {}
        # The budgets each pod was last seen covered by, so a pod that changes its labels updates both.
        self._covering: dict[str, set[str]] = {}

    def keys_for(self, resource: Resource, event_type: str, obj: JSONDict) -> list[str]:
        if resource == BUDGETS:
            return [object_key(obj)]
        if resource != PODS:
            return []
        pod_key = object_key(obj)
        previous = self._covering.pop(pod_key, set())
        current = set() if event_type == "DELETED" else set(self._budgets_covering(obj))
        if current:
            self._covering[pod_key] = current
        return sorted(previous | current)

    def _budgets_covering(self, pod: JSONDict) -> Iterable[str]:
        informer = self._informers.get(BUDGETS)
        if informer is None:
            return ()
        namespace = _metadata(pod).get("namespace")
        labels = _metadata(pod).get("labels") or {}
        return [object_key(budget) for budget in informer.items()
                if _metadata(budget).get("namespace") == namespace and _selects(budget, labels)]

    async def start(self, client: ApiClient, informers: dict[Resource, Informer]) -> None:
        self._client, self._informers = client, informers

    async def reconcile(self, key: str) -> None:
        budget = self._informers[BUDGETS].get(key)
        if budget is None:
            return
        now = self._clock()
        try:
            status, recheck = self._compute(budget, now)
        except BudgetError as error:
            await self._write(budget, _failed_status(budget, str(error), format_time(now)))
            return
        if status is not None:
            await self._write(budget, status)
        if recheck is not None:
            raise RequeueAfter(max((recheck - now).total_seconds(), 0.0))

    def _compute(self, budget: JSONDict, now: datetime) -> tuple[JSONDict | None, datetime | None]:
        """The new status (None when the current one is up to date) and when to look again."""
        pods = self._pods_of(budget)
        expected, desired = self._expected_and_desired(budget, pods)
        disrupted, recheck = _awaited_disruptions(budget, pods, now)
        healthy = _count_healthy(pods, disrupted, now)
        allowed = healthy - desired if expected > 0 and healthy > desired else 0
        generation = int(_metadata(budget).get("generation") or 0)
        old = budget.get("status") or {}
        counts = {"disruptionsAllowed": allowed, "currentHealthy": healthy, "desiredHealthy": desired,
                  "expectedPods": expected}
        if (all(int(old.get(field) or 0) == value for field, value in counts.items())
                and (old.get("disruptedPods") or {}) == disrupted
                and int(old.get("observedGeneration") or 0) == generation and _conditions_up_to_date(old)):
            return None, recheck
        status: JSONDict = {}
        if generation:
            status["observedGeneration"] = generation
        if disrupted:
            status["disruptedPods"] = disrupted
        status.update(counts)
        status["conditions"] = copy.deepcopy(old.get("conditions") or [])
        set_disruption_allowed_condition(status, format_time(now))
        return status, recheck

    def _pods_of(self, budget: JSONDict) -> list[JSONDict]:
        """The pods the budget's selector matches, remembered as covered by it."""
        try:
            selector = LabelSelector.from_label_selector((budget.get("spec") or {}).get("selector"))
        except SelectorError as error:
            raise BudgetError(error.message) from None
        namespace = _metadata(budget).get("namespace")
        pods = [pod for pod in self._informers[PODS].items()
                if _metadata(pod).get("namespace") == namespace
                and selector.matches(_metadata(pod).get("labels") or {})]
        self._remember_coverage(object_key(budget), {object_key(pod) for pod in pods})
        return pods

    def _remember_coverage(self, budget_key: str, pod_keys: set[str]) -> None:
        for pod_key, budget_keys in list(self._covering.items()):
            if pod_key not in pod_keys:
                budget_keys.discard(budget_key)
                if not budget_keys:
                    del self._covering[pod_key]
        for pod_key in pod_keys:
            self._covering.setdefault(pod_key, set()).add(budget_key)

    def _expected_and_desired(self, budget: JSONDict, pods: list[JSONDict]) -> tuple[int, int]:
        """getExpectedPodCount: (expected pods, pods that must stay healthy)."""
        spec = budget.get("spec") or {}
        max_unavailable, min_available = spec.get("maxUnavailable"), spec.get("minAvailable")
        if max_unavailable is not None:
            expected = self._expected_scale(pods)
            return expected, max(expected - scaled_value(max_unavailable, expected), 0)
        if isinstance(min_available, int):
            return len(pods), min_available
        if isinstance(min_available, str):
            expected = self._expected_scale(pods)
            return expected, scaled_value(min_available, expected)
        return 0, 0

    def _expected_scale(self, pods: list[JSONDict]) -> int:
        """getExpectedScale: the sum of the scales of the controllers owning the pods."""
        scales: dict[str, int] = {}
        for pod in pods:
            reference = controller_of(pod)
            if reference is None:
                continue  # unmanaged pods are ignored, as upstream
            uid = str(reference.get("uid") or "")
            if uid in scales:
                continue
            found = self._controller_scale(reference, str(_metadata(pod).get("namespace") or ""))
            if found is None:
                scales[f"pod:{_metadata(pod).get('uid')}"] = 1
            else:
                scales[found[0]] = found[1]
        return sum(scales.values())

    def _controller_scale(self, reference: JSONDict, namespace: str) -> tuple[str, int] | None:
        """(uid, replicas) of the controller a pod's controller reference names, through its Deployment for a
        ReplicaSet that has one; None when it is of another kind or not found."""
        group = str(reference.get("apiVersion") or "").rpartition("/")[0]
        kind = str(reference.get("kind") or "")
        resource = {("", "ReplicationController"): REPLICATION_CONTROLLERS, ("apps", "ReplicaSet"): REPLICA_SETS,
                    ("apps", "StatefulSet"): STATEFUL_SETS, ("apps", "Deployment"): DEPLOYMENTS}.get((group, kind))
        if resource is None:
            return None
        owner = self._informers[resource].get(f"{namespace}/{reference.get('name')}")
        if owner is None or _metadata(owner).get("uid") != reference.get("uid"):
            return None
        parent = controller_of(owner) if resource == REPLICA_SETS else None
        if parent is not None and parent.get("kind") == "Deployment":
            return self._controller_scale(parent, namespace)
        return str(_metadata(owner).get("uid")), _replicas(owner)

    async def _write(self, budget: JSONDict, status: JSONDict) -> None:
        """UpdateStatus with the budget's resourceVersion; a conflict is retried with the newer budget."""
        assert self._client is not None
        updated = {**budget, "status": status}
        namespace = str(_metadata(budget).get("namespace") or "")
        try:
            await self._client.update(BUDGETS, updated, namespace=namespace, subresource="status")
        except NotFound:
            return
        except Conflict:
            raise
        except ApiError as error:
            logger.warning("pdb_status_update_failed", extra={"controller": self.name, "budget": object_key(budget),
                                                              "error": error.message})
            raise
        logger.info("pdb_status_updated", extra={"controller": self.name, "budget": object_key(budget),
                                                 "disruptions_allowed": status.get("disruptionsAllowed")})


def _selects(budget: JSONDict, labels: dict[str, str]) -> bool:
    try:
        return LabelSelector.from_label_selector((budget.get("spec") or {}).get("selector")).matches(labels)
    except SelectorError:
        return False


def _expiry(disrupted_at: object) -> datetime | None:
    try:
        return parse_time(str(disrupted_at)) + DELETION_TIMEOUT
    except ValueError:
        return None


def _awaited_disruptions(budget: JSONDict, pods: list[JSONDict], now: datetime) -> tuple[dict[str, str],
                                                                                         datetime | None]:
    """buildDisruptedPodMap: the evicted pods still expected to go (present, not yet being deleted, evicted less
    than DELETION_TIMEOUT ago), and the earliest time one of them expires."""
    recorded = (budget.get("status") or {}).get("disruptedPods") or {}
    awaited: dict[str, str] = {}
    recheck: datetime | None = None
    for pod in pods:
        name = str(_metadata(pod).get("name") or "")
        if _metadata(pod).get("deletionTimestamp") or name not in recorded:
            continue
        expiry = _expiry(recorded[name])
        if expiry is None or expiry < now:
            continue
        awaited[name] = recorded[name]
        recheck = expiry if recheck is None or expiry < recheck else recheck
    return awaited, recheck


def _count_healthy(pods: list[JSONDict], disrupted: dict[str, str], now: datetime) -> int:
    """countHealthyPods: Ready pods that are neither being deleted nor awaited as evicted."""
    healthy = 0
    for pod in pods:
        metadata = _metadata(pod)
        if metadata.get("deletionTimestamp"):
            continue
        name = str(metadata.get("name") or "")
        expiry = _expiry(disrupted[name]) if name in disrupted else None
        if expiry is not None and expiry > now:
            continue
        healthy += is_pod_ready(pod)
    return healthy


def _conditions_up_to_date(status: JSONDict) -> bool:
    """ConditionsAreUpToDate (the generation is compared by the caller)."""
    condition = next((item for item in status.get("conditions") or ()
                      if item.get("type") == "DisruptionAllowed"), None)
    if condition is None:
        return False
    if int(status.get("disruptionsAllowed") or 0) > 0:
        return condition.get("status") == "True" and condition.get("reason") == "SufficientPods"
    return condition.get("status") == "False" and condition.get("reason") == "InsufficientPods"


def _failed_status(budget: JSONDict, message: str, now: str) -> JSONDict:
    """failSafe: no disruptions, and the DisruptionAllowed condition says why."""
    status = copy.deepcopy(budget.get("status") or {})
    status["disruptionsAllowed"] = 0
    set_disruption_allowed_condition(status, now, reason=SYNC_FAILED, message=message)
    return status
