"""Service update and status rules with upstream v1.32's messages (pkg/apis/core/validation:
ValidateServiceUpdate's upgrade/downgrade checks of clusterIPs and ipFamilies, validateLoadBalancerClassField,
ValidateServiceStatusUpdate's ValidateLoadBalancerStatus)."""
from __future__ import annotations

from typing import Any, Final

from apiserver.meta.validation import FieldError, FieldErrors, FieldPath, is_dns1123_subdomain, is_qualified_name
from apiserver.resources.core.endpoints_validation import VALID_IP_MESSAGE, parse_ip_sloppy
from apiserver.resources.core.service_defaults import (
    EXTERNAL_NAME,
    LOAD_BALANCER,
    cluster_ips,
    is_headless,
    service_type,
    spec_of,
)

MutableObject = dict[str, Any]
_SPEC = FieldPath("spec")
SINGLE_STACK: Final = "SingleStack"
IP_MODES: Final = ("Proxy", "VIP")
CHANGED: Final = "may not change once set"


def _families(service: MutableObject) -> list[Any]:
    value = spec_of(service).get("ipFamilies")
    return value if isinstance(value, list) else []


def _single_stack_required(service: MutableObject, what: str) -> FieldErrors:
    policy = spec_of(service).get("ipFamilyPolicy")
    if policy == SINGLE_STACK:
        return []
    return [FieldError.invalid(_SPEC.child("ipFamilyPolicy"), policy,
                               f"must be set to 'SingleStack' when releasing the secondary {what}")]


def validate_upgrade_downgrade_cluster_ips(old: MutableObject, new: MutableObject) -> FieldErrors:
    """validateUpgradeDowngradeClusterIPs."""
    if EXTERNAL_NAME in (service_type(new), service_type(old)) or (is_headless(old) and is_headless(new)):
        return []
    old_ips, new_ips = cluster_ips(old), cluster_ips(new)
    path = _SPEC.child("clusterIPs")
    errors: FieldErrors = []
    if len(old_ips) == len(new_ips):
        for index, ip in enumerate(old_ips):
            if ip != new_ips[index]:
                errors.append(FieldError.invalid(path.index(index), new_ips, CHANGED))
    elif len(old_ips) > len(new_ips):
        if not new_ips:
            errors.append(FieldError.invalid(path.index(0), new_ips, "primary clusterIP can not be unset"))
        if old_ips and new_ips and new_ips[0] != old_ips[0]:
            errors.append(FieldError.invalid(path.index(0), new_ips, CHANGED))
        if len(new_ips) == 1:
            errors += _single_stack_required(new, "clusterIP")
    elif old_ips and new_ips[0] != old_ips[0]:
        errors.append(FieldError.invalid(path.index(0), new_ips, CHANGED))
    return errors


def validate_upgrade_downgrade_ip_families(old: MutableObject, new: MutableObject) -> FieldErrors:
    """validateUpgradeDowngradeIPFamilies (upstream's checks and values kept, the clusterIPs ones included)."""
    if EXTERNAL_NAME in (service_type(new), service_type(old)) or is_headless(old) or is_headless(new):
        return []
    old_families, new_families = _families(old), _families(new)
    path = _SPEC.child("ipFamilies").index(0)
    errors: FieldErrors = []
    if len(old_families) == len(new_families):
        errors += [FieldError.invalid(path, new_families, CHANGED)
                   for family, other in zip(old_families, new_families, strict=True) if family != other]
    elif len(old_families) > len(new_families):
        if not cluster_ips(new):
            errors.append(FieldError.invalid(path, new_families, "primary ipFamily can not be unset"))
        if new_families and new_families[0] != old_families[0]:
            errors.append(FieldError.invalid(path, cluster_ips(new), CHANGED))
        if len(new_families) == 1:
            errors += _single_stack_required(new, "ipFamily")
    elif old_families and new_families[0] != old_families[0]:
        errors.append(FieldError.invalid(path, cluster_ips(new), CHANGED))
    return errors


def validate_load_balancer_class(old: MutableObject | None, new: MutableObject) -> FieldErrors:
    """validateLoadBalancerClassField: LoadBalancer services only, a qualified name, fixed once the service
    is a LoadBalancer."""
    path = _SPEC.child("loadBalancerClass")
    value = spec_of(new).get("loadBalancerClass")
    errors: FieldErrors = []
    if old is not None and service_type(old) == LOAD_BALANCER == service_type(new) \
            and spec_of(old).get("loadBalancerClass") != value:
        errors.append(FieldError.invalid(path, value, CHANGED))
    if value is None:
        return errors
    if service_type(new) != LOAD_BALANCER:
        return [*errors, FieldError.forbidden(path, "may only be used when `type` is 'LoadBalancer'")]
    return errors + [FieldError.invalid(path, value, message) for message in is_qualified_name(str(value))]


def validate_load_balancer_status(service: MutableObject) -> FieldErrors:
    """ValidateLoadBalancerStatus at status.loadBalancer (ipMode required with an ip: LoadBalancerIPMode is on)."""
    status = service.get("status")
    balancer = status.get("loadBalancer") if isinstance(status, dict) else None
    ingress = balancer.get("ingress") if isinstance(balancer, dict) else None
    entries = ingress if isinstance(ingress, list) else []
    path = FieldPath("status", "loadBalancer", "ingress")
    if entries and service_type(service) != LOAD_BALANCER:
        return [FieldError.forbidden(path, "may only be used when `spec.type` is 'LoadBalancer'")]
    errors: FieldErrors = []
    for index, entry in enumerate(entries):
        entry = entry if isinstance(entry, dict) else {}
        at = path.index(index)
        ip, mode, hostname = entry.get("ip") or "", entry.get("ipMode"), entry.get("hostname") or ""
        if ip and parse_ip_sloppy(ip) is None:
            errors.append(FieldError.invalid(at.child("ip"), ip, VALID_IP_MESSAGE))
        if mode is None:
            if ip:
                errors.append(FieldError.required(at.child("ipMode"), "must be specified when `ip` is set"))
        elif not ip:
            errors.append(FieldError.forbidden(at.child("ipMode"), "may not be specified when `ip` is not set"))
        elif mode not in IP_MODES:
            errors.append(FieldError.not_supported(at.child("ipMode"), mode, IP_MODES))
        if hostname:
            errors += [FieldError.invalid(at.child("hostname"), hostname, message)
                       for message in is_dns1123_subdomain(str(hostname))]
            if parse_ip_sloppy(hostname) is not None:
                errors.append(FieldError.invalid(at.child("hostname"), hostname,
                                                 "must be a DNS name, not an IP address"))
    return errors


def is_status_write(new: MutableObject, old: MutableObject) -> bool:
    """A write through `/status`: the store kept the stored spec and the status changed (main-resource writes
    keep the stored status)."""
    return new.get("spec") == old.get("spec") and new.get("status") != old.get("status")
