"""Kubeconfig login: token and client-certificate users; paths, plugins, forged and stolen certificates refused."""
from __future__ import annotations

import base64
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives.serialization import Encoding

from apiserver.server.pki import CertKeyPair, issue_ca, issue_client_certificate, private_key_pem
from tests.console.harness import TOKENS, ConsoleHarness


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def kubeconfig(user: dict[str, Any], *, current: str = "main", contexts: tuple[str, ...] = ("main",)) -> bytes:
    return yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": current,
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:6443"}}],
        "contexts": [{"name": name, "context": {"cluster": "c", "user": f"u-{name}"}} for name in contexts],
        "users": [{"name": f"u-{name}", "user": user} for name in contexts],
    }).encode()


def certificate_user(pair: CertKeyPair, key: Any = None) -> dict[str, str]:
    return {"client-certificate-data": b64(pair.cert.public_bytes(Encoding.PEM)),
            "client-key-data": b64(private_key_pem(key or pair.key))}


async def test_a_token_kubeconfig_logs_in(console: ConsoleHarness) -> None:
    async with console.browser() as browser:
        answer = await console.upload(browser, kubeconfig({"token": TOKENS["viewer"]}))
        assert answer.status_code == 302, answer.text
        page = await browser.get("/console/")
        assert '<span class="user" title="Logged in as">viewer</span>' in page.text


async def test_a_client_certificate_kubeconfig_logs_in_as_its_subject(console: ConsoleHarness) -> None:
    pair = issue_client_certificate(console.server.pki.ca, "alice", ["devs", "ops"])
    async with console.browser() as browser:
        answer = await console.upload(browser, kubeconfig(certificate_user(pair)))
        assert answer.status_code == 302, answer.text
        page = await browser.get("/console/")
        assert '<span class="user" title="Logged in as">alice</span>' in page.text
        assert "<li>devs</li>" in page.text and "<li>ops</li>" in page.text
        assert "PRIVATE KEY" not in str(await _session_data(browser))


async def _session_data(browser: Any) -> dict[str, Any]:
    from django.contrib.sessions.models import Session

    row = await Session.objects.aget(session_key=browser.cookies.get("pilothouse_session"))
    return dict(row.get_decoded())


async def test_the_context_can_be_chosen(console: ConsoleHarness) -> None:
    config = yaml.safe_load(kubeconfig({"token": "wrong"}, current="a", contexts=("a", "b")))
    config["users"][1]["user"] = {"token": TOKENS["admin"]}
    async with console.browser() as browser:
        assert (await console.upload(browser, yaml.safe_dump(config).encode())).status_code == 401
        assert (await console.upload(browser, yaml.safe_dump(config).encode(), context="b")).status_code == 302


async def test_a_certificate_from_another_ca_is_refused(console: ConsoleHarness) -> None:
    forged = issue_client_certificate(issue_ca("kubernetes"), "admin", ["system:masters"])
    async with console.browser() as browser:
        answer = await console.upload(browser, kubeconfig(certificate_user(forged)))
        assert answer.status_code == 400
        assert "the client certificate is not accepted by this server&#x27;s client CA" in answer.text
        assert (await browser.get("/console/")).status_code == 302


async def test_a_certificate_without_its_key_is_refused(console: ConsoleHarness) -> None:
    real = issue_client_certificate(console.server.pki.ca, "admin", ["system:masters"])
    other = issue_client_certificate(issue_ca("x"), "mallory")
    async with console.browser() as browser:
        answer = await console.upload(browser, kubeconfig(certificate_user(real, key=other.key)))
        assert answer.status_code == 400
        assert "the client key does not belong to the client certificate" in answer.text


@pytest.mark.parametrize(("user", "message"), [
    ({"exec": {"command": "/bin/sh", "apiVersion": "client.authentication.k8s.io/v1"}}, "uses an exec plugin"),
    ({"auth-provider": {"name": "oidc"}}, "uses an auth-provider plugin"),
    ({"tokenFile": "/etc/shadow"}, "names a token file"),
    ({"client-certificate": "/var/pki/admin.crt", "client-key": "/var/pki/admin.key"}, "names certificate files"),
    ({"username": "admin", "password": "secret"}, "uses basic authentication"),
    ({}, "has no token and no client certificate"),
    ({"client-certificate-data": "bm90IGEgY2VydA=="}, "needs both client-certificate-data and client-key-data"),
    ({"client-certificate-data": "%%%", "client-key-data": "%%%"}, "client-certificate-data is not base64"),
])
async def test_unusable_users_are_refused_with_a_reason(console: ConsoleHarness, user: dict[str, Any],
                                                       message: str) -> None:
    async with console.browser() as browser:
        answer = await console.upload(browser, kubeconfig(user))
        assert answer.status_code == 400
        assert message in answer.text
        assert "pilothouse_session" not in answer.headers.get("set-cookie", "")


@pytest.mark.parametrize(("content", "context", "message"), [
    (b"\xff\xfe", "", "the file is not a kubeconfig (it is not YAML)"),
    (b"- a\n- b\n", "", "the file is not a kubeconfig (kind: Config)"),
    (kubeconfig({"token": "t"}, current="other"), "", "context &quot;other&quot; is not in the kubeconfig"),
    (kubeconfig({"token": "t"}), "nope", "context &quot;nope&quot; is not in the kubeconfig"),
])
async def test_broken_kubeconfigs_are_refused(console: ConsoleHarness, content: bytes, context: str,
                                              message: str) -> None:
    async with console.browser() as browser:
        answer = await console.upload(browser, content, context=context)
        assert answer.status_code == 400
        assert message in answer.text
