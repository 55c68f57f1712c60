"""The default v1.32 admission chain behind the resource endpoints (in memory): refusals as Status bodies,
usage charged to quotas, Warning headers, nothing stored for refused requests."""
from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from apiserver.admission.chain import DEFAULT_ENABLED_PLUGINS
from tests.support.resource_app import ResourceApp, resource_app

NS = "/api/v1/namespaces/default"


@pytest.fixture
async def api() -> AsyncIterator[ResourceApp]:
    async with resource_app(plugins=DEFAULT_ENABLED_PLUGINS) as app:
        answer = await app.request("POST", f"{NS}/serviceaccounts", {"metadata": {"name": "default"}})
        assert answer.status == 201
        yield app


async def make_quota(api: ResourceApp, hard: dict[str, str], used: dict[str, str]) -> None:
    created = await api.request("POST", f"{NS}/resourcequotas", {"metadata": {"name": "q"}, "spec": {"hard": hard}})
    assert created.status == 201, created.body
    body = created.json()
    body["status"] = {"hard": hard, "used": used}
    answer = await api.request("PUT", f"{NS}/resourcequotas/q/status", body)
    assert answer.status == 200, answer.body
    await settle(api)


async def settle(api: ResourceApp) -> None:
    """Wait until the watch caches (what admission reads) hold every write so far."""
    assert await api.registry.wait_caught_up(5)


def pod(name: str, **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": name}, "spec": {"containers": [{"name": "c", "image": "nginx"}], **spec}}


async def test_quota_refuses_over_the_limit_and_stores_nothing(api: ResourceApp) -> None:
    await make_quota(api, {"configmaps": "1"}, {"configmaps": "0"})
    assert (await api.request("POST", f"{NS}/configmaps", {"metadata": {"name": "a"}})).status == 201
    quota = (await api.request("GET", f"{NS}/resourcequotas/q")).json()
    assert quota["status"]["used"] == {"configmaps": "1"}
    refused = await api.request("POST", f"{NS}/configmaps", {"metadata": {"name": "b"}})
    assert (refused.status, refused.json()) == (403, {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": 'configmaps "b" is forbidden: exceeded quota: q, requested: configmaps=1, used: configmaps=1, '
                   "limited: configmaps=1",
        "reason": "Forbidden", "details": {"name": "b", "kind": "configmaps"}, "code": 403,
    })
    assert (await api.request("GET", f"{NS}/configmaps/b")).status == 404


async def test_dry_run_is_admitted_but_charges_nothing(api: ResourceApp) -> None:
    await make_quota(api, {"configmaps": "1"}, {"configmaps": "0"})
    answer = await api.request("POST", f"{NS}/configmaps?dryRun=All", {"metadata": {"name": "a"}})
    assert answer.status == 201
    quota = (await api.request("GET", f"{NS}/resourcequotas/q")).json()
    assert quota["status"]["used"] == {"configmaps": "0"}


async def test_dry_run_is_refused_like_a_real_request(api: ResourceApp) -> None:
    await make_quota(api, {"configmaps": "0"}, {"configmaps": "0"})
    answer = await api.request("POST", f"{NS}/configmaps?dryRun=All", {"metadata": {"name": "a"}})
    assert answer.status == 403


async def test_pod_gets_account_token_volume_and_tolerations(api: ResourceApp) -> None:
    answer = await api.request("POST", f"{NS}/pods", pod("p"))
    assert answer.status == 201, answer.body
    spec = answer.json()["spec"]
    assert spec["serviceAccountName"] == "default"
    assert spec["volumes"][0]["name"].startswith("kube-api-access-")
    assert spec["containers"][0]["volumeMounts"][0]["mountPath"] == "/var/run/secrets/kubernetes.io/serviceaccount"
    assert [toleration["key"] for toleration in spec["tolerations"]] == [
        "node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"]
    assert spec["priority"] == 0


async def label_namespace(api: ResourceApp, labels: dict[str, str]) -> Any:
    namespace = (await api.request("GET", "/api/v1/namespaces/default")).json()
    namespace["metadata"]["labels"] = {**namespace["metadata"].get("labels", {}), **labels}
    answer = await api.request("PUT", "/api/v1/namespaces/default", namespace)
    await settle(api)
    return answer


async def test_pod_security_warn_mode_sends_a_warning_header(api: ResourceApp) -> None:
    assert (await label_namespace(api, {"pod-security.kubernetes.io/warn": "baseline"})).status == 200
    answer = await api.request("POST", f"{NS}/pods", pod("p", hostNetwork=True))
    assert answer.status == 201
    assert answer.headers["warning"] == (
        '299 - "would violate PodSecurity \\"baseline:latest\\": host namespaces (hostNetwork=true)"')


async def test_pod_security_enforce_refuses_and_labelling_warns_about_existing_pods(api: ResourceApp) -> None:
    assert (await api.request("POST", f"{NS}/pods", pod("old", hostPID=True))).status == 201
    labelled = await label_namespace(api, {"pod-security.kubernetes.io/enforce": "baseline"})
    assert labelled.status == 200
    assert [value for name, value in labelled.header_list if name == "warning"] == [
        '299 - "existing pods in namespace \\"default\\" violate the new PodSecurity enforce level '
        '\\"baseline:latest\\""',
        '299 - "old: host namespaces (hostPID=true)"',
    ]
    refused = await api.request("POST", f"{NS}/pods", pod("new", hostPID=True))
    assert refused.status == 403
    assert refused.json()["message"] == ('pods "new" is forbidden: violates PodSecurity "baseline:latest": host '
                                         "namespaces (hostPID=true)")
    assert "warning" not in refused.headers
    assert (await api.request("GET", f"{NS}/pods/new")).status == 404


async def test_limit_range_defaults_reach_the_stored_pod(api: ResourceApp) -> None:
    limit_range = {"metadata": {"name": "lr"}, "spec": {"limits": [
        {"type": "Container", "default": {"cpu": "500m"}, "defaultRequest": {"cpu": "100m"}}]}}
    assert (await api.request("POST", f"{NS}/limitranges", limit_range)).status == 201
    await settle(api)
    answer = await api.request("POST", f"{NS}/pods", pod("p"))
    assert answer.status == 201, answer.body
    assert answer.json()["spec"]["containers"][0]["resources"] == {"limits": {"cpu": "500m"},
                                                                   "requests": {"cpu": "100m"}}
