"""Front-proxy (request-header) authentication: a trusted proxy names the user in `X-Remote-*` headers.

Mirrors k8s.io/apiserver/pkg/authentication/request/headerrequest and x509.Verifier. The headers are believed
only when the request's client certificate verifies against `--requestheader-client-ca-file` (checked here,
not by the TLS layer, which trusts `--client-ca-file`) and its CN is in `--requestheader-allowed-names` (any
CN when that list is empty). The authentication filter strips these headers from every request
(`headers_to_strip`), so nothing downstream can mistake a client's own `X-Remote-User` for an identity.
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import unquote_to_bytes

from cryptography import x509

from apiserver.auth.authn.interface import AuthRequest
from apiserver.auth.authn.x509 import CertificateVerifier, client_certificate_chain, common_name
from apiserver.auth.user import UserInfo
from apiserver.meta.errors import Unauthorized, go_quote
from apiserver.meta.objects import Clock, utc_now

# Always stripped after authentication, whatever is configured (upstream's standardRequestHeaderConfig).
STANDARD_USERNAME_HEADERS = ("X-Remote-User",)
STANDARD_GROUP_HEADERS = ("X-Remote-Group",)
STANDARD_EXTRA_HEADER_PREFIXES = ("X-Remote-Extra-",)

_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


@dataclass(frozen=True, slots=True)
class RequestHeaderConfig:
    """The `--requestheader-*` flags. kube-apiserver has no default header names; kubeadm sets `X-Remote-User`,
    `X-Remote-Group` and `X-Remote-Extra-`, and `front-proxy-client` as the allowed name.

    Header names are trimmed; a blank one raises ValueError with upstream's `empty header "…"` message.
    """

    client_cas: tuple[x509.Certificate, ...]
    allowed_names: tuple[str, ...] = ()
    username_headers: tuple[str, ...] = ()
    group_headers: tuple[str, ...] = ()
    extra_header_prefixes: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        for attribute in ("username_headers", "group_headers", "extra_header_prefixes"):
            object.__setattr__(self, attribute, _trimmed(getattr(self, attribute)))


def _trimmed(names: Sequence[str]) -> tuple[str, ...]:
    for name in names:
        if not name.strip():
            raise ValueError(f"empty header {go_quote(name)}")
    return tuple(name.strip() for name in names)


@dataclass(frozen=True, slots=True)
class StrippedHeaders:
    """Header names (lower-case) and name prefixes (lower-case) that the authentication filter removes."""

    names: frozenset[str]
    prefixes: tuple[str, ...]

    def matches(self, name: str) -> bool:
        lowered = name.lower()
        return lowered in self.names or lowered.startswith(self.prefixes)


class RequestHeaderAuthenticator:
    """Authenticates requests forwarded by a front proxy that holds a request-header client certificate.

    Returns None without a client certificate or without a username header. Raises Unauthorized when the
    certificate does not verify against the request-header CA or its CN is not allowed: a normal client
    certificate therefore never lends its trust to `X-Remote-*` headers (the x509 authenticator still
    authenticates it as itself).
    """

    def __init__(self, config: RequestHeaderConfig, *, clock: Clock = utc_now) -> None:
        self._config = config
        self._verifier = CertificateVerifier(config.client_cas, clock=clock)

    async def authenticate(self, request: AuthRequest) -> UserInfo | None:
        chain = client_certificate_chain(request)
        if not chain:
            return None
        if (error := self._verifier.verification_error(chain)) is not None:
            raise Unauthorized(error)
        allowed = self._config.allowed_names
        if allowed and (name := common_name(chain[0])) not in allowed:
            raise Unauthorized(f"x509: subject with cn={name} is not in the allowed list")
        return self._user_from_headers(request.headers)

    def _user_from_headers(self, headers: Mapping[str, Sequence[str]]) -> UserInfo | None:
        username = _first_value(headers, self._config.username_headers)
        if not username:
            return None
        groups = [value for header in self._config.group_headers for value in headers.get(header.lower(), ()) if value]
        extra = _extra(headers, self._config.extra_header_prefixes)
        return UserInfo(name=username, groups=tuple(groups), extra=extra)

    def headers_to_strip(self) -> StrippedHeaders:
        """The configured and the standard front-proxy headers, which no request may keep past authentication."""
        return headers_to_strip(self._config)


def headers_to_strip(config: RequestHeaderConfig | None) -> StrippedHeaders:
    """The front-proxy headers to remove from requests; only the standard ones when front-proxy authentication
    is off (`config` None)."""
    names = [*STANDARD_USERNAME_HEADERS, *STANDARD_GROUP_HEADERS]
    prefixes = [*STANDARD_EXTRA_HEADER_PREFIXES]
    if config is not None:
        names += [*config.username_headers, *config.group_headers]
        prefixes += config.extra_header_prefixes
    return StrippedHeaders(frozenset(name.lower() for name in names), tuple(dict.fromkeys(p.lower() for p in prefixes)))


def _first_value(headers: Mapping[str, Sequence[str]], names: Sequence[str]) -> str:
    # Go's Header.Get per configured name, in order: the first value of the first header that has a non-empty one.
    for name in names:
        values = headers.get(name.lower(), ())
        if values and values[0]:
            return values[0]
    return ""


def _extra(headers: Mapping[str, Sequence[str]], prefixes: Sequence[str]) -> dict[str, list[str]]:
    extra: dict[str, list[str]] = {}
    for prefix in prefixes:  # prefixes first, so values keep the configured order
        lowered = prefix.lower()
        for name, values in headers.items():
            if name.lower().startswith(lowered):
                extra.setdefault(unescape_extra_key(name[len(prefix):].lower()), []).extend(values)
    return extra


def unescape_extra_key(encoded: str) -> str:
    """Decode %XX escapes in an extra key as Go's url.PathUnescape; a malformed escape keeps the key as sent."""
    if "%" not in encoded or _BAD_ESCAPE.search(encoded):
        return encoded
    return unquote_to_bytes(encoded).decode("utf-8", "surrogateescape")
