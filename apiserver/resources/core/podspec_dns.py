"""Name resolution fields of a PodSpec: dnsConfig and hostAliases, and the IP address rule they share.

Upstream v1.32's validatePodDNSConfig (nameservers, searches, options; dnsPolicy None needs nameservers) and
ValidateHostAliases, with their messages and field paths. IP addresses are parsed as Go's ParseIPSloppy does:
IPv4 octets may carry leading zeros, IPv6 zones are refused.
"""
from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Any, Final

from apiserver.meta.validation import FieldError, FieldErrors, FieldPath, is_dns1123_subdomain
from apiserver.resources.core.podspec_fields import items, text

MAX_NAMESERVERS: Final = 3
MAX_SEARCH_PATHS: Final = 32
MAX_SEARCH_LIST_CHARACTERS: Final = 2048
VALID_IP_MESSAGE: Final = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
_SLOPPY_IPV4: Final = re.compile(r"(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})")


def parse_ip_sloppy(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """netutils.ParseIPSloppy: None when `value` is no IP address."""
    if "%" in value:
        return None
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        pass
    octets = _SLOPPY_IPV4.fullmatch(value)
    if octets is None or any(int(octet) > 255 for octet in octets.groups()):
        return None
    return ipaddress.IPv4Address(".".join(str(int(octet)) for octet in octets.groups()))


def validate_ip(value: str, path: FieldPath) -> FieldErrors:
    """validation.IsValidIP."""
    return [] if parse_ip_sloppy(value) is not None else [FieldError.invalid(path, value, VALID_IP_MESSAGE)]


def _strings(value: object) -> list[str]:
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def validate_dns_config(spec: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    """validatePodDNSConfig at `path` (spec.dnsConfig)."""
    config = spec.get("dnsConfig")
    if spec.get("dnsPolicy") == "None":
        if not isinstance(config, Mapping):
            return [FieldError.required(path, "must provide `dnsConfig` when `dnsPolicy` is None")]
        if not _strings(config.get("nameservers")):
            return [FieldError.required(path.child("nameservers"),
                                        "must provide at least one DNS nameserver when `dnsPolicy` is None")]
    if not isinstance(config, Mapping):
        return []
    errors: FieldErrors = []
    nameservers = _strings(config.get("nameservers"))
    if len(nameservers) > MAX_NAMESERVERS:
        errors.append(FieldError.invalid(path.child("nameservers"), nameservers,
                                         f"must not have more than {MAX_NAMESERVERS} nameservers"))
    for index, nameserver in enumerate(nameservers):
        errors.extend(validate_ip(nameserver, path.child("nameservers").index(index)))
    searches = _strings(config.get("searches"))
    if len(searches) > MAX_SEARCH_PATHS:
        errors.append(FieldError.invalid(path.child("searches"), searches,
                                         f"must not have more than {MAX_SEARCH_PATHS} search paths"))
    if len(" ".join(searches).encode()) > MAX_SEARCH_LIST_CHARACTERS:
        detail = (f"must not have more than {MAX_SEARCH_LIST_CHARACTERS} characters (including spaces) "
                  "in the search list")
        errors.append(FieldError.invalid(path.child("searches"), searches, detail))
    for index, search in enumerate(searches):
        trimmed = search[:-1] if search.endswith(".") else search
        errors.extend(FieldError.invalid(path.child("searches").index(index), trimmed, message)
                      for message in is_dns1123_subdomain(trimmed))
    for index, option in enumerate(items(config.get("options"))):
        if not text(option.get("name")):
            errors.append(FieldError.required(path.child("options").index(index), "must not be empty"))
    return errors


def validate_host_aliases(spec: Mapping[str, Any], path: FieldPath) -> FieldErrors:
    """ValidateHostAliases at `path` (spec.hostAliases)."""
    errors: FieldErrors = []
    for index, alias in enumerate(items(spec.get("hostAliases"))):
        alias_path = path.index(index)
        errors.extend(validate_ip(text(alias.get("ip")), alias_path.child("ip")))
        for host_index, hostname in enumerate(_strings(alias.get("hostnames"))):
            errors.extend(FieldError.invalid(alias_path.child("hostnames").index(host_index), hostname, message)
                          for message in is_dns1123_subdomain(hostname))
    return errors
