"""apiserver.client.credentials: the user's own credential through the API's authentication, in-process."""
from __future__ import annotations

import datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from apiserver.client.client import ApiClient
from apiserver.client.credentials import (
    BearerTokenTransport,
    ClientCertificateTransport,
    CredentialError,
    verify_client_certificate,
)
from apiserver.meta.errors import Unauthorized
from apiserver.server.pki import issue_ca, issue_client_certificate, private_key_pem
from console.session import review_identity
from tests.console.harness import TOKENS, ConsoleHarness


def pem(pair: Any) -> str:
    return str(pair.cert.public_bytes(Encoding.PEM).decode())


async def test_a_token_is_authenticated_by_the_server(console: ConsoleHarness) -> None:
    app = console.server.server.app
    user = await review_identity(ApiClient(BearerTokenTransport(app, TOKENS["admin"])))
    assert (user.username, user.groups) == ("admin", ("system:masters", "system:authenticated"))
    with pytest.raises(Unauthorized):
        await review_identity(ApiClient(BearerTokenTransport(app, "unknown-token")))


async def test_a_verified_certificate_is_mapped_by_the_servers_x509_authenticator(console: ConsoleHarness) -> None:
    pair = issue_client_certificate(console.server.pki.ca, "carol", ["qa"])
    chain = verify_client_certificate(pem(pair).encode(), private_key_pem(pair.key), [console.server.pki.ca.cert])
    transport = ClientCertificateTransport(console.server.server.app, chain, [console.server.pki.ca.cert])
    user = await review_identity(ApiClient(transport))
    assert (user.username, user.groups) == ("carol", ("qa", "system:authenticated"))
    assert user.extra["authentication.kubernetes.io/credential-id"][0].startswith("X509SHA256=")


async def test_a_chain_that_no_longer_verifies_never_reaches_the_api(console: ConsoleHarness) -> None:
    calls: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        calls.append(scope["path"])

    past = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=400)
    old_ca = issue_ca("kubernetes", now=past)  # still valid: CAs live ten years, leaves one
    expired = issue_client_certificate(old_ca, "admin", ["system:masters"], now=past)
    foreign = issue_client_certificate(issue_ca("kubernetes"), "admin", ["system:masters"])
    trusted = [console.server.pki.ca.cert, old_ca.cert]
    for pair in (expired, foreign):
        transport = ClientCertificateTransport(app, [pem(pair)], trusted)
        answer = await transport.request("GET", "/api/v1/secrets")
        assert answer.status == 401
        async with transport.stream("GET", "/api/v1/secrets", query="watch=1") as (status, _):
            assert status == 401
    assert calls == []
    expected = r"not accepted by this server's client CA \(x509: .*not valid at validation time"
    with pytest.raises(CredentialError, match=expected):
        verify_client_certificate(pem(expired).encode(), private_key_pem(expired.key), trusted)


def test_without_client_cas_no_certificate_is_accepted() -> None:
    pair = issue_client_certificate(issue_ca("c"), "u")
    with pytest.raises(CredentialError, match="accepts no client certificates"):
        verify_client_certificate(pem(pair).encode(), private_key_pem(pair.key), [])
    with pytest.raises(CredentialError, match="accepts no client certificates"):
        ClientCertificateTransport(lambda *a: None, [pem(pair)], [])  # type: ignore[arg-type,return-value]


@pytest.mark.parametrize(("certificate", "key", "message"), [
    (b"junk", b"", "the client certificate is not a PEM certificate"),
    (None, b"junk", "the client key is not an unencrypted PEM private key"),
])
def test_unreadable_material_is_refused(certificate: bytes | None, key: bytes, message: str) -> None:
    ca = issue_ca("c")
    pair = issue_client_certificate(ca, "u")
    with pytest.raises(CredentialError, match=message):
        verify_client_certificate(certificate or pem(pair).encode(), key, [ca.cert])


@pytest.mark.parametrize("token", ["", "   ", "a b", "tab\there", "é"])
def test_malformed_tokens_are_refused(token: str) -> None:
    with pytest.raises(CredentialError):
        BearerTokenTransport(lambda *a: None, token)  # type: ignore[arg-type,return-value]


async def test_no_in_process_identity_rides_along(console: ConsoleHarness) -> None:
    scopes: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        scopes.append(scope)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    await BearerTokenTransport(app, "t0ken").request("GET", "/api")
    tls = scopes[0]["extensions"]["tls"]
    assert tls == {}
    assert (b"authorization", b"Bearer t0ken") in scopes[0]["headers"]
