"""Outbound webhook calls (admission, conversion): service references, CA bundles, no redirects, timeouts.

Separate from admission because conversion webhooks and the aggregation layer resolve Services and call out
the same way; it may import only `apiserver.meta`, httpx, cryptography and the standard library.
"""
from __future__ import annotations

from apiserver.webhookclient.client import MAX_RESPONSE_BYTES, WebhookCallError, WebhookClient
from apiserver.webhookclient.config import ClientConfig, ServiceReference, decode_ca_bundle
from apiserver.webhookclient.resolver import ServiceResolver, ServiceUnavailableError

__all__ = [
    "MAX_RESPONSE_BYTES", "ClientConfig", "ServiceReference", "ServiceResolver", "ServiceUnavailableError",
    "WebhookCallError", "WebhookClient", "decode_ca_bundle",
]
