"""Pods, Secrets, ConfigMaps and Namespaces as clients see them on a live server, on SQLite and on etcd."""
from __future__ import annotations

import base64
import json

import pytest
from kubernetes import client as k8s
from kubernetes.client.rest import ApiException

from tests.support.kubectl import Kubectl

pytestmark = pytest.mark.slow


def test_pod_reads_back_upstream_defaults_and_stays_pending(api_client: k8s.ApiClient, namespace: str) -> None:
    core = k8s.CoreV1Api(api_client)
    body = k8s.V1Pod(
        metadata=k8s.V1ObjectMeta(name="web"),
        spec=k8s.V1PodSpec(containers=[k8s.V1Container(
            name="web", image="nginx", ports=[k8s.V1ContainerPort(container_port=80)],
            resources=k8s.V1ResourceRequirements(limits={"cpu": "500m", "memory": "128Mi"}),
        )]),
    )
    core.create_namespaced_pod(namespace, body)
    pod = core.read_namespaced_pod("web", namespace)
    container = pod.spec.containers[0]
    assert (pod.spec.restart_policy, pod.spec.dns_policy, pod.spec.scheduler_name) == (
        "Always", "ClusterFirst", "default-scheduler")
    assert (pod.spec.termination_grace_period_seconds, pod.spec.enable_service_links) == (30, True)
    assert (container.termination_message_path, container.termination_message_policy) == (
        "/dev/termination-log", "File")
    assert (container.image_pull_policy, container.ports[0].protocol) == ("Always", "TCP")
    assert container.resources.requests == {"cpu": "500m", "memory": "128Mi"}
    assert (pod.status.phase, pod.status.qos_class) == ("Pending", "Guaranteed")
    labels = core.read_namespace(namespace).metadata.labels
    assert labels["kubernetes.io/metadata.name"] == namespace


def test_kubectl_create_of_an_invalid_pod_shows_upstream_message(kubectl: Kubectl, namespace: str) -> None:
    manifest = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "bad"},
                "spec": {"restartPolicy": "Sometimes", "containers": [{"name": "app", "image": "busybox"}]}}
    result = kubectl.run("create", "-n", namespace, "-f", "-", stdin=json.dumps(manifest))
    assert result.returncode == 1
    assert result.stderr.strip() == (
        'The Pod "bad" is invalid: spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", '
        '"OnFailure", "Never"'
    )
    assert kubectl.run("get", "pod", "bad", "-n", namespace).returncode == 1


def test_pod_spec_update_is_forbidden_and_image_update_allowed(api_client: k8s.ApiClient, namespace: str) -> None:
    core = k8s.CoreV1Api(api_client)
    body = k8s.V1Pod(metadata=k8s.V1ObjectMeta(name="app"),
                     spec=k8s.V1PodSpec(containers=[k8s.V1Container(name="app", image="busybox:1.36")]))
    core.create_namespaced_pod(namespace, body)
    core.patch_namespaced_pod("app", namespace, {"spec": {"containers": [{"name": "app", "image": "busybox:1.37"}]}})
    assert core.read_namespaced_pod("app", namespace).spec.containers[0].image == "busybox:1.37"
    with pytest.raises(ApiException) as raised:
        core.patch_namespaced_pod("app", namespace, {"spec": {"containers": [{"name": "app", "args": ["sleep"]}]}})
    status = json.loads(raised.value.body)
    assert (status["code"], status["reason"]) == (422, "Invalid")
    assert status["message"].startswith(
        'Pod "app" is invalid: spec: Forbidden: pod updates may not change fields other than '
        "`spec.containers[*].image`,")


def test_secret_string_data_round_trip(api_client: k8s.ApiClient, namespace: str) -> None:
    core = k8s.CoreV1Api(api_client)
    created = core.create_namespaced_secret(namespace, k8s.V1Secret(
        metadata=k8s.V1ObjectMeta(name="login"), string_data={"user": "admin", "password": "s3cr3t"}))
    assert created.type == "Opaque" and created.string_data is None
    read = core.read_namespaced_secret("login", namespace)
    assert {key: base64.b64decode(value).decode() for key, value in read.data.items()} == {
        "user": "admin", "password": "s3cr3t"}
    assert read.string_data is None


def test_immutable_config_map_refuses_changes(api_client: k8s.ApiClient, namespace: str) -> None:
    core = k8s.CoreV1Api(api_client)
    core.create_namespaced_config_map(namespace, k8s.V1ConfigMap(
        metadata=k8s.V1ObjectMeta(name="frozen"), data={"mode": "fast"}, immutable=True))
    current = core.read_namespaced_config_map("frozen", namespace)
    current.data = {"mode": "slow"}
    with pytest.raises(ApiException) as raised:
        core.replace_namespaced_config_map("frozen", namespace, current)
    status = json.loads(raised.value.body)
    assert (status["code"], status["message"]) == (
        422, 'ConfigMap "frozen" is invalid: data: Forbidden: field is immutable when `immutable` is set')
    assert core.read_namespaced_config_map("frozen", namespace).data == {"mode": "fast"}
