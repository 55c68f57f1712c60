"""What a write to `pods/status` may contain: upstream v1.32's ValidatePodStatusUpdate.

Custom condition types are qualified names (reported at `metadata.conditions[i].Type`, as upstream does), a new
nominatedNodeName is a DNS subdomain, qosClass never changes (an empty one is first filled from the stored pod,
as the status strategy's PrepareForUpdate does), containers that ended and may not restart stay terminated, and
podIPs/hostIPs are valid, unique, at most one per IP family, hostIPs[0] equal to hostIP. Upstream checks no
phase values or transitions and, on purpose, not whether container statuses name containers of the spec. The
fields of alpha features that v1.32 drops when their gate is off (allocatedResourcesStatus, container status
`user`, resourceClaimStatuses) are not checked.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from apiserver.meta.errors import go_quote
from apiserver.meta.govalues import GoValueError, go_invalid
from apiserver.meta.validation import (
    FIELD_IMMUTABLE_MESSAGE,
    FieldError,
    FieldErrors,
    FieldPath,
    is_dns1123_subdomain,
    is_qualified_name,
)
from apiserver.resources.core.podspec_dns import parse_ip_sloppy, validate_ip
from apiserver.resources.core.podspec_fields import items, mapping, number, text

STATUS: Final = FieldPath("status")
SYSTEM_CONDITIONS: Final = frozenset({"PodScheduled", "Ready", "Initialized"})
TERMINATED_MESSAGE: Final = "may not be transitioned to non-terminated state"
ONE_PER_FAMILY_MESSAGE: Final = "may specify no more than one IP for each IP family"


def _go_ips(kind: str, addresses: list[str]) -> str:
    return f"[]core.{kind}{{" + ", ".join(_go_struct(kind, address) for address in addresses) + "}"


def _go_struct(kind: str, address: str) -> str:
    return f"core.{kind}{{IP:{go_quote(address)}}}"


def is_status_write(new: Mapping[str, Any], old: Mapping[str, Any]) -> bool:
    """A write through `/status`: the spec is the stored one and the status changed (main-resource writes keep
    the stored status)."""
    return new.get("spec") == old.get("spec") and new.get("status") != old.get("status")


def backfill_qos_class(new: dict[str, Any], old: Mapping[str, Any]) -> None:
    """An empty qosClass is taken from the stored pod (older kubelets dropped it)."""
    status = new.get("status")
    old_qos = mapping(old.get("status")).get("qosClass")
    if isinstance(status, dict) and not status.get("qosClass") and old_qos:
        status["qosClass"] = old_qos


def _condition_errors(status: Mapping[str, Any]) -> FieldErrors:
    errors: FieldErrors = []
    for index, condition in enumerate(items(status.get("conditions"))):
        kind = text(condition.get("type"))
        if kind in SYSTEM_CONDITIONS:
            continue
        path = FieldPath("metadata", "conditions").index(index).child("Type")
        errors.extend(FieldError.invalid(path, kind, message) for message in is_qualified_name(kind))
    return errors


def _is_terminated(container_status: Mapping[str, Any]) -> bool:
    return mapping(container_status.get("state")).get("terminated") is not None


def _transition_errors(new: list[Mapping[str, Any]], old: list[Mapping[str, Any]], path: FieldPath,
                       restart_policy: str, restartable: frozenset[str] = frozenset()) -> FieldErrors:
    """ValidateContainerStateTransition / ValidateInitContainerStateTransition."""
    if restart_policy == "Always":
        return []
    errors: FieldErrors = []
    for index, previous in enumerate(old):
        if not _is_terminated(previous):
            continue
        exit_code = number(mapping(mapping(previous.get("state")).get("terminated")).get("exitCode")) or 0
        if exit_code != 0 and restart_policy == "OnFailure":
            continue
        name = text(previous.get("name"))
        if name in restartable:
            continue
        errors.extend(FieldError.forbidden(path.index(index).child("state"), TERMINATED_MESSAGE)
                      for current in new if text(current.get("name")) == name and not _is_terminated(current))
    return errors


def _restartable_init_containers(spec: Mapping[str, Any]) -> frozenset[str]:
    return frozenset(text(container.get("name")) for container in items(spec.get("initContainers"))
                     if container.get("restartPolicy") == "Always")


def _dual_stack_errors(path: FieldPath, kind: str, addresses: list[str]) -> FieldErrors:
    errors: FieldErrors = []
    parsed = [parse_ip_sloppy(address) for address in addresses]
    invalid = next((address for address, ip in zip(addresses, parsed, strict=True) if ip is None), None)
    if invalid is not None:
        errors.append(FieldError.internal(path, "failed to check for dual stack with error:"
                                                f"failed to parse {invalid} as an IP"))
    families = {ip.version for ip in parsed if ip is not None}
    if invalid is not None or families != {4, 6} or len(addresses) > 2:
        errors.append(go_invalid(path, _go_ips(kind, addresses), ONE_PER_FAMILY_MESSAGE))
    return errors


def _duplicate_errors(path: FieldPath, kind: str, addresses: list[str]) -> FieldErrors:
    errors: FieldErrors = []
    seen: set[str] = set()
    for index, address in enumerate(addresses):
        if address in seen:
            errors.append(GoValueError.duplicate(path.index(index), _go_struct(kind, address)))
        seen.add(address)
    return errors


def _addresses(status: Mapping[str, Any], key: str) -> list[str]:
    return [text(entry.get("ip")) for entry in items(status.get(key))]


def _pod_ip_errors(status: Mapping[str, Any]) -> FieldErrors:
    """validatePodIPs."""
    path, addresses = STATUS.child("podIPs"), _addresses(status, "podIPs")
    errors: FieldErrors = []
    for index, address in enumerate(addresses):
        errors.extend(validate_ip(address, path.index(index)))
    if len(addresses) > 1:
        errors.extend(_dual_stack_errors(path, "PodIP", addresses))
        errors.extend(_duplicate_errors(path, "PodIP", addresses))
    return errors


def _host_ip_errors(status: Mapping[str, Any]) -> FieldErrors:
    """validateHostIPs."""
    path, addresses = STATUS.child("hostIPs"), _addresses(status, "hostIPs")
    if not addresses:
        return []
    errors: FieldErrors = []
    if text(status.get("hostIP")) != addresses[0]:
        errors.append(FieldError.invalid(path.index(0).child("ip"), addresses[0], "must be equal to `hostIP`"))
    for index, address in enumerate(addresses):
        errors.extend(validate_ip(address, path.index(index)))
    if len(addresses) > 1:
        errors.extend(_duplicate_errors(path, "HostIP", addresses))
        errors.extend(_dual_stack_errors(path, "HostIP", addresses))
    return errors


def validate_pod_status_update(new_pod: Mapping[str, Any], old_pod: Mapping[str, Any]) -> FieldErrors:
    """ValidatePodStatusUpdate after the object metadata rules, in upstream's order."""
    new, old = mapping(new_pod.get("status")), mapping(old_pod.get("status"))
    spec = mapping(old_pod.get("spec"))
    errors = _condition_errors(new)
    nominated = text(new.get("nominatedNodeName"))
    if nominated and nominated != text(old.get("nominatedNodeName")):
        errors.extend(FieldError.invalid(STATUS.child("nominatedNodeName"), nominated, message)
                      for message in is_dns1123_subdomain(nominated))
    if text(new.get("qosClass")) != text(old.get("qosClass")):
        errors.append(FieldError.invalid(STATUS.child("qosClass"), text(new.get("qosClass")),
                                         FIELD_IMMUTABLE_MESSAGE))
    restart_policy = text(spec.get("restartPolicy"))
    for key, policy in (("containerStatuses", restart_policy), ("initContainerStatuses", restart_policy),
                        ("ephemeralContainerStatuses", "Never")):
        restartable = _restartable_init_containers(spec) if key == "initContainerStatuses" else frozenset()
        errors.extend(_transition_errors(items(new.get(key)), items(old.get(key)), STATUS.child(key), policy,
                                         restartable))
    errors.extend(_pod_ip_errors(new))
    errors.extend(_host_ip_errors(new))
    return errors
