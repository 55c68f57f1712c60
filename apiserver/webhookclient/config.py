"""Where a webhook lives: a URL or an in-cluster Service, the CA bundle that signs its certificate, the timeout.

Upstream's `admissionregistration.k8s.io/v1` WebhookClientConfig (and apiextensions' for conversion webhooks),
read once per call from the configuration object.
"""
from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

DEFAULT_TIMEOUT_SECONDS = 10.0
DEFAULT_SERVICE_PORT = 443


@dataclass(frozen=True, slots=True)
class ServiceReference:
    """A Service in the cluster; `path` is the URL path sent to it, `port` the Service's port."""

    namespace: str
    name: str
    path: str = ""
    port: int = DEFAULT_SERVICE_PORT

    @property
    def server_name(self) -> str:
        """The name the webhook's certificate must carry: `<name>.<namespace>.svc`."""
        return f"{self.name}.{self.namespace}.svc"


@dataclass(frozen=True, slots=True)
class ClientConfig:
    """Exactly one of `url` and `service` is set. An empty `ca_bundle` means the system's trusted CAs."""

    url: str | None
    service: ServiceReference | None
    ca_bundle: bytes = b""
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS

    @classmethod
    def from_dict(cls, client_config: Mapping[str, Any], *,
                  timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS) -> ClientConfig:
        """From a `clientConfig` as stored (caBundle base64 encoded, as in JSON)."""
        service = client_config.get("service")
        reference = None
        if isinstance(service, Mapping):
            reference = ServiceReference(
                namespace=str(service.get("namespace", "")), name=str(service.get("name", "")),
                path=str(service.get("path") or ""), port=int(service.get("port") or DEFAULT_SERVICE_PORT),
            )
        url = client_config.get("url")
        return cls(url=str(url) if url else None, service=reference,
                   ca_bundle=decode_ca_bundle(client_config.get("caBundle")), timeout_seconds=timeout_seconds)


def decode_ca_bundle(value: object) -> bytes:
    """The PEM bytes of a `caBundle` (base64 in JSON); empty for a missing or undecodable value."""
    if isinstance(value, bytes):
        return value
    if not isinstance(value, str) or not value:
        return b""
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return b""
