"""Defaults before managedFields and admission, against live servers: the creator owns the defaults it got,
mutating admission's additions are nobody's, and a server-side apply owns only its configuration."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as k8s

from tests.support.kubectl import Kubectl

pytestmark = pytest.mark.slow

POD = """\
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  containers:
  - {name: nginx, image: "nginx:1.27"}
"""
APPLIED = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {tier: front}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: nginx, image: "nginx:1.27"}
"""


def _fields(obj: dict[str, Any], manager: str) -> dict[str, Any]:
    entries = [entry for entry in obj["metadata"]["managedFields"] if entry["manager"] == manager]
    assert len(entries) == 1, obj["metadata"]["managedFields"]
    return entries[0]["fieldsV1"]


def test_kubectl_create_owns_pod_defaults_not_admission_additions(
    kubectl: Kubectl, namespace: str, tmp_path: Path
) -> None:
    manifest = tmp_path / "pod.yaml"
    manifest.write_text(POD)
    created = kubectl.run("create", "-n", namespace, "-f", str(manifest))
    assert created.returncode == 0, created.stderr
    live = json.loads(kubectl.run("get", "pod", "web", "-n", namespace, "-o", "json", "--show-managed-fields").stdout)
    assert live["spec"]["serviceAccountName"] == "default"  # the ServiceAccount plugin's, after tracking
    spec = _fields(live, "kubectl-create")["f:spec"]
    assert {"f:dnsPolicy", "f:enableServiceLinks", "f:restartPolicy", "f:schedulerName", "f:securityContext",
            "f:terminationGracePeriodSeconds"} <= set(spec)
    assert "f:serviceAccountName" not in spec and "f:volumes" not in spec
    assert set(spec["f:containers"]['k:{"name":"nginx"}']) == {
        ".", "f:image", "f:imagePullPolicy", "f:name", "f:resources", "f:terminationMessagePath",
        "f:terminationMessagePolicy",
    }


def test_apply_after_a_client_create_does_not_conflict_on_defaults(
    api_client: k8s.ApiClient, kubectl: Kubectl, namespace: str, tmp_path: Path
) -> None:
    body = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27"}]}}}}
    created = k8s.AppsV1Api(api_client).create_namespaced_deployment(namespace, body, field_manager="creator")
    creator = next(entry for entry in created.metadata.managed_fields if entry.manager == "creator")
    assert {"f:progressDeadlineSeconds", "f:replicas", "f:revisionHistoryLimit", "f:strategy"} <= set(
        creator.fields_v1["f:spec"]
    )
    manifest = tmp_path / "deployment.yaml"
    manifest.write_text(APPLIED)
    applied = kubectl.run("apply", "--server-side", "--field-manager=applier", "-n", namespace, "-f", str(manifest))
    assert (applied.returncode, applied.stdout) == (0, "deployment.apps/web serverside-applied\n"), applied.stderr
    live = json.loads(kubectl.run("get", "deployment", "web", "-n", namespace, "-o", "json",
                                  "--show-managed-fields").stdout)
    spec = _fields(live, "applier")["f:spec"]
    assert set(spec) == {"f:replicas", "f:selector", "f:template"}
    assert "f:dnsPolicy" not in spec["f:template"]["f:spec"]
    assert live["spec"]["progressDeadlineSeconds"] == 600
