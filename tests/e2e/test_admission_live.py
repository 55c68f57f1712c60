"""The v1.32 default admission chain on a live server (SQLite and etcd): quota refusal and usage, PodSecurity
through kubectl, the ServiceAccount token volume through the Python client, LimitRanger defaults."""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes.client.rest import ApiException

from tests.support.kubectl import Kubectl

pytestmark = pytest.mark.slow


def eventually(check: Callable[[], Any], timeout: float = 20.0) -> Any:
    """The first truthy result of `check`, polled until `timeout`; fails with the last result."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            assert result, f"condition not met within {timeout}s: {result!r}"
            return result
        time.sleep(0.05)


def pod(name: str) -> k8s.V1Pod:
    return k8s.V1Pod(metadata=k8s.V1ObjectMeta(name=name),
                     spec=k8s.V1PodSpec(containers=[k8s.V1Container(name="app", image="busybox")]))


def test_quota_refuses_records_usage_and_releases_it_after_delete(api_client: k8s.ApiClient, namespace: str) -> None:
    core = k8s.CoreV1Api(api_client)
    core.create_namespaced_resource_quota(namespace, k8s.V1ResourceQuota(
        metadata=k8s.V1ObjectMeta(name="q"), spec=k8s.V1ResourceQuotaSpec(hard={"pods": "1"})))

    def used() -> dict[str, str] | None:
        status = core.read_namespaced_resource_quota("q", namespace).status
        return status.used if status is not None else None

    assert eventually(lambda: used() == {"pods": "0"})
    core.create_namespaced_pod(namespace, pod("first"))
    assert used() == {"pods": "1"}
    with pytest.raises(ApiException) as raised:
        core.create_namespaced_pod(namespace, pod("second"))
    assert raised.value.status == 403
    assert json.loads(raised.value.body)["message"] == (
        'pods "second" is forbidden: exceeded quota: q, requested: pods=1, used: pods=1, limited: pods=1')
    core.delete_namespaced_pod("first", namespace, grace_period_seconds=0)
    assert eventually(lambda: used() == {"pods": "0"})

    def admitted() -> bool:
        # Admission reads the quota from its cache, a moment behind the controller's write the GET just saw.
        try:
            core.create_namespaced_pod(namespace, pod("second"))
        except ApiException as error:
            if error.status != 403:
                raise
            return False
        return True

    assert eventually(admitted, timeout=5)
    # Admission charged the pod; the controller's recount (from its own cache) settles on the same usage.
    assert eventually(lambda: used() == {"pods": "1"})


def test_pod_security_enforce_refuses_and_warn_warns_through_kubectl(kubectl: Kubectl, namespace: str) -> None:
    manifest = json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
                           "spec": {"containers": [{"name": "c", "image": "nginx"}]}})
    labelled = kubectl.run("label", "namespace", namespace, "pod-security.kubernetes.io/warn=restricted")
    assert labelled.returncode == 0, labelled.stderr
    created = kubectl.run("create", "-n", namespace, "-f", "-", stdin=manifest)
    assert created.returncode == 0, created.stderr
    warning = (
        'would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "c" must set '
        'securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "c" must set '
        'securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container "c" must set '
        'securityContext.runAsNonRoot=true), seccompProfile (pod or container "c" must set '
        'securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")'
    )
    assert created.stderr.strip() == f"Warning: {warning}"
    enforced = kubectl.run("label", "namespace", namespace, "pod-security.kubernetes.io/enforce=restricted")
    assert enforced.returncode == 0, enforced.stderr
    assert f"Warning: web: {warning.split(': ', 1)[1]}" in enforced.stderr
    refused = kubectl.run("create", "-n", namespace, "-f", "-",
                          stdin=manifest.replace('"name": "web"', '"name": "web2"'))
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        f'Error from server (Forbidden): error when creating "STDIN": pods "web2" is forbidden: '
        f'violates PodSecurity "restricted:latest": {warning.split(": ", 1)[1]}')


def test_pod_from_the_python_client_gets_the_token_volume(api_client: k8s.ApiClient, namespace: str) -> None:
    core = k8s.CoreV1Api(api_client)
    created = core.create_namespaced_pod(namespace, pod("app"))
    spec = created.spec
    assert spec.service_account_name == "default"
    volume = spec.volumes[0]
    assert volume.name.startswith("kube-api-access-") and len(volume.name) == len("kube-api-access-") + 5
    sources = volume.projected.sources
    assert (sources[0].service_account_token.path, sources[0].service_account_token.expiration_seconds) == (
        "token", 3607)
    assert sources[1].config_map.name == "kube-root-ca.crt"
    assert sources[2].downward_api.items[0].field_ref.field_path == "metadata.namespace"
    mount = spec.containers[0].volume_mounts[0]
    assert (mount.name, mount.mount_path, mount.read_only) == (
        volume.name, "/var/run/secrets/kubernetes.io/serviceaccount", True)
    assert {(toleration.key, toleration.toleration_seconds) for toleration in spec.tolerations} == {
        ("node.kubernetes.io/not-ready", 300), ("node.kubernetes.io/unreachable", 300)}


def test_limit_range_defaults_are_applied(api_client: k8s.ApiClient, namespace: str) -> None:
    core = k8s.CoreV1Api(api_client)
    core.create_namespaced_limit_range(namespace, k8s.V1LimitRange(
        metadata=k8s.V1ObjectMeta(name="limits"),
        spec=k8s.V1LimitRangeSpec(limits=[k8s.V1LimitRangeItem(
            type="Container", default={"cpu": "500m", "memory": "128Mi"}, default_request={"cpu": "100m"},
            min={"cpu": "50m"})])))
    created = core.create_namespaced_pod(namespace, pod("sized"))
    resources = created.spec.containers[0].resources
    assert (resources.limits, resources.requests) == ({"cpu": "500m", "memory": "128Mi"},
                                                      {"cpu": "100m", "memory": "128Mi"})
    assert created.metadata.annotations["kubernetes.io/limit-ranger"] == (
        # the stored LimitRange's defaultRequest took memory from its default (LimitRange defaulting)
        "LimitRanger plugin set: cpu, memory request for container app; cpu, memory limit for container app")


def test_enforce_mountable_secrets_limits_pod_secret_references(api_client: k8s.ApiClient, namespace: str) -> None:
    core = k8s.CoreV1Api(api_client)
    core.create_namespaced_service_account(namespace, k8s.V1ServiceAccount(
        metadata=k8s.V1ObjectMeta(name="robot", annotations={"kubernetes.io/enforce-mountable-secrets": "true"}),
        secrets=[k8s.V1ObjectReference(name="allowed")]))

    def with_secret(name: str, secret: str) -> k8s.V1Pod:
        body = pod(name)
        body.spec.service_account_name = "robot"
        body.spec.volumes = [k8s.V1Volume(name="s", secret=k8s.V1SecretVolumeSource(secret_name=secret))]
        return body

    def refusal() -> str:
        # The plugin reads the ServiceAccount from its cache first, then live: no wait is needed, but poll anyway.
        try:
            core.create_namespaced_pod(namespace, with_secret("denied", "other"))
        except ApiException as error:
            return str(json.loads(error.body)["message"]) if error.status == 403 else ""
        return ""

    assert eventually(refusal) == ('pods "denied" is forbidden: volume with secret.secretName="other" is not '
                                   "allowed because service account robot does not reference that secret")
    created = core.create_namespaced_pod(namespace, with_secret("allowed", "allowed"))
    assert created.spec.service_account_name == "robot"
    assert [pod.metadata.name for pod in core.list_namespaced_pod(namespace).items] == ["allowed"]
