"""ResourceQuota admission and accounting: refusals with upstream's messages, usage charged with CAS."""
from __future__ import annotations

from typing import Any

import pytest

from apiserver.admission.interface import Operation
from apiserver.admission.plugins.resource_quota import ResourceQuota
from apiserver.admission.quota.accounting import calculate_usage
from apiserver.admission.quota.evaluators import evaluator_for
from apiserver.admission.quota.resources import to_strings
from apiserver.meta.errors import ApiError, Conflict
from tests.admission.fakes import FakeContext, attributes, container, pod, status_of


def quota(name: str, hard: dict[str, str], used: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "ns", "resourceVersion": "1"},
            "spec": {"hard": hard, **spec},
            "status": {"hard": hard, "used": used if used is not None else dict.fromkeys(hard, "0")}}


def plugin_with(*quotas: dict[str, Any]) -> tuple[ResourceQuota, FakeContext]:
    context = FakeContext()
    for item in quotas:
        context.add("", "v1", "resourcequotas", item)
    return ResourceQuota(context), context


def sized(cpu: str = "", memory: str = "", limit_cpu: str = "", name: str = "c") -> dict[str, Any]:
    requests = {key: value for key, value in (("cpu", cpu), ("memory", memory)) if value}
    limits = {"cpu": limit_cpu} if limit_cpu else {}
    return container(name, resources={"requests": requests, "limits": limits})


async def test_pod_over_the_count_is_forbidden_with_upstream_message() -> None:
    plugin, context = plugin_with(quota("q", {"pods": "2"}, {"pods": "2"}))
    with pytest.raises(ApiError) as caught:
        await plugin.validate(attributes(pod("x")))
    assert status_of(caught.value) == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": 'pods "x" is forbidden: exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2',
        "reason": "Forbidden", "details": {"name": "x", "kind": "pods"}, "code": 403,
    }
    assert context.status_writes == []


async def test_admitted_pod_is_charged_to_every_matching_quota() -> None:
    plugin, context = plugin_with(quota("a", {"pods": "5", "requests.cpu": "2"}, {"pods": "1", "requests.cpu": "500m"}),
                                  quota("b", {"count/pods": "3"}), quota("c", {"configmaps": "1"}))
    await plugin.validate(attributes(pod("x", sized(cpu="600m"))))
    assert [(item["metadata"]["name"], item["status"]["used"]) for item in context.status_writes] == [
        ("a", {"pods": "2", "requests.cpu": "1100m"}), ("b", {"count/pods": "1"}),
    ]


async def test_only_the_exceeded_resources_are_named() -> None:
    plugin, _ = plugin_with(quota("q", {"pods": "5", "requests.memory": "1Gi", "requests.cpu": "1"},
                                  {"pods": "1", "requests.memory": "768Mi", "requests.cpu": "0"}))
    with pytest.raises(ApiError) as caught:
        await plugin.validate(attributes(pod("x", sized(cpu="100m", memory="512Mi"))))
    assert caught.value.message == ('pods "x" is forbidden: exceeded quota: q, requested: requests.memory=512Mi, '
                                    "used: requests.memory=768Mi, limited: requests.memory=1Gi")


async def test_quota_on_cpu_requires_every_container_to_state_it() -> None:
    plugin, _ = plugin_with(quota("q", {"limits.cpu": "2", "requests.memory": "1Gi"}))
    with pytest.raises(ApiError) as caught:
        await plugin.validate(attributes(pod("x", sized(cpu="1", name="a"), sized(memory="1Mi", name="b"))))
    assert caught.value.message == ('pods "x" is forbidden: failed quota: q: must specify limits.cpu for: a,b; '
                                    "requests.memory for: a")


async def test_quota_without_usage_is_status_unknown() -> None:
    item = quota("q", {"pods": "2", "requests.cpu": "1"})
    item["status"]["used"] = {"pods": "0"}
    plugin, _ = plugin_with(item)
    with pytest.raises(ApiError) as caught:
        await plugin.validate(attributes(pod("x", sized(cpu="1"))))
    assert caught.value.message == 'pods "x" is forbidden: status unknown for quota: q, resources: pods,requests.cpu'


async def test_quota_without_status_hard_does_not_apply_yet() -> None:
    item = quota("q", {"pods": "0"})
    del item["status"]
    plugin, context = plugin_with(item)
    await plugin.validate(attributes(pod("x")))
    assert context.status_writes == []


async def test_dry_run_checks_but_charges_nothing() -> None:
    plugin, context = plugin_with(quota("q", {"pods": "2"}))
    await plugin.validate(attributes(pod("x"), dry_run=True))
    assert context.status_writes == []


async def test_conflict_rereads_quotas_live_and_charges_once() -> None:
    plugin, context = plugin_with(quota("q", {"pods": "2"}))
    context.conflicts = 1
    await plugin.validate(attributes(pod("x")))
    assert [item["status"]["used"] for item in context.status_writes] == [{"pods": "1"}]
    assert (("", "v1", "resourcequotas"), True) in context.reads


async def test_conflicts_three_times_fail() -> None:
    plugin, context = plugin_with(quota("q", {"pods": "2"}))
    context.conflicts = 3
    with pytest.raises(Conflict):
        await plugin.validate(attributes(pod("x")))


@pytest.mark.parametrize(
    ("scope", "pod_spec", "charged"),
    [
        ({"scopes": ["BestEffort"]}, {}, True),
        ({"scopes": ["NotBestEffort"]}, {}, False),
        ({"scopes": ["Terminating"]}, {"activeDeadlineSeconds": 30}, True),
        ({"scopes": ["NotTerminating"]}, {"activeDeadlineSeconds": 30}, False),
        ({"scopeSelector": {"matchExpressions": [{"scopeName": "PriorityClass", "operator": "In",
                                                  "values": ["high"]}]}}, {"priorityClassName": "high"}, True),
        ({"scopeSelector": {"matchExpressions": [{"scopeName": "PriorityClass", "operator": "NotIn",
                                                  "values": ["high"]}]}}, {"priorityClassName": "high"}, False),
    ],
    ids=["best-effort", "not-best-effort", "terminating", "not-terminating", "priority-in", "priority-not-in"],
)
async def test_scopes_select_pods(scope: dict[str, Any], pod_spec: dict[str, Any], charged: bool) -> None:
    plugin, context = plugin_with(quota("q", {"pods": "2"}, **scope))
    await plugin.validate(attributes(pod("x", **pod_spec)))
    assert bool(context.status_writes) is charged


async def test_service_usage_counts_node_ports_and_load_balancers() -> None:
    plugin, _ = plugin_with(quota("q", {"services": "5", "services.nodeports": "1",
                                              "services.loadbalancers": "1"}))
    service = {"metadata": {"name": "s", "namespace": "ns"},
               "spec": {"type": "NodePort", "ports": [{"port": 80}, {"port": 81}]}}
    with pytest.raises(ApiError) as caught:
        await plugin.validate(attributes(service, resource="services", kind="Service"))
    assert caught.value.message == ('services "s" is forbidden: exceeded quota: q, requested: services.nodeports=2, '
                                    "used: services.nodeports=0, limited: services.nodeports=1")


async def test_claim_resize_charges_the_difference() -> None:
    plugin, context = plugin_with(quota("q", {"requests.storage": "10Gi"}, {"requests.storage": "4Gi"}))

    def claim(size: str) -> dict[str, Any]:
        return {"metadata": {"name": "c", "namespace": "ns"},
                "spec": {"resources": {"requests": {"storage": size}}}}

    await plugin.validate(attributes(claim("6Gi"), resource="persistentvolumeclaims", kind="PersistentVolumeClaim",
                                     operation=Operation.UPDATE, old=claim("4Gi")))
    assert context.status_writes[0]["status"]["used"] == {"requests.storage": "6Gi"}


async def test_object_counts_of_any_resource() -> None:
    plugin, _ = plugin_with(quota("q", {"count/deployments.apps": "1"}, {"count/deployments.apps": "1"}))
    deployment = {"metadata": {"name": "d", "namespace": "ns"}}
    with pytest.raises(ApiError) as caught:
        await plugin.validate(attributes(deployment, resource="deployments", kind="Deployment", group="apps"))
    assert caught.value.message == ('deployments.apps "d" is forbidden: exceeded quota: q, requested: '
                                    "count/deployments.apps=1, used: count/deployments.apps=1, "
                                    "limited: count/deployments.apps=1")


def test_pod_usage_takes_the_larger_of_containers_and_init_containers() -> None:
    obj = pod("x", sized(cpu="100m", memory="64Mi"), sized(cpu="200m", name="d"),
              initContainers=[sized(cpu="500m", name="i")])
    assert to_strings(evaluator_for("", "pods").usage(obj)) == {
        "count/pods": "1", "cpu": "500m", "memory": "64Mi", "pods": "1", "requests.cpu": "500m",
        "requests.memory": "64Mi",
    }


def test_ended_pods_count_only_as_objects() -> None:
    obj = pod("x", sized(cpu="1"))
    obj["status"] = {"phase": "Succeeded"}
    assert to_strings(evaluator_for("", "pods").usage(obj)) == {"count/pods": "1"}


def test_calculated_usage_lists_every_hard_resource() -> None:
    item = quota("q", {"pods": "10", "requests.cpu": "4", "configmaps": "3", "secrets": "2"})
    objects = {("", "pods"): [pod("a", sized(cpu="250m")), pod("b", sized(cpu="250m"))],
               ("", "configmaps"): [{"metadata": {"name": "m", "namespace": "ns"}}]}
    used = calculate_usage(item, lambda group, resource: objects.get((group, resource), []))
    assert to_strings(used) == {"configmaps": "1", "pods": "2", "requests.cpu": "500m", "secrets": "0"}
