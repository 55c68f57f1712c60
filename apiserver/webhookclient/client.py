"""One HTTPS POST of a JSON review to a webhook, with Go's client errors in upstream's words.

As kube-apiserver's webhook REST client: the URL carries `?timeout=<n>s` (the deadline, rounded up to whole
seconds), redirects are never followed (a 3xx is an unexpected response), the server's certificate is checked
against `caBundle` (or the system CAs) under the URL's host or, for a Service, `<name>.<namespace>.svc`.
"""
from __future__ import annotations

import asyncio
import ipaddress
import math
import ssl
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import orjson
from cryptography import x509

from apiserver.webhookclient.config import ClientConfig
from apiserver.webhookclient.resolver import ServiceResolver, ServiceUnavailableError

MAX_RESPONSE_BYTES = 30 * 1024 * 1024
_HOSTNAME_MISMATCH_CODES = (62, 64)  # X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_IP_ADDRESS_MISMATCH
# rest.Request caps the text it quotes from an unexpected response (maxUnstructuredResponseTextBytes).
_MAX_QUOTED_TEXT = 2048


class WebhookCallError(Exception):
    """The call failed before a usable JSON answer arrived. `str(error)` is the Go client's error text
    (`Post "https://…?timeout=10s": context deadline exceeded`); `timeout` says whether the deadline passed;
    `resolving` whether the Service could not be resolved (nothing was sent); `status_code` is the HTTP status
    of a non-2xx answer."""

    def __init__(self, message: str, *, timeout: bool = False, resolving: bool = False,
                 status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.timeout = timeout
        self.resolving = resolving
        self.status_code = status_code


class WebhookClient:
    """Posts JSON to webhooks. Stateless apart from the resolver and a cache of TLS contexts per CA bundle."""

    def __init__(self, resolver: ServiceResolver | None = None) -> None:
        self._resolver = resolver
        self._contexts: dict[bytes, ssl.SSLContext] = {}

    async def post_json(self, config: ClientConfig, body: Mapping[str, Any], *,
                        timeout_seconds: float | None = None) -> dict[str, Any]:
        """The decoded JSON answer of a 2xx response. Raises WebhookCallError."""
        timeout = config.timeout_seconds if timeout_seconds is None else timeout_seconds
        url, dial_url, server_name = self._target(config)
        url = _with_timeout(url, timeout)
        if config.service is not None and self._resolver is not None:
            # client-go resolves the Service when it dials, so a failure reads as the POST's own error.
            service = config.service
            try:
                host, port = await self._resolver.resolve(service.namespace, service.name, service.port)
            except ServiceUnavailableError as error:
                raise WebhookCallError(f'Post "{url}": {error}') from None
            host_part = f"[{host}]" if ":" in host else host
            dial_url = f"https://{host_part}:{port}{service.path or ''}"
        dial_url = _with_timeout(dial_url, timeout)
        try:
            async with asyncio.timeout(timeout):
                return await self._post(url, dial_url, server_name, config.ca_bundle, body)
        except TimeoutError:
            raise WebhookCallError(f'Post "{url}": context deadline exceeded', timeout=True) from None

    def _target(self, config: ClientConfig) -> tuple[str, str, str | None]:
        """(URL as errors name it, URL to dial before Service resolution, TLS server name when it differs from the
        dialled host)."""
        if config.url:
            return config.url, config.url, None
        service = config.service
        if service is None:
            raise WebhookCallError("neither url nor service was provided", resolving=True)
        url = f"https://{service.server_name}:{service.port}{service.path or ''}"
        return url, url, service.server_name if self._resolver is not None else None

    async def _post(self, url: str, dial_url: str, server_name: str | None, ca_bundle: bytes,
                    body: Mapping[str, Any]) -> dict[str, Any]:
        headers = {"Content-Type": "application/json", "Accept": "application/json, */*"}
        extensions: dict[str, Any] = {}
        if server_name:
            headers["Host"] = urlsplit(url).netloc
            extensions["sni_hostname"] = server_name
        async with httpx.AsyncClient(verify=self._context(ca_bundle), follow_redirects=False, timeout=None,
                                     trust_env=False) as client:
            request = client.build_request("POST", dial_url, content=orjson.dumps(body), headers=headers,
                                           extensions=extensions)
            try:
                response = await client.send(request, stream=True)
                try:
                    content = await _read_capped(response)
                finally:
                    await response.aclose()
            except httpx.HTTPError as error:
                text = _go_error(error, dial_url)
                if _is_hostname_mismatch(error):
                    text = f"tls: failed to verify certificate: {await _hostname_error(dial_url, server_name)}"
                raise WebhookCallError(f'Post "{url}": {text}') from None
        return _decode(response, content)

    def _context(self, ca_bundle: bytes) -> ssl.SSLContext:
        context = self._contexts.get(ca_bundle)
        if context is None:
            if ca_bundle:
                try:
                    context = ssl.create_default_context(cadata=ca_bundle.decode("ascii", "replace"))
                except (ssl.SSLError, ValueError):
                    # client-go refuses to build a client whose CA data holds no certificate.
                    raise WebhookCallError("unable to load root certificates: unable to parse bytes as PEM block",
                                           resolving=True) from None
            else:
                context = ssl.create_default_context()
            self._contexts[ca_bundle] = context
        return context


async def _read_capped(response: httpx.Response) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_raw():
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            raise httpx.DecodingError("response body too large")
        chunks.append(chunk)
    return b"".join(chunks)


def _with_timeout(url: str, timeout: float) -> str:
    """The URL with rest.Request's `timeout` parameter (whole seconds, rounded up)."""
    parts = urlsplit(url)
    parameter = f"timeout={max(1, math.ceil(timeout))}s"
    query = f"{parts.query}&{parameter}" if parts.query else parameter
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def _decode(response: httpx.Response, content: bytes) -> dict[str, Any]:
    if not 200 <= response.status_code <= 206:
        raise WebhookCallError(_unexpected_response(response, content), status_code=response.status_code)
    try:
        decoded = orjson.loads(content)
    except orjson.JSONDecodeError as error:
        raise WebhookCallError(f"couldn't get version/kind; json parse error: {error}") from None
    if not isinstance(decoded, dict):
        raise WebhookCallError("couldn't get version/kind; json parse error: json: cannot unmarshal "
                               "array into Go value of type struct { APIVersion string \"json:\\\"apiVersion,"
                               "omitempty\\\"\"; Kind string \"json:\\\"kind,omitempty\\\"\" }")
    return decoded


def _unexpected_response(response: httpx.Response, content: bytes) -> str:
    """rest.Request's error for a non-2xx answer: the Status it carries, else NewGenericServerResponse's text."""
    try:
        decoded = orjson.loads(content)
    except orjson.JSONDecodeError:
        decoded = None
    if isinstance(decoded, dict) and decoded.get("kind") == "Status" and decoded.get("message"):
        return str(decoded["message"])
    code = response.status_code
    is_text = response.headers.get("content-type", "").startswith("text/")
    quoted = content[:_MAX_QUOTED_TEXT].decode("utf-8", "replace").strip() if is_text else "unknown"
    return generic_server_response(code, quoted)


_GENERIC_MESSAGES = {
    400: "the server rejected our request for an unknown reason",
    401: "the server has asked for the client to provide credentials",
    403: "the server does not allow access to the requested resource",
    404: "the server could not find the requested resource",
    405: "the server does not allow this method on the requested resource",
    409: "the server reported a conflict",
    422: "the server rejected our request due to an error in our request",
    429: "the server has received too many requests and has asked us to try again later",
    503: "the server is currently unable to handle the request",
    504: "the server was unable to return a response in the time allotted, but may still be processing the request",
}


def generic_server_response(code: int, server_message: str) -> str:
    """apierrors.NewGenericServerResponse's message for a response without a Status (no resource named)."""
    if code in _GENERIC_MESSAGES:
        return _GENERIC_MESSAGES[code]
    if code >= 500:
        return f'an error on the server ("{server_message}") has prevented the request from succeeding'
    return f"the server responded with the status code {code} but did not return more information"


def _go_error(error: httpx.HTTPError, dial_url: str) -> str:
    """The net/http error text Go would print for the same failure."""
    netloc = urlsplit(dial_url).netloc
    if isinstance(error, httpx.TimeoutException):
        return "context deadline exceeded"
    cause = _root_cause(error)
    if isinstance(cause, ssl.SSLCertVerificationError):
        return f"tls: failed to verify certificate: {_x509_text(cause)}"
    if isinstance(cause, ssl.SSLError):
        return f"remote error: tls: {cause.reason or cause}".lower()
    if isinstance(cause, ConnectionRefusedError):
        return f"dial tcp {netloc}: connect: connection refused"
    if isinstance(cause, OSError) and "Name or service not known" in str(cause):
        return f"dial tcp: lookup {urlsplit(dial_url).hostname}: no such host"
    if isinstance(error, httpx.RemoteProtocolError):
        return "EOF"
    return str(error) or type(error).__name__


def _root_cause(error: BaseException) -> BaseException:
    seen: BaseException = error
    while seen.__cause__ is not None or seen.__context__ is not None:
        nested = seen.__cause__ or seen.__context__
        assert nested is not None
        seen = nested
    return seen


def _is_hostname_mismatch(error: BaseException) -> bool:
    cause = _root_cause(error)
    return isinstance(cause, ssl.SSLCertVerificationError) and cause.verify_code in _HOSTNAME_MISMATCH_CODES


async def _hostname_error(dial_url: str, server_name: str | None) -> str:
    """x509.HostnameError's text: the names the certificate is valid for, read from a second, unverified
    handshake (OpenSSL's verification error does not carry the certificate)."""
    parts = urlsplit(dial_url)
    host = server_name or parts.hostname or ""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        async with asyncio.timeout(5):
            _, writer = await asyncio.open_connection(parts.hostname, parts.port or 443, ssl=context,
                                                      server_hostname=host)
            try:
                der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
            finally:
                writer.close()
    except (OSError, TimeoutError):
        return f"x509: certificate is not valid for {host}"
    return hostname_error_text(der, host)


def hostname_error_text(der: bytes, host: str) -> str:
    """Go's x509.HostnameError.Error() for a DER certificate and the name that did not match."""
    certificate = x509.load_der_x509_certificate(der)
    try:
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        names = None
    try:
        ipaddress.ip_address(host)
    except ValueError:
        valid = ", ".join(names.get_values_for_type(x509.DNSName)) if names is not None else ""
    else:
        addresses = [str(address) for address in names.get_values_for_type(x509.IPAddress)] if names else []
        if not addresses:
            return f"x509: cannot validate certificate for {host} because it doesn't contain any IP SANs"
        valid = ", ".join(addresses)
    if not valid:
        return f"x509: certificate is not valid for any names, but wanted to match {host}"
    return f"x509: certificate is valid for {valid}, not {host}"


def _x509_text(error: ssl.SSLCertVerificationError) -> str:
    if error.verify_code in _HOSTNAME_MISMATCH_CODES:
        return f"x509: certificate is not valid for the requested name ({error.verify_message})"
    if error.verify_code == 10:  # X509_V_ERR_CERT_HAS_EXPIRED
        return "x509: certificate has expired or is not yet valid"
    return "x509: certificate signed by unknown authority"
