"""Kubernetes' IP, CIDR and URL libraries (apiserver/pkg/cel/library/ip.go, cidr.go, urls.go)."""
from __future__ import annotations

import ipaddress
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Final

from apiserver.cel.errors import EvaluationError
from apiserver.cel.overloads import Library, Overload, add, overload
from apiserver.cel.types import BOOL, INT, STRING, CelType, list_of, map_of, opaque

IP_TYPE: Final = opaque("net.IP")
CIDR_TYPE: Final = opaque("net.CIDR")
URL_TYPE: Final = opaque("kubernetes.URL")


@dataclass(frozen=True, slots=True)
class IP:
    address: ipaddress.IPv4Address | ipaddress.IPv6Address
    cel_type: ClassVar = IP_TYPE

    def __str__(self) -> str:
        return str(self.address)


@dataclass(frozen=True, slots=True)
class CIDR:
    network: ipaddress.IPv4Interface | ipaddress.IPv6Interface
    cel_type: ClassVar = CIDR_TYPE

    def __str__(self) -> str:
        return str(self.network)


@dataclass(frozen=True, slots=True)
class URL:
    parts: urllib.parse.SplitResult
    cel_type: ClassVar = URL_TYPE


def _parser(name: str, params: tuple[CelType, ...], result: CelType, impl: Callable[..., Any]) -> Overload:
    return overload(name, params, result, impl)


def _parse_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    if "%" in text:
        raise EvaluationError(f"IP address with zone value is not allowed: {text}")
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        raise EvaluationError(f"IP Address {text!r} parse error during conversion from string: ParseAddr("
                              f"{text!r}): unable to parse IP") from None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        raise EvaluationError(f"IPv4-mapped IPv6 address is not allowed: {text}")
    return address


def _ip(text: str) -> IP:
    return IP(_parse_ip(text))


def _is_ip(text: str) -> bool:
    try:
        _parse_ip(text)
    except EvaluationError:
        return False
    return True


def _cidr(text: str) -> CIDR:
    address, _, prefix = text.partition("/")
    if not prefix or not prefix.isdigit():
        raise EvaluationError(f"network address parse error during conversion from string: netip.ParsePrefix("
                              f"{text!r}): no '/'")
    _parse_ip(address)
    try:
        return CIDR(ipaddress.ip_interface(text))
    except ValueError:
        raise EvaluationError(f"network address parse error during conversion from string: netip.ParsePrefix("
                              f"{text!r}): bad bits after slash") from None


def _is_cidr(text: str) -> bool:
    try:
        _cidr(text)
    except EvaluationError:
        return False
    return True


def _contains_ip(cidr: CIDR, other: Any) -> bool:
    address = _parse_ip(other) if isinstance(other, str) else other.address
    return address in cidr.network.network


def _contains_cidr(cidr: CIDR, other: Any) -> bool:
    network = (_cidr(other) if isinstance(other, str) else other).network.network
    container = cidr.network.network
    return network.version == container.version and network.subnet_of(container)  # type: ignore[arg-type]


def _masked(cidr: CIDR) -> CIDR:
    return CIDR(ipaddress.ip_interface(str(cidr.network.network)))


def _is_global_unicast(ip: IP) -> bool:
    address = ip.address
    if address.is_unspecified or address.is_loopback or address.is_multicast or address.is_link_local:
        return False
    return not (address.version == 4 and address == ipaddress.IPv4Address("255.255.255.255"))


def _is_link_local_multicast(ip: IP) -> bool:
    address = ip.address
    if address.version == 4:
        return address in ipaddress.IPv4Network("224.0.0.0/24")
    return address.is_multicast and (int(address) >> 112) & 0xF == 2


def ip_library(library: Library) -> None:
    add(library, "ip", _parser("string_to_ip", (STRING,), IP_TYPE, _ip),
        overload("cidr_ip", (CIDR_TYPE,), IP_TYPE, lambda c: IP(c.network.ip), member=True))
    add(library, "isIP", _parser("is_ip", (STRING,), BOOL, _is_ip))
    add(library, "ip.isCanonical", _parser("ip_is_canonical", (STRING,), BOOL,
                                           lambda text: str(_parse_ip(text)) == text))
    add(library, "family", overload("ip_family", (IP_TYPE,), INT, lambda ip: ip.address.version, member=True))
    predicates = {
        "isUnspecified": lambda ip: ip.address.is_unspecified, "isLoopback": lambda ip: ip.address.is_loopback,
        "isLinkLocalMulticast": _is_link_local_multicast,
        "isLinkLocalUnicast": lambda ip: ip.address.is_link_local and not ip.address.is_multicast,
        "isGlobalUnicast": _is_global_unicast,
    }
    for name, predicate in predicates.items():
        add(library, name, overload(f"ip_{name}", (IP_TYPE,), BOOL, predicate, member=True))
    add(library, "string", overload("ip_to_string", (IP_TYPE,), STRING, str),
        overload("cidr_to_string", (CIDR_TYPE,), STRING, str))
    add(library, "cidr", _parser("string_to_cidr", (STRING,), CIDR_TYPE, _cidr))
    add(library, "isCIDR", _parser("is_cidr", (STRING,), BOOL, _is_cidr))
    add(library, "containsIP",
        overload("cidr_contains_ip_string", (CIDR_TYPE, STRING), BOOL, _contains_ip, member=True),
        overload("cidr_contains_ip_ip", (CIDR_TYPE, IP_TYPE), BOOL, _contains_ip, member=True))
    add(library, "containsCIDR",
        overload("cidr_contains_cidr_string", (CIDR_TYPE, STRING), BOOL, _contains_cidr, member=True),
        overload("cidr_contains_cidr", (CIDR_TYPE, CIDR_TYPE), BOOL, _contains_cidr, member=True))
    add(library, "masked", overload("cidr_masked", (CIDR_TYPE,), CIDR_TYPE, _masked, member=True))
    add(library, "prefixLength", overload("cidr_prefix_length", (CIDR_TYPE,), INT,
                                          lambda c: c.network.network.prefixlen, member=True))


def _url(text: str) -> URL:
    try:
        parts = urllib.parse.urlsplit(text)
    except ValueError as error:
        raise EvaluationError(f"URL parse error during conversion from string: {error}") from None
    if not parts.scheme and not text.startswith("/"):
        raise EvaluationError(f'URL parse error during conversion from string: parse "{text}": '
                              "invalid URI for request")
    host = parts.netloc.rpartition("@")[2]
    port = host[host.index("]") + 1:] if host.startswith("[") and "]" in host else host[host.find(":"):] \
        if ":" in host else ""
    if port and not ((port.startswith(":") and port[1:].isdigit()) or port == ":"):
        bad = port[port.rfind(":"):]
        raise EvaluationError(f'URL parse error during conversion from string: parse "{text}": '
                              f'invalid port "{bad}" after host')
    return URL(parts)


def _is_url(text: str) -> bool:
    try:
        _url(text)
    except EvaluationError:
        return False
    return True


def _hostname(url: URL) -> str:
    host = url.parts.netloc.rpartition("@")[2]
    if host.startswith("["):
        return host[1:host.index("]")]
    return host.partition(":")[0]


def _port(url: URL) -> str:
    host = url.parts.netloc.rpartition("@")[2]
    if host.startswith("["):
        rest = host[host.index("]") + 1:]
        return rest[1:] if rest.startswith(":") else ""
    return host.partition(":")[2]


def _query(url: URL) -> dict[str, list[str]]:
    return urllib.parse.parse_qs(url.parts.query, keep_blank_values=True)


def url_library(library: Library) -> None:
    add(library, "url", _parser("string_to_url", (STRING,), URL_TYPE, _url))
    add(library, "isURL", _parser("is_url_string", (STRING,), BOOL, _is_url))
    accessors = {
        "getScheme": lambda u: u.parts.scheme, "getHost": lambda u: u.parts.netloc.rpartition("@")[2],
        "getHostname": _hostname, "getPort": _port,
        "getEscapedPath": lambda u: urllib.parse.quote(urllib.parse.unquote(u.parts.path), safe="/:@!$&'()*+,;=-._~"),
    }
    for name, accessor in accessors.items():
        add(library, name, overload(f"url_{name}", (URL_TYPE,), STRING, accessor, member=True))
    add(library, "getQuery", overload("url_get_query", (URL_TYPE,), map_of(STRING, list_of(STRING)), _query,
                                      member=True))
