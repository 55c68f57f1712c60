"""What an object uses of a quota, by kind (upstream's pkg/quota/v1/evaluator/core and generic evaluators).

An `Evaluator` knows the quota resource names it charges (`matching_resources`), the usage of one object
(`usage`), whether it is charged on CREATE only or also on UPDATE, and whether an object falls in a quota's
scopes. Pods, Services and PersistentVolumeClaims have their own rules; every other resource is charged as an
object count (`count/<resource>[.<group>]`, plus the legacy alias for configmaps, secrets,
replicationcontrollers and resourcequotas).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction

from apiserver.admission.interface import Operation
from apiserver.admission.quota import pods
from apiserver.admission.quota.resources import ONE, ZERO, ResourceList, parse_list
from apiserver.meta.objects import JSONDict
from apiserver.meta.quantity import Quantity, QuantityFormat

LEGACY_ALIASES = {
    "configmaps": "configmaps", "secrets": "secrets", "replicationcontrollers": "replicationcontrollers",
    "resourcequotas": "resourcequotas",
}
STORAGE_CLASS_SUFFIX = ".storageclass.storage.k8s.io/"
BETA_STORAGE_CLASS_ANNOTATION = "volume.beta.kubernetes.io/storage-class"


def count_name(group: str, resource: str) -> str:
    """`count/pods`, `count/deployments.apps`."""
    return f"count/{resource}.{group}" if group else f"count/{resource}"


@dataclass(frozen=True, slots=True)
class Evaluator:
    """The quota rules of one group-resource."""

    group: str
    resource: str

    @property
    def _kind(self) -> str:
        if self.group == "":
            return self.resource if self.resource in ("pods", "services", "persistentvolumeclaims") else "count"
        return "count"

    def handles(self, operation: Operation) -> bool:
        if self._kind in ("services", "persistentvolumeclaims"):
            return operation in (Operation.CREATE, Operation.UPDATE)
        return operation is Operation.CREATE

    def matching_resources(self, names: list[str]) -> list[str]:
        if self._kind == "pods":
            return [name for name in names if pods.is_pod_resource(name)]
        if self._kind == "services":
            return [name for name in names if name in SERVICE_RESOURCES]
        if self._kind == "persistentvolumeclaims":
            return [name for name in names if _is_claim_resource(name)]
        own = {count_name(self.group, self.resource)}
        if self.group == "" and self.resource in LEGACY_ALIASES:
            own.add(LEGACY_ALIASES[self.resource])
        return [name for name in names if name in own]

    def usage(self, obj: JSONDict, now: datetime | None = None) -> ResourceList:
        if self._kind == "pods":
            return pods.pod_usage(obj, now)
        if self._kind == "services":
            return service_usage(obj)
        if self._kind == "persistentvolumeclaims":
            return claim_usage(obj)
        usage = {count_name(self.group, self.resource): ONE}
        if self.group == "" and self.resource in LEGACY_ALIASES:
            usage[LEGACY_ALIASES[self.resource]] = ONE
        return usage

    def matches_scope(self, scope: JSONDict, obj: JSONDict) -> bool:
        """Whether `obj` is in one scope selector requirement; only pods have scopes (MatchesNoScopeFunc)."""
        return pods.matches_scope(scope, obj) if self._kind == "pods" else False

    def constraints(self, required: list[str], obj: JSONDict) -> str:
        """Why `obj` cannot be admitted under a quota limiting `required` ("" when it can)."""
        return pods.constraints(required, obj) if self._kind == "pods" else ""


def evaluator_for(group: str, resource: str) -> Evaluator:
    return Evaluator(group, resource)


SERVICE_RESOURCES = frozenset({"count/services", "services", "services.nodeports", "services.loadbalancers"})


def service_usage(service: JSONDict) -> ResourceList:
    spec = service.get("spec") or {}
    ports = len(spec.get("ports") or ())
    usage = {"count/services": ONE, "services": ONE, "services.loadbalancers": ZERO, "services.nodeports": ZERO}
    kind = spec.get("type")
    if kind == "NodePort":
        usage["services.nodeports"] = _count(ports)
    elif kind == "LoadBalancer":
        allocate = spec.get("allocateLoadBalancerNodePorts")
        usage["services.nodeports"] = _count(0 if allocate is False else ports)
        usage["services.loadbalancers"] = ONE
    return usage


def _is_claim_resource(name: str) -> bool:
    if name in ("persistentvolumeclaims", "requests.storage", "count/persistentvolumeclaims"):
        return True
    _, separator, rest = name.partition(STORAGE_CLASS_SUFFIX)
    return bool(separator) and rest in ("persistentvolumeclaims", "requests.storage")


def claim_class(claim: JSONDict) -> str:
    """GetPersistentVolumeClaimClass: the beta annotation first, then spec.storageClassName."""
    annotations = (claim.get("metadata") or {}).get("annotations") or {}
    if BETA_STORAGE_CLASS_ANNOTATION in annotations:
        return str(annotations[BETA_STORAGE_CLASS_ANNOTATION])
    return str((claim.get("spec") or {}).get("storageClassName") or "")


def claim_usage(claim: JSONDict) -> ResourceList:
    storage_class = claim_class(claim)
    usage = {"persistentvolumeclaims": ONE, "count/persistentvolumeclaims": ONE}
    if storage_class:
        usage[f"{storage_class}{STORAGE_CLASS_SUFFIX}persistentvolumeclaims"] = ONE
    requests = parse_list(((claim.get("spec") or {}).get("resources") or {}).get("requests"))
    allocated = parse_list((claim.get("status") or {}).get("allocatedResources"))
    storage = requests.get("storage")
    if storage is not None and "storage" in allocated and allocated["storage"].value > storage.value:
        storage = allocated["storage"]  # a failed expansion keeps charging what was allocated
    if storage is not None:
        usage["requests.storage"] = storage
        if storage_class:
            usage[f"{storage_class}{STORAGE_CLASS_SUFFIX}requests.storage"] = storage
    return usage


def _count(value: int) -> Quantity:
    return Quantity(Fraction(value), QuantityFormat.DECIMAL_SI)
