"""kubectl 1.32's client-side apply, strategic merge patch, explain and strict validation against live servers."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.kubectl import Kubectl
from tests.support.server import ServerProcess

pytestmark = pytest.mark.slow

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {{app: web{extra_label}}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers:
      - name: nginx
        image: nginx:1.27
{sidecar}"""
SIDECAR = """\
      - name: log
        image: busybox:1.36
"""


def _manifest(tmp_path: Path, *, replicas: int = 1, sidecar: bool = True, extra_label: str = "") -> str:
    path = tmp_path / "deployment.yaml"
    path.write_text(DEPLOYMENT.format(replicas=replicas, sidecar=SIDECAR if sidecar else "",
                                      extra_label=extra_label))
    return str(path)


def _resource_version(kubectl: Kubectl, namespace: str) -> str:
    result = kubectl.run("get", "deployment", "web", "-n", namespace, "-o", "jsonpath={.metadata.resourceVersion}")
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_apply_creates_configures_and_then_is_unchanged(
    server: ServerProcess, kubectl: Kubectl, namespace: str, tmp_path: Path
) -> None:
    created = kubectl.run("apply", "-n", namespace, "-f", _manifest(tmp_path))
    assert (created.returncode, created.stdout, created.stderr) == (0, "deployment.apps/web created\n", "")
    changed = kubectl.run("apply", "-n", namespace, "-f", _manifest(tmp_path, replicas=3, sidecar=False,
                                                                    extra_label=", tier: front"))
    assert (changed.returncode, changed.stdout, changed.stderr) == (0, "deployment.apps/web configured\n", "")
    live = json.loads(kubectl.run("get", "deployment", "web", "-n", namespace, "-o", "json").stdout)
    assert live["spec"]["replicas"] == 3
    assert [container["name"] for container in live["spec"]["template"]["spec"]["containers"]] == ["nginx"]
    assert live["metadata"]["labels"] == {"app": "web", "tier": "front"}
    before = _resource_version(kubectl, namespace)
    again = kubectl.run("apply", "-n", namespace, "-f", _manifest(tmp_path, replicas=3, sidecar=False,
                                                                  extra_label=", tier: front"))
    assert (again.returncode, again.stdout) == (0, "deployment.apps/web unchanged\n")
    assert _resource_version(kubectl, namespace) == before


def test_apply_removing_a_label_removes_it(kubectl: Kubectl, namespace: str, tmp_path: Path) -> None:
    assert kubectl.run("apply", "-n", namespace, "-f", _manifest(tmp_path, extra_label=", tier: x")).returncode == 0
    assert kubectl.run("apply", "-n", namespace, "-f", _manifest(tmp_path)).returncode == 0
    labels = kubectl.run("get", "deployment", "web", "-n", namespace, "-o", "jsonpath={.metadata.labels}")
    assert json.loads(labels.stdout) == {"app": "web"}


def test_strategic_patch_merges_containers_by_name(kubectl: Kubectl, namespace: str, tmp_path: Path) -> None:
    assert kubectl.run("apply", "-n", namespace, "-f", _manifest(tmp_path)).returncode == 0
    patch = '{"spec":{"template":{"spec":{"containers":[{"name":"log","image":"busybox:1.37"}]}}}}'
    result = kubectl.run("patch", "deployment", "web", "-n", namespace, "--type", "strategic", "-p", patch)
    assert (result.returncode, result.stdout) == (0, "deployment.apps/web patched\n"), result.stderr
    images = kubectl.run("get", "deployment", "web", "-n", namespace, "-o",
                         "jsonpath={.spec.template.spec.containers[*].image}")
    assert images.stdout == "nginx:1.27 busybox:1.37"


def test_strict_validation_rejects_a_typo_and_validate_false_prunes_it(
    kubectl: Kubectl, namespace: str, tmp_path: Path
) -> None:
    manifest = tmp_path / "typo.yaml"
    manifest.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: typo\ndatta:\n  a: b\n")
    rejected = kubectl.run("create", "-n", namespace, "-f", str(manifest))
    assert rejected.returncode == 1
    assert rejected.stderr == (
        f'Error from server (BadRequest): error when creating "{manifest}": ConfigMap in version "v1" cannot be '
        'handled as a ConfigMap: strict decoding error: unknown field "datta"\n'
    )
    assert kubectl.run("get", "configmap", "typo", "-n", namespace).returncode == 1
    accepted = kubectl.run("create", "-n", namespace, "-f", str(manifest), "--validate=false")
    assert (accepted.returncode, accepted.stdout) == (0, "configmap/typo created\n")
    stored = json.loads(kubectl.run("get", "configmap", "typo", "-n", namespace, "-o", "json").stdout)
    assert "datta" not in stored


def test_explain_prints_the_upstream_descriptions(kubectl: Kubectl) -> None:
    result = kubectl.run("explain", "pod.spec.containers.image")
    assert result.returncode == 0, result.stderr
    assert "FIELD: image <string>" in result.stdout
    assert "Container image name." in result.stdout


def test_server_side_apply_creates_then_is_a_no_op(kubectl: Kubectl, namespace: str, tmp_path: Path) -> None:
    manifest = _manifest(tmp_path)
    first = kubectl.run("apply", "--server-side", "-n", namespace, "-f", manifest)
    assert (first.returncode, first.stdout) == (0, "deployment.apps/web serverside-applied\n"), first.stderr
    before = _resource_version(kubectl, namespace)
    second = kubectl.run("apply", "--server-side", "-n", namespace, "-f", manifest)
    assert (second.returncode, second.stdout) == (0, "deployment.apps/web serverside-applied\n"), second.stderr
    assert _resource_version(kubectl, namespace) == before
    live = json.loads(kubectl.run("get", "deployment", "web", "-n", namespace, "-o", "json",
                                  "--show-managed-fields").stdout)
    managers = [(entry["manager"], entry["operation"]) for entry in live["metadata"]["managedFields"]]
    assert managers == [("kubectl", "Apply")]


def test_server_side_apply_conflicts_with_another_manager_until_forced(
    kubectl: Kubectl, namespace: str, tmp_path: Path
) -> None:
    created = kubectl.run("create", "deployment", "web", "--image=nginx:1.27", "--replicas=1", "-n", namespace)
    assert created.returncode == 0, created.stderr
    manifest = _manifest(tmp_path, replicas=3, sidecar=False)
    conflict = kubectl.run("apply", "--server-side", "-n", namespace, "-f", manifest)
    assert conflict.returncode == 1
    assert 'Apply failed with 1 conflict: conflict with "kubectl-create" using apps/v1: .spec.replicas' in (
        conflict.stderr
    )
    forced = kubectl.run("apply", "--server-side", "--force-conflicts", "-n", namespace, "-f", manifest)
    assert (forced.returncode, forced.stdout) == (0, "deployment.apps/web serverside-applied\n"), forced.stderr
    replicas = kubectl.run("get", "deployment", "web", "-n", namespace, "-o", "jsonpath={.spec.replicas}")
    assert replicas.stdout == "3"


def test_diff_shows_a_change_and_nothing_for_the_same_manifest(
    kubectl: Kubectl, namespace: str, tmp_path: Path
) -> None:
    assert kubectl.run("apply", "--server-side", "-n", namespace, "-f", _manifest(tmp_path)).returncode == 0
    same = kubectl.run("diff", "--server-side", "-n", namespace, "-f", _manifest(tmp_path))
    assert (same.returncode, same.stdout) == (0, ""), same.stderr
    changed = kubectl.run("diff", "--server-side", "-n", namespace, "-f", _manifest(tmp_path, replicas=4))
    assert changed.returncode == 1, changed.stderr
    assert "-  replicas: 1" in changed.stdout and "+  replicas: 4" in changed.stdout


def test_edit_through_kube_editor(kubectl: Kubectl, namespace: str, tmp_path: Path) -> None:
    assert kubectl.run("apply", "-n", namespace, "-f", _manifest(tmp_path)).returncode == 0
    editor = tmp_path / "editor.sh"
    editor.write_text('#!/bin/sh\nsed -i "s/nginx:1.27/nginx:1.28/" "$1"\n')
    editor.chmod(0o755)
    result = kubectl.run_with_env({"KUBE_EDITOR": str(editor)}, "edit", "deployment", "web", "-n", namespace)
    assert (result.returncode, result.stdout) == (0, "deployment.apps/web edited\n"), result.stderr
    images = kubectl.run("get", "deployment", "web", "-n", namespace, "-o",
                         "jsonpath={.spec.template.spec.containers[0].image}")
    assert images.stdout == "nginx:1.28"
