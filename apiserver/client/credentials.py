"""Transports that act as a user through the API's own authentication: the console's way to call the API.

The console has no identity of its own. Unlike `InProcessTransport` (which hands the filter chain an
already-decided `UserInfo`, for controllers the server itself runs), these transports carry the *user's
credential* into the in-process call and let the server's authenticators decide who it is, so a console
request is authenticated, authorized, admitted and audited exactly as the same credential from kubectl.

Bearer tokens (`BearerTokenTransport`): the token travels as an `Authorization: Bearer` header in the
synthetic scope; the normal token authenticators (static tokens, ServiceAccount JWTs, bootstrap tokens) run.
No TLS client certificate is present, and the `tls` extension carries nothing else.

Client certificates (`ClientCertificateTransport`): the server's `X509Authenticator` believes the chain in the
ASGI `tls` extension because a real TLS handshake verified it (and the client's possession of the private key)
against the handshake's trust store. An in-process call has no handshake, so handing it a chain would let anyone
who can type PEM become anyone. We therefore do what the handshake would have done, before any request:

- at login, `verify_client_certificate` proves possession (the uploaded private key must sign a fresh challenge
  the certificate's public key verifies) and verifies the chain against the *client CA bundle only*
  (`--client-ca-file`; never the front-proxy CA the handshake also trusts), for the clientAuth usage, now;
- on every request, `ClientCertificateTransport` verifies the chain again against the same CAs at the current
  time (an expired certificate stops working mid-session, as it would on a new connection), and only then puts
  it in the `tls` extension for the server's own X509 authenticator to map to a user (CN, O).

The private key is used only for the possession proof at login and is never kept: the session stores the
public chain alone, which is useless to anyone without the key on the network port.
"""
from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator, Sequence
from urllib.parse import unquote

import orjson
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding

from apiserver.auth.authn.x509 import CertificateVerifier
from apiserver.client.transports import InProcessTransport, TransportResponse
from apiserver.http.asgi import ASGIApp

USER_AGENT = "pilothouse-console"


class CredentialError(ValueError):
    """A credential that cannot be used; the message is for the person who supplied it."""


class _CredentialTransport(InProcessTransport):
    """InProcessTransport's ASGI plumbing with a scope that carries a credential instead of an identity."""

    def __init__(self, app: ASGIApp, *, headers: Sequence[tuple[str, str]] = (),
                 tls: dict[str, object] | None = None, client_address: str = "127.0.0.1") -> None:
        self._app = app
        self._credential_headers = [*headers, ("user-agent", USER_AGENT)]
        self._tls = dict(tls or {})
        self._client_address = client_address

    def _scope(self, method: str, path: str, query: str, headers: Sequence[tuple[str, str]]) -> dict[str, object]:
        all_headers = [*headers, *self._credential_headers]
        return {
            "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1",
            "method": method, "scheme": "https", "path": unquote(path), "raw_path": path.encode(),
            "query_string": query.encode(), "root_path": "",
            "headers": [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in all_headers],
            "client": (self._client_address, 0), "server": ("127.0.0.1", 0),
            "extensions": {"tls": dict(self._tls)},  # a fresh copy: nothing a request does can leak into the next
        }


class BearerTokenTransport(_CredentialTransport):
    """Calls `app` in-process with `Authorization: Bearer <token>`; the server's token authenticators decide."""

    def __init__(self, app: ASGIApp, token: str, *, client_address: str = "127.0.0.1") -> None:
        token = token.strip()
        if not token or any(ord(char) < 0x21 or ord(char) > 0x7E for char in token):
            raise CredentialError("a bearer token is one line of printable ASCII characters without spaces")
        super().__init__(app, headers=[("authorization", f"Bearer {token}")], client_address=client_address)


class ClientCertificateTransport(_CredentialTransport):
    """Calls `app` in-process as the holder of a client certificate chain (leaf first, PEM strings).

    The chain must have passed `verify_client_certificate` (possession of the key) at login; each request verifies
    it again against `client_cas` at the current time and answers 401 itself when it no longer verifies.
    """

    def __init__(self, app: ASGIApp, chain: Sequence[str], client_cas: Sequence[x509.Certificate], *,
                 client_address: str = "127.0.0.1") -> None:
        if not client_cas:
            raise CredentialError("this server accepts no client certificates for console login")
        self._chain_pems = [str(pem) for pem in chain]
        self._certificates = _load_chain(self._chain_pems)
        self._verifier = CertificateVerifier(list(client_cas))
        super().__init__(app, tls={"client_cert_chain": self._chain_pems, "client_cert_error": None},
                         client_address=client_address)

    def verification_error(self) -> str | None:
        return self._verifier.verification_error(self._certificates)

    async def request(self, method: str, path: str, *, query: str = "", body: bytes = b"",
                      headers: Sequence[tuple[str, str]] = ()) -> TransportResponse:
        if self.verification_error() is not None:
            return _unauthorized()
        return await super().request(method, path, query=query, body=body, headers=headers)

    @contextlib.asynccontextmanager
    async def stream(self, method: str, path: str, *, query: str = "", headers: Sequence[tuple[str, str]] = ()
                     ) -> AsyncIterator[tuple[int, AsyncIterator[bytes]]]:
        if self.verification_error() is not None:
            answer = _unauthorized()
            yield answer.status, _once(answer.body)
            return
        async with super().stream(method, path, query=query, headers=headers) as result:
            yield result


def verify_client_certificate(certificate_pem: bytes, key_pem: bytes,
                              client_cas: Sequence[x509.Certificate]) -> list[str]:
    """The chain (leaf first, PEM strings) of a client certificate whose key the caller holds.

    Raises CredentialError unless `key_pem` is the private key of the leaf (proved by signing a random challenge)
    and the chain verifies against `client_cas` for client authentication now.
    """
    if not client_cas:
        raise CredentialError("this server accepts no client certificates for console login")
    try:
        certificates = x509.load_pem_x509_certificates(certificate_pem)
    except ValueError:
        raise CredentialError("the client certificate is not a PEM certificate") from None
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise CredentialError("the client key is not an unencrypted PEM private key") from None
    if not _proves_possession(key, certificates[0]):
        raise CredentialError("the client key does not belong to the client certificate")
    error = CertificateVerifier(list(client_cas)).verification_error(certificates)
    if error is not None:
        raise CredentialError(f"the client certificate is not accepted by this server's client CA ({error})")
    return [certificate.public_bytes(Encoding.PEM).decode() for certificate in certificates]


def _proves_possession(key: object, certificate: x509.Certificate) -> bool:
    challenge = secrets.token_bytes(32)
    public_key = certificate.public_key()
    try:
        if isinstance(key, rsa.RSAPrivateKey) and isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(key.sign(challenge, padding.PKCS1v15(), hashes.SHA256()), challenge,
                              padding.PKCS1v15(), hashes.SHA256())
        elif isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(key.sign(challenge, ec.ECDSA(hashes.SHA256())), challenge, ec.ECDSA(hashes.SHA256()))
        elif ((isinstance(key, ed25519.Ed25519PrivateKey) and isinstance(public_key, ed25519.Ed25519PublicKey))
              or (isinstance(key, ed448.Ed448PrivateKey) and isinstance(public_key, ed448.Ed448PublicKey))):
            public_key.verify(key.sign(challenge), challenge)
        else:
            return False
    except InvalidSignature:
        return False
    return True


def _load_chain(pems: Sequence[str]) -> list[x509.Certificate]:
    if not pems:
        raise CredentialError("a client certificate chain needs at least one certificate")
    try:
        return [x509.load_pem_x509_certificate(pem.encode()) for pem in pems]
    except ValueError:
        raise CredentialError("the client certificate is not a PEM certificate") from None


def _unauthorized() -> TransportResponse:
    body = orjson.dumps({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                         "message": "Unauthorized", "reason": "Unauthorized", "code": 401})
    return TransportResponse(401, {"content-type": "application/json"}, body)


async def _once(body: bytes) -> AsyncIterator[bytes]:
    yield body
