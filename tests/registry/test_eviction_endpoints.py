"""`POST .../pods/<name>/eviction` through the resource endpoints (in memory): what kubectl drain and client
libraries send, and the exact answers they get."""
from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from apiserver.registry.context import RequestContext
from apiserver.registry.store import ResourceStore
from tests.registry.test_binding_endpoints import with_pod_subresources
from tests.support.resource_app import ResourceApp, resource_app

PODS = "/api/v1/namespaces/default/pods"
BUDGETS = "/apis/policy/v1/namespaces/default/poddisruptionbudgets"
SUCCESS = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}


@pytest.fixture
async def app() -> AsyncIterator[ResourceApp]:
    async with resource_app() as running:
        yield with_pod_subresources(running)


def store(app: ResourceApp, group: str, plural: str) -> ResourceStore:
    found = app.registry.store_for(group, "v1", plural)
    assert isinstance(found, ResourceStore)
    return found


async def make_running_pod(app: ResourceApp, name: str = "web") -> None:
    pods = store(app, "", "pods")
    context = RequestContext(namespace="default")
    await pods.create("default", {"metadata": {"name": name, "labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "c", "image": "nginx"}]}}, context)
    status = {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}
    await pods.guaranteed_update("default", name, lambda pod: {**pod, "status": status}, context,
                                 subresource="status")


async def make_budget(app: ResourceApp, allowed: int) -> None:
    answer = await app.request("POST", BUDGETS, {
        "apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "budget"},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}}})
    assert answer.status == 201, answer.body
    budget = answer.json()
    budget["status"] = {"observedGeneration": 1, "disruptionsAllowed": allowed, "currentHealthy": 1 + allowed,
                        "desiredHealthy": 1, "expectedPods": 1 + allowed}
    assert (await app.request("PUT", f"{BUDGETS}/budget/status", budget)).status == 200


def eviction(name: str = "web", api_version: str = "policy/v1", **delete_options: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"apiVersion": api_version, "kind": "Eviction",
                            "metadata": {"name": name, "namespace": "default"}}
    if delete_options:
        body["deleteOptions"] = delete_options
    return body


async def test_eviction_answers_201_and_deletes_the_pod(app: ResourceApp) -> None:
    await make_running_pod(app)
    answer = await app.request("POST", f"{PODS}/web/eviction", eviction(gracePeriodSeconds=0))
    assert (answer.status, answer.json()) == (201, SUCCESS)
    assert (await app.request("GET", f"{PODS}/web")).status == 404


async def test_eviction_blocked_by_a_budget_answers_429(app: ResourceApp) -> None:
    await make_running_pod(app)
    await make_budget(app, allowed=0)
    answer = await app.request("POST", f"{PODS}/web/eviction", eviction())
    assert (answer.status, answer.json()) == (429, {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": "Cannot evict pod as it would violate the pod's disruption budget.", "reason": "TooManyRequests",
        "details": {"causes": [{"reason": "DisruptionBudget",
                                "message": "The disruption budget budget needs 1 healthy pods and has 1 currently"}]},
        "code": 429,
    })
    assert "retry-after" not in answer.headers
    assert (await app.request("GET", f"{PODS}/web")).status == 200


async def test_budget_not_yet_observed_answers_429_with_retry_after(app: ResourceApp) -> None:
    await make_running_pod(app)
    answer = await app.request("POST", BUDGETS, {
        "metadata": {"name": "budget"}, "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": "web"}}}})
    assert answer.status == 201
    answer = await app.request("POST", f"{PODS}/web/eviction", eviction())
    assert (answer.status, answer.headers["retry-after"]) == (429, "10")
    assert answer.json()["details"]["retryAfterSeconds"] == 10


async def test_allowed_eviction_records_the_disruption(app: ResourceApp) -> None:
    await make_running_pod(app)
    await make_budget(app, allowed=1)
    answer = await app.request("POST", f"{PODS}/web/eviction", eviction())
    assert answer.status == 201
    status = (await app.request("GET", f"{BUDGETS}/budget")).json()["status"]
    assert (status["disruptionsAllowed"], list(status["disruptedPods"])) == (0, ["web"])


async def test_dry_run_eviction_changes_nothing(app: ResourceApp) -> None:
    await make_running_pod(app)
    await make_budget(app, allowed=1)
    before = (await app.request("GET", f"{BUDGETS}/budget")).json()
    answer = await app.request("POST", f"{PODS}/web/eviction?dryRun=All", eviction())
    assert (answer.status, answer.json()) == (201, SUCCESS)
    assert (await app.request("GET", f"{BUDGETS}/budget")).json() == before
    assert (await app.request("GET", f"{PODS}/web")).status == 200


async def test_eviction_with_another_name_is_a_bad_request(app: ResourceApp) -> None:
    await make_running_pod(app)
    answer = await app.request("POST", f"{PODS}/web/eviction", eviction("other"))
    assert (answer.status, answer.json()["message"]) == (400, "name in URL does not match name in Eviction object")


async def test_evicting_a_missing_pod_is_not_found(app: ResourceApp) -> None:
    answer = await app.request("POST", f"{PODS}/nope/eviction", eviction("nope"))
    assert (answer.status, answer.json()["message"]) == (404, 'pods "nope" not found')


async def test_eviction_subresource_serves_only_post(app: ResourceApp) -> None:
    assert (await app.request("GET", f"{PODS}/web/eviction")).status == 405


async def test_eviction_decodes_protobuf_bodies(app: ResourceApp) -> None:
    from apiserver.http.negotiation import protobuf_codec

    codec = protobuf_codec()
    assert codec is not None
    await make_running_pod(app)
    body = codec.encode_object(eviction(), api_version="policy/v1", kind="Eviction")
    answer = await app.request("POST", f"{PODS}/web/eviction", body,
                               headers={"Content-Type": "application/vnd.kubernetes.protobuf",
                                        "Accept": "application/json"})
    assert (answer.status, answer.json()) == (201, SUCCESS)


async def test_policy_v1beta1_eviction_is_accepted(app: ResourceApp) -> None:
    await make_running_pod(app)
    answer = await app.request("POST", f"{PODS}/web/eviction", eviction(api_version="policy/v1beta1"))
    assert (answer.status, answer.json()) == (201, SUCCESS)
    assert (await app.request("GET", f"{PODS}/web")).status == 404


async def test_policy_v1beta1_eviction_still_honours_budgets(app: ResourceApp) -> None:
    await make_running_pod(app)
    await make_budget(app, allowed=0)
    answer = await app.request("POST", f"{PODS}/web/eviction", eviction(api_version="policy/v1beta1"))
    assert answer.status == 429
    assert (await app.request("GET", f"{PODS}/web")).status == 200


@pytest.mark.parametrize(
    ("api_version", "message"),
    [
        ("policy/v2", 'Eviction in version "v2" cannot be handled as a Eviction: no kind "Eviction" is registered '
                      'for version "policy/v2" in scheme "k8s.io/kubernetes/pkg/api/legacyscheme/scheme.go:30"'),
        ("v1", 'Eviction in version "v1" cannot be handled as a Eviction: no kind "Eviction" is registered for '
               'version "v1" in scheme "k8s.io/kubernetes/pkg/api/legacyscheme/scheme.go:30"'),
    ],
    ids=["unknown-version", "core-group"],
)
async def test_other_eviction_versions_are_bad_requests(app: ResourceApp, api_version: str, message: str) -> None:
    await make_running_pod(app)
    answer = await app.request("POST", f"{PODS}/web/eviction", eviction(api_version=api_version))
    assert (answer.status, answer.json()["message"]) == (400, message)
    assert (await app.request("GET", f"{PODS}/web")).status == 200
