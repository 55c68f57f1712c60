"""The aggregator's own calls to an extension server: the availability probe and discovery fetches.

Both go to the address the Service resolves to, with the front-proxy client certificate and the identity upstream
uses for them (`system:kube-aggregator` in `system:masters`, "so that we will always have access rights"), and
never follow redirects. The probe does not verify the backend's certificate (upstream's probe transport is
insecure); discovery verifies it as the proxy does.
"""
from __future__ import annotations

import ssl
from collections.abc import Sequence
from dataclasses import dataclass

import httpx

from apiserver.aggregation.apiservices import RemoteAPIService
from apiserver.aggregation.transport import ProxyTLS
from apiserver.http.forward import describe_transport_error
from apiserver.webhookclient import ServiceResolver

AGGREGATOR_USER = "system:kube-aggregator"
AGGREGATOR_GROUPS = ("system:masters",)
MAX_BODY_BYTES = 32 << 20


@dataclass(frozen=True, slots=True)
class BackendResponse:
    """One answer of the backend: status, Content-Type, body and ETag."""

    status: int
    content_type: str
    body: bytes
    etag: str = ""


class BackendError(Exception):
    """The backend could not be reached or did not answer; the message is Go's wording of the failure."""


class Backend:
    """GET requests to the server behind a remote APIService. Raises ServiceUnavailableError when the Service does
    not resolve, BackendError when the round trip fails."""

    def __init__(self, resolver: ServiceResolver, tls: ProxyTLS) -> None:
        self._resolver = resolver
        self._tls = tls

    async def url(self, remote: RemoteAPIService, path: str) -> str:
        """`https://<resolved address><path>`. Raises ServiceUnavailableError."""
        host, port = await self._resolver.resolve(remote.service_namespace, remote.service_name,
                                                  remote.service_port)
        address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        return f"https://{address}{path}"

    async def get(self, remote: RemoteAPIService, url: str, *, accept: str = "", timeout: float, verify: bool,
                  user: str = AGGREGATOR_USER, groups: Sequence[str] = AGGREGATOR_GROUPS,
                  if_none_match: str = "") -> BackendResponse:
        """GET `url` as `user` in `groups` (the aggregator by default); the whole answer, whatever its status.
        Raises BackendError."""
        context = self._tls.for_backend(remote) if verify else self._tls.for_probe()
        server_name = self._tls.server_hostname(remote) if verify else None
        headers = [("x-remote-user", user), *(("x-remote-group", group) for group in groups)]
        if accept:
            headers.append(("accept", accept))
        if if_none_match:
            headers.append(("if-none-match", if_none_match))
        extensions = {"sni_hostname": server_name} if server_name else {}
        async with httpx.AsyncClient(verify=context, follow_redirects=False, trust_env=False,
                                     timeout=httpx.Timeout(timeout)) as client:
            try:
                response = await client.request("GET", url, headers=headers, extensions=extensions)
            except (httpx.HTTPError, OSError, ssl.SSLError) as error:
                raise BackendError(describe_transport_error(error, url)) from None
        return BackendResponse(response.status_code, response.headers.get("content-type", ""),
                               response.content[:MAX_BODY_BYTES], response.headers.get("etag", ""))
