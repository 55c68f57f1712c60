"""kubectl 1.32 against a live server: get with server-side columns, create (JSON and protobuf bodies), label,
annotate, delete, watch, chunking and selectors, on SQLite and on etcd."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from tests.support.kubectl import Kubectl

pytestmark = pytest.mark.slow

AGE = re.compile(r"\b\d+s\b")


def run(kubectl: Kubectl, *args: str) -> str:
    result = kubectl.run(*args)
    assert result.returncode == 0, result.stderr
    return result.stdout


def columns(output: str) -> list[list[str]]:
    """The table kubectl printed, split on runs of spaces, with ages replaced by `<age>`."""
    return [AGE.sub("<age>", line).split() for line in output.splitlines()]


def test_get_namespaces_prints_the_server_columns(kubectl: Kubectl, namespace: str) -> None:
    rows = columns(run(kubectl, "get", "namespaces", "--field-selector", f"metadata.name={namespace}"))
    assert rows == [["NAME", "STATUS", "AGE"], [namespace, "Active", "<age>"]]


def test_the_system_namespaces_exist(kubectl: Kubectl) -> None:
    rows = columns(run(kubectl, "get", "ns", "default", "kube-system", "kube-public", "kube-node-lease"))
    assert rows == [["NAME", "STATUS", "AGE"]] + [
        [name, "Active", "<age>"] for name in ("default", "kube-system", "kube-public", "kube-node-lease")
    ]


def test_create_generators_send_protobuf_and_print_what_they_created(kubectl: Kubectl, namespace: str) -> None:
    commands = [
        (("create", "configmap", "settings", "--from-literal=mode=fast"), "configmap/settings created"),
        (("create", "secret", "generic", "creds", "--from-literal=password=s3cret"), "secret/creds created"),
        (("create", "serviceaccount", "bot"), "serviceaccount/bot created"),
        (("create", "deployment", "web", "--image=nginx"), "deployment.apps/web created"),
        (("create", "role", "reader", "--verb=get", "--resource=pods"),
         "role.rbac.authorization.k8s.io/reader created"),
    ]
    for args, printed in commands:
        assert run(kubectl, "-n", namespace, *args) == printed + "\n"
    rows = columns(run(kubectl, "-n", namespace, "get", "deployments"))
    assert rows == [["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"], ["web", "0/1", "0", "0", "<age>"]]
    secret = json.loads(run(kubectl, "-n", namespace, "get", "secret", "creds", "-o", "json"))
    assert secret["data"] == {"password": "czNjcmV0"}


def test_create_cluster_role_binding(kubectl: Kubectl, namespace: str) -> None:
    name = f"{namespace}-admin"
    printed = run(kubectl, "create", "clusterrolebinding", name, "--clusterrole=cluster-admin",
                  f"--serviceaccount={namespace}:bot")
    assert printed == f"clusterrolebinding.rbac.authorization.k8s.io/{name} created\n"
    binding = json.loads(run(kubectl, "get", "clusterrolebinding", name, "-o", "json"))
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "bot", "namespace": namespace}]
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                  "name": "cluster-admin"}
    assert run(kubectl, "delete", "clusterrolebinding", name) == (
        f'clusterrolebinding.rbac.authorization.k8s.io "{name}" deleted\n'
    )


def test_create_from_a_file_and_read_back_as_yaml_and_json(kubectl: Kubectl, namespace: str, tmp_path: Path) -> None:
    manifest = tmp_path / "cm.yaml"
    manifest.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-file\ndata:\n  a: b\n")
    assert run(kubectl, "-n", namespace, "create", "-f", str(manifest)) == (
        "configmap/from-file created\n"
    )
    again = kubectl.run("-n", namespace, "create", "-f", str(manifest))
    assert again.returncode == 1
    assert again.stderr == (
        f'Error from server (AlreadyExists): error when creating "{manifest}": configmaps "from-file" already exists\n'
    )
    as_yaml = yaml.safe_load(run(kubectl, "-n", namespace, "get", "configmap", "from-file", "-o", "yaml"))
    assert (as_yaml["kind"], as_yaml["data"], as_yaml["metadata"]["namespace"]) == ("ConfigMap", {"a": "b"}, namespace)
    as_json = json.loads(run(kubectl, "-n", namespace, "get", "configmaps", "-o", "json"))
    assert as_json["kind"] == "List"
    # Every namespace holds the root CA bundle too (kube-root-ca.crt), as upstream's do.
    assert [item["metadata"]["name"] for item in as_json["items"]] == ["from-file", "kube-root-ca.crt"]


def test_label_annotate_and_select(kubectl: Kubectl, namespace: str) -> None:
    for name in ("a", "b"):
        run(kubectl, "-n", namespace, "create", "configmap", name)
    assert run(kubectl, "-n", namespace, "label", "configmap", "a", "tier=web") == "configmap/a labeled\n"
    assert run(kubectl, "-n", namespace, "label", "configmap", "a", "tier=web", "--overwrite") == (
        "configmap/a not labeled\n"
    )
    assert run(kubectl, "-n", namespace, "annotate", "configmap", "b", "note=hello") == "configmap/b annotated\n"
    rows = columns(run(kubectl, "-n", namespace, "get", "configmaps", "-l", "tier=web", "--show-labels"))
    assert rows == [["NAME", "DATA", "AGE", "LABELS"], ["a", "0", "<age>", "tier=web"]]
    rows = columns(run(kubectl, "-n", namespace, "get", "configmaps", "--field-selector", "metadata.name=b"))
    assert rows == [["NAME", "DATA", "AGE"], ["b", "0", "<age>"]]
    annotations = json.loads(run(kubectl, "-n", namespace, "get", "configmap", "b", "-o", "json"))["metadata"]
    assert annotations["annotations"] == {"note": "hello"}


def test_get_in_chunks_lists_everything(kubectl: Kubectl, namespace: str) -> None:
    for index in range(5):
        run(kubectl, "-n", namespace, "create", "configmap", f"chunk-{index}")
    rows = columns(run(kubectl, "-n", namespace, "get", "configmaps", "--chunk-size=2"))
    assert [row[0] for row in rows] == ["NAME"] + [f"chunk-{index}" for index in range(5)] + ["kube-root-ca.crt"]


def test_get_across_all_namespaces_shows_the_namespace_column(kubectl: Kubectl, namespace: str) -> None:
    run(kubectl, "-n", namespace, "create", "configmap", "everywhere")
    rows = columns(run(kubectl, "get", "configmaps", "-A", "--field-selector", f"metadata.namespace={namespace}"))
    assert rows == [["NAMESPACE", "NAME", "DATA", "AGE"], [namespace, "everywhere", "0", "<age>"],
                    [namespace, "kube-root-ca.crt", "1", "<age>"]]


def test_delete_and_not_found(kubectl: Kubectl, namespace: str) -> None:
    run(kubectl, "-n", namespace, "create", "configmap", "doomed")
    assert run(kubectl, "-n", namespace, "delete", "configmap", "doomed") == 'configmap "doomed" deleted\n'
    missing = kubectl.run("-n", namespace, "get", "configmap", "doomed")
    assert (missing.returncode, missing.stderr) == (
        1, 'Error from server (NotFound): configmaps "doomed" not found\n'
    )
    empty = kubectl.run("-n", namespace, "get", "configmaps", "-l", "tier=none")
    assert (empty.returncode, empty.stdout, empty.stderr) == (0, "", f"No resources found in {namespace} namespace.\n")


def test_get_watch_prints_each_change(kubectl: Kubectl, namespace: str) -> None:
    run(kubectl, "-n", namespace, "create", "configmap", "existing")
    with kubectl.stream("-n", namespace, "get", "configmaps", "-w", "--output-watch-events") as watching:
        assert columns("\n".join(watching.lines(3))) == [
            ["EVENT", "NAME", "DATA", "AGE"], ["ADDED", "existing", "0", "<age>"],
            ["ADDED", "kube-root-ca.crt", "1", "<age>"],
        ]
        run(kubectl, "-n", namespace, "create", "configmap", "fresh", "--from-literal=k=v")
        assert columns(watching.next_line()) == [["ADDED", "fresh", "1", "<age>"]]
        run(kubectl, "-n", namespace, "label", "configmap", "fresh", "x=y")
        assert columns(watching.next_line()) == [["MODIFIED", "fresh", "1", "<age>"]]
        run(kubectl, "-n", namespace, "delete", "configmap", "fresh")
        assert columns(watching.next_line()) == [["DELETED", "fresh", "1", "<age>"]]


def test_create_namespace_and_delete_it(kubectl: Kubectl, namespace: str) -> None:
    name = f"{namespace}-x"
    assert run(kubectl, "create", "namespace", name) == f"namespace/{name} created\n"
    deleting = kubectl.run("delete", "namespace", name, "--timeout=60s")
    assert (deleting.returncode, deleting.stdout) == (0, f'namespace "{name}" deleted\n')
    missing = kubectl.run("get", "namespace", name)
    assert missing.returncode == 1
    assert missing.stderr == f'Error from server (NotFound): namespaces "{name}" not found\n'
