"""EndpointSlice defaults, strategy bookkeeping and validation as upstream v1.32 (discovery/v1 defaults.go;
pkg/apis/discovery/validation; pkg/registry/discovery/endpointslice strategy's dropTopologyOnV1)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from apiserver.meta.validation import (
    FIELD_IMMUTABLE_MESSAGE,
    FieldError,
    FieldErrors,
    FieldPath,
    is_dns1123_label,
    is_dns1123_subdomain,
    is_valid_label_value,
)
from apiserver.resources.core.endpoints_validation import (
    PROTOCOLS,
    as_ipv4,
    dns1123_label_errors,
    node_name_errors,
    parse_ip_sloppy,
    qualified_name_errors,
    validate_non_special_ip,
)

ADDRESS_TYPES: Final = ("FQDN", "IPv4", "IPv6")
MAX_ADDRESSES: Final = 100
MAX_PORTS: Final = 20000
MAX_ENDPOINTS: Final = 1000
MAX_ZONE_HINTS: Final = 8
HOSTNAME_LABEL: Final = "kubernetes.io/hostname"


def _items(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def default_endpoint_slice(obj: dict[str, Any]) -> None:
    """SetDefaults_EndpointPort: every port gets a name ("") and the protocol TCP when unset."""
    for port in _items(obj.get("ports")):
        if isinstance(port, dict):
            if port.get("name") is None:
                port["name"] = ""
            if port.get("protocol") is None:
                port["protocol"] = "TCP"


def drop_deprecated_topology(new: dict[str, Any], old: Mapping[str, Any] | None) -> None:
    """dropTopologyOnV1: v1 writes drop `deprecatedTopology` unless the endpoints did not change; a node name
    the old slice recorded there moves to `nodeName` when that is unset."""
    if old is not None and old.get("endpoints") == new.get("endpoints"):
        return
    known = {name for endpoint in _items(old.get("endpoints") if old else None)
             for name in [_mapping(_mapping(endpoint).get("deprecatedTopology")).get(HOSTNAME_LABEL)]
             if isinstance(name, str)}
    for endpoint in _items(new.get("endpoints")):
        if not isinstance(endpoint, dict) or "deprecatedTopology" not in endpoint:
            continue
        node = _mapping(endpoint.get("deprecatedTopology")).get(HOSTNAME_LABEL)
        if endpoint.get("nodeName") is None and isinstance(node, str) and node in known \
                and not is_dns1123_subdomain(node):
            endpoint["nodeName"] = node
        del endpoint["deprecatedTopology"]


def validate_endpoint_slice(obj: Mapping[str, Any], *, allow_special_ips: bool = False) -> FieldErrors:
    """ValidateEndpointSlice without ObjectMeta."""
    address_type = obj.get("addressType") or ""
    errors: FieldErrors = []
    if not address_type:
        errors.append(FieldError.required(FieldPath("addressType")))
    elif address_type not in ADDRESS_TYPES:
        errors.append(FieldError.not_supported(FieldPath("addressType"), address_type, ADDRESS_TYPES))
    errors += _validate_endpoints(_items(obj.get("endpoints")), address_type, allow_special_ips)
    errors += _validate_ports(_items(obj.get("ports")))
    return errors


def validate_endpoint_slice_update(new: Mapping[str, Any], old: Mapping[str, Any], *,
                                   allow_special_ips: bool = False) -> FieldErrors:
    """ValidateEndpointSliceUpdate: the rules of a new slice, then addressType is immutable."""
    errors = validate_endpoint_slice(new, allow_special_ips=allow_special_ips)
    if (new.get("addressType") or "") != (old.get("addressType") or ""):
        errors.append(FieldError.invalid(FieldPath("addressType"), new.get("addressType") or "",
                                         FIELD_IMMUTABLE_MESSAGE))
    return errors


def _validate_endpoints(endpoints: list[Any], address_type: str, allow_special_ips: bool) -> FieldErrors:
    path = FieldPath("endpoints")
    if len(endpoints) > MAX_ENDPOINTS:
        return [FieldError.too_many(path, len(endpoints), MAX_ENDPOINTS)]
    errors: FieldErrors = []
    for index, endpoint in enumerate(endpoints):
        endpoint = _mapping(endpoint)
        at = path.index(index)
        addresses = _items(endpoint.get("addresses"))
        if not addresses:
            errors.append(FieldError.required(at.child("addresses"), "must contain at least 1 address"))
        elif len(addresses) > MAX_ADDRESSES:
            errors.append(FieldError.too_many(at.child("addresses"), len(addresses), MAX_ADDRESSES))
        for position, address in enumerate(addresses):
            errors += _validate_address(address, address_type, at.child("addresses").index(position),
                                        allow_special_ips)
        if endpoint.get("nodeName") is not None:
            errors += node_name_errors(endpoint["nodeName"], at.child("nodeName"))
        if endpoint.get("hostname") is not None:
            errors += dns1123_label_errors(str(endpoint["hostname"]), at.child("hostname"))
        if isinstance(endpoint.get("hints"), dict):
            errors += _validate_hints(endpoint["hints"], at.child("hints"))
    return errors


def _validate_address(address: object, address_type: str, path: FieldPath, allow_special_ips: bool) -> FieldErrors:
    """Known address types only; an unknown type was reported already."""
    if address_type in ("IPv4", "IPv6"):
        parsed = parse_ip_sloppy(address)
        is_v4 = parsed is not None and as_ipv4(parsed).version == 4
        errors: FieldErrors = []
        if parsed is None or is_v4 != (address_type == "IPv4"):
            errors.append(FieldError.invalid(path, address, f"must be a valid {address_type} address"))
        if not allow_special_ips:
            errors += validate_non_special_ip(address, path)
        return errors
    if address_type == "FQDN":
        return _fully_qualified_domain_name(str(address), path)
    return []


def _fully_qualified_domain_name(name: str, path: FieldPath) -> FieldErrors:
    """IsFullyQualifiedDomainName."""
    if not name:
        return [FieldError.required(path)]
    name = name.removesuffix(".")
    messages = is_dns1123_subdomain(name)
    if messages:
        return [FieldError.invalid(path, name, ",".join(messages))]
    labels = name.split(".")
    if len(labels) < 2:
        return [FieldError.invalid(path, name, "should be a domain with at least two segments separated by dots")]
    for label in labels:
        messages = is_dns1123_label(label)
        if messages:
            return [FieldError.invalid(path, label, ",".join(messages))]
    return []


def _validate_hints(hints: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    zones = _items(hints.get("forZones"))
    zones_path = path.child("forZones")
    if len(zones) > MAX_ZONE_HINTS:
        return [FieldError.too_many(zones_path, len(zones), MAX_ZONE_HINTS)]
    errors: FieldErrors = []
    seen: set[str] = set()
    for index, zone in enumerate(zones):
        name = str(_mapping(zone).get("name") or "")
        name_path = zones_path.index(index).child("name")
        if name in seen:
            errors.append(FieldError.duplicate(name_path, name))
        seen.add(name)
        errors += [FieldError.invalid(name_path, name, message) for message in is_valid_label_value(name)]
    return errors


def _validate_ports(ports: list[Any]) -> FieldErrors:
    path = FieldPath("ports")
    if len(ports) > MAX_PORTS:
        return [FieldError.too_many(path, len(ports), MAX_PORTS)]
    errors: FieldErrors = []
    names: set[str] = set()
    for index, port in enumerate(ports):
        port = _mapping(port)
        at = path.index(index)
        name = str(port.get("name") or "")
        if name:
            errors += dns1123_label_errors(name, at.child("name"))
        if name in names:
            errors.append(FieldError.duplicate(at.child("name"), name))
        names.add(name)
        protocol = port.get("protocol")
        if protocol is None:
            errors.append(FieldError.required(at.child("protocol")))
        elif protocol not in PROTOCOLS:
            errors.append(FieldError.not_supported(at.child("protocol"), protocol, PROTOCOLS))
        if port.get("appProtocol") is not None:
            errors += qualified_name_errors(port["appProtocol"], at.child("appProtocol"))
    return errors
