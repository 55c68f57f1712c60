"""The security workflows of the seed notes, with kubectl 1.32 and curl over HTTPS, on SQLite and on etcd:
certificate users and RBAC, ServiceAccount tokens, anonymous access, `auth can-i`/`whoami`, impersonation,
issuer discovery, audit and encryption at rest."""
from __future__ import annotations

import base64
import json
import ssl
import uuid
from pathlib import Path

import jwt
import pytest
import websocket

from tests.e2e.security_support import (
    ISSUER,
    CertificateUser,
    audit_log,
    curl,
    raw_stored_value,
    server,
    until,
)
from tests.support.kubectl import Kubectl
from tests.support.server import ServerProcess

__all__ = ["server"]  # the module's live server, with audit, encryption and a front proxy configured

FORBIDDEN_SERVICES = ('Error from server (Forbidden): services is forbidden: User "kubectl" cannot list resource '
                      '"services" in API group "" in the namespace "default"\n')


def test_the_admin_kubeconfig_is_cluster_admin_without_a_binding(kubectl: Kubectl) -> None:
    assert kubectl.run("auth", "can-i", "*", "*").stdout == "yes\n"
    bindings = json.loads(kubectl.run("get", "clusterrolebindings", "-o", "json").stdout)["items"]
    subjects = [subject["name"] for item in bindings for subject in item.get("subjects") or ()]
    assert "kubernetes-admin" not in subjects
    whoami = kubectl.run("auth", "whoami").stdout
    assert "Username                                            kubernetes-admin" in whoami
    assert "Groups                                              [system:masters system:authenticated]" in whoami


def test_a_certificate_user_is_forbidden_until_bound(server: ServerProcess, kubectl: Kubectl, tmp_path: Path) -> None:
    user = CertificateUser(server, tmp_path, "kubectl")
    refused = user.kubectl.run("get", "services")
    assert (refused.returncode, refused.stderr) == (1, FORBIDDEN_SERVICES)
    assert user.kubectl.run("auth", "can-i", "list", "services").stdout == "no\n"
    created = kubectl.run("create", "clusterrolebinding", "kubectl", "--clusterrole=cluster-admin", "--user=kubectl")
    assert created.stdout == "clusterrolebinding.rbac.authorization.k8s.io/kubectl created\n"
    try:
        allowed = until(lambda: user.kubectl.run("get", "services").returncode == 0)
        assert allowed
        assert user.kubectl.run("auth", "can-i", "list", "services").stdout == "yes\n"
    finally:
        kubectl.run("delete", "clusterrolebinding", "kubectl")


def test_service_account_token_reaches_the_api_with_curl(server: ServerProcess, kubectl: Kubectl,
                                                         namespace: str) -> None:
    binding = f"sa-{uuid.uuid4().hex[:8]}"
    assert kubectl.run("create", "serviceaccount", "robot", "-n", namespace).returncode == 0
    assert kubectl.run("create", "clusterrolebinding", binding, "--clusterrole=cluster-admin",
                       f"--serviceaccount={namespace}:robot").returncode == 0
    try:
        token = kubectl.run("create", "token", "robot", "-n", namespace).stdout.strip()
        bearer = f"Authorization: Bearer {token}"
        api = until(lambda: json.loads(curl("--cacert", str(server.ca_file), "-H", bearer, f"{server.url}/api").stdout
                                       or "{}").get("kind") == "APIVersions")
        assert api
        assert kubectl.run("run", "victim", "--image=nginx", "-n", namespace).returncode == 0
        deleted = curl("-X", "DELETE", "--cacert", str(server.ca_file), "-H", bearer,
                       f"{server.url}/api/v1/namespaces/{namespace}/pods/victim")
        assert json.loads(deleted.stdout)["metadata"]["name"] == "victim"
        gone = kubectl.run("get", "pod", "victim", "-n", namespace)
        assert gone.stderr == 'Error from server (NotFound): pods "victim" not found\n'
    finally:
        kubectl.run("delete", "clusterrolebinding", binding)


def test_service_account_tokens_verify_offline_with_the_published_keys(server: ServerProcess, kubectl: Kubectl,
                                                                       namespace: str) -> None:
    assert kubectl.run("create", "serviceaccount", "robot", "-n", namespace).returncode == 0
    token = kubectl.run("create", "token", "robot", "-n", namespace, "--duration=1h").stdout.strip()
    bearer = f"Authorization: Bearer {token}"
    anonymous = curl("--cacert", str(server.ca_file), f"{server.url}/.well-known/openid-configuration")
    assert json.loads(anonymous.stdout)["code"] == 403
    discovery = json.loads(curl("--cacert", str(server.ca_file), "-H", bearer,
                                f"{server.url}/.well-known/openid-configuration").stdout)
    assert discovery["issuer"] == ISSUER
    keys = json.loads(curl("--cacert", str(server.ca_file), "-H", bearer, f"{server.url}/openid/v1/jwks").stdout)
    key = jwt.PyJWK(keys["keys"][0])
    claims = jwt.decode(token, key.key, algorithms=["RS256"], audience=ISSUER, issuer=ISSUER)
    assert claims["sub"] == f"system:serviceaccount:{namespace}:robot"
    assert claims["exp"] - claims["iat"] == 3600
    assert sorted(claims["kubernetes.io"]) == ["namespace", "serviceaccount"]


def test_a_token_longer_than_the_maximum_is_shortened_with_a_warning(kubectl: Kubectl, namespace: str) -> None:
    assert kubectl.run("create", "serviceaccount", "robot", "-n", namespace).returncode == 0
    issued = kubectl.run("create", "token", "robot", "-n", namespace, "--duration=10h")
    assert issued.returncode == 0
    assert "Warning: requested expiration of 36000 seconds shortened to 7200 seconds" in issued.stderr
    claims = jwt.decode(issued.stdout.strip(), options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 7200


def test_bad_tokens_get_401_and_no_credentials_get_anonymous(server: ServerProcess) -> None:
    unauthorized = curl("--cacert", str(server.ca_file), "-H", "Authorization: Bearer not-a-real-token",
                        f"{server.url}/api")
    assert unauthorized.stdout == ('{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",'
                                   '"message":"Unauthorized","reason":"Unauthorized","code":401}\n')
    anonymous = curl("--cacert", str(server.ca_file), f"{server.url}/api/v1/namespaces")
    assert json.loads(anonymous.stdout) == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": 'namespaces is forbidden: User "system:anonymous" cannot list resource "namespaces" in API '
                   'group "" at the cluster scope',
        "reason": "Forbidden", "details": {"kind": "namespaces"}, "code": 403,
    }
    assert curl("--cacert", str(server.ca_file), f"{server.url}/livez").stdout == "ok"


def test_auth_can_i_list_and_whoami_with_impersonation(server: ServerProcess, kubectl: Kubectl,
                                                      tmp_path: Path) -> None:
    assert kubectl.run("auth", "can-i", "create", "pods").stdout == "yes\n"
    listing = kubectl.run("auth", "can-i", "--list").stdout.splitlines()
    assert listing[1].split() == ["*.*", "[]", "[]", "[*]"]
    whoami = kubectl.run("auth", "whoami", "--as=alice", "--as-group=devs").stdout.splitlines()
    assert [line.split(maxsplit=1) for line in whoami] == [
        ["ATTRIBUTE", "VALUE"], ["Username", "alice"], ["Groups", "[devs system:authenticated]"]]
    assert kubectl.run("auth", "can-i", "create", "pods", "--as=alice").stdout == "no\n"
    user = CertificateUser(server, tmp_path, "kubectl")
    # Every kubectl verb starts with discovery, whose 403 kubectl 1.32 reports as "unknown": ask a path directly.
    refused = user.kubectl.run("get", "--raw", "/api", "--as=alice", "--as-group=devs")
    assert refused.stderr == ('Error from server (Forbidden): users "alice" is forbidden: User "kubectl" cannot '
                              'impersonate resource "users" in API group "" at the cluster scope\n')


def test_watch_over_a_websocket_needs_credentials_and_permission(server: ServerProcess, tmp_path: Path) -> None:
    url = f"wss://127.0.0.1:{server.port}/api/v1/namespaces/default/configmaps?watch=true"
    admin_cert, admin_key = server.admin_credentials()
    accepted = websocket.create_connection(url, sslopt={"ca_certs": str(server.ca_file), "certfile": str(admin_cert),
                                                        "keyfile": str(admin_key)}, timeout=5)
    accepted.close()
    user = CertificateUser(server, tmp_path, "watcher")
    for sslopt in ({"ca_certs": str(server.ca_file)},
                   {"ca_certs": str(server.ca_file), "certfile": str(user.cert_file), "keyfile": str(user.key_file)}):
        with pytest.raises(websocket.WebSocketBadStatusException) as refused:
            websocket.create_connection(url, sslopt={**sslopt, "cert_reqs": ssl.CERT_REQUIRED}, timeout=5)
        assert refused.value.status_code == 403


def test_secrets_are_encrypted_at_rest_and_absent_from_the_audit_log(
    server: ServerProcess, kubectl: Kubectl, namespace: str, request: pytest.FixtureRequest
) -> None:
    created = kubectl.run("create", "secret", "generic", "vault", "-n", namespace, "--from-literal=password=hunter2")
    assert created.returncode == 0, created.stderr
    etcd_url = request.getfixturevalue("etcd").url if server.storage_backend == "etcd3" else ""
    raw = raw_stored_value(server, f"secrets/{namespace}/vault", etcd_url)
    assert raw.startswith(b"k8s:enc:aescbc:v1:key1:")
    assert b"hunter2" not in raw and base64.b64encode(b"hunter2") not in raw
    read = kubectl.run("get", "secret", "vault", "-n", namespace, "-o", "jsonpath={.data.password}").stdout
    assert base64.b64decode(read) == b"hunter2"
    config = raw_stored_value(server, f"namespaces/{namespace}", etcd_url)
    assert not config.startswith(b"k8s:enc:")

    def create_event() -> dict[str, object] | None:
        for line in audit_log(server).read_text().splitlines():
            event = json.loads(line)
            reference = event.get("objectRef") or {}
            if (event["verb"], reference.get("resource"), reference.get("name")) == ("create", "secrets", "vault") \
                    and reference.get("namespace") == namespace and event["stage"] == "ResponseComplete":
                return event
        return None

    event = until(create_event)
    assert event is not None, audit_log(server).read_text()[-2000:]
    assert event["user"]["username"] == "kubernetes-admin"  # type: ignore[index]
    assert event["requestObject"]["data"] == {"password": "REDACTED"}  # type: ignore[index]
    assert event["responseStatus"]["code"] == 201  # type: ignore[index]
    log = audit_log(server).read_bytes()
    assert b"hunter2" not in log and base64.b64encode(b"hunter2") not in log


def test_failed_authentication_is_audited(server: ServerProcess) -> None:
    marker = f"/api/v1/namespaces/audit-{uuid.uuid4().hex[:8]}"
    curl("--cacert", str(server.ca_file), "-H", "Authorization: Bearer not-a-real-token", f"{server.url}{marker}")

    def failed_event() -> dict[str, object] | None:
        for line in audit_log(server).read_text().splitlines():
            event = json.loads(line)
            if event["requestURI"] == marker:
                return event
        return None

    event = until(failed_event)
    assert event is not None
    assert (event["stage"], event["user"]) == ("ResponseStarted", {})
    assert event["responseStatus"] == {  # the Status sent replaces "Authentication failed, attempted: bearer"
        "metadata": {}, "status": "Failure", "message": "Unauthorized", "reason": "Unauthorized", "code": 401}
