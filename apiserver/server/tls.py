"""TLS serving: our own OpenSSL context, the listening endpoint around it, and the ASGI TLS extension.

Twisted's `ssl:` endpoint cannot request client certificates, and `CertificateOptions` cannot make them
optional, so the context is built here directly (reference/daphne-tls-and-lifecycle.md §1.2):
- TLS 1.2 or newer, ECDHE with AEAD ciphers only for TLS 1.2 (TLS 1.3 suites are all AEAD);
- client certificates requested, not required, and verified by OpenSSL against the client CA bundle, so a
  certificate from another CA fails the handshake; the CA names are advertised in the CertificateRequest;
- ALPN pinned to http/1.1: under h2 Daphne loses the transport and with it the client's identity;
- TCP keep-alive every 3 minutes, as kube-apiserver's listener sets it.
The endpoint is reached through `twisted/plugins/pilothouse_endpoints.py`, because Daphne accepts endpoint
description strings only.
"""
from __future__ import annotations

import logging
import socket
import ssl
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from OpenSSL import SSL
from twisted.internet.interfaces import IOpenSSLServerConnectionCreator, IStreamServerEndpoint
from twisted.protocols.tls import BufferingTLSTransport, TLSMemoryBIOFactory, TLSMemoryBIOProtocol
from zope.interface import implementer

from apiserver.server.pki import load_certificates, load_private_key

logger = logging.getLogger(__name__)

TCP_KEEPALIVE_SECONDS = 180  # kube-apiserver's listener: 3 minutes
TLS12_CIPHERS = b"ECDHE+AESGCM:ECDHE+CHACHA20"
SESSION_ID_CONTEXT = b"pilothouse"


class TLSConfigError(Exception):
    """The serving certificate, its key or the client CA bundle cannot be used; the message says which."""


@implementer(IOpenSSLServerConnectionCreator)
class ServingTLS:
    """Creates the OpenSSL connection for each accepted socket from one context built up front.

    Raises TLSConfigError from the constructor when a file is missing, unreadable or inconsistent. The context
    is immutable once used (pyOpenSSL); to reload certificates, replace `context` with a new one.
    """

    def __init__(self, cert_file: Path, key_file: Path, client_ca_file: Path) -> None:
        chain = _load(cert_file, "unable to load server certificate", load_certificates)
        key = _load(key_file, "unable to load server certificate", load_private_key)
        client_cas = _load(client_ca_file, f'unable to load client CA file "{client_ca_file}"', load_certificates)
        context = SSL.Context(SSL.TLS_SERVER_METHOD)
        context.set_min_proto_version(SSL.TLS1_2_VERSION)
        context.set_options(SSL.OP_NO_COMPRESSION | SSL.OP_CIPHER_SERVER_PREFERENCE | SSL.OP_NO_RENEGOTIATION)
        context.set_cipher_list(TLS12_CIPHERS)
        try:
            context.use_certificate(chain[0])
            for intermediate in chain[1:]:
                context.add_extra_chain_cert(intermediate)
            context.use_privatekey(key)
            context.check_privatekey()
        except SSL.Error:
            raise TLSConfigError(f"unable to load server certificate: {key_file} does not match {cert_file}") from None
        _request_client_certificates(context, client_ca_file, client_cas)
        context.set_alpn_select_callback(_select_http11)
        self.context = context

    def serverConnectionForTLS(self, tls_protocol: TLSMemoryBIOProtocol) -> SSL.Connection:
        return SSL.Connection(self.context, None)


def _request_client_certificates(
    context: SSL.Context, client_ca_file: Path, client_cas: list[x509.Certificate]
) -> None:
    """Ask every client for a certificate, verify one when sent, never require one (tokens, anonymous)."""
    context.load_verify_locations(str(client_ca_file))
    for ca in client_cas:
        context.add_client_ca(ca)  # the names OpenSSL sends in the CertificateRequest
    context.set_verify(SSL.VERIFY_PEER | SSL.VERIFY_CLIENT_ONCE)
    context.set_session_id(SESSION_ID_CONTEXT)  # OpenSSL requires it to cache sessions with client certs


def _select_http11(connection: SSL.Connection, offered: list[bytes]) -> bytes | object:
    return b"http/1.1" if b"http/1.1" in offered else SSL.NO_OVERLAPPING_PROTOCOLS


def _load(path: Path, what: str, loader: Any) -> Any:
    try:
        return loader(path)
    except OSError as error:
        raise TLSConfigError(f"{what}: open {path}: {(error.strerror or str(error)).lower()}") from None
    except ValueError as error:
        raise TLSConfigError(f"{what}: {error}") from None


class _KeepAliveTLSTransport(BufferingTLSTransport):
    """Twisted's TLS transport, with TCP keep-alive switched on before the handshake starts."""

    def makeConnection(self, transport: Any) -> None:
        enable_tcp_keepalive(transport)
        super().makeConnection(transport)


class _KeepAliveTLSFactory(TLSMemoryBIOFactory):
    protocol = _KeepAliveTLSTransport


def enable_tcp_keepalive(transport: Any) -> None:
    """Probe idle connections every 3 minutes, so peers that vanished without FIN or RST are noticed."""
    try:
        transport.setTcpKeepAlive(True)
        sock = transport.getHandle()
        for option in ("TCP_KEEPIDLE", "TCP_KEEPINTVL"):
            if hasattr(socket, option):
                sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, option), TCP_KEEPALIVE_SECONDS)
    except (AttributeError, OSError) as error:  # not a TCP transport (UNIX socket, adopted descriptor)
        logger.debug("tcp_keepalive_unavailable", extra={"error": str(error)})


@implementer(IStreamServerEndpoint)
@dataclass(frozen=True, slots=True)
class TLSServerEndpoint:
    """TLS (with `creator`'s context) around any stream endpoint: TCP, UNIX, an adopted descriptor."""

    wrapped: Any
    creator: ServingTLS

    def listen(self, factory: Any) -> Any:
        return self.wrapped.listen(_KeepAliveTLSFactory(self.creator, False, factory))


def endpoint_description(
    *, port: int, interface: str, cert_file: Path, key_file: Path, client_ca_file: Path, backlog: int = 1024
) -> str:
    """The `pilothouse-tls:` endpoint string for Daphne; values are escaped as Twisted's parser expects."""
    fields = {
        "port": str(port), "interface": interface, "cert": str(cert_file), "key": str(key_file),
        "clientCA": str(client_ca_file), "backlog": str(backlog),
    }
    return "pilothouse-tls:" + ":".join(f"{name}={_escape(value)}" for name, value in fields.items())


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace(":", "\\:").replace("=", "\\=")


# --- the ASGI TLS extension ---------------------------------------------------------------------------------

_by_connection: weakref.WeakKeyDictionary[TLSMemoryBIOProtocol, dict[str, object]] = weakref.WeakKeyDictionary()


def _iana_cipher_ids() -> dict[str, int]:
    # pyOpenSSL names the cipher only; the standard library links the same libssl and knows the wire ids.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.set_ciphers("ALL:@SECLEVEL=0")
    return {cipher["name"]: cipher["id"] & 0xFFFF for cipher in context.get_ciphers()}


IANA_CIPHER_IDS = _iana_cipher_ids()


def tls_extension(transport: object) -> dict[str, object] | None:
    """The ASGI `tls` extension for a connection, or None when `transport` is not TLS.

    Built once per connection (keep-alive carries many requests). `client_cert_chain` is the chain as the
    client sent it, leaf first; `client_cert_error` is always None because unverifiable certificates never
    complete the handshake.
    """
    if not isinstance(transport, TLSMemoryBIOProtocol):
        return None
    cached = _by_connection.get(transport)
    if cached is not None:
        return cached
    connection = transport.getHandle()
    leaf = connection.get_peer_certificate(as_cryptography=True)
    sent = [cert for cert in (connection.get_peer_cert_chain(as_cryptography=True) or []) if cert != leaf]
    chain = [leaf, *sent] if leaf is not None else []
    server_cert = connection.get_certificate(as_cryptography=True)
    extension: dict[str, object] = {
        "server_cert": _pem(server_cert) if server_cert is not None else None,
        "client_cert_chain": [_pem(cert) for cert in chain],
        "client_cert_name": leaf.subject.rfc4514_string() if leaf is not None else None,
        "client_cert_error": None,
        "tls_version": connection.get_protocol_version(),
        "cipher_suite": IANA_CIPHER_IDS.get(connection.get_cipher_name() or ""),
    }
    _by_connection[transport] = extension
    return extension


def _pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()
