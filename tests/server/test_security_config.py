"""The security flags: kube-apiserver's names, defaults and validation, and unusable files refused at assembly."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from apiserver.server.assembly import build_server
from apiserver.server.config import SERVE_FLAGS, ServerConfig
from apiserver.server.flags import FlagError, parse_flags
from apiserver.server.pki import ensure_pki
from apiserver.server.security import SecurityConfigError
from tests.server.security_harness import InMemoryServer

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "apiserver.settings")
os.environ.setdefault("PILOTHOUSE_SECRET_KEY", "tests-only-not-a-secret")


def config(*args: str) -> ServerConfig:
    return ServerConfig.from_flags(parse_flags(SERVE_FLAGS, list(args), command="serve"))


def test_defaults_follow_upstream_where_it_has_them() -> None:
    defaults = config("--data-dir", "/srv/ph")
    assert defaults.anonymous_auth is True
    assert defaults.authorization_modes == ("RBAC",)
    assert (defaults.max_requests_inflight, defaults.max_mutating_requests_inflight) == (400, 200)
    assert defaults.service_account_lookup is True
    assert defaults.service_account_issuers == ("https://kubernetes.default.svc.cluster.local",)
    assert defaults.api_audience_values == defaults.service_account_issuers
    assert defaults.service_account_key_paths == (Path("/srv/ph/pki/sa.pub"),)
    assert defaults.service_account_signing_key_path == Path("/srv/ph/pki/sa.key")
    assert defaults.requestheader_username_headers == ()


def test_flags_fill_the_config() -> None:
    parsed = config(
        "--anonymous-auth=false", "--authorization-mode", "AlwaysDeny,RBAC", "--service-account-issuer", "https://a",
        "--service-account-issuer", "https://b,c", "--service-account-key-file", "/k1", "--service-account-key-file",
        "/k2", "--api-audiences", "x,y", "--requestheader-username-headers", "X-Remote-User",
        "--service-account-max-token-expiration", "2h", "--max-requests-inflight", "0", "--audit-log-maxsize", "5",
    )
    assert parsed.anonymous_auth is False
    assert parsed.authorization_modes == ("AlwaysDeny", "RBAC")
    assert parsed.service_account_issuers == ("https://a", "https://b,c")  # stringArray: commas kept
    assert parsed.service_account_key_paths == (Path("/k1"), Path("/k2"))
    assert parsed.api_audience_values == ("x", "y")
    assert parsed.requestheader_username_headers == ("X-Remote-User",)
    assert parsed.service_account_max_token_expiration == 7200.0
    assert (parsed.max_requests_inflight, parsed.audit_log_maxsize) == (0, 5)


@pytest.mark.parametrize(("args", "message"), [
    (("--max-requests-inflight", "-1"), "--max-requests-inflight can not be negative value"),
    (("--max-mutating-requests-inflight", "-1"), "--max-mutating-requests-inflight can not be negative value"),
    (("--audit-log-maxage", "-2"), "--audit-log-maxage -2 can't be a negative number"),
    (("--authorization-mode", "Foo"), 'authorization-mode "Foo" is not a valid mode'),
    (("--authorization-mode", "Node"), 'authorization-mode "Node" is not supported by this server'),
    (("--authorization-mode", "RBAC,RBAC"), 'authorization-mode ["RBAC" "RBAC"] has mode specified more than once'),
    (("--service-account-max-token-expiration", "10m"),
     "the service-account-max-token-expiration must be between 1 hour and 2^32 seconds"),
])
def test_invalid_values_are_refused_with_upstreams_messages(args: tuple[str, ...], message: str) -> None:
    with pytest.raises(FlagError) as raised:
        config(*args)
    assert str(raised.value) == message


@pytest.mark.parametrize(("flag", "content", "message"), [
    ("token_auth_file", "abc,alice\n", "must have at least 3 columns (token, user name, user uid), found 2"),
    ("service_account_signing_key_file", "not a key", "data does not contain a valid RSA or ECDSA private key"),
    ("audit_policy_file", "kind: Nope\n", "loading audit policy file: "),
    ("encryption_provider_config", "kind: Nope\n", "error while parsing file"),
    ("requestheader_client_ca_file", "", "missing content for CA bundle"),
])
def test_unusable_security_files_stop_the_assembly(tmp_path: Path, flag: str, content: str, message: str) -> None:
    ensure_pki(tmp_path / "pki", advertise_address="127.0.0.1")
    path = tmp_path / "file"
    path.write_text(content)
    with pytest.raises(SecurityConfigError) as raised:
        build_server(ServerConfig(data_dir=tmp_path, storage_backend="memory", **{flag: str(path)}))
    assert message in str(raised.value)


async def test_a_server_without_keys_serves_no_token_requests_or_discovery(tmp_path: Path) -> None:
    pki = ensure_pki(tmp_path / "client-pki", advertise_address="127.0.0.1")  # only for client certificates
    server = build_server(ServerConfig(data_dir=tmp_path / "data", storage_backend="memory",
                                       etcd_compaction_interval=0))
    await server.lifecycle.start()
    try:
        api = InMemoryServer(server, pki)
        created = await api.request("POST", "/api/v1/namespaces/default/serviceaccounts", body={
            "apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "robot"}})
        assert created.status == 201
        token = await api.request("POST", "/api/v1/namespaces/default/serviceaccounts/robot/token", body={
            "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest"})
        discovery = await api.request("GET", "/.well-known/openid-configuration")
    finally:
        await server.lifecycle.stop()
    assert (token.status, discovery.status) == (404, 404)
