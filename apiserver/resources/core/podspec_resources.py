"""Compute resources of containers: names, quantities, requests against limits, and the pod's QoS class.

Upstream v1.32's ValidateResourceRequirements (pkg/apis/core/validation) and ComputePodQOS
(pkg/apis/core/helper/qos). Maps are walked in sorted key order so that errors come out in a stable order
(upstream walks Go maps, in no order at all).
"""
from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any, Final

from apiserver.meta.quantity import Quantity, QuantityError, parse_quantity
from apiserver.meta.validation import IS_NEGATIVE_MESSAGE, FieldError, FieldErrors, FieldPath, is_qualified_name
from apiserver.resources.core.podspec_fields import items, mapping

STANDARD_CONTAINER_RESOURCES: Final = frozenset({"cpu", "memory", "ephemeral-storage"})
STANDARD_QUOTA_RESOURCES: Final = frozenset({
    "pods", "services", "replicationcontrollers", "resourcequotas", "secrets", "configmaps", "persistentvolumeclaims",
    "services.nodeports", "services.loadbalancers", "cpu", "memory", "ephemeral-storage", "requests.cpu",
    "requests.memory", "requests.storage", "requests.ephemeral-storage", "limits.cpu", "limits.memory",
    "limits.ephemeral-storage",
})
STANDARD_RESOURCES: Final = STANDARD_QUOTA_RESOURCES | {"storage"}
QOS_RESOURCES: Final = ("cpu", "memory")
_INTEGER_RESOURCES: Final = frozenset({
    "pods", "services", "replicationcontrollers", "resourcequotas", "secrets", "configmaps",
    "persistentvolumeclaims", "services.nodeports", "services.loadbalancers",
})


def quantity_of(value: object) -> Quantity | None:
    """The parsed quantity, None for anything the body decoder would have refused."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    try:
        return parse_quantity(str(value))
    except QuantityError:
        return None


def is_native_resource(name: str) -> bool:
    return "/" not in name or "kubernetes.io/" in name


def is_huge_pages(name: str) -> bool:
    return name.startswith("hugepages-")


def is_overcommit_allowed(name: str) -> bool:
    return is_native_resource(name) and not is_huge_pages(name)


def is_extended_resource(name: str) -> bool:
    if is_native_resource(name) or name.startswith("requests."):
        return False
    return not is_qualified_name("requests." + name)


def is_integer_resource(name: str) -> bool:
    return name in _INTEGER_RESOURCES or is_extended_resource(name)


def validate_resource_quantity(name: str, quantity: Quantity, path: FieldPath) -> FieldErrors:
    """ValidateResourceQuantityValue: not negative, and whole for integer resources."""
    errors: FieldErrors = []
    if quantity.value < 0:
        errors.append(FieldError.invalid(path, str(quantity), IS_NEGATIVE_MESSAGE))
    if is_integer_resource(name) and (quantity.value * 1000).__ceil__() % 1000 != 0:
        errors.append(FieldError.invalid(path, str(quantity), "must be an integer"))
    return errors


def _is_huge_pages_name(name: str) -> bool:
    return any(name.startswith(prefix) for prefix in ("hugepages-", "requests.hugepages-", "limits.hugepages-"))


def validate_resource_name(name: str, path: FieldPath) -> FieldErrors:
    """validateResourceName: a qualified name; without a prefix, a standard resource."""
    errors = [FieldError.invalid(path, name, message) for message in is_qualified_name(name)]
    if not errors and "/" not in name and name not in STANDARD_RESOURCES and not _is_huge_pages_name(name):
        errors.append(FieldError.invalid(path, name, "must be a standard resource type or fully qualified"))
    return errors


def validate_container_resource_name(name: str, path: FieldPath) -> FieldErrors:
    errors = validate_resource_name(name, path)
    if "/" not in name:
        if name not in STANDARD_CONTAINER_RESOURCES and not is_huge_pages(name):
            errors.append(FieldError.invalid(path, name, "must be a standard resource for containers"))
    elif not is_native_resource(name) and not is_extended_resource(name):
        errors.append(FieldError.invalid(path, name, "doesn't follow extended resource name standard"))
    return errors


def validate_resource_requirements(resources: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    """ValidateResourceRequirements of one container (`path` is its `resources`)."""
    errors: FieldErrors = []
    limits_path, requests_path = path.child("limits"), path.child("requests")
    limits, requests = mapping(resources.get("limits")), mapping(resources.get("requests"))
    parsed_limits: dict[str, Quantity] = {}
    for name in sorted(limits):
        errors.extend(validate_container_resource_name(name, limits_path.key(name)))
        quantity = quantity_of(limits[name])
        if quantity is not None:
            parsed_limits[name] = quantity
            errors.extend(validate_resource_quantity(name, quantity, limits_path.key(name)))
    for name in sorted(requests):
        errors.extend(validate_container_resource_name(name, requests_path.key(name)))
        quantity = quantity_of(requests[name])
        if quantity is None:
            continue
        errors.extend(validate_resource_quantity(name, quantity, requests_path.key(name)))
        limit = parsed_limits.get(name)
        if limit is not None:
            if quantity.value != limit.value and not is_overcommit_allowed(name):
                detail = f"must be equal to {name} limit of {limit}"
                errors.append(FieldError.invalid(requests_path, str(quantity), detail))
            elif quantity.value > limit.value:
                detail = f"must be less than or equal to {name} limit of {limit}"
                errors.append(FieldError.invalid(requests_path, str(quantity), detail))
        elif not is_overcommit_allowed(name):
            errors.append(FieldError.required(limits_path, "Limit must be set for non overcommitable resources"))
    for index, claim in enumerate(items(resources.get("claims"))):
        if not claim.get("name"):
            errors.append(FieldError.required(path.child("claims").index(index).child("name")))
    return errors


def _positive_totals(containers: list[Mapping[str, Any]], kind: str) -> tuple[dict[str, Fraction], list[set[str]]]:
    totals: dict[str, Fraction] = {}
    found: list[set[str]] = []
    for container in containers:
        present: set[str] = set()
        for name, value in mapping(mapping(container.get("resources")).get(kind)).items():
            quantity = quantity_of(value)
            if name not in QOS_RESOURCES or quantity is None or quantity.value <= 0:
                continue
            totals[name] = totals.get(name, Fraction(0)) + quantity.value
            present.add(name)
        found.append(present)
    return totals, found


def compute_qos_class(spec: Mapping[str, Any]) -> str:
    """ComputePodQOS: BestEffort without cpu/memory requests or limits; Guaranteed when every container limits
    both and the totals of requests equal those of limits; Burstable otherwise."""
    containers = [*items(spec.get("containers")), *items(spec.get("initContainers"))]
    requests, _ = _positive_totals(containers, "requests")
    limits, limits_found = _positive_totals(containers, "limits")
    if not requests and not limits:
        return "BestEffort"
    guaranteed = all(present >= set(QOS_RESOURCES) for present in limits_found)
    if guaranteed and any(limits.get(name) != value for name, value in requests.items()):
        guaranteed = False
    return "Guaranteed" if guaranteed and len(requests) == len(limits) else "Burstable"
