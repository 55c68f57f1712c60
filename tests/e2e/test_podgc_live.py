"""The pod garbage collector in a live server: with no kubelets, a pod bound to a node that does not exist stays
Terminating once deleted until PodGC, after its 40 s quarantine, force-deletes it; so a namespace holding such a
pod can finish deleting. Both cases are set up together so they wait out one quarantine."""
from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from kubernetes import client as k8s
from kubernetes.client.rest import ApiException

# Upstream's quarantine (40 s) plus a pass period (20 s) and slack for a loaded machine.
DEADLINE = 120.0


@dataclass(frozen=True)
class Stuck:
    pod_namespace: str
    deleted_namespace: str


def _pod(name: str) -> k8s.V1Pod:
    return k8s.V1Pod(metadata=k8s.V1ObjectMeta(name=name),
                     spec=k8s.V1PodSpec(node_name=f"made-up-{uuid.uuid4().hex[:6]}",
                                        containers=[k8s.V1Container(name="c", image="nginx")]))


def _until(check: Callable[[], bool], within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.5)
    return check()


def _absent(read: Callable[[], object]) -> bool:
    try:
        read()
    except ApiException as error:
        if error.status == 404:
            return True
        raise
    return False


def _namespace_with_stuck_pod(core: k8s.CoreV1Api) -> str:
    name = f"t-{uuid.uuid4().hex[:10]}"
    core.create_namespace(k8s.V1Namespace(metadata=k8s.V1ObjectMeta(name=name)))
    assert _until(lambda: not _absent(lambda: core.read_namespaced_service_account("default", name)), 15)
    core.create_namespaced_pod(name, _pod("stuck"))
    core.delete_namespaced_pod("stuck", name)
    return name


@pytest.fixture(scope="module")
def stuck(api_client: k8s.ApiClient) -> Iterator[Stuck]:
    core = k8s.CoreV1Api(api_client)
    pod_namespace = _namespace_with_stuck_pod(core)
    deleted_namespace = _namespace_with_stuck_pod(core)
    core.delete_namespace(deleted_namespace)
    yield Stuck(pod_namespace, deleted_namespace)
    core.delete_namespace(pod_namespace)


def test_deleted_pod_bound_to_a_missing_node_disappears(api_client: k8s.ApiClient, stuck: Stuck) -> None:
    core = k8s.CoreV1Api(api_client)
    pod = core.read_namespaced_pod("stuck", stuck.pod_namespace)
    assert pod.metadata.deletion_timestamp is not None  # Terminating: no kubelet will finish it
    assert _until(lambda: _absent(lambda: core.read_namespaced_pod("stuck", stuck.pod_namespace)), DEADLINE)


def test_namespace_with_such_a_pod_finishes_deleting(api_client: k8s.ApiClient, stuck: Stuck) -> None:
    core = k8s.CoreV1Api(api_client)
    assert _until(lambda: _absent(lambda: core.read_namespace(stuck.deleted_namespace)), DEADLINE)
