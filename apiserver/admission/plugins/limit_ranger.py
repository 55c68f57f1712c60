"""LimitRanger: a namespace's LimitRanges default and bound what pods and claims ask for.

Upstream's plugin/pkg/admission/limitranger, for pod CREATE and claim CREATE/UPDATE (never subresources, never
pod updates, nothing already being deleted):
- mutating: every `Container` item's `default` fills missing container limits and `defaultRequest` missing
  requests, in containers and init containers; what was filled is noted in the pod annotation
  `kubernetes.io/limit-ranger` (`LimitRanger plugin set: cpu request for container c; ...`);
- validating: `min`, `max` and `maxLimitRequestRatio` of `Container` items hold for each container, of `Pod`
  items for the pod's totals, and `min`/`max` of `PersistentVolumeClaim` items for the claim's requests, with
  upstream's messages (several are joined as `[a, b]`); the request is Forbidden otherwise.
Resources are checked in name order (upstream iterates Go maps, in no fixed order).
"""
from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

from apiserver.admission.errors import forbidden
from apiserver.admission.interface import AdmissionAttributes, Operation, PluginContext
from apiserver.admission.livelookup import LiveLookupCache
from apiserver.admission.quota.pods import pod_totals
from apiserver.admission.quota.resources import ResourceList, parse_list
from apiserver.meta.objects import JSONDict
from apiserver.meta.quantity import Quantity

ANNOTATION = "kubernetes.io/limit-ranger"
LIMIT_RANGES = ("", "v1", "limitranges")


class LimitRanger:
    name = "LimitRanger"

    def __init__(self, context: PluginContext) -> None:
        self._context = context
        self._live_lookups = LiveLookupCache()

    def handles(self, operation: Operation) -> bool:
        return operation in (Operation.CREATE, Operation.UPDATE)

    async def admit(self, attributes: AdmissionAttributes) -> None:
        if not _supports(attributes) or attributes.resource != "pods":
            return
        for limit_range in await self._limit_ranges(attributes.namespace):
            apply_defaults(limit_range, attributes.object or {})

    async def validate(self, attributes: AdmissionAttributes) -> None:
        if not _supports(attributes):
            return
        obj = attributes.object or {}
        for limit_range in await self._limit_ranges(attributes.namespace):
            problems = pod_problems(limit_range, obj) if attributes.resource == "pods" else claim_problems(
                limit_range, obj)
            if problems:
                raise forbidden(attributes, problems[0] if len(problems) == 1 else f"[{', '.join(problems)}]")

    async def _limit_ranges(self, namespace: str) -> Sequence[JSONDict]:
        found = await self._context.objects(*LIMIT_RANGES).list(namespace)
        if found:
            return found
        # The cache may not have a range created a moment ago (upstream's live lookup, remembered for 30 s).
        return await self._live_lookups.get(namespace,
                                            lambda: self._context.live_objects(*LIMIT_RANGES).list(namespace))


def _supports(attributes: AdmissionAttributes) -> bool:
    if attributes.group or attributes.subresource or not isinstance(attributes.object, dict):
        return False
    if attributes.resource == "pods" and attributes.operation is Operation.UPDATE:
        return False
    old_metadata = (attributes.old_object or {}).get("metadata") or {}
    return attributes.resource in ("pods", "persistentvolumeclaims") and not old_metadata.get("deletionTimestamp")


def _items(limit_range: JSONDict, kind: str) -> list[JSONDict]:
    return [item for item in (limit_range.get("spec") or {}).get("limits") or ()
            if isinstance(item, dict) and item.get("type") == kind]


def apply_defaults(limit_range: JSONDict, pod: JSONDict) -> None:
    """mergePodResourceRequirements with the range's container defaults (the last Container item wins)."""
    defaults: JSONDict = {}
    for item in _items(limit_range, "Container"):
        defaults = {"limits": dict(item.get("default") or {}), "requests": dict(item.get("defaultRequest") or {})}
    if not any(defaults.values()):
        return
    notes: list[str] = []
    spec = pod.get("spec") or {}
    for field, label in (("containers", "container"), ("initContainers", "init container")):
        for container in spec.get(field) or ():
            if isinstance(container, dict):
                notes += _merge(container, defaults, label)
    if notes:
        annotations = pod.setdefault("metadata", {}).setdefault("annotations", {})
        annotations[ANNOTATION] = "LimitRanger plugin set: " + "; ".join(notes)


def _merge(container: JSONDict, defaults: JSONDict, label: str) -> list[str]:
    resources = container.setdefault("resources", {})
    notes = []
    for field, word in (("requests", "request"), ("limits", "limit")):
        present = resources.get(field) or {}
        missing = {name: value for name, value in defaults[field].items() if name not in present}
        if missing:
            resources[field] = dict(sorted({**present, **missing}.items()))  # Go writes map keys sorted
            notes.append(f"{', '.join(sorted(missing))} {word} for {label} {container.get('name', '')}")
    return notes


def pod_problems(limit_range: JSONDict, pod: JSONDict) -> list[str]:
    problems: list[str] = []
    spec = pod.get("spec") or {}
    for item in (limit_range.get("spec") or {}).get("limits") or ():
        if not isinstance(item, dict):
            continue
        if item.get("type") == "Container":
            for field in ("containers", "initContainers"):
                for container in spec.get(field) or ():
                    resources = (container or {}).get("resources") or {}
                    problems += _bounds("Container", item, parse_list(resources.get("requests")),
                                        parse_list(resources.get("limits")))
        elif item.get("type") == "Pod":
            bare = {"spec": {key: spec.get(key) for key in ("containers", "initContainers")}}
            problems += _bounds("Pod", item, pod_totals(bare, "requests"), pod_totals(bare, "limits"))
    return problems


def claim_problems(limit_range: JSONDict, claim: JSONDict) -> list[str]:
    requests = parse_list(((claim.get("spec") or {}).get("resources") or {}).get("requests"))
    problems: list[str] = []
    for item in _items(limit_range, "PersistentVolumeClaim"):
        for name, bound in sorted(parse_list(item.get("min")).items()):
            problems += _minimum("PersistentVolumeClaim", name, bound, requests, {})
        for name, bound in sorted(parse_list(item.get("max")).items()):
            request = requests.get(name)
            if request is None:
                problems.append(f"maximum {name} usage per PersistentVolumeClaim is {bound}.  No request is specified")
            elif request.value > bound.value:
                problems.append(f"maximum {name} usage per PersistentVolumeClaim is {bound}, but request is {request}")
    return problems


def _bounds(kind: str, item: JSONDict, requests: ResourceList, limits: ResourceList) -> list[str]:
    problems: list[str] = []
    for name, bound in sorted(parse_list(item.get("min")).items()):
        problems += _minimum(kind, name, bound, requests, limits)
    for name, bound in sorted(parse_list(item.get("max")).items()):
        problems += _maximum(kind, name, bound, requests, limits)
    for name, bound in sorted(parse_list(item.get("maxLimitRequestRatio")).items()):
        problems += _ratio(kind, name, bound, requests, limits)
    return problems


def _minimum(kind: str, name: str, bound: Quantity, requests: ResourceList, limits: ResourceList) -> list[str]:
    request, limit = requests.get(name), limits.get(name)
    if request is None:
        return [f"minimum {name} usage per {kind} is {bound}.  No request is specified"]
    if request.value < bound.value:
        return [f"minimum {name} usage per {kind} is {bound}, but request is {request}"]
    if limit is not None and limit.value < bound.value:
        return [f"minimum {name} usage per {kind} is {bound}, but limit is {limit}"]
    return []


def _maximum(kind: str, name: str, bound: Quantity, requests: ResourceList, limits: ResourceList) -> list[str]:
    request, limit = requests.get(name), limits.get(name)
    if limit is None:
        return [f"maximum {name} usage per {kind} is {bound}.  No limit is specified"]
    if limit.value > bound.value:
        return [f"maximum {name} usage per {kind} is {bound}, but limit is {limit}"]
    if request is not None and request.value > bound.value:
        return [f"maximum {name} usage per {kind} is {bound}, but request is {request}"]
    return []


def _ratio(kind: str, name: str, bound: Quantity, requests: ResourceList, limits: ResourceList) -> list[str]:
    request, limit = requests.get(name), limits.get(name)
    prefix = f"{name} max limit to request ratio per {kind} is {bound}"
    if request is None or _milli(request.value) == 0:
        return [f"{prefix}, but no request is specified or request is 0"]
    if limit is None or _milli(limit.value) == 0:
        return [f"{prefix}, but no limit is specified or limit is 0"]
    observed = _milli(limit.value) / _milli(request.value)
    if observed > bound.value:
        return [f"{prefix}, but provided ratio is {observed:f}"]
    return []


def _milli(value: Fraction) -> float:
    """MilliValue: whole thousandths, rounded up as resource.Quantity does."""
    return float(-((-value * 1000) // 1))
