"""Service validation with upstream v1.32's messages and field paths (pkg/apis/core/validation: ValidateService,
ValidateServiceUpdate, ValidateServiceClusterIPsRelatedFields). ObjectMeta is validated by the store."""
from __future__ import annotations

import ipaddress
from typing import Any

from apiserver.meta.validation import (
    FieldError,
    FieldErrors,
    FieldPath,
    is_dns1123_label,
    is_dns1123_subdomain,
    is_qualified_name,
    validate_labels,
)
from apiserver.resources.core.podspec_fields import validate_port_num_or_name
from apiserver.resources.core.service_defaults import (
    CLIENT_IP,
    CLUSTER_IP,
    EXTERNAL_NAME,
    LOAD_BALANCER,
    NODE_PORT,
    NONE,
    cluster_ips,
    is_externally_accessible,
    is_headless,
    needs_health_check_node_port,
    node_port,
    ports_of,
    service_type,
    spec_of,
)
from apiserver.resources.core.service_update_validation import (
    validate_load_balancer_class,
    validate_upgrade_downgrade_cluster_ips,
    validate_upgrade_downgrade_ip_families,
)

MutableObject = dict[str, Any]
PREFER_CLOSE = "PreferClose"
_SPEC = FieldPath("spec")
SERVICE_TYPES = ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")
AFFINITIES = ("ClientIP", "None")
PROTOCOLS = ("SCTP", "TCP", "UDP")
IP_FAMILIES = ("IPv4", "IPv6")
IP_FAMILY_POLICIES = ("PreferDualStack", "RequireDualStack", "SingleStack")
TRAFFIC_POLICIES = ("Cluster", "Local")
MAX_AFFINITY_SECONDS = 86400
VALID_IP_MESSAGE = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
PORT_RANGE_MESSAGE = "must be between 1 and 65535, inclusive"


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def parse_ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def validate_service(service: MutableObject) -> FieldErrors:
    """ValidateService without ObjectMeta, in upstream's order."""
    spec = spec_of(service)
    kind = service_type(service)
    errors: FieldErrors = []
    if not ports_of(spec) and not is_headless(service) and kind != EXTERNAL_NAME:
        errors.append(FieldError.required(_SPEC.child("ports")))
    errors += _validate_type_fields(service, kind)
    errors += _validate_ports(service)
    if isinstance(spec.get("selector"), dict):
        errors += validate_labels(spec["selector"], _SPEC.child("selector"))
    errors += _validate_affinity(spec)
    errors += validate_cluster_ips_related_fields(service)
    errors += _validate_external_ips(spec)
    if not kind:
        errors.append(FieldError.required(_SPEC.child("type")))
    elif kind not in SERVICE_TYPES:
        errors.append(FieldError.not_supported(_SPEC.child("type"), kind, SERVICE_TYPES))
    errors += _validate_node_ports(service, kind)
    errors += _validate_source_ranges(spec, kind)
    errors += _validate_traffic_policies(service, kind)
    distribution = spec.get("trafficDistribution")
    if distribution is not None and distribution != PREFER_CLOSE:
        errors.append(FieldError.not_supported(_SPEC.child("trafficDistribution"), distribution, (PREFER_CLOSE,)))
    return errors


def _validate_type_fields(service: MutableObject, kind: str) -> FieldErrors:
    spec = spec_of(service)
    if kind in (LOAD_BALANCER, NODE_PORT) and is_headless(service):
        return [FieldError.invalid(_SPEC.child("clusterIPs").index(0), NONE,
                                   f"may not be set to 'None' for {kind} services")]
    if kind != EXTERNAL_NAME:
        return []
    errors: FieldErrors = []
    if cluster_ips(service):
        errors.append(FieldError.forbidden(_SPEC.child("clusterIPs"), "may not be set for ExternalName services"))
    if spec.get("ipFamilies"):
        errors.append(FieldError.forbidden(_SPEC.child("ipFamilies"), "may not be set for ExternalName services"))
    if spec.get("ipFamilyPolicy") is not None:
        errors.append(FieldError.forbidden(_SPEC.child("ipFamilyPolicy"), "may not be set for ExternalName services"))
    name = str(spec.get("externalName") or "").removesuffix(".")
    if name:
        path = _SPEC.child("externalName")
        errors += [FieldError.invalid(path, name, message) for message in is_dns1123_subdomain(name)]
    else:
        errors.append(FieldError.required(_SPEC.child("externalName")))
    return errors


def _validate_ports(service: MutableObject) -> FieldErrors:
    ports = ports_of(spec_of(service))
    errors: FieldErrors = []
    names: set[str] = set()
    for index, port in enumerate(ports):
        path = _SPEC.child("ports").index(index)
        name = str(port.get("name") or "")
        if len(ports) > 1 and not name:
            errors.append(FieldError.required(path.child("name")))
        elif name:
            errors += [FieldError.invalid(path.child("name"), name, message) for message in is_dns1123_label(name)]
            if name in names:
                errors.append(FieldError.duplicate(path.child("name"), name))
            names.add(name)
        number = _int(port.get("port"))
        if number is None or not 1 <= number <= 65535:
            errors.append(FieldError.invalid(path.child("port"), number or 0, PORT_RANGE_MESSAGE))
        protocol = port.get("protocol")
        if not protocol:
            errors.append(FieldError.required(path.child("protocol")))
        elif protocol not in PROTOCOLS:
            errors.append(FieldError.not_supported(path.child("protocol"), protocol, PROTOCOLS))
        errors += validate_port_num_or_name(port.get("targetPort"), path.child("targetPort"))
        if isinstance(port.get("appProtocol"), str):
            app = port["appProtocol"]
            errors += [FieldError.invalid(path.child("appProtocol"), app, message)
                       for message in is_qualified_name(app)]
    return errors


def _validate_affinity(spec: MutableObject) -> FieldErrors:
    affinity = spec.get("sessionAffinity")
    path = _SPEC.child("sessionAffinityConfig")
    if not affinity:
        return [FieldError.required(_SPEC.child("sessionAffinity"))]
    if affinity not in AFFINITIES:
        return [FieldError.not_supported(_SPEC.child("sessionAffinity"), affinity, AFFINITIES)]
    config = spec.get("sessionAffinityConfig")
    if affinity == NONE:
        return [FieldError.forbidden(path, "must not be set when session affinity is None")] if config else []
    detail = f"when session affinity type is {CLIENT_IP}"
    if not isinstance(config, dict):
        return [FieldError.required(path, detail)]
    client_ip = config.get("clientIP")
    if not isinstance(client_ip, dict):
        return [FieldError.required(path.child("clientIP"), detail)]
    timeout = _int(client_ip.get("timeoutSeconds"))
    timeout_path = path.child("clientIP", "timeoutSeconds")
    if timeout is None:
        return [FieldError.required(timeout_path, detail)]
    if not 0 < timeout <= MAX_AFFINITY_SECONDS:
        detail = f"must be greater than 0 and less than {MAX_AFFINITY_SECONDS}"
        return [FieldError.invalid(timeout_path, timeout, detail)]
    return []


def validate_cluster_ips_related_fields(service: MutableObject) -> FieldErrors:
    """ValidateServiceClusterIPsRelatedFields (also run before allocation, as upstream's loose pre-check)."""
    if service_type(service) == EXTERNAL_NAME:
        return []
    spec = spec_of(service)
    ips = cluster_ips(service)
    path = _SPEC.child("clusterIPs")
    errors: FieldErrors = []
    if spec.get("clusterIP"):
        if not ips:
            errors.append(FieldError.required(path))
        elif ips[0] != spec["clusterIP"]:
            errors.append(FieldError.invalid(path, ips, "first value must match `clusterIP`"))
    elif ips:
        errors.append(FieldError.invalid(path, ips, "must be empty when `clusterIP` is not specified"))
    families = _list(spec.get("ipFamilies"))
    seen: set[object] = set()
    for index, family in enumerate(families):
        if family not in IP_FAMILIES:
            errors.append(FieldError.not_supported(_SPEC.child("ipFamilies").index(index), family, IP_FAMILIES))
        if family in seen:
            errors.append(FieldError.duplicate(_SPEC.child("ipFamilies").index(index), family))
        seen.add(family)
    policy = spec.get("ipFamilyPolicy")
    if policy is not None and policy not in IP_FAMILY_POLICIES:
        errors.append(FieldError.not_supported(_SPEC.child("ipFamilyPolicy"), policy, IP_FAMILY_POLICIES))
    invalid_ips = False
    for index, ip in enumerate(ips):
        if index == 0 and ip == NONE:
            if len(ips) > 1:
                invalid_ips = True
                errors.append(FieldError.invalid(path, ips, "'None' must be the first and only value"))
            continue
        if parse_ip(ip) is None:
            invalid_ips = True
            errors.append(FieldError.invalid(path.index(index), ip, VALID_IP_MESSAGE))
    if len(ips) > 2:
        errors.append(FieldError.invalid(path, ips, "may only hold up to 2 values"))
    if invalid_ips:
        return errors
    if len(ips) > 1 and len({parse_ip(ip).version for ip in ips[:2] if parse_ip(ip)}) < 2:  # type: ignore[union-attr]
        errors.append(FieldError.invalid(path, ips, "may specify no more than one IP for each IP family"))
    if not is_headless(service):
        for index, (ip, family) in enumerate(zip(ips, families, strict=False)):
            version = parse_ip(ip)
            if family == "IPv4" and version is not None and version.version == 6:
                errors.append(FieldError.invalid(path.index(index), ip,
                                                 f"expected an IPv4 value as indicated by `ipFamilies[{index}]`"))
            if family == "IPv6" and version is not None and version.version != 6:
                errors.append(FieldError.invalid(path.index(index), ip,
                                                 f"expected an IPv6 value as indicated by `ipFamilies[{index}]`"))
    return errors


def _validate_external_ips(spec: MutableObject) -> FieldErrors:
    errors: FieldErrors = []
    external = _list(spec.get("externalIPs"))
    for index, value in enumerate(external):
        path = _SPEC.child("externalIPs").index(index)
        address = parse_ip(str(value))
        if address is None:
            errors.append(FieldError.invalid(path, value, VALID_IP_MESSAGE))
            continue
        if address.is_unspecified:
            errors.append(FieldError.invalid(path, value, f"may not be unspecified ({value})"))
        if address.is_loopback:
            errors.append(FieldError.invalid(path, value, "may not be in the loopback range (127.0.0.0/8, ::1/128)"))
        if address.is_link_local:
            errors.append(FieldError.invalid(path, value, "may not be in the link-local range (169.254.0.0/16, "
                                                          "fe80::/10)"))
        if address in ipaddress.ip_network("224.0.0.0/24") or (
                address.version == 6 and address in ipaddress.ip_network("ff02::/16")):
            errors.append(FieldError.invalid(path, value, "may not be in the link-local multicast range "
                                                          "(224.0.0.0/24, ff02::/10)"))
    return errors


def _validate_node_ports(service: MutableObject, kind: str) -> FieldErrors:
    ports = ports_of(spec_of(service))
    errors: FieldErrors = []
    if kind == CLUSTER_IP:
        for index, port in enumerate(ports):
            if node_port(port):
                errors.append(FieldError.forbidden(_SPEC.child("ports").index(index).child("nodePort"),
                                                   "may not be used when `type` is 'ClusterIP'"))
    seen_node_ports: set[tuple[object, int]] = set()
    for index, port in enumerate(ports):
        if not node_port(port):
            continue
        key = (port.get("protocol"), node_port(port))
        if key in seen_node_ports:
            errors.append(FieldError.duplicate(_SPEC.child("ports").index(index).child("nodePort"), node_port(port)))
        seen_node_ports.add(key)
    seen_ports: set[tuple[object, object]] = set()
    for index, port in enumerate(ports):
        pair = (port.get("protocol"), port.get("port"))
        if pair in seen_ports:
            errors.append(FieldError.duplicate(_SPEC.child("ports").index(index),
                                               {"port": port.get("port"), "protocol": port.get("protocol")}))
        seen_ports.add(pair)
    return errors


def _validate_source_ranges(spec: MutableObject, kind: str) -> FieldErrors:
    ranges = _list(spec.get("loadBalancerSourceRanges"))
    if not ranges:
        return []
    path = _SPEC.child("LoadBalancerSourceRanges")
    errors: FieldErrors = []
    if kind != LOAD_BALANCER:
        errors.append(FieldError.forbidden(path, "may only be used when `type` is 'LoadBalancer'"))
    for index, value in enumerate(ranges):
        text = str(value).strip()
        try:
            ipaddress.ip_network(text, strict=False)
            valid = "/" in text
        except ValueError:
            valid = False
        if not valid:
            errors.append(FieldError.invalid(path.index(index), text,
                                             "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"))
    return errors


def _validate_traffic_policies(service: MutableObject, kind: str) -> FieldErrors:
    spec = spec_of(service)
    errors: FieldErrors = []
    external = spec.get("externalTrafficPolicy") or ""
    path = _SPEC.child("externalTrafficPolicy")
    if not is_externally_accessible(service):
        if external:
            errors.append(FieldError.invalid(path, external, "may only be set for externally-accessible services"))
    elif not external:
        errors.append(FieldError.required(path))
    elif external not in TRAFFIC_POLICIES:
        errors.append(FieldError.not_supported(path, external, TRAFFIC_POLICIES))
    health = _int(spec.get("healthCheckNodePort")) or 0
    if health and not needs_health_check_node_port(service):
        errors.append(FieldError.invalid(_SPEC.child("healthCheckNodePort"), health,
                                         "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` "
                                         "is 'Local'"))
    internal = spec.get("internalTrafficPolicy")
    if internal is None and kind in (CLUSTER_IP, NODE_PORT, LOAD_BALANCER):
        errors.append(FieldError.required(_SPEC.child("internalTrafficPolicy"), "must be specified"))
    elif internal is not None and internal not in TRAFFIC_POLICIES:
        errors.append(FieldError.not_supported(_SPEC.child("internalTrafficPolicy"), internal, TRAFFIC_POLICIES))
    return errors


def validate_service_create(service: MutableObject) -> FieldErrors:
    """ValidateServiceCreate without ObjectMeta: ValidateService, then the loadBalancerClass rules."""
    return validate_service(service) + validate_load_balancer_class(None, service)


def validate_service_update(new: MutableObject, old: MutableObject) -> FieldErrors:
    """ValidateServiceUpdate without ObjectMeta: clusterIPs and ipFamilies may be upgraded or downgraded (with
    SingleStack) but their primary never changes; loadBalancerClass is fixed; then the rules of a new service."""
    return (validate_upgrade_downgrade_cluster_ips(old, new) + validate_upgrade_downgrade_ip_families(old, new)
            + validate_load_balancer_class(old, new) + validate_service(new))
