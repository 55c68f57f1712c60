"""Garbage collection and the small built-in controllers against a live server, on SQLite and on etcd: kubectl's
`--cascade` modes and the Python client's propagation policies on a ReplicaSet's dependents, the root CA
ConfigMap in a new namespace, and a finished Job removed by its TTL."""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from kubernetes import client as k8s

from tests.support.kubectl import Kubectl

pytestmark = pytest.mark.slow

REPLICA_SET = {
    "apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "web"},
    "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "web"}},
             "template": {"metadata": {"labels": {"app": "web"}},
                          "spec": {"containers": [{"name": "web", "image": "nginx"}]}}},
}


def run(kubectl: Kubectl, *args: str, stdin: str | None = None) -> str:
    result = kubectl.run(*args, stdin=stdin)
    assert result.returncode == 0, result.stderr
    return result.stdout


def wait_until(check: Callable[[], Any], within: float = 30.0) -> Any:
    deadline = time.monotonic() + within
    while True:
        if result := check():
            return result
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.1)


def missing(read: Callable[[], Any]) -> bool:
    try:
        read()
    except k8s.ApiException as error:
        if error.status == 404:
            return True
        raise
    return False


def owner_set(kubectl: Kubectl, namespace: str, *dependents: str, blocking: bool = True) -> dict[str, Any]:
    """A ReplicaSet with ConfigMap dependents (blocking its foreground deletion when `blocking`)."""
    owner = json.loads(run(kubectl, "-n", namespace, "create", "-f", "-", "-o", "json",
                           stdin=json.dumps(REPLICA_SET)))
    ref = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web", "uid": owner["metadata"]["uid"],
           "controller": True, "blockOwnerDeletion": blocking}
    for name in dependents:
        body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "ownerReferences": [ref]}}
        run(kubectl, "-n", namespace, "create", "-f", "-", stdin=json.dumps(body))
    return owner


def config_maps(kubectl: Kubectl, namespace: str, *names: str) -> list[str]:
    listed = run(kubectl, "-n", namespace, "get", "configmaps", *names, "-o", "name", "--ignore-not-found")
    return listed.split()


def test_kubectl_cascade_background_deletes_dependents(kubectl: Kubectl, namespace: str) -> None:
    owner_set(kubectl, namespace, "a", "b")
    assert run(kubectl, "-n", namespace, "delete", "rs", "web", "--cascade=background") == \
        'replicaset.apps "web" deleted\n'
    wait_until(lambda: config_maps(kubectl, namespace, "a", "b") == [])


def test_kubectl_cascade_foreground_returns_once_dependents_are_gone(kubectl: Kubectl, namespace: str) -> None:
    owner_set(kubectl, namespace, "a", "b")
    assert run(kubectl, "-n", namespace, "delete", "rs", "web", "--cascade=foreground", "--timeout=60s") == \
        'replicaset.apps "web" deleted\n'
    # kubectl waited for the ReplicaSet to go, which its blocking dependents prevent until they are gone.
    assert config_maps(kubectl, namespace, "a", "b") == []


def test_kubectl_cascade_orphan_keeps_dependents_without_the_reference(kubectl: Kubectl, namespace: str) -> None:
    owner_set(kubectl, namespace, "a")
    assert run(kubectl, "-n", namespace, "delete", "rs", "web", "--cascade=orphan", "--timeout=60s") == \
        'replicaset.apps "web" deleted\n'
    kept = json.loads(run(kubectl, "-n", namespace, "get", "configmap", "a", "-o", "json"))
    assert "ownerReferences" not in kept["metadata"]


def test_python_client_propagation_policies(api_client: k8s.ApiClient, kubectl: Kubectl, namespace: str) -> None:
    apps, core = k8s.AppsV1Api(api_client), k8s.CoreV1Api(api_client)
    owner_set(kubectl, namespace, "fg")
    apps.delete_namespaced_replica_set("web", namespace, body=k8s.V1DeleteOptions(propagation_policy="Foreground"))
    wait_until(lambda: missing(lambda: apps.read_namespaced_replica_set("web", namespace)))
    # The blocking dependent went first: the owner's foregroundDeletion finalizer waited for it.
    assert missing(lambda: core.read_namespaced_config_map("fg", namespace))

    owner = owner_set(kubectl, namespace)
    ref = k8s.V1OwnerReference(api_version="apps/v1", kind="ReplicaSet", name="web", uid=owner["metadata"]["uid"])
    core.create_namespaced_secret(namespace, k8s.V1Secret(metadata=k8s.V1ObjectMeta(name="s", owner_references=[ref])))
    pod = k8s.V1Pod(metadata=k8s.V1ObjectMeta(name="p", owner_references=[ref]),
                    spec=k8s.V1PodSpec(containers=[k8s.V1Container(name="c", image="nginx")]))
    core.create_namespaced_pod(namespace, pod)
    apps.delete_namespaced_replica_set("web", namespace, propagation_policy="Background")
    wait_until(lambda: missing(lambda: core.read_namespaced_secret("s", namespace)))
    wait_until(lambda: missing(lambda: core.read_namespaced_pod("p", namespace)))


def test_dependent_of_a_missing_owner_is_collected(api_client: k8s.ApiClient, namespace: str) -> None:
    core = k8s.CoreV1Api(api_client)
    ref = k8s.V1OwnerReference(api_version="apps/v1", kind="ReplicaSet", name="nobody", uid="not-a-real-uid")
    core.create_namespaced_config_map(namespace, k8s.V1ConfigMap(
        metadata=k8s.V1ObjectMeta(name="stray", owner_references=[ref])))
    wait_until(lambda: missing(lambda: core.read_namespaced_config_map("stray", namespace)))


def test_new_namespace_gets_the_root_ca_config_map(api_client: k8s.ApiClient, namespace: str) -> None:
    core = k8s.CoreV1Api(api_client)

    def published() -> k8s.V1ConfigMap | None:
        try:
            return core.read_namespaced_config_map("kube-root-ca.crt", namespace)
        except k8s.ApiException as error:
            if error.status == 404:
                return None
            raise

    config_map = wait_until(published)
    assert config_map.data["ca.crt"].startswith("-----BEGIN CERTIFICATE-----")
    assert config_map.metadata.annotations["kubernetes.io/description"].startswith("Contains a CA bundle")


def test_finished_job_with_ttl_zero_is_deleted(api_client: k8s.ApiClient, namespace: str) -> None:
    batch = k8s.BatchV1Api(api_client)
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "done"},
           "spec": {"ttlSecondsAfterFinished": 0, "template": {"spec": {
               "restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}}}
    created = batch.create_namespaced_job(namespace, job)
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    status = {"startTime": now, "completionTime": now, "succeeded": 1, "conditions": [
        {"type": "SuccessCriteriaMet", "status": "True", "lastTransitionTime": now, "lastProbeTime": now},
        {"type": "Complete", "status": "True", "lastTransitionTime": now, "lastProbeTime": now}]}
    batch.patch_namespaced_job_status("done", namespace, {"status": status})
    wait_until(lambda: missing(lambda: batch.read_namespaced_job("done", namespace)))
    assert created.metadata.uid
