"""The ValidatingAdmissionPolicy plugin in the admission chain of the resource endpoints (in memory): a denied
create answers upstream's Status and stores nothing, Warn reaches the Warning header."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.support.resource_app import Answer, ResourceApp, resource_app

GROUP = "/apis/admissionregistration.k8s.io/v1"
DEPLOYMENTS = "/apis/apps/v1/namespaces/default/deployments"
TEMPLATE = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}}


@pytest.fixture
async def app() -> AsyncIterator[ResourceApp]:
    async with resource_app(plugins=("NamespaceLifecycle", "ValidatingAdmissionPolicy")) as running:
        yield running


def deployment(name: str, replicas: int) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}}, "template": TEMPLATE}}


async def install(app: ResourceApp, actions: list[str]) -> None:
    policy = {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
              "metadata": {"name": "max-replicas"},
              "spec": {"matchConstraints": {"resourceRules": [{
                  "apiGroups": ["apps"], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"],
                  "resources": ["deployments"]}]},
                  "validations": [{"expression": "object.spec.replicas <= 5",
                                   "messageExpression": "'replicas must be at most 5, not ' + "
                                                        "string(object.spec.replicas)"}]}}
    binding = {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
               "metadata": {"name": "max-replicas-binding"},
               "spec": {"policyName": "max-replicas", "validationActions": actions}}
    assert (await app.request("POST", f"{GROUP}/validatingadmissionpolicies", policy)).status == 201
    assert (await app.request("POST", f"{GROUP}/validatingadmissionpolicybindings", binding)).status == 201


async def until(probe: Any, accept: Any, timeout: float = 5.0) -> Answer:
    """Repeat a dry-run probe until the caches carry the policy (the plugin reads them)."""
    async with asyncio.timeout(timeout):
        while not accept(answer := await probe()):
            await asyncio.sleep(0.01)
    return answer


async def test_denied_create_answers_the_policy_status(app: ResourceApp) -> None:
    await install(app, ["Deny"])
    answer = await until(lambda: app.request("POST", f"{DEPLOYMENTS}?dryRun=All", deployment("big", 10)),
                         lambda answer: answer.status != 201)
    denied = await app.request("POST", DEPLOYMENTS, deployment("big", 10))
    reason = ("ValidatingAdmissionPolicy 'max-replicas' with binding 'max-replicas-binding' denied request: "
              "replicas must be at most 5, not 10")
    assert denied.status == answer.status == 422
    assert denied.json() == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": f'deployments.apps "big" is forbidden: {reason}', "reason": "Invalid",
        "details": {"name": "big", "group": "apps", "kind": "deployments", "causes": [{"message": reason}]},
        "code": 422,
    }
    assert not [key for key in await app.stored_keys() if "/deployments/" in key]
    assert (await app.request("POST", DEPLOYMENTS, deployment("small", 3))).status == 201


async def test_warn_sends_a_warning_header(app: ResourceApp) -> None:
    await install(app, ["Warn"])
    answer = await until(lambda: app.request("POST", f"{DEPLOYMENTS}?dryRun=All", deployment("big", 7)),
                         lambda answer: "warning" in answer.headers)
    assert answer.status == 201
    assert answer.headers["warning"] == (
        '299 - "Validation failed for ValidatingAdmissionPolicy \'max-replicas\' with binding '
        "'max-replicas-binding': replicas must be at most 5, not 7\"")
