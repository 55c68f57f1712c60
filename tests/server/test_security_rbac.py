"""RBAC, escalation prevention, aggregation, impersonation and front-proxy authentication in an assembled server."""
from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.server.security_harness import InMemoryServer, eventually, in_memory_server

RBAC = "/apis/rbac.authorization.k8s.io/v1"
WHOAMI = "/apis/authentication.k8s.io/v1/selfsubjectreviews"
WHOAMI_BODY = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[InMemoryServer]:
    async with in_memory_server(tmp_path) as server:
        yield server



def role(name: str, *rules: dict[str, object], kind: str = "Role") -> dict[str, object]:
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": {"name": name},
            "rules": list(rules)}


def binding(name: str, role_kind: str, role_name: str, user: str, kind: str = "RoleBinding") -> dict[str, object]:
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": {"name": name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role_name},
            "subjects": [{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": user}]}


async def grant(api: InMemoryServer, user: str, *rules: dict[str, object], namespace: str = "team") -> None:
    """Give `user` these rules in `namespace` (as the admin) and wait until authorization sees them."""
    assert (await api.request("POST", "/api/v1/namespaces", body={
        "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})).status in (201, 409)
    created = await api.request("POST", f"{RBAC}/namespaces/{namespace}/roles", body=role(f"{user}-rules", *rules))
    assert created.status == 201, created.body
    bound = await api.request("POST", f"{RBAC}/namespaces/{namespace}/rolebindings",
                              body=binding(f"{user}-rules", "Role", f"{user}-rules", user))
    assert bound.status == 201, bound.body
    await eventually(lambda: api.request("GET", f"{RBAC}/namespaces/{namespace}/roles", user=user, groups=()), 200)


WRITE_RBAC = {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles", "rolebindings"],
              "verbs": ["create", "update", "get", "list"]}
READ_PODS = {"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}


async def test_a_role_granting_more_than_its_writer_holds_is_forbidden(api: InMemoryServer) -> None:
    await grant(api, "esc", WRITE_RBAC)
    answer = await api.request("POST", f"{RBAC}/namespaces/team/roles", user="esc", groups=(),
                               body=role("pod-reader", READ_PODS))
    assert answer.status == 403
    assert answer.json["message"] == (
        'roles.rbac.authorization.k8s.io "pod-reader" is forbidden: user "esc" (groups=["system:authenticated"]) '
        "is attempting to grant RBAC permissions not currently held:\n"
        '{APIGroups:[""], Resources:["pods"], Verbs:["get"]}'
    )
    assert answer.json["details"] == {"name": "pod-reader", "group": "rbac.authorization.k8s.io", "kind": "roles"}
    absent = await api.request("GET", f"{RBAC}/namespaces/team/roles/pod-reader")
    assert absent.status == 404


async def test_the_escalate_verb_allows_granting_what_one_does_not_hold(api: InMemoryServer) -> None:
    await grant(api, "esc", WRITE_RBAC, {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles"],
                                         "verbs": ["escalate"]})
    answer = await api.request("POST", f"{RBAC}/namespaces/team/roles", user="esc", groups=(),
                               body=role("pod-reader", READ_PODS))
    assert answer.status == 201, answer.body


async def test_a_binding_to_permissions_one_does_not_hold_is_forbidden(api: InMemoryServer) -> None:
    await grant(api, "binder", WRITE_RBAC)
    answer = await api.request("POST", f"{RBAC}/namespaces/team/rolebindings", user="binder", groups=(),
                               body=binding("give-admin", "ClusterRole", "cluster-admin", "friend"))
    assert answer.status == 403
    assert answer.json["message"] == (
        'rolebindings.rbac.authorization.k8s.io "give-admin" is forbidden: user "binder" '
        '(groups=["system:authenticated"]) is attempting to grant RBAC permissions not currently held:\n'
        "{APIGroups:[\"*\"], Resources:[\"*\"], Verbs:[\"*\"]}\n"
        "{NonResourceURLs:[\"*\"], Verbs:[\"*\"]}"
    )
    missing = await api.request("POST", f"{RBAC}/namespaces/team/rolebindings", user="binder", groups=(),
                                body=binding("dangling", "ClusterRole", "no-such-role", "friend"))
    assert (missing.status, missing.json["message"]) == (
        404, 'clusterroles.rbac.authorization.k8s.io "no-such-role" not found')
    assert (await api.request("GET", f"{RBAC}/namespaces/team/rolebindings/give-admin")).status == 404


async def test_the_bind_verb_allows_binding_a_role_one_does_not_hold(api: InMemoryServer) -> None:
    await grant(api, "binder", WRITE_RBAC, {"apiGroups": ["rbac.authorization.k8s.io"],
                                            "resources": ["clusterroles"], "verbs": ["bind"],
                                            "resourceNames": ["view"]})
    allowed = await api.request("POST", f"{RBAC}/namespaces/team/rolebindings", user="binder", groups=(),
                                body=binding("give-view", "ClusterRole", "view", "friend"))
    refused = await api.request("POST", f"{RBAC}/namespaces/team/rolebindings", user="binder", groups=(),
                                body=binding("give-edit", "ClusterRole", "edit", "friend"))
    assert (allowed.status, refused.status) == (201, 403)


async def test_aggregated_cluster_roles_pick_up_labelled_rules(api: InMemoryServer) -> None:
    widgets = role("widget-viewer", {"apiGroups": ["example.com"], "resources": ["widgets"], "verbs": ["get"]},
                   kind="ClusterRole")
    widgets["metadata"]["labels"] = {"rbac.authorization.k8s.io/aggregate-to-view": "true"}  # type: ignore[index]
    assert (await api.request("POST", f"{RBAC}/clusterroles", body=widgets)).status == 201
    widget_rule = {"apiGroups": ["example.com"], "resources": ["widgets"], "verbs": ["get"]}
    # view aggregates roles labelled aggregate-to-view; edit aggregates view (labelled aggregate-to-edit) in a
    # second round, so each is awaited on its own.
    for name in ("view", "edit"):
        deadline = asyncio.get_running_loop().time() + 5
        while asyncio.get_running_loop().time() < deadline:
            rules = (await api.request("GET", f"{RBAC}/clusterroles/{name}")).json["rules"]
            if widget_rule in rules:
                break
            await asyncio.sleep(0.02)
        else:
            raise AssertionError(f"{name} never aggregated the widget rule")


async def test_impersonation_switches_the_user_for_the_admin_only(api: InMemoryServer) -> None:
    headers = [("Impersonate-User", "alice"), ("Impersonate-Group", "devs")]
    admin = await api.request("POST", WHOAMI, body=WHOAMI_BODY, headers=headers)
    assert admin.json["status"]["userInfo"] == {"username": "alice", "groups": ["devs", "system:authenticated"]}
    bob = await api.request("POST", WHOAMI, body=WHOAMI_BODY, headers=headers, user="bob", groups=())
    assert (bob.status, bob.json["message"]) == (403, (
        'users "alice" is forbidden: User "bob" cannot impersonate resource "users" in API group "" at the '
        "cluster scope"))
    group_only = await api.request("POST", WHOAMI, body=WHOAMI_BODY, headers=[("Impersonate-Group", "devs")])
    assert group_only.status == 500
    assert group_only.body == (b'Internal Server Error: "/apis/authentication.k8s.io/v1/selfsubjectreviews": '
                               b"requested [{Group  devs    }] without impersonating a user\n")


async def test_anonymous_reads_health_and_version_only(api: InMemoryServer) -> None:
    for path in ("/livez", "/readyz", "/healthz", "/version"):
        assert (await api.request("GET", path, user=None)).status == 200, path
    namespaces = await api.request("GET", "/api/v1/namespaces", user=None)
    assert namespaces.body == (
        b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"namespaces is forbidden: '
        b'User \\"system:anonymous\\" cannot list resource \\"namespaces\\" in API group \\"\\" at the cluster '
        b'scope","reason":"Forbidden","details":{"kind":"namespaces"},"code":403}\n')
    for path in ("/livez/etcd", "/metrics", "/", "/.well-known/openid-configuration", "/openid/v1/jwks"):
        forbidden = await api.request("GET", path, user=None)
        assert (forbidden.status, forbidden.json["message"]) == (
            403, f'forbidden: User "system:anonymous" cannot get path "{path}"')


async def test_issuer_discovery_is_served_to_service_accounts(api: InMemoryServer) -> None:
    config = await api.request("GET", "/.well-known/openid-configuration", user="system:serviceaccount:ns:sa",
                               groups=("system:serviceaccounts",))
    assert config.status == 200
    assert config.headers["cache-control"] == "public, max-age=3600"
    assert config.json["issuer"] == "https://kubernetes.default.svc.cluster.local"
    assert config.json["jwks_uri"].endswith("/openid/v1/jwks")
    keys = await api.request("GET", "/openid/v1/jwks")
    assert keys.headers["content-type"] == "application/jwk-set+json"
    assert [key["alg"] for key in keys.json["keys"]] == ["RS256"]
    assert (await api.request("POST", "/openid/v1/jwks")).status == 405


async def test_invalid_credentials_are_401_even_with_anonymous_on(api: InMemoryServer) -> None:
    answer = await api.request("GET", "/livez", user=None, headers=[("Authorization", "Bearer nonsense")])
    assert answer.body == (b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",'
                           b'"message":"Unauthorized","reason":"Unauthorized","code":401}\n')


async def test_without_anonymous_auth_no_credentials_is_401(tmp_path: Path) -> None:
    async with in_memory_server(tmp_path, anonymous_auth=False) as api:
        answer = await api.request("GET", "/livez", user=None)
    assert (answer.status, answer.json["reason"]) == (401, "Unauthorized")


async def test_front_proxy_headers_are_trusted_only_from_the_front_proxy(tmp_path: Path) -> None:
    config = {"requestheader_client_ca_file": str(tmp_path / "pki" / "ca.crt"),
              "requestheader_allowed_names": ("front-proxy-client",),
              "requestheader_username_headers": ("X-Remote-User",), "requestheader_group_headers": ("X-Remote-Group",),
              "requestheader_extra_headers_prefix": ("X-Remote-Extra-",)}
    forwarded = [("X-Remote-User", "alice"), ("X-Remote-Group", "devs"), ("X-Remote-Extra-Scopes", "openid")]
    (tmp_path / "pki").mkdir()
    async with in_memory_server(tmp_path, **config) as api:
        proxied = await api.request("POST", WHOAMI, body=WHOAMI_BODY, user="front-proxy-client", groups=(),
                                    headers=forwarded)
        direct = await api.request("POST", WHOAMI, body=WHOAMI_BODY, user="kubectl", groups=(), headers=forwarded)
        anonymous = await api.request("POST", WHOAMI, body=WHOAMI_BODY, user=None, headers=forwarded)
    assert proxied.json["status"]["userInfo"] == {"username": "alice", "groups": ["devs", "system:authenticated"],
                                                  "extra": {"scopes": ["openid"]}}
    assert direct.json["status"]["userInfo"]["username"] == "kubectl"
    assert (anonymous.status, anonymous.json["message"]) == (403, (
        'selfsubjectreviews.authentication.k8s.io is forbidden: User "system:anonymous" cannot create resource '
        '"selfsubjectreviews" in API group "authentication.k8s.io" at the cluster scope'))


async def test_the_admin_is_cluster_admin_through_system_masters_alone(api: InMemoryServer) -> None:
    bindings = (await api.request("GET", f"{RBAC}/clusterrolebindings")).json["items"]
    assert not [b for b in bindings for s in b.get("subjects") or () if s["name"] == "kubernetes-admin"]
    admin = next(b for b in bindings if b["metadata"]["name"] == "cluster-admin")
    assert admin["subjects"] == [{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": "system:masters"}]
    assert (await api.request("DELETE", f"{RBAC}/clusterrolebindings/cluster-admin")).status == 200
    still = await api.request("GET", "/api/v1/namespaces")
    assert still.status == 200


async def test_static_and_bootstrap_tokens_authenticate(tmp_path: Path) -> None:
    token_file = tmp_path / "tokens.csv"
    token_file.write_text('static-secret,carol,1001,"ops,devs"\n')
    async with in_memory_server(tmp_path, token_auth_file=str(token_file), enable_bootstrap_token_auth=True) as api:
        static = await api.request("POST", WHOAMI, body=WHOAMI_BODY, user=None,
                                   headers=[("Authorization", "Bearer static-secret")])
        secret = {"apiVersion": "v1", "kind": "Secret", "type": "bootstrap.kubernetes.io/token",
                  "metadata": {"name": "bootstrap-token-abcdef"},
                  "data": {key: base64.b64encode(value.encode()).decode() for key, value in (
                      ("token-id", "abcdef"), ("token-secret", "0123456789abcdef"),
                      ("usage-bootstrap-authentication", "true"))}}
        assert (await api.request("POST", "/api/v1/namespaces/kube-system/secrets", body=secret)).status == 201
        bootstrap = await eventually(lambda: api.request(
            "POST", WHOAMI, body=WHOAMI_BODY, user=None,
            headers=[("Authorization", "Bearer abcdef.0123456789abcdef")]), 201)
    assert static.json["status"]["userInfo"] == {"username": "carol", "uid": "1001",
                                                 "groups": ["ops", "devs", "system:authenticated"]}
    assert bootstrap.json["status"]["userInfo"] == {"username": "system:bootstrap:abcdef",
                                                    "groups": ["system:bootstrappers", "system:authenticated"]}
