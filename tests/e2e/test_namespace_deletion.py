"""`kubectl delete namespace` against a live server, on SQLite and on etcd: the namespace controller empties the
namespace, removes its `kubernetes` finalizer, and the namespace goes away."""
from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tests.support.kubectl import Kubectl

pytestmark = pytest.mark.slow

DEPLOYMENT = {
    "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
    "spec": {"selector": {"matchLabels": {"app": "web"}},
             "template": {"metadata": {"labels": {"app": "web"}},
                          "spec": {"containers": [{"name": "web", "image": "nginx"}]}}},
}


def run(kubectl: Kubectl, *args: str, stdin: str | None = None) -> str:
    result = kubectl.run(*args, stdin=stdin)
    assert result.returncode == 0, result.stderr
    return result.stdout


def conditions_when_content_remains(kubectl: Kubectl, name: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        namespace = json.loads(run(kubectl, "get", "namespace", name, "-o", "json"))
        by_type = {condition["type"]: condition for condition in namespace["status"].get("conditions") or []}
        if by_type.get("NamespaceContentRemaining", {}).get("status") == "True":
            return by_type
        assert time.monotonic() < deadline, namespace
        time.sleep(0.1)


def test_kubectl_delete_namespace_waits_until_it_and_its_content_are_gone(kubectl: Kubectl, namespace: str) -> None:
    name = f"{namespace}-gone"
    run(kubectl, "create", "namespace", name)
    run(kubectl, "-n", name, "create", "configmap", "settings", "--from-literal=k=v")
    run(kubectl, "-n", name, "apply", "-f", "-", stdin=json.dumps(DEPLOYMENT))
    assert run(kubectl, "delete", "namespace", name, "--timeout=60s") == f'namespace "{name}" deleted\n'
    missing = kubectl.run("get", "namespace", name)
    assert (missing.returncode, missing.stderr) == (
        1, f'Error from server (NotFound): namespaces "{name}" not found\n')
    leftovers = kubectl.run("-n", name, "get", "configmaps,deployments", "-o", "name")
    assert (leftovers.returncode, leftovers.stdout) == (0, "")


def test_a_terminating_namespace_reports_the_content_that_holds_it(kubectl: Kubectl, namespace: str) -> None:
    name = f"{namespace}-held"
    run(kubectl, "create", "namespace", name)
    held = {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "held", "finalizers": ["example.com/hold"]}}
    run(kubectl, "-n", name, "apply", "-f", "-", stdin=json.dumps(held))
    run(kubectl, "delete", "namespace", name, "--wait=false")
    by_type = conditions_when_content_remains(kubectl, name)
    assert by_type["NamespaceFinalizersRemaining"]["message"] == (
        "Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances")
    run(kubectl, "-n", name, "patch", "configmap", "held", "--type=merge", "-p", '{"metadata":{"finalizers":null}}')
    run(kubectl, "wait", f"namespace/{name}", "--for=delete", "--timeout=30s")
    missing = kubectl.run("get", "namespace", name)
    assert missing.stderr == f'Error from server (NotFound): namespaces "{name}" not found\n'
