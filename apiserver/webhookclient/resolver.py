"""From a Service reference to the address to dial: the Service's endpoints, or its cluster IP.

Upstream has two resolvers (k8s.io/apiserver/pkg/util/proxy: ResolveEndpoint and ResolveCluster), chosen by
kube-apiserver's `--enable-aggregator-routing`. This server has no kube-proxy, so a cluster IP leads nowhere:
endpoint routing is the default here. Either way the TLS name checked stays `<name>.<namespace>.svc`.
"""
from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

_ROUTABLE_TYPES = ("ClusterIP", "LoadBalancer", "NodePort")


class ServiceUnavailableError(Exception):
    """The Service cannot be routed to; `str(error)` is upstream's message."""


class ObjectGetter(Protocol):
    """Read-only access to one resource (admission's ObjectLister fits)."""

    async def get(self, namespace: str, name: str) -> Mapping[str, Any] | None:
        """The object, or None when it does not exist."""
        ...


class ServiceResolver:
    """Resolves `(namespace, name, port)` to `(host, port)` from Services and Endpoints."""

    def __init__(self, services: ObjectGetter, endpoints: ObjectGetter, *, endpoint_routing: bool = True,
                 choose: Any = random.choice) -> None:
        self._services = services
        self._endpoints = endpoints
        self.endpoint_routing = endpoint_routing
        self._choose = choose

    async def resolve(self, namespace: str, name: str, port: int) -> tuple[str, int]:
        """The address to dial. Raises ServiceUnavailableError with upstream's message."""
        service = await self._services.get(namespace, name)
        if service is None:
            raise ServiceUnavailableError(f'service "{name}" not found')
        spec = service.get("spec") or {}
        service_type = str(spec.get("type") or "ClusterIP")
        if not self.endpoint_routing:
            return _cluster_address(spec, service_type, name, port)
        if service_type not in _ROUTABLE_TYPES:
            raise ServiceUnavailableError(f'unsupported service type "{service_type}"')
        port_name = _service_port(spec, name, port).get("name") or ""
        endpoints = await self._endpoints.get(namespace, name)
        if endpoints is None:
            raise ServiceUnavailableError(f'endpoints "{name}" not found')
        address = self._pick(endpoints.get("subsets") or (), str(port_name))
        if address is None:
            raise ServiceUnavailableError(f'no endpoints available for service "{name}"')
        return address

    def _pick(self, subsets: Sequence[Mapping[str, Any]], port_name: str) -> tuple[str, int] | None:
        candidates = [subset for subset in subsets if subset.get("addresses")]
        for subset in random.sample(candidates, len(candidates)):
            for endpoint_port in subset.get("ports") or ():
                if (endpoint_port.get("name") or "") == port_name:
                    address = self._choose(subset["addresses"])
                    return str(address.get("ip")), int(endpoint_port.get("port") or 0)
        return None


def _service_port(spec: Mapping[str, Any], name: str, port: int) -> Mapping[str, Any]:
    for candidate in spec.get("ports") or ():
        if int(candidate.get("port") or 0) == port:
            found: Mapping[str, Any] = candidate
            return found
    raise ServiceUnavailableError(f'no service port {port} found for service "{name}"')


def _cluster_address(spec: Mapping[str, Any], service_type: str, name: str, port: int) -> tuple[str, int]:
    if service_type == "ExternalName":
        return str(spec.get("externalName") or ""), port
    if service_type not in _ROUTABLE_TYPES:
        raise ServiceUnavailableError(f'unsupported service type "{service_type}"')
    if spec.get("clusterIP") == "None":
        raise ServiceUnavailableError('cannot route to service with ClusterIP "None"')
    _service_port(spec, name, port)
    return str(spec.get("clusterIP") or ""), port
