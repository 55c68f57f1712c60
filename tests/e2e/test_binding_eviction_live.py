"""Binding and eviction on live servers (SQLite and etcd): the official Python client, raw requests as curl sends
them, and `kubectl drain`, with the disruption controller keeping the PodDisruptionBudget's status."""
from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from kubernetes import client as k8s

from tests.support.kubectl import Kubectl
from tests.support.server import ServerProcess

pytestmark = pytest.mark.slow

VIOLATION = {
    "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
    "message": "Cannot evict pod as it would violate the pod's disruption budget.", "reason": "TooManyRequests",
    "details": {"causes": [{"reason": "DisruptionBudget",
                            "message": "The disruption budget guard needs 1 healthy pods and has 1 currently"}]},
    "code": 429,
}
SUCCESS = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}


def eventually(check: Callable[[], Any], within: float = 20.0) -> Any:
    deadline = time.monotonic() + within
    while True:
        result = check()
        if result:
            return result
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.1)


def make_pod(core: k8s.CoreV1Api, namespace: str, name: str, labels: dict[str, str] | None = None) -> k8s.V1Pod:
    pod = k8s.V1Pod(metadata=k8s.V1ObjectMeta(name=name, labels=labels or {"app": name}),
                    spec=k8s.V1PodSpec(containers=[k8s.V1Container(name="c", image="nginx")]))
    return core.create_namespaced_pod(namespace, pod)


def bind(core: k8s.CoreV1Api, namespace: str, name: str, node: str) -> Any:
    binding = k8s.V1Binding(metadata=k8s.V1ObjectMeta(name=name),
                            target=k8s.V1ObjectReference(api_version="v1", kind="Node", name=node))
    # The generated client would read the Status answer as a Binding: take the raw answer.
    response = core.create_namespaced_pod_binding(name, namespace, binding, _preload_content=False)
    return response.status, json.loads(response.data)


def evict(core: k8s.CoreV1Api, namespace: str, name: str, **delete_options: Any) -> dict[str, Any]:
    eviction = k8s.V1Eviction(metadata=k8s.V1ObjectMeta(name=name, namespace=namespace),
                              delete_options=k8s.V1DeleteOptions(**delete_options) if delete_options else None)
    response = core.create_namespaced_pod_eviction(name, namespace, eviction, _preload_content=False)
    assert response.status == 201
    answer: dict[str, Any] = json.loads(response.data)
    return answer


def set_status(core: k8s.CoreV1Api, namespace: str, name: str, phase: str, *, ready: bool) -> None:
    """What a kubelet reports: the pod's phase and its Ready condition."""
    pod = core.read_namespaced_pod(name, namespace)
    pod.status = k8s.V1PodStatus(phase=phase, conditions=[
        k8s.V1PodCondition(type="Ready", status="True" if ready else "False")])
    core.replace_namespaced_pod_status(name, namespace, pod)


def gone_or_terminating(core: k8s.CoreV1Api, namespace: str, name: str) -> bool:
    try:
        pod = core.read_namespaced_pod(name, namespace)
    except k8s.ApiException as error:
        return error.status == 404
    return pod.metadata.deletion_timestamp is not None


def settled_budget(policy: k8s.PolicyV1Api, namespace: str, name: str, **wanted: int) -> k8s.V1PodDisruptionBudget:
    def check() -> k8s.V1PodDisruptionBudget | None:
        budget = policy.read_namespaced_pod_disruption_budget(name, namespace)
        status = budget.status
        if status is None or status.observed_generation != budget.metadata.generation:
            return None
        return budget if all(getattr(status, key) == value for key, value in wanted.items()) else None

    return eventually(check)


def test_binding_assigns_the_pod_once(api_client: k8s.ApiClient, namespace: str) -> None:
    core = k8s.CoreV1Api(api_client)
    make_pod(core, namespace, "bound")
    assert bind(core, namespace, "bound", "node-1") == (201, SUCCESS)
    pod = core.read_namespaced_pod("bound", namespace)
    assert pod.spec.node_name == "node-1"
    assert [(condition.type, condition.status) for condition in pod.status.conditions or []
            if condition.type == "PodScheduled"] == [("PodScheduled", "True")]
    with pytest.raises(k8s.ApiException) as raised:
        bind(core, namespace, "bound", "node-2")
    assert raised.value.status == 409
    assert json.loads(raised.value.body)["message"] == (
        'Operation cannot be fulfilled on pods/binding "bound": pod bound is already assigned to node "node-1"')
    assert core.read_namespaced_pod("bound", namespace).spec.node_name == "node-1"


def test_evicting_a_pending_pod_deletes_it(api_client: k8s.ApiClient, namespace: str) -> None:
    core = k8s.CoreV1Api(api_client)
    make_pod(core, namespace, "waiting")
    set_status(core, namespace, "waiting", "Pending", ready=False)
    assert evict(core, namespace, "waiting") == SUCCESS
    eventually(lambda: gone_or_terminating(core, namespace, "waiting"))


def test_a_budget_guards_a_ready_pod_until_relaxed(api_client: k8s.ApiClient, namespace: str,
                                                   server: ServerProcess) -> None:
    core, policy = k8s.CoreV1Api(api_client), k8s.PolicyV1Api(api_client)
    make_pod(core, namespace, "guarded", labels={"app": "guarded"})
    bind(core, namespace, "guarded", "node-1")
    set_status(core, namespace, "guarded", "Running", ready=True)
    policy.create_namespaced_pod_disruption_budget(namespace, k8s.V1PodDisruptionBudget(
        metadata=k8s.V1ObjectMeta(name="guard"),
        spec=k8s.V1PodDisruptionBudgetSpec(min_available=1,
                                           selector=k8s.V1LabelSelector(match_labels={"app": "guarded"}))))
    settled_budget(policy, namespace, "guard", current_healthy=1, desired_healthy=1, disruptions_allowed=0)

    body = json.dumps({"apiVersion": "policy/v1", "kind": "Eviction",
                       "metadata": {"name": "guarded", "namespace": namespace}}).encode()
    status, _, answer = server.request("POST", f"/api/v1/namespaces/{namespace}/pods/guarded/eviction",
                                       client_cert=True, body=body, headers={"Content-Type": "application/json"})
    assert (status, json.loads(answer)) == (429, VIOLATION)
    assert core.read_namespaced_pod("guarded", namespace).metadata.deletion_timestamp is None

    policy.patch_namespaced_pod_disruption_budget("guard", namespace, {"spec": {"minAvailable": 0}})
    settled_budget(policy, namespace, "guard", disruptions_allowed=1)
    assert evict(core, namespace, "guarded") == SUCCESS
    eventually(lambda: gone_or_terminating(core, namespace, "guarded"))
    # Taken by the eviction, and still none once the controller sees the pod go.
    assert policy.read_namespaced_pod_disruption_budget("guard", namespace).status.disruptions_allowed == 0


def test_kubectl_drain_evicts_the_nodes_pods(api_client: k8s.ApiClient, namespace: str, kubectl: Kubectl) -> None:
    core = k8s.CoreV1Api(api_client)
    node = f"drain-{uuid.uuid4().hex[:8]}"
    core.create_node(k8s.V1Node(metadata=k8s.V1ObjectMeta(name=node)))
    make_pod(core, namespace, "worker")
    bind(core, namespace, "worker", node)
    set_status(core, namespace, "worker", "Running", ready=True)
    result = kubectl.run("drain", node, "--force", "--grace-period=0", "--timeout=60s")
    assert result.returncode == 0, result.stderr
    assert f"evicting pod {namespace}/worker" in result.stderr + result.stdout
    assert f"node/{node} drained" in result.stdout
    assert core.read_node(node).spec.unschedulable is True
    eventually(lambda: gone_or_terminating(core, namespace, "worker"))
