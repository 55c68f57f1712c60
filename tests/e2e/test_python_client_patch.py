"""The official Python client's patch calls: strategic merge (dict bodies), JSON patch (list bodies), merge patch
and server-side apply (explicit content types)."""
from __future__ import annotations

import pytest
from kubernetes import client as k8s

pytestmark = pytest.mark.slow


def _deployment(name: str) -> k8s.V1Deployment:
    labels = {"app": name}
    return k8s.V1Deployment(
        metadata=k8s.V1ObjectMeta(name=name, labels=labels),
        spec=k8s.V1DeploymentSpec(
            replicas=1, selector=k8s.V1LabelSelector(match_labels=labels),
            template=k8s.V1PodTemplateSpec(
                metadata=k8s.V1ObjectMeta(labels=labels),
                spec=k8s.V1PodSpec(containers=[
                    k8s.V1Container(name="app", image="nginx:1.27"),
                    k8s.V1Container(name="log", image="busybox:1.36"),
                ]),
            ),
        ),
    )


def test_strategic_patch_of_a_deployment_merges_containers(api_client: k8s.ApiClient, namespace: str) -> None:
    apps = k8s.AppsV1Api(api_client)
    apps.create_namespaced_deployment(namespace, _deployment("smp"))
    patched = apps.patch_namespaced_deployment(
        "smp", namespace, {"spec": {"template": {"spec": {"containers": [{"name": "log", "image": "busybox:1.37"}]}}}}
    )
    assert [(c.name, c.image) for c in patched.spec.template.spec.containers] == [
        ("app", "nginx:1.27"), ("log", "busybox:1.37"),
    ]


def test_json_patch_of_a_deployment(api_client: k8s.ApiClient, namespace: str) -> None:
    apps = k8s.AppsV1Api(api_client)
    apps.create_namespaced_deployment(namespace, _deployment("jp"))
    patched = apps.patch_namespaced_deployment("jp", namespace, [{"op": "replace", "path": "/spec/replicas",
                                                                  "value": 4}])
    assert patched.spec.replicas == 4


def test_merge_patch_of_a_deployment_replaces_lists(api_client: k8s.ApiClient, namespace: str) -> None:
    apps = k8s.AppsV1Api(api_client)
    apps.create_namespaced_deployment(namespace, _deployment("mp"))
    patched = apps.patch_namespaced_deployment(
        "mp", namespace, {"spec": {"template": {"spec": {"containers": [{"name": "only", "image": "nginx:1.28"}]}}}},
        _content_type="application/merge-patch+json",
    )
    assert [c.name for c in patched.spec.template.spec.containers] == ["only"]


def test_server_side_apply_through_the_client(api_client: k8s.ApiClient, namespace: str) -> None:
    apps = k8s.AppsV1Api(api_client)
    body = api_client.sanitize_for_serialization(_deployment("ssa"))
    body.update({"apiVersion": "apps/v1", "kind": "Deployment"})
    applied = apps.patch_namespaced_deployment(
        "ssa", namespace, body, field_manager="pytest", _content_type="application/apply-patch+yaml",
    )
    assert applied.metadata.managed_fields[0].manager == "pytest"
    assert applied.metadata.managed_fields[0].operation == "Apply"
