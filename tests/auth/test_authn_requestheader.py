"""Front-proxy authentication: X-Remote-* headers count only from a verified front-proxy certificate."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from apiserver.auth.authn.interface import AuthenticationFailed
from apiserver.auth.authn.requestheader import (
    RequestHeaderAuthenticator,
    RequestHeaderConfig,
    headers_to_strip,
    unescape_extra_key,
)
from apiserver.auth.authn.union import RequestAuthenticator
from apiserver.auth.authn.x509 import X509Authenticator
from apiserver.auth.user import UserInfo
from apiserver.meta.errors import Unauthorized
from apiserver.server.pki import CertKeyPair, issue_ca, issue_client_certificate


@dataclass(frozen=True)
class ProxiedRequest:
    chain: Sequence[x509.Certificate] = ()
    headers: Mapping[str, Sequence[str]] = field(default_factory=dict)

    @property
    def tls(self) -> Mapping[str, object]:
        chain = [cert.public_bytes(serialization.Encoding.PEM).decode() for cert in self.chain]
        return {"client_cert_chain": chain, "client_cert_error": None}

    def header(self, name: str) -> str | None:
        values = self.headers.get(name.lower())
        return values[0] if values else None


@pytest.fixture(scope="module")
def client_ca() -> CertKeyPair:
    return issue_ca("kubernetes")


@pytest.fixture(scope="module")
def front_proxy_ca() -> CertKeyPair:
    return issue_ca("front-proxy-ca")


@pytest.fixture(scope="module")
def proxy_cert(front_proxy_ca: CertKeyPair) -> x509.Certificate:
    return issue_client_certificate(front_proxy_ca, "front-proxy-client").cert


def kubeadm_config(
    front_proxy_ca: CertKeyPair, allowed: tuple[str, ...] = ("front-proxy-client",)
) -> RequestHeaderConfig:
    return RequestHeaderConfig(
        client_cas=(front_proxy_ca.cert,), allowed_names=allowed, username_headers=("X-Remote-User",),
        group_headers=("X-Remote-Group",), extra_header_prefixes=("X-Remote-Extra-",),
    )


PROXIED_HEADERS = {
    "x-remote-user": ["alice"],
    "x-remote-group": ["devs", "", "system:masters"],
    "x-remote-extra-scopes": ["view", "edit"],
    "x-remote-extra-acme.com%2fproject": ["apollo"],
    "x-remote-extra-bad%zzkey": ["raw"],
    "accept": ["application/json"],
}


async def test_front_proxy_headers_authenticate_the_named_user(
    front_proxy_ca: CertKeyPair, proxy_cert: x509.Certificate
) -> None:
    authenticator = RequestHeaderAuthenticator(kubeadm_config(front_proxy_ca))
    user = await authenticator.authenticate(ProxiedRequest([proxy_cert], PROXIED_HEADERS))
    assert user == UserInfo(
        name="alice", groups=("devs", "system:masters"),
        extra={"scopes": ("view", "edit"), "acme.com/project": ("apollo",), "bad%zzkey": ("raw",)},
    )


async def test_without_a_username_header_the_proxy_is_not_a_user(
    front_proxy_ca: CertKeyPair, proxy_cert: x509.Certificate
) -> None:
    authenticator = RequestHeaderAuthenticator(kubeadm_config(front_proxy_ca))
    assert await authenticator.authenticate(ProxiedRequest([proxy_cert], {"x-remote-user": [""]})) is None


async def test_first_configured_username_header_with_a_value_wins(
    front_proxy_ca: CertKeyPair, proxy_cert: x509.Certificate
) -> None:
    config = RequestHeaderConfig(client_cas=(front_proxy_ca.cert,), username_headers=("X-User", "X-Remote-User"))
    request = ProxiedRequest([proxy_cert], {"x-user": [""], "x-remote-user": ["bob", "eve"]})
    user = await RequestHeaderAuthenticator(config).authenticate(request)
    assert user is not None and user.name == "bob"


async def test_headers_from_a_normal_client_certificate_are_not_trusted(
    front_proxy_ca: CertKeyPair, client_ca: CertKeyPair
) -> None:
    kubectl = issue_client_certificate(client_ca, "kubectl").cert
    authenticator = RequestHeaderAuthenticator(kubeadm_config(front_proxy_ca))
    with pytest.raises(Unauthorized, match=r"^x509: "):
        await authenticator.authenticate(ProxiedRequest([kubectl], PROXIED_HEADERS))


async def test_chain_authenticates_a_normal_client_as_itself_despite_x_remote_user(
    front_proxy_ca: CertKeyPair, client_ca: CertKeyPair
) -> None:
    kubectl = issue_client_certificate(client_ca, "kubectl").cert
    chain = RequestAuthenticator([RequestHeaderAuthenticator(kubeadm_config(front_proxy_ca)),
                                  X509Authenticator([client_ca.cert])])
    user = await chain.authenticate(ProxiedRequest([kubectl], PROXIED_HEADERS))
    assert (user.name, user.groups) == ("kubectl", ("system:authenticated",))


async def test_chain_refuses_a_client_without_certificate_sending_x_remote_user(front_proxy_ca: CertKeyPair) -> None:
    chain = RequestAuthenticator([RequestHeaderAuthenticator(kubeadm_config(front_proxy_ca))])
    with pytest.raises(AuthenticationFailed):
        await chain.authenticate(ProxiedRequest([], PROXIED_HEADERS))


async def test_front_proxy_certificate_with_a_name_not_allowed_is_refused(front_proxy_ca: CertKeyPair) -> None:
    other = issue_client_certificate(front_proxy_ca, "other-proxy").cert
    authenticator = RequestHeaderAuthenticator(kubeadm_config(front_proxy_ca))
    with pytest.raises(Unauthorized) as caught:
        await authenticator.authenticate(ProxiedRequest([other], PROXIED_HEADERS))
    assert caught.value.message == "x509: subject with cn=other-proxy is not in the allowed list"


async def test_empty_allowed_names_accept_any_front_proxy_certificate(front_proxy_ca: CertKeyPair) -> None:
    other = issue_client_certificate(front_proxy_ca, "other-proxy").cert
    authenticator = RequestHeaderAuthenticator(kubeadm_config(front_proxy_ca, allowed=()))
    user = await authenticator.authenticate(ProxiedRequest([other], PROXIED_HEADERS))
    assert user is not None and user.name == "alice"


async def test_no_certificate_is_not_ours(front_proxy_ca: CertKeyPair) -> None:
    authenticator = RequestHeaderAuthenticator(kubeadm_config(front_proxy_ca))
    assert await authenticator.authenticate(ProxiedRequest([], PROXIED_HEADERS)) is None


def test_blank_header_names_are_refused(front_proxy_ca: CertKeyPair) -> None:
    with pytest.raises(ValueError, match=r'^empty header "  "$'):
        RequestHeaderConfig(client_cas=(front_proxy_ca.cert,), group_headers=("  ",))


def test_header_names_are_trimmed(front_proxy_ca: CertKeyPair) -> None:
    config = RequestHeaderConfig(client_cas=(front_proxy_ca.cert,), username_headers=(" X-User ",))
    assert config.username_headers == ("X-User",)


@pytest.mark.parametrize(
    ("name", "stripped"),
    [
        ("X-Remote-User", True), ("x-remote-group", True), ("X-Remote-Extra-Scopes", True),
        ("X-Proxy-User", True), ("X-Proxy-Extra-Anything", True), ("Authorization", False), ("X-Remote", False),
    ],
)
def test_headers_to_strip_cover_standard_and_configured_names(
    front_proxy_ca: CertKeyPair, name: str, stripped: bool
) -> None:
    config = RequestHeaderConfig(client_cas=(front_proxy_ca.cert,), username_headers=("X-Proxy-User",),
                                 extra_header_prefixes=("X-Proxy-Extra-",))
    assert RequestHeaderAuthenticator(config).headers_to_strip().matches(name) is stripped


def test_standard_headers_are_stripped_even_without_front_proxy_authentication() -> None:
    strip = headers_to_strip(None)
    assert strip.matches("X-Remote-User") and strip.matches("X-Remote-Extra-Foo") and not strip.matches("Accept")


@pytest.mark.parametrize(
    ("encoded", "decoded"),
    [("scopes", "scopes"), ("acme.com%2fproject", "acme.com/project"), ("a%zz", "a%zz"), ("a+b", "a+b"),
     ("caf%c3%a9", "café")],
)
def test_extra_keys_are_path_unescaped(encoded: str, decoded: str) -> None:
    assert unescape_extra_key(encoded) == decoded
