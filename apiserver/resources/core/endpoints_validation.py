"""Endpoints defaults and validation as upstream v1.32 (core/v1 SetDefaults_Endpoints; pkg/apis/core/validation:
ValidateEndpoints, ValidateNonSpecialIP), with IP parsing as Go's `ParseIPSloppy` (leading zeros allowed).

The server's own `kubernetes` Endpoints reconciler writes with `SERVER_WRITER` as the request's user: its
addresses skip the special-range checks, so a server advertising a loopback address (as tests do) still publishes
itself (upstream's reconciler would be refused; see bootstrap_kubernetes_service.py).
"""
from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from apiserver.meta.validation import (
    FieldError,
    FieldErrors,
    FieldPath,
    is_dns1123_label,
    is_dns1123_subdomain,
    is_qualified_name,
)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
PROTOCOLS: Final = ("SCTP", "TCP", "UDP")
VALID_IP_MESSAGE: Final = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
PORT_RANGE_MESSAGE: Final = "must be between 1 and 65535, inclusive"
_LINK_LOCAL_MULTICAST_V4: Final = ipaddress.ip_network("224.0.0.0/24")


@dataclass(frozen=True)
class ServerWriter:
    """The identity of the server's own endpoint reconciler (a UserInfo)."""

    name: str = "system:apiserver"
    uid: str = ""
    groups: Sequence[str] = ("system:masters",)
    extra: Mapping[str, Sequence[str]] = field(default_factory=dict)


SERVER_WRITER: Final = ServerWriter()


def parse_ip_sloppy(value: object) -> IPAddress | None:
    """Go's ParseIPSloppy: dotted quads may carry leading zeros; no IPv6 zones."""
    if not isinstance(value, str) or not value or "%" in value:
        return None
    if ":" not in value:
        parts = value.split(".")
        if len(parts) != 4 or not all(part.isascii() and part.isdigit() and int(part) <= 255 for part in parts):
            return None
        return ipaddress.IPv4Address(".".join(str(int(part)) for part in parts))
    try:
        return ipaddress.IPv6Address(value)
    except ValueError:
        return None


def as_ipv4(address: IPAddress) -> IPAddress:
    """Go's To4 view: an IPv4-mapped IPv6 address is its IPv4 address."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def is_valid_ip(value: object, path: FieldPath) -> FieldErrors:
    """IsValidIP."""
    return [] if parse_ip_sloppy(value) is not None else [FieldError.invalid(path, value, VALID_IP_MESSAGE)]


def validate_non_special_ip(value: object, path: FieldPath) -> FieldErrors:
    """ValidateNonSpecialIP: no unspecified, loopback, link-local or link-local multicast addresses."""
    parsed = parse_ip_sloppy(value)
    if parsed is None:
        return [FieldError.invalid(path, value, "must be a valid IP address")]
    address = as_ipv4(parsed)
    errors: FieldErrors = []
    if address.is_unspecified:
        errors.append(FieldError.invalid(path, value, f"may not be unspecified ({value})"))
    if address.is_loopback:
        errors.append(FieldError.invalid(path, value, "may not be in the loopback range (127.0.0.0/8, ::1/128)"))
    if address.is_link_local:
        errors.append(FieldError.invalid(path, value, "may not be in the link-local range (169.254.0.0/16, fe80::/10)"))
    if _is_link_local_multicast(address):
        errors.append(FieldError.invalid(path, value,
                                         "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)"))
    return errors


def _is_link_local_multicast(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv4Address):
        return address in _LINK_LOCAL_MULTICAST_V4
    packed = address.packed
    return packed[0] == 0xFF and packed[1] & 0x0F == 0x02


def dns1123_label_errors(value: str, path: FieldPath) -> FieldErrors:
    return [FieldError.invalid(path, value, message) for message in is_dns1123_label(value)]


def node_name_errors(value: object, path: FieldPath) -> FieldErrors:
    """ValidateNodeName (a DNS subdomain)."""
    return [FieldError.invalid(path, value, message) for message in is_dns1123_subdomain(str(value))]


def qualified_name_errors(value: object, path: FieldPath) -> FieldErrors:
    return [FieldError.invalid(path, value, message) for message in is_qualified_name(str(value))]


def protocol_errors(protocol: object, path: FieldPath) -> FieldErrors:
    if not protocol:
        return [FieldError.required(path)]
    if protocol not in PROTOCOLS:
        return [FieldError.not_supported(path, protocol, PROTOCOLS)]
    return []


def _items(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _port_number(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


# --- Endpoints ---------------------------------------------------------------------------------------------------

def default_endpoints(obj: dict[str, Any]) -> None:
    """SetDefaults_Endpoints: every subset port's protocol defaults to TCP."""
    for subset in _items(obj.get("subsets")):
        if not isinstance(subset, dict):
            continue
        for port in _items(subset.get("ports")):
            if isinstance(port, dict) and not port.get("protocol"):
                port["protocol"] = "TCP"


def validate_endpoints(obj: Mapping[str, Any], *, allow_special_ips: bool = False) -> FieldErrors:
    """ValidateEndpoints without ObjectMeta (subsets' addresses and ports)."""
    errors: FieldErrors = []
    for index, subset in enumerate(_items(obj.get("subsets"))):
        subset = subset if isinstance(subset, dict) else {}
        path = FieldPath("subsets").index(index)
        ready, not_ready = _items(subset.get("addresses")), _items(subset.get("notReadyAddresses"))
        if not ready and not not_ready:
            errors.append(FieldError.required(path, "must specify `addresses` or `notReadyAddresses`"))
        for name, addresses in (("addresses", ready), ("notReadyAddresses", not_ready)):
            for position, address in enumerate(addresses):
                errors += _validate_address(address if isinstance(address, dict) else {},
                                            path.child(name).index(position), allow_special_ips)
        ports = _items(subset.get("ports"))
        for position, port in enumerate(ports):
            errors += _validate_port(port if isinstance(port, dict) else {}, len(ports) > 1,
                                     path.child("ports").index(position))
    return errors


def _validate_address(address: Mapping[str, Any], path: FieldPath, allow_special_ips: bool) -> FieldErrors:
    ip = address.get("ip", "")
    errors = is_valid_ip(ip, path.child("ip"))
    hostname = address.get("hostname")
    if isinstance(hostname, str) and hostname:
        errors += dns1123_label_errors(hostname, path.child("hostname"))
    if address.get("nodeName") is not None:
        errors += node_name_errors(address["nodeName"], path.child("nodeName"))
    if not allow_special_ips:
        errors += validate_non_special_ip(ip, path.child("ip"))
    return errors


def _validate_port(port: Mapping[str, Any], require_name: bool, path: FieldPath) -> FieldErrors:
    errors: FieldErrors = []
    name = port.get("name") or ""
    if require_name and not name:
        errors.append(FieldError.required(path.child("name")))
    elif name:
        errors += dns1123_label_errors(str(name), path.child("name"))
    number = _port_number(port.get("port"))
    if not 1 <= number <= 65535:
        errors.append(FieldError.invalid(path.child("port"), number, PORT_RANGE_MESSAGE))
    errors += protocol_errors(port.get("protocol"), path.child("protocol"))
    if port.get("appProtocol") is not None:
        errors += qualified_name_errors(port["appProtocol"], path.child("appProtocol"))
    return errors
