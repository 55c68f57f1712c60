"""Whether an APIService is available: the checks of kube-aggregator's availability controllers (v1.32).

Local APIServices (`service: null`) are always available (reason `Local`). A remote one is checked in order, and
the first failure decides the condition, with upstream's reasons and messages:

1. the Service exists (`ServiceNotFound`);
2. a ClusterIP Service listens on the APIService's port (`ServicePortError`), its Endpoints exist
   (`EndpointsNotFound`) and have a ready address in a subset with the port's name (`MissingEndpoints`);
3. the discovery document `/apis/<group>/<version>` answers 2xx within 6 s; five probes run at once and one
   success is enough (`FailedDiscoveryCheck`, with the last failure as message).

Otherwise the condition is True, reason `Passed`, message `all checks passed`.
"""
from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from apiserver.aggregation.apiservices import RemoteAPIService
from apiserver.aggregation.backend import Backend, BackendError
from apiserver.webhookclient import ServiceUnavailableError

PROBE_ATTEMPTS = 5
PROBE_TIMEOUT = 5.0  # the probe client's own timeout
PROBE_INSURANCE = 6.0  # "we had trouble with slow dial and DNS responses": the probe's outer deadline
LOCAL = ("True", "Local", "Local APIServices are always available")
PASSED = ("True", "Passed", "all checks passed")


@dataclass(frozen=True, slots=True)
class Verdict:
    """The Available condition's status, reason and message."""

    status: str
    reason: str
    message: str


def service_verdict(remote: RemoteAPIService, service: Mapping[str, Any] | None,
                    endpoints: Mapping[str, Any] | None) -> Verdict | None:
    """The failure the Service and its Endpoints show, or None when they pass (the probe decides then)."""
    where = f'service/{remote.service_name} in "{remote.service_namespace}"'
    if service is None:
        return Verdict("False", "ServiceNotFound", f"{where} is not present")
    spec = service.get("spec") or {}
    if str(spec.get("type") or "ClusterIP") != "ClusterIP":
        return None
    port_name: str | None = None
    for port in spec.get("ports") or ():
        if port.get("port") == remote.service_port:
            port_name = str(port.get("name") or "")
            break
    if port_name is None:
        return Verdict("False", "ServicePortError", f"{where} is not listening on port {remote.service_port}")
    if endpoints is None:
        return Verdict("False", "EndpointsNotFound",
                       f'cannot find endpoints for {where}')
    if not _has_active_endpoint(endpoints, port_name):
        return Verdict("False", "MissingEndpoints",
                       f'endpoints for {where} have no addresses with port name "{port_name}"')
    return None


def _has_active_endpoint(endpoints: Mapping[str, Any], port_name: str) -> bool:
    for subset in endpoints.get("subsets") or ():
        if not subset.get("addresses"):
            continue
        if any(str(port.get("name") or "") == port_name for port in subset.get("ports") or ()):
            return True
    return False


async def probe_verdict(backend: Backend, remote: RemoteAPIService) -> Verdict:
    """Five concurrent discovery probes: Passed when any answers 2xx, else FailedDiscoveryCheck."""
    results = await asyncio.gather(*(_probe(backend, remote) for _ in range(PROBE_ATTEMPTS)))
    failures = [result for result in results if result is not None]
    if len(failures) < PROBE_ATTEMPTS:
        return Verdict(*PASSED)
    return Verdict("False", "FailedDiscoveryCheck", failures[-1])


async def _probe(backend: Backend, remote: RemoteAPIService) -> str | None:
    try:
        url = await backend.url(remote, remote.discovery_path)
    except ServiceUnavailableError as error:
        return str(error)
    try:
        async with asyncio.timeout(PROBE_INSURANCE):
            response = await backend.get(remote, url, timeout=PROBE_TIMEOUT, verify=False)
    except TimeoutError:
        return f"timed out waiting for {url}"
    except BackendError as error:
        return f"failing or missing response from {url}: Get \"{url}\": {error}"
    if not 200 <= response.status < 300:
        return f"failing or missing response from {url}: bad status from {url}: {response.status}"
    return None
