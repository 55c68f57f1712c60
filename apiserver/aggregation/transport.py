"""TLS towards extension API servers: the front-proxy client certificate, and the APIService's trust settings.

As kube-aggregator's proxy transport: the aggregator presents `--proxy-client-cert-file`/`--proxy-client-key-file`
(kubeadm's `front-proxy-client`, signed by the front-proxy CA, so the backend's `--requestheader-client-ca-file`
trusts it), verifies the backend against the APIService's `caBundle` (the system roots when empty) under the name
`<service>.<namespace>.svc`, or skips verification with `insecureSkipTLSVerify`. The availability probe never
verifies (upstream: "if someone owns the network and messes with your status that's not so bad").

Contexts are built once per trust setting and reused; a missing or unreadable client certificate means none is
presented (the backend then sees no front proxy), which is logged once.
"""
from __future__ import annotations

import logging
import ssl
import threading
from dataclasses import dataclass
from pathlib import Path

from apiserver.aggregation.apiservices import RemoteAPIService

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ProxyClientCertificate:
    """The client certificate and key files the aggregator presents (either may be missing)."""

    cert_file: Path | None
    key_file: Path | None


class ProxyTLS:
    """SSL contexts for proxying (`for_backend`) and probing (`for_probe`), cached by trust setting."""

    def __init__(self, client_certificate: ProxyClientCertificate) -> None:
        self._client_certificate = client_certificate
        self._contexts: dict[tuple[bytes, bool], ssl.SSLContext] = {}
        self._lock = threading.Lock()
        self._warned = False

    def for_backend(self, remote: RemoteAPIService) -> ssl.SSLContext:
        """The context verifying `remote`'s serving certificate as its APIService says."""
        return self._context(remote.ca_bundle, remote.insecure_skip_tls_verify)

    def for_probe(self) -> ssl.SSLContext:
        """The availability probe's context: the client certificate, no verification."""
        return self._context(b"", True)

    def server_hostname(self, remote: RemoteAPIService) -> str | None:
        """The TLS name to send and check: `<service>.<namespace>.svc` (none when not verifying)."""
        return None if remote.insecure_skip_tls_verify else remote.server_name

    def _context(self, ca_bundle: bytes, insecure: bool) -> ssl.SSLContext:
        key = (ca_bundle, insecure)
        with self._lock:
            context = self._contexts.get(key)
            if context is None:
                context = self._contexts[key] = self._build(ca_bundle, insecure)
            return context

    def _build(self, ca_bundle: bytes, insecure: bool) -> ssl.SSLContext:
        if ca_bundle and not insecure:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            try:
                context.load_verify_locations(cadata=ca_bundle.decode("ascii", "replace"))
            except ssl.SSLError as error:  # an unusable bundle trusts nothing: every handshake fails
                logger.warning("apiservice_ca_bundle_unusable", extra={"error": str(error)})
        else:
            context = ssl.create_default_context()
        if insecure:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        context.set_alpn_protocols(["http/1.1"])
        self._load_client_certificate(context)
        return context

    def _load_client_certificate(self, context: ssl.SSLContext) -> None:
        cert_file, key_file = self._client_certificate.cert_file, self._client_certificate.key_file
        if cert_file is None or key_file is None:
            return
        try:
            context.load_cert_chain(str(cert_file), str(key_file))
        except (OSError, ssl.SSLError) as error:
            if not self._warned:
                self._warned = True
                logger.warning("proxy_client_certificate_unusable",
                               extra={"cert_file": str(cert_file), "error": str(error)})
