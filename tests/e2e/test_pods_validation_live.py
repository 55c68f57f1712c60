"""Pod validation as clients meet it on a live server (SQLite and etcd): securityContext, affinity and
`pods/status` writes refused with upstream v1.32's messages, nothing stored."""
from __future__ import annotations

import json

import pytest
from kubernetes import client as k8s
from kubernetes.client.rest import ApiException

from tests.support.kubectl import Kubectl

pytestmark = pytest.mark.slow


def test_kubectl_create_with_a_bad_security_context_shows_upstream_message(kubectl: Kubectl, namespace: str) -> None:
    manifest = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "bad"},
                "spec": {"containers": [{"name": "app", "image": "busybox",
                                         "securityContext": {"runAsUser": -1,
                                                             "seccompProfile": {"type": "Localhost"}}}]}}
    result = kubectl.run("create", "-n", namespace, "-f", "-", stdin=json.dumps(manifest))
    assert result.returncode == 1
    assert result.stderr.strip() == (
        'The Pod "bad" is invalid: \n'
        "* spec.containers[0].securityContext.runAsUser: Invalid value: -1: must be between 0 and 2147483647, "
        "inclusive\n"
        "* spec.containers[0].securityContext.seccompProfile.localhostProfile: Required value: must be set when "
        "seccomp type is Localhost"
    )
    assert kubectl.run("get", "pod", "bad", "-n", namespace).returncode == 1


def test_node_affinity_without_values_is_refused(api_client: k8s.ApiClient, namespace: str) -> None:
    core = k8s.CoreV1Api(api_client)
    affinity = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "zone", "operator": "In"}]}]}}}
    body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "pinned"},
            "spec": {"affinity": affinity, "containers": [{"name": "app", "image": "busybox"}]}}
    with pytest.raises(ApiException) as raised:
        core.create_namespaced_pod(namespace, body)
    status = json.loads(raised.value.body)
    field = ("spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0]"
             ".matchExpressions[0].values")
    assert (status["code"], status["reason"]) == (422, "Invalid")
    assert status["message"] == (
        f"Pod \"pinned\" is invalid: {field}: Required value: must be specified when `operator` is 'In' or 'NotIn'")
    assert status["details"]["causes"] == [{"reason": "FieldValueRequired", "field": field, "message":
                                            "Required value: must be specified when `operator` is 'In' or 'NotIn'"}]
    assert [pod.metadata.name for pod in core.list_namespaced_pod(namespace).items] == []


def test_status_write_restarting_a_finished_container_is_refused(api_client: k8s.ApiClient, namespace: str) -> None:
    core = k8s.CoreV1Api(api_client)
    body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "job"},
            "spec": {"restartPolicy": "Never", "containers": [{"name": "app", "image": "busybox"}]}}
    core.create_namespaced_pod(namespace, body)

    def container_status(state: dict[str, object]) -> dict[str, object]:
        return {"name": "app", "image": "busybox", "imageID": "", "ready": False, "restartCount": 0, "state": state}

    finished = {"status": {"phase": "Succeeded", "podIP": "10.1.0.7", "podIPs": [{"ip": "10.1.0.7"}],
                           "containerStatuses": [container_status({"terminated": {"exitCode": 0}})]}}
    core.patch_namespaced_pod_status("job", namespace, finished)
    restarted = {"status": {"phase": "Running", "containerStatuses": [container_status({"running": {}})]}}
    with pytest.raises(ApiException) as raised:
        core.patch_namespaced_pod_status("job", namespace, restarted)
    status = json.loads(raised.value.body)
    assert (status["code"], status["message"]) == (422, 'Pod "job" is invalid: status.containerStatuses[0].state: '
                                                        "Forbidden: may not be transitioned to non-terminated state")
    stored = core.read_namespaced_pod("job", namespace).status
    assert (stored.phase, stored.container_statuses[0].state.terminated.exit_code) == ("Succeeded", 0)
