"""The review APIs and TokenRequest of an assembled server: upstream's validation errors and status fields."""
from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import jwt
import pytest

from apiserver.auth.authn.tokencache import SUCCESS_TTL_SECONDS
from tests.server.security_harness import Answer, InMemoryServer, eventually, in_memory_server

SAR = "/apis/authorization.k8s.io/v1/subjectaccessreviews"
SSAR = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
SSRR = "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews"
TOKEN_REVIEWS = "/apis/authentication.k8s.io/v1/tokenreviews"
WHOAMI = "/apis/authentication.k8s.io/v1/selfsubjectreviews"


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[InMemoryServer]:
    async with in_memory_server(tmp_path, service_account_max_token_expiration=7200.0) as server:
        yield server



def review(kind: str, spec: dict[str, object], group: str = "authorization.k8s.io") -> dict[str, object]:
    return {"apiVersion": f"{group}/v1", "kind": kind, "spec": spec}


async def create_service_account(api: InMemoryServer, name: str, namespace: str = "default") -> dict[str, object]:
    answer = await api.request("POST", f"/api/v1/namespaces/{namespace}/serviceaccounts",
                               body={"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name}})
    assert answer.status == 201, answer.body
    created: dict[str, object] = answer.json
    return created


async def request_token(api: InMemoryServer, name: str, spec: dict[str, object] | None = None,
                        namespace: str = "default") -> Answer:
    body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec or {}}
    return await api.request("POST", f"/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token", body=body)


async def test_subject_access_review_without_attributes_or_subject_is_invalid(api: InMemoryServer) -> None:
    answer = await api.request("POST", SAR, body=review("SubjectAccessReview", {}))
    assert answer.status == 422
    assert answer.json["message"] == (
        'SubjectAccessReview.authorization.k8s.io "" is invalid: [spec.resourceAttributes: Invalid value: "null": '
        "exactly one of nonResourceAttributes or resourceAttributes must be specified, spec.user: Invalid value: "
        '"": at least one of user or group must be specified]'
    )


async def test_subject_access_review_answers_for_the_named_subject(api: InMemoryServer) -> None:
    pods = {"verb": "list", "resource": "pods", "namespace": "default"}
    alice = await api.request("POST", SAR, body=review("SubjectAccessReview", {"user": "alice",
                                                                                  "resourceAttributes": pods}))
    masters = await api.request("POST", SAR, body=review("SubjectAccessReview", {
        "user": "root", "groups": ["system:masters"], "resourceAttributes": pods}))
    health = await api.request("POST", SAR, body=review("SubjectAccessReview", {
        "groups": ["system:unauthenticated"], "nonResourceAttributes": {"path": "/livez", "verb": "get"}}))
    assert (alice.status, alice.json["status"]) == (201, {"allowed": False})
    assert masters.json["status"] == {"allowed": True}
    assert health.json["status"] == {
        "allowed": True, "reason": 'RBAC: allowed by ClusterRoleBinding "system:public-info-viewer" of ClusterRole '
                                   '"system:public-info-viewer" to Group "system:unauthenticated"'}
    assert alice.json["metadata"] == {"creationTimestamp": None}


async def test_local_subject_access_review_namespace_must_match(api: InMemoryServer) -> None:
    path = "/apis/authorization.k8s.io/v1/namespaces/team/localsubjectaccessreviews"
    spec = {"user": "alice", "resourceAttributes": {"verb": "get", "resource": "pods", "namespace": "other"}}
    answer = await api.request("POST", path, body=review("LocalSubjectAccessReview", spec))
    assert (answer.status, answer.json["message"]) == (422, (
        'LocalSubjectAccessReview.authorization.k8s.io "" is invalid: spec.resourceAttributes.namespace: '
        'Invalid value: "other": must match metadata.namespace'))
    spec["resourceAttributes"]["namespace"] = "team"  # type: ignore[index]
    allowed = await api.request("POST", path, body=review("LocalSubjectAccessReview", spec))
    assert (allowed.status, allowed.json["status"]) == (201, {"allowed": False})


async def test_self_subject_access_review_asks_for_the_caller(api: InMemoryServer) -> None:
    body = review("SelfSubjectAccessReview", {"resourceAttributes": {"verb": "create", "resource": "pods"}})
    admin = await api.request("POST", SSAR, body=body)
    alice = await api.request("POST", SSAR, body=body, user="alice", groups=())
    assert admin.json["status"] == {"allowed": True}
    assert alice.json["status"] == {"allowed": False}


async def test_self_subject_rules_review_needs_a_namespace_and_lists_rules(api: InMemoryServer) -> None:
    missing = await api.request("POST", SSRR, body=review("SelfSubjectRulesReview", {}), user="alice", groups=())
    assert (missing.status, missing.json["message"]) == (400, "no namespace on request")
    answer = await api.request("POST", SSRR, body=review("SelfSubjectRulesReview", {"namespace": "default"}),
                               user="alice", groups=())
    assert answer.status == 201
    status = answer.json["status"]
    assert status["incomplete"] is False
    assert {"verbs": ["create"], "apiGroups": ["authorization.k8s.io"],
            "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]} in status["resourceRules"]
    assert {"verbs": ["get"], "nonResourceURLs": ["/healthz", "/livez", "/readyz", "/version", "/version/"]} in (
        status["nonResourceRules"])
    assert answer.json["spec"] == {}


async def test_self_subject_review_is_whoami(api: InMemoryServer) -> None:
    answer = await api.request("POST", WHOAMI, body=review("SelfSubjectReview", {}, "authentication.k8s.io"),
                               user="alice", groups=("devs",))
    assert answer.status == 201
    info = answer.json["status"]["userInfo"]
    assert (info["username"], info["groups"]) == ("alice", ["devs", "system:authenticated"])
    assert info["extra"]["authentication.kubernetes.io/credential-id"][0].startswith("X509SHA256=")
    assert answer.json["metadata"]["creationTimestamp"]


async def test_token_review_requires_a_token_and_reports_errors(api: InMemoryServer) -> None:
    empty = await api.request("POST", TOKEN_REVIEWS, body=review("TokenReview", {}, "authentication.k8s.io"))
    assert (empty.status, empty.json["message"]) == (400, "token is required for TokenReview in authentication")
    bogus = await api.request("POST", TOKEN_REVIEWS,
                              body=review("TokenReview", {"token": "not-a-token"}, "authentication.k8s.io"))
    assert (bogus.status, bogus.json["status"]) == (201, {"user": {}, "error": "invalid bearer token"})


async def test_token_request_issues_a_token_that_authenticates_and_reviews(api: InMemoryServer) -> None:
    account = await create_service_account(api, "builder")
    answer = await request_token(api, "builder")
    assert answer.status == 201, answer.body
    token = answer.json["status"]["token"]
    assert answer.json["spec"] == {"audiences": ["https://kubernetes.default.svc.cluster.local"],
                                   "expirationSeconds": 3600}
    assert answer.json["metadata"]["name"] == "builder"
    claims = jwt.decode(token, options={"verify_signature": False})
    assert sorted(claims) == ["aud", "exp", "iat", "iss", "jti", "kubernetes.io", "nbf", "sub"]
    assert claims["sub"] == "system:serviceaccount:default:builder"
    assert claims["exp"] - claims["iat"] == 3600
    assert claims["kubernetes.io"] == {"namespace": "default", "serviceaccount": {
        "name": "builder", "uid": account["metadata"]["uid"]}}  # type: ignore[index]
    reviewed = await api.request("POST", TOKEN_REVIEWS,
                                 body=review("TokenReview", {"token": token}, "authentication.k8s.io"))
    status = reviewed.json["status"]
    assert status["authenticated"] is True
    assert status["user"]["username"] == "system:serviceaccount:default:builder"
    assert status["user"]["groups"] == ["system:serviceaccounts", "system:serviceaccounts:default",
                                        "system:authenticated"]
    assert status["audiences"] == ["https://kubernetes.default.svc.cluster.local"]
    whoami = await api.request("POST", WHOAMI, body=review("SelfSubjectReview", {}, "authentication.k8s.io"),
                               user=None, headers=[("Authorization", f"Bearer {token}")])
    assert whoami.json["status"]["userInfo"]["username"] == "system:serviceaccount:default:builder"


async def test_token_request_validation_and_missing_objects(api: InMemoryServer) -> None:
    await create_service_account(api, "builder")
    short = await request_token(api, "builder", {"expirationSeconds": 100})
    assert (short.status, short.json["message"]) == (422, (
        'TokenRequest.authentication.k8s.io "" is invalid: spec.expirationSeconds: Invalid value: 100: '
        "may not specify a duration less than 10 minutes"))
    missing = await request_token(api, "nobody")
    assert (missing.status, missing.json["message"]) == (404, 'serviceaccounts "nobody" not found')
    config_map = await request_token(api, "builder", {"boundObjectRef": {"kind": "ConfigMap", "apiVersion": "v1",
                                                                         "name": "c"}})
    assert (config_map.status, config_map.json["message"]) == (400, "cannot bind token to object of type /v1, "
                                                                    "Kind=ConfigMap")
    named = await api.request("POST", "/api/v1/namespaces/default/serviceaccounts/builder/token", body={
        "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "metadata": {"name": "other"}})
    assert (named.status, named.json["message"]) == (422, (
        'TokenRequest.authentication.k8s.io "builder" is invalid: metadata.name: Invalid value: "other": '
        "must match the service account name if specified"))
    get = await api.request("GET", "/api/v1/namespaces/default/serviceaccounts/builder/token")
    assert get.status == 405


async def test_token_request_is_capped_by_the_maximum_expiration_with_a_warning(api: InMemoryServer) -> None:
    await create_service_account(api, "builder")
    answer = await request_token(api, "builder", {"expirationSeconds": 10000})
    assert answer.status == 201
    assert answer.json["spec"]["expirationSeconds"] == 7200
    assert answer.headers["warning"] == '299 - "requested expiration of 10000 seconds shortened to 7200 seconds"'


async def test_a_token_bound_to_a_secret_dies_with_the_secret(api: InMemoryServer) -> None:
    await create_service_account(api, "builder")
    secret = await api.request("POST", "/api/v1/namespaces/default/secrets",
                               body={"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "anchor"}})
    reference = {"kind": "Secret", "apiVersion": "v1", "name": "anchor"}
    stale = await request_token(api, "builder", {"boundObjectRef": {**reference, "uid": "not-the-uid"}})
    assert (stale.status, stale.json["message"]) == (409, (
        'Operation cannot be fulfilled on Secret "anchor": the UID in the bound object reference (not-the-uid) '
        "does not match the UID in record. The object might have been deleted and then recreated"))
    bound = await request_token(api, "builder", {"boundObjectRef": {**reference,
                                                                    "uid": secret.json["metadata"]["uid"]}})
    token = bound.json["status"]["token"]
    assert jwt.decode(token, options={"verify_signature": False})["kubernetes.io"]["secret"]["name"] == "anchor"
    bearer = [("Authorization", f"Bearer {token}")]
    assert (await api.request("GET", "/api", user=None, headers=bearer)).status == 200
    assert (await api.request("DELETE", "/api/v1/namespaces/default/secrets/anchor")).status == 200
    # Within upstream's 10 s token cache (auth/authn/tokencache.py): the token authenticated just before.
    refused = await eventually(lambda: api.request("GET", "/api", user=None, headers=bearer), 401,
                               within=SUCCESS_TTL_SECONDS + 5)
    assert refused.json["message"] == "Unauthorized"


async def test_a_pod_bound_token_needs_the_pods_service_account(api: InMemoryServer) -> None:
    await create_service_account(api, "builder")
    await create_service_account(api, "other")  # admission refuses pods of a missing ServiceAccount
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
           "spec": {"serviceAccountName": "other", "containers": [{"name": "c", "image": "nginx"}]}}
    assert (await api.request("POST", "/api/v1/namespaces/default/pods", body=pod)).status == 201
    answer = await request_token(api, "builder", {"boundObjectRef": {"kind": "Pod", "apiVersion": "v1",
                                                                     "name": "p"}})
    assert (answer.status, answer.json["message"]) == (400, (
        'cannot bind token for serviceaccount "builder" to pod running with different serviceaccount name.'))
