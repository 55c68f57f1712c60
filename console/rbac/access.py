"""Access questions: can-i for the logged-in user, and the access matrix (resources x verbs) for any subject.

can-i is a SelfSubjectAccessReview: the authorizer's own answer, with its reason. The matrix prefers a
SubjectAccessReview per cell when the logged-in user may create them (again the authorizer's own answer, which
also sees non-RBAC grants such as system:masters); otherwise it evaluates the RBAC objects the user may list with
the console's copy of the rule semantics, and the page says which method was used and what it cannot see.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import orjson

from apiserver.client.client import ApiClient, Resource
from apiserver.client.transports import Transport
from apiserver.meta.errors import ApiError
from console.rbac.policy import fetch_policy, subject_rules
from console.rbac.rules import Request, Subject, rule_allows

SELF_REVIEWS = Resource("authorization.k8s.io", "v1", "selfsubjectaccessreviews", namespaced=False)
SUBJECT_REVIEWS = Resource("authorization.k8s.io", "v1", "subjectaccessreviews", namespaced=False)
MATRIX_VERBS = ("get", "list", "watch", "create", "update", "patch", "delete", "deletecollection")
COMMON_RESOURCES: tuple[tuple[str, str, bool], ...] = (  # (group, resource, namespaced)
    ("", "pods", True), ("", "pods/log", True), ("", "pods/exec", True), ("", "services", True),
    ("", "configmaps", True), ("", "secrets", True), ("", "serviceaccounts", True),
    ("", "persistentvolumeclaims", True), ("", "events", True), ("apps", "deployments", True),
    ("apps", "statefulsets", True), ("apps", "daemonsets", True), ("apps", "replicasets", True),
    ("batch", "jobs", True), ("batch", "cronjobs", True), ("networking.k8s.io", "ingresses", True),
    ("networking.k8s.io", "networkpolicies", True), ("rbac.authorization.k8s.io", "roles", True),
    ("rbac.authorization.k8s.io", "rolebindings", True), ("coordination.k8s.io", "leases", True),
    ("", "namespaces", False), ("", "nodes", False), ("", "persistentvolumes", False),
    ("rbac.authorization.k8s.io", "clusterroles", False), ("rbac.authorization.k8s.io", "clusterrolebindings", False),
    ("apiextensions.k8s.io", "customresourcedefinitions", False), ("storage.k8s.io", "storageclasses", False),
)
BUILT_IN_GROUP_SUFFIXES = (".k8s.io",)
BUILT_IN_GROUPS = frozenset({"", "apps", "batch", "autoscaling", "policy"})


@dataclass(frozen=True, slots=True)
class Answer:
    allowed: bool
    denied: bool = False
    reason: str = ""
    error: str = ""


@dataclass
class Matrix:
    subject_label: str
    namespace: str
    method: str  # "SubjectAccessReview" | "RBAC objects"
    rows: list[tuple[str, str, list[bool]]] = field(default_factory=list)  # (group, resource, cell per verb)
    verbs: tuple[str, ...] = MATRIX_VERBS
    explanation: str = ""
    denied: dict[str, str] = field(default_factory=dict)


def _attributes(request: Request) -> dict[str, Any]:
    if not request.is_resource_request:
        return {"nonResourceAttributes": {"verb": request.verb, "path": request.path}}
    attributes = {"verb": request.verb, "group": request.group, "resource": request.resource,
                  "subresource": request.subresource, "name": request.name, "namespace": request.namespace}
    return {"resourceAttributes": {key: value for key, value in attributes.items() if value}}


def _answer(review: dict[str, Any]) -> Answer:
    status = review.get("status") or {}
    return Answer(bool(status.get("allowed")), bool(status.get("denied")), str(status.get("reason") or ""),
                  str(status.get("evaluationError") or ""))


async def can_i(client: ApiClient, request: Request) -> Answer:
    """SelfSubjectAccessReview; an ApiError (e.g. Invalid input) comes back as the answer's error."""
    body = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview", "spec": _attributes(request)}
    try:
        return _answer(await client.create(SELF_REVIEWS, body))
    except ApiError as error:
        return Answer(False, error=error.message)


async def subject_access_review(client: ApiClient, subject: Subject, request: Request) -> Answer:
    spec = {**_attributes(request), "user": subject.user, "groups": list(subject.groups)}
    body = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "spec": spec}
    return _answer(await client.create(SUBJECT_REVIEWS, body))


async def matrix_resources(transport: Transport, namespaced: bool) -> list[tuple[str, str]]:
    """The common resources, then those of custom groups from discovery (CRDs, aggregated APIs)."""
    resources = [(group, resource) for group, resource, scoped in COMMON_RESOURCES if scoped == namespaced]
    for group, resource, scoped in await custom_resources(transport):
        if scoped == namespaced and (group, resource) not in resources:
            resources.append((group, resource))
    return resources


async def custom_resources(transport: Transport) -> list[tuple[str, str, bool]]:
    """(group, resource, namespaced) of every non-built-in group's preferred version, subresources left out."""
    groups = await _get_json(transport, "/apis")
    found: list[tuple[str, str, bool]] = []
    for group in groups.get("groups") or ():
        name = str(group.get("name") or "")
        if name in BUILT_IN_GROUPS or name.endswith(BUILT_IN_GROUP_SUFFIXES):
            continue
        version = str((group.get("preferredVersion") or {}).get("groupVersion") or "")
        listing = await _get_json(transport, f"/apis/{version}") if version else {}
        found += [(name, str(item.get("name")), bool(item.get("namespaced")))
                  for item in listing.get("resources") or () if "/" not in str(item.get("name"))]
    return sorted(found)


async def _get_json(transport: Transport, path: str) -> dict[str, Any]:
    response = await transport.request("GET", path)
    if response.status != 200:
        return {}
    decoded = orjson.loads(response.body)
    return decoded if isinstance(decoded, dict) else {}


async def may_create_subject_access_reviews(client: ApiClient) -> bool:
    answer = await can_i(client, Request("create", "subjectaccessreviews", "authorization.k8s.io"))
    return answer.allowed


async def access_matrix(client: ApiClient, transport: Transport, subject: Subject, label: str,
                        namespace: str) -> Matrix:
    """See the module docstring; `namespace` "" asks about cluster-scoped resources."""
    resources = await matrix_resources(transport, namespaced=bool(namespace))
    requests = [[_cell(group, resource, verb, namespace) for verb in MATRIX_VERBS] for group, resource in resources]
    if await may_create_subject_access_reviews(client):
        limit = asyncio.Semaphore(16)

        async def review(request: Request) -> bool:
            async with limit:
                return (await subject_access_review(client, subject, request)).allowed

        cells = [await asyncio.gather(*(review(request) for request in row)) for row in requests]
        rows = [(group, resource, list(row)) for (group, resource), row in zip(resources, cells, strict=True)]
        return Matrix(label, namespace, "SubjectAccessReview", rows)
    policy = await fetch_policy(client, namespace, namespaced=bool(namespace))
    rules = [rule for rule, _ in subject_rules(policy, subject, namespace)]
    rows = [(group, resource, [any(rule_allows(request, rule) for rule in rules) for request in row])
            for (group, resource), row in zip(resources, requests, strict=True)]
    explanation = ("You may not create SubjectAccessReviews, so this is computed from the RBAC objects you can "
                   "list; grants outside RBAC (system:masters, other authorizers) are not visible here.")
    return Matrix(label, namespace, "RBAC objects", rows, explanation=explanation, denied=policy.denied)


def _cell(group: str, resource: str, verb: str, namespace: str) -> Request:
    plural, _, subresource = resource.partition("/")
    return Request(verb, plural, group, subresource, namespace=namespace)
