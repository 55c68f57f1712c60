"""Where a proxy subresource request goes: upstream's `ResourceLocation` of pods, services and nodes.

The name in the URL may carry a scheme and a port (`[scheme:]name[:port]`, utilnet.SplitSchemeNamePort). A pod
is reached at its first IP on the named port (or its first container port); a service at a random ready
endpoint address of the named service port (pkg/registry/core/service/storage: the address must belong to a pod
of the request's namespace that has that IP); a node at its preferred address on the kubelet's port over https,
or at another port with the requested scheme. Targets that are not global unicast addresses (loopback,
link-local, unspecified, multicast) are refused with `address not allowed`, as upstream; a test-only server flag
allows loopback targets.
"""
from __future__ import annotations

import asyncio
import ipaddress
import random
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from apiserver.meta.errors import ApiError, BadRequest, ServiceUnavailable, go_quote
from apiserver.meta.objects import JSONDict

Getter = Callable[[str, str], Awaitable[JSONDict]]
"""Reads one object by (namespace, name); raises the store's NotFound."""

HostResolver = Callable[[str], Awaitable[Sequence[str]]]
"""The IP addresses a node's host name resolves to; raises OSError when it does not resolve."""

# kube-apiserver's --kubelet-preferred-address-types and --kubelet-port defaults.
PREFERRED_ADDRESS_TYPES = ("Hostname", "InternalDNS", "InternalIP", "ExternalDNS", "ExternalIP")
DEFAULT_KUBELET_PORT = 10250
_VALID_SCHEMES = ("", "http", "https")


@dataclass(frozen=True, slots=True)
class Location:
    """A backend: scheme, host (an IP or DNS name) and port ("" for the scheme's default). `kubelet` says the
    node's kubelet transport applies (https with the kubelet client configuration) rather than the proxy one."""

    scheme: str
    host: str
    port: str = ""
    kubelet: bool = False

    @property
    def netloc(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}" if self.port else host

    def url(self, escaped_path: str, raw_query: str) -> str:
        query = f"?{raw_query}" if raw_query else ""
        path = escaped_path if escaped_path.startswith("/") or not escaped_path else "/" + escaped_path
        return f"{self.scheme or 'http'}://{self.netloc}{path}{query}"


def split_scheme_name_port(value: str) -> tuple[str, str, str] | None:
    """`name`, `name:port` or `scheme:name:port` (scheme http or https) as (scheme, name, port); None if invalid."""
    parts = value.split(":")
    if len(parts) == 1:
        scheme, name, port = "", parts[0], ""
    elif len(parts) == 2:
        scheme, name, port = "", parts[0], parts[1]
    elif len(parts) == 3:
        scheme, name, port = parts
    else:
        return None
    if not name or scheme not in _VALID_SCHEMES:
        return None
    return scheme, name, port


def parse_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """Go's ParseIPSloppy: IPv4 parts may carry leading zeros (read as decimal)."""
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        pass
    parts = text.split(".")
    if len(parts) == 4 and all(part.isdigit() and len(part) <= 3 for part in parts):
        try:
            return ipaddress.IPv4Address(".".join(str(int(part)) for part in parts))
        except ValueError:
            return None
    return None


def is_proxyable(address: ipaddress.IPv4Address | ipaddress.IPv6Address | None, *, allow_loopback: bool) -> bool:
    """Go's net.IP.IsGlobalUnicast (the test of proxyutil.IsProxyableIP), loopback too when allowed."""
    if address is None:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_loopback:
        return allow_loopback
    if address.is_unspecified or address.is_multicast or address.is_link_local:
        return False
    return not (isinstance(address, ipaddress.IPv4Address) and address == ipaddress.IPv4Address("255.255.255.255"))


def _address_not_allowed() -> BadRequest:
    return BadRequest.from_message("address not allowed")


# --- pods ----------------------------------------------------------------------------------------------------

async def pod_location(get_pod: Getter, namespace: str, name_port: str, *, allow_loopback: bool) -> Location:
    """pkg/registry/core/pod: ResourceLocation."""
    split = split_scheme_name_port(name_port)
    if split is None:
        raise BadRequest.from_message(f"invalid pod request {go_quote(name_port)}")
    scheme, name, port = split
    pod = await get_pod(namespace, name)
    if not port:
        port = _first_container_port(pod)
    pod_ip = pod_ip_of(pod)
    if not is_proxyable(parse_ip(pod_ip), allow_loopback=allow_loopback):
        raise _address_not_allowed()
    return Location(scheme, pod_ip, port)


def pod_ip_of(pod: JSONDict) -> str:
    status = pod.get("status") or {}
    ips = status.get("podIPs") or []
    if ips:
        return str(ips[0].get("ip", ""))
    return str(status.get("podIP", ""))


def _first_container_port(pod: JSONDict) -> str:
    for container in (pod.get("spec") or {}).get("containers") or []:
        ports = container.get("ports") or []
        if ports:
            return str(ports[0].get("containerPort", ""))
    return ""


# --- services ------------------------------------------------------------------------------------------------

async def service_location(
    get_service: Getter, get_endpoints: Getter, get_pod: Getter, namespace: str, name_port: str, *,
    allow_loopback: bool, rng: random.Random | None = None,
) -> Location:
    """pkg/registry/core/service/storage: ResourceLocation (Endpoints, as v1.32 reads them)."""
    split = split_scheme_name_port(name_port)
    if split is None:
        raise BadRequest.from_message(f"invalid service request {go_quote(name_port)}")
    scheme, name, port_name = split
    if port_name.lstrip("+-").isdigit():
        port_name = _service_port_name(await get_service(namespace, name), name, int(port_name))
    endpoints = await get_endpoints(namespace, name)
    subsets = endpoints.get("subsets") or []
    if not subsets:
        raise ServiceUnavailable.from_message(f"no endpoints available for service {go_quote(name)}")
    choose = rng or random.Random()
    start = choose.randrange(len(subsets))
    for offset in range(len(subsets)):
        subset = subsets[(start + offset) % len(subsets)]
        found = await _subset_address(subset, port_name, namespace, get_pod, choose, allow_loopback)
        if found is not None:
            return Location(scheme, found[0], str(found[1]))
    raise ServiceUnavailable.from_message(f"no endpoints available for service {go_quote(name_port)}")


def _service_port_name(service: JSONDict, name: str, number: int) -> str:
    for port in (service.get("spec") or {}).get("ports") or []:
        if port.get("port") == number:
            return str(port.get("name", ""))
    raise ServiceUnavailable.from_message(f"no service port {number} found for service {go_quote(name)}")


async def _subset_address(
    subset: JSONDict, port_name: str, namespace: str, get_pod: Getter, rng: random.Random, allow_loopback: bool,
) -> tuple[str, int] | None:
    addresses = subset.get("addresses") or []
    if not addresses:
        return None
    for port in subset.get("ports") or []:
        if port.get("name", "") != port_name:
            continue
        start = rng.randrange(len(addresses))
        for offset in range(len(addresses)):
            address = addresses[(start + offset) % len(addresses)]
            if await _is_valid_address(address, namespace, get_pod, allow_loopback):
                return str(address["ip"]), int(port.get("port", 0))
    return None


async def _is_valid_address(address: JSONDict, namespace: str, get_pod: Getter, allow_loopback: bool) -> bool:
    """An address counts only when it names a pod of this namespace that has that IP (upstream's isValidAddress);
    it must also be a proxyable address (defence in depth: Endpoints validation already refuses the others)."""
    target = address.get("targetRef") or {}
    if not target or target.get("namespace", "") != namespace:
        return False
    try:
        pod = await get_pod(namespace, str(target.get("name", "")))
    except ApiError:
        return False
    ips = {entry.get("ip") for entry in (pod.get("status") or {}).get("podIPs") or []}
    ip = str(address.get("ip", ""))
    return ip in ips and is_proxyable(parse_ip(ip), allow_loopback=allow_loopback)


# --- nodes ---------------------------------------------------------------------------------------------------

async def node_location(
    get_node: Getter, name_port: str, *, allow_loopback: bool, resolve_host: HostResolver | None = None,
    preferred_address_types: Sequence[str] = PREFERRED_ADDRESS_TYPES,
) -> Location:
    """pkg/registry/core/node: ResourceLocation, with the kubelet connection of NodeConnectionInfoGetter."""
    split = split_scheme_name_port(name_port)
    if split is None:
        raise BadRequest.from_message(f"invalid node request {go_quote(name_port)}")
    scheme, name, port = split
    node = await get_node("", name)
    status = node.get("status") or {}
    host = _preferred_address(status.get("addresses") or [], preferred_address_types)
    await _check_hostname(host, resolve_host or resolve_addresses, allow_loopback)
    kubelet_port = ((status.get("daemonEndpoints") or {}).get("kubeletEndpoint") or {}).get("Port") or 0
    kubelet_port = str(kubelet_port if int(kubelet_port) > 0 else DEFAULT_KUBELET_PORT)
    if not port or port == kubelet_port:
        return Location("https", host, kubelet_port, kubelet=True)
    return Location(scheme, host, port)


def _preferred_address(addresses: Sequence[JSONDict], preferred: Sequence[str]) -> str:
    for address_type in preferred:
        for address in addresses:
            if address.get("type") == address_type:
                return str(address.get("address", ""))
    known = " ".join(f"{{{address.get('type', '')} {address.get('address', '')}}}" for address in addresses)
    raise ApiError(f"no preferred addresses found; known addresses: [{known}]")


async def _check_hostname(host: str, resolve_host: HostResolver, allow_loopback: bool) -> None:
    """proxyutil.IsProxyableHostname: every address the name resolves to must be proxyable."""
    try:
        addresses = await resolve_host(host)
    except OSError:
        raise BadRequest.from_message(f"lookup {host}: no such host") from None
    if not addresses:
        raise BadRequest.from_message("no addresses for hostname")
    if not all(is_proxyable(parse_ip(address), allow_loopback=allow_loopback) for address in addresses):
        raise _address_not_allowed()


async def resolve_addresses(host: str) -> list[str]:
    """The addresses `host` resolves to (an IP literal resolves to itself)."""
    if parse_ip(host) is not None:
        return [host]
    infos: list[Any] = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})

