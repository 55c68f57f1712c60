"""CustomResourceDefinitions served live (SQLite and etcd), driven by kubectl 1.32: establishing, apply, printer
columns, explain, strict and schema validation, defaulting and pruning, status and scale subresources, two
versions, categories, and deletion of a CRD with its objects."""
from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from tests.support.kubectl import Kubectl
from tests.support.server import ServerProcess

pytestmark = pytest.mark.slow

CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: {plural}.{group}
spec:
  group: {group}
  scope: Namespaced
  names: {{plural: {plural}, singular: {singular}, kind: {kind}, shortNames: [{short}], categories: [all]}}
  versions:
  - name: v1
    served: true
    storage: true
    subresources:
      status: {{}}
      scale: {{specReplicasPath: .spec.replicas, statusReplicasPath: .status.replicas,
               labelSelectorPath: .status.selector}}
    additionalPrinterColumns:
    - {{name: Replicas, type: integer, jsonPath: .spec.replicas}}
    - {{name: Color, type: string, jsonPath: .spec.color}}
    - {{name: Size, type: string, jsonPath: .spec.size, priority: 1}}
    schema:
      openAPIV3Schema:
        type: object
        description: A {singular} of the tests.
        properties:
          spec:
            type: object
            description: What the {singular} should be.
            properties:
              replicas: {{type: integer, minimum: 0, description: How many copies.}}
              color: {{type: string, default: blue, enum: [blue, red]}}
              size: {{type: string}}
          status:
            type: object
            properties:
              replicas: {{type: integer}}
              selector: {{type: string}}
  - name: v1beta1
    served: true
    storage: false
    subresources: {{status: {{}}}}
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
"""
WIDGET = "apiVersion: example.com/v1\nkind: Widget\nmetadata: {{name: {name}}}\nspec: {spec}\n"


def install_crd(kubectl: Kubectl, tmp_path: Path, *, group: str, plural: str, kind: str, short: str,
                list_kind: str = "") -> None:
    manifest = tmp_path / f"{plural}.yaml"
    text = CRD.format(group=group, plural=plural, singular=kind.lower(), kind=kind, short=short)
    if list_kind:
        text = text.replace(f"kind: {kind},", f"kind: {kind}, listKind: {list_kind},")
    manifest.write_text(text)
    applied = kubectl.run("apply", "-f", str(manifest))
    assert applied.returncode == 0, applied.stderr
    waited = kubectl.run("wait", "--for=condition=Established", f"crd/{plural}.{group}", "--timeout=30s")
    assert waited.returncode == 0, waited.stderr


@pytest.fixture(scope="module")
def widgets(server: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    """kubectl against a server that serves widgets.example.com (v1 stored, v1beta1 served too)."""
    home = tmp_path_factory.mktemp("crd-home")
    kubectl = Kubectl(server.kubeconfig, home)
    install_crd(kubectl, home, group="example.com", plural="widgets", kind="Widget", short="wd")
    return kubectl


def apply(kubectl: Kubectl, namespace: str, name: str, spec: str, *options: str) -> tuple[int, str, str]:
    result = kubectl.run("apply", "-n", namespace, *options, "-f", "-", stdin=WIDGET.format(name=name, spec=spec))
    return result.returncode, result.stdout, result.stderr


def get_json(kubectl: Kubectl, *args: str) -> dict[str, object]:
    result = kubectl.run("get", *args, "-o", "json")
    assert result.returncode == 0, result.stderr
    loaded: dict[str, object] = json.loads(result.stdout)
    return loaded


def test_discovery_lists_both_versions_with_the_storage_version_hash(server: ServerProcess, widgets: Kubectl) -> None:
    status, _, body = server.request("GET", "/apis/example.com", client_cert=True)
    assert (status, json.loads(body)) == (200, {
        "kind": "APIGroup", "apiVersion": "v1", "name": "example.com",
        "versions": [{"groupVersion": "example.com/v1", "version": "v1"},
                     {"groupVersion": "example.com/v1beta1", "version": "v1beta1"}],
        "preferredVersion": {"groupVersion": "example.com/v1", "version": "v1"}})
    hashes = []
    for version, subresources in (("v1", ["widgets/status", "widgets/scale"]), ("v1beta1", ["widgets/status"])):
        status, _, body = server.request("GET", f"/apis/example.com/{version}", client_cert=True)
        resources = json.loads(body)["resources"]
        assert [resource["name"] for resource in resources] == ["widgets", *subresources]
        # The discovery controller's fixed verb order, not the installer's sorted one.
        assert resources[0]["verbs"] == ["delete", "deletecollection", "get", "list", "patch", "create", "update",
                                         "watch"]
        hashes.append(resources[0]["storageVersionHash"])
    assert hashes[0] == hashes[1]


def test_the_crd_is_established_with_its_names_accepted(widgets: Kubectl) -> None:
    crd = get_json(widgets, "crd", "widgets.example.com")
    status = crd["status"]
    assert isinstance(status, dict)
    assert status["acceptedNames"] == {"categories": ["all"], "kind": "Widget", "listKind": "WidgetList",
                                       "plural": "widgets", "shortNames": ["wd"], "singular": "widget"}
    assert [(c["type"], c["status"], c["reason"], c["message"]) for c in status["conditions"]] == [
        ("NamesAccepted", "True", "NoConflicts", "no conflicts found"),
        ("Established", "True", "InitialNamesAccepted", "the initial names have been accepted")]
    assert status["storedVersions"] == ["v1"]
    resources = widgets.run("api-resources", "--api-group=example.com", "--no-headers")
    assert resources.returncode == 0, resources.stderr
    assert resources.stdout.split() == ["widgets", "wd", "example.com/v1", "true", "Widget"]


def test_apply_then_get_prints_the_printer_columns(widgets: Kubectl, namespace: str) -> None:
    assert apply(widgets, namespace, "one", "{replicas: 2, size: L}") == (0, "widget.example.com/one created\n", "")
    assert apply(widgets, namespace, "one", "{replicas: 2, size: L}") == (0, "widget.example.com/one unchanged\n", "")
    table = widgets.run("get", "widgets", "-n", namespace)
    assert table.returncode == 0, table.stderr
    # Name, then the CRD's columns; no Age, since the CRD declares columns and none of them is Age.
    assert [line.split() for line in table.stdout.splitlines()] == [["NAME", "REPLICAS", "COLOR"],
                                                                    ["one", "2", "blue"]]
    wide = widgets.run("get", "wd", "one", "-n", namespace, "-o", "wide")
    assert [line.split() for line in wide.stdout.splitlines()] == [["NAME", "REPLICAS", "COLOR", "SIZE"],
                                                                   ["one", "2", "blue", "L"]]
    crds = widgets.run("get", "crd", "widgets.example.com")
    assert crds.stdout.splitlines()[0].split() == ["NAME", "CREATED", "AT"]
    assert re.fullmatch(r"widgets\.example\.com\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", crds.stdout.splitlines()[1])


def test_strict_validation_and_schema_errors_are_upstreams(widgets: Kubectl, namespace: str) -> None:
    assert apply(widgets, namespace, "typo", "{replicas: 1, colour: red}") == (
        1, "", 'Error from server (BadRequest): error when creating "STDIN": Widget in version "v1" cannot be '
               'handled as a Widget: strict decoding error: unknown field "spec.colour"\n')
    code, _, stderr = apply(widgets, namespace, "bad", "{replicas: -1, color: pink}")
    assert code == 1
    assert stderr == (
        'The Widget "bad" is invalid: \n'
        '* spec.color: Unsupported value: "pink": supported values: "blue", "red"\n'
        "* spec.replicas: Invalid value: -1: spec.replicas in body should be greater than or equal to 0\n"
        "* .spec.replicas: Invalid value: -1: should be a non-negative integer\n")
    listed = widgets.run("get", "widgets", "-n", namespace, "-o", "name")
    assert (listed.returncode, listed.stdout) == (0, "")


def test_defaults_are_applied_and_unknown_fields_pruned(widgets: Kubectl, namespace: str) -> None:
    code, stdout, stderr = apply(widgets, namespace, "warned", "{replicas: 1, colour: red}", "--validate=warn")
    assert (code, stdout) == (0, "widget.example.com/warned created\n")
    assert stderr == 'Warning: unknown field "spec.colour"\n'
    stored = get_json(widgets, "widget", "warned", "-n", namespace)
    assert stored["spec"] == {"color": "blue", "replicas": 1}


def test_status_subresource_and_scale(widgets: Kubectl, namespace: str) -> None:
    assert apply(widgets, namespace, "scaled", "{replicas: 1}")[0] == 0
    patched = widgets.run("patch", "widget", "scaled", "-n", namespace, "--subresource=status", "--type=merge",
                          "-p", '{"status":{"replicas":1,"selector":"app=scaled"},"spec":{"replicas":9}}')
    assert (patched.returncode, patched.stdout) == (0, "widget.example.com/scaled patched\n"), patched.stderr
    scaled = widgets.run("scale", "widget/scaled", "-n", namespace, "--replicas=3")
    assert (scaled.returncode, scaled.stdout) == (0, "widget.example.com/scaled scaled\n"), scaled.stderr
    stored = get_json(widgets, "widget", "scaled", "-n", namespace)
    assert stored["spec"] == {"color": "blue", "replicas": 3}
    assert stored["status"] == {"replicas": 1, "selector": "app=scaled"}
    metadata = stored["metadata"]
    assert isinstance(metadata, dict) and metadata["generation"] == 2
    ignored = widgets.run("patch", "widget", "scaled", "-n", namespace, "--type=merge",
                          "-p", '{"status":{"replicas":7}}')
    assert (ignored.returncode, ignored.stdout) == (0, "widget.example.com/scaled patched (no change)\n")


def test_two_versions_read_back_the_same_object(widgets: Kubectl, namespace: str) -> None:
    assert apply(widgets, namespace, "versioned", "{replicas: 4}")[0] == 0
    beta = get_json(widgets, "widgets.v1beta1.example.com", "versioned", "-n", namespace)
    assert beta["apiVersion"] == "example.com/v1beta1"
    assert beta["spec"] == {"color": "blue", "replicas": 4}


def test_get_all_includes_the_category(widgets: Kubectl, namespace: str) -> None:
    assert apply(widgets, namespace, "listed", "{replicas: 1}")[0] == 0
    everything = widgets.run("get", "all", "-n", namespace, "-o", "name")
    assert everything.returncode == 0, everything.stderr
    assert "widget.example.com/listed" in everything.stdout.splitlines()


def test_explain_reads_the_crd_schema(widgets: Kubectl) -> None:
    explained = widgets.run("explain", "widget.spec.replicas")
    assert explained.returncode == 0, explained.stderr
    assert "KIND:       Widget\nVERSION:    v1\n" in explained.stdout
    assert "FIELD: replicas <integer>" in explained.stdout
    assert "How many copies." in explained.stdout


def test_deleting_a_crd_deletes_its_objects_and_its_discovery(
    server: ServerProcess, namespace: str, tmp_path: Path
) -> None:
    kubectl = Kubectl(server.kubeconfig, tmp_path / "home")
    install_crd(kubectl, tmp_path, group="gadgets.example.com", plural="gadgets", kind="Gadget", short="gd")
    gadget = WIDGET.replace("example.com/v1", "gadgets.example.com/v1").replace("Widget", "Gadget")
    created = kubectl.run("apply", "-n", namespace, "-f", "-", stdin=gadget.format(name="g", spec="{replicas: 1}"))
    assert created.returncode == 0, created.stderr
    deleted = kubectl.run("delete", "crd", "gadgets.gadgets.example.com", "--timeout=60s")
    assert (deleted.returncode, deleted.stdout) == (
        0, 'customresourcedefinition.apiextensions.k8s.io "gadgets.gadgets.example.com" deleted\n'), deleted.stderr
    fresh = Kubectl(server.kubeconfig, tmp_path / "fresh-home")
    deadline = time.monotonic() + 15
    while (listed := fresh.run("api-resources", "--api-group=gadgets.example.com", "-o", "name")).stdout:
        assert time.monotonic() < deadline, listed.stdout
        time.sleep(0.1)
    assert listed.returncode == 0, listed.stderr
    missing = fresh.run("get", "gadgets", "-n", namespace)
    assert missing.returncode == 1
    assert missing.stderr == 'error: the server doesn\'t have a resource type "gadgets"\n'
    install_crd(fresh, tmp_path, group="gadgets.example.com", plural="gadgets", kind="Gadget", short="gd")
    again = fresh.run("get", "gadgets", "-n", namespace, "-o", "name")
    assert (again.returncode, again.stdout) == (0, ""), again.stderr


def test_rbac_grants_custom_resources_by_name(widgets: Kubectl, namespace: str) -> None:
    role = widgets.run("create", "role", "widget-reader", "-n", namespace, "--verb=get,list",
                       "--resource=widgets.example.com")
    assert role.returncode == 0, role.stderr
    binding = widgets.run("create", "rolebinding", "widget-reader", "-n", namespace, "--role=widget-reader",
                          "--user=alice")
    assert binding.returncode == 0, binding.stderr
    assert apply(widgets, namespace, "shared", "{replicas: 1}")[0] == 0
    listed = widgets.run("get", "widgets", "-n", namespace, "-o", "name", "--as=alice")
    assert (listed.returncode, listed.stdout) == (0, "widget.example.com/shared\n"), listed.stderr
    refused = widgets.run("delete", "widget", "shared", "-n", namespace, "--as=alice")
    assert refused.returncode == 1
    assert refused.stderr == (
        f'Error from server (Forbidden): widgets.example.com "shared" is forbidden: User "alice" cannot delete '
        f'resource "widgets" in API group "example.com" in the namespace "{namespace}"\n')


def test_a_terminating_crd_keeps_serving_reads_until_its_objects_are_gone(
    server: ServerProcess, namespace: str, tmp_path: Path
) -> None:
    kubectl = Kubectl(server.kubeconfig, tmp_path / "home")
    install_crd(kubectl, tmp_path, group="held.example.com", plural="holds", kind="Hold", short="hd",
                list_kind="HoldCatalog")
    hold = "apiVersion: held.example.com/v1\nkind: Hold\nmetadata: {{name: {name}{extra}}}\nspec: {{replicas: 2}}\n"
    created = kubectl.run("apply", "-n", namespace, "-f", "-",
                          stdin=hold.format(name="kept", extra=", finalizers: [example.com/keep]"))
    assert created.returncode == 0, created.stderr
    deleted = kubectl.run("delete", "crd", "holds.held.example.com", "--wait=false")
    assert deleted.returncode == 0, deleted.stderr
    # The cleanup controller deletes the instance; its finalizer keeps it, and so the CRD, Terminating.
    deadline = time.monotonic() + 30
    while not (kept := kubectl.run("get", "hold", "kept", "-n", namespace, "-o",
                                   "jsonpath={.metadata.deletionTimestamp}")).stdout:
        assert kept.returncode == 0 and time.monotonic() < deadline, kept.stderr
        time.sleep(0.1)
    crd = kubectl.run("get", "crd", "holds.held.example.com", "-o", "custom-columns=NAME:.metadata.name,"
                      'TERMINATING:.status.conditions[?(@.type=="Terminating")].status')
    assert (crd.returncode, crd.stdout.split()) == (0, ["NAME", "TERMINATING", "holds.held.example.com", "True"])
    listed = kubectl.run("get", "holds", "-n", namespace)
    assert listed.returncode == 0, listed.stderr
    assert [line.split()[:3] for line in listed.stdout.splitlines()] == [["NAME", "REPLICAS", "COLOR"],
                                                                        ["kept", "2", "blue"]]
    status, _, body = server.request("GET", f"/apis/held.example.com/v1/namespaces/{namespace}/holds",
                                     client_cert=True)
    assert (status, json.loads(body)["kind"]) == (200, "HoldCatalog")  # the CRD's own listKind
    status, _, body = server.request("GET", "/apis/held.example.com/v1", client_cert=True)
    assert status == 200
    assert json.loads(body)["resources"][0]["verbs"] == ["delete", "deletecollection", "get", "list", "watch"]
    refused = kubectl.run("create", "-n", namespace, "-f", "-", stdin=hold.format(name="late", extra=""))
    assert refused.returncode == 1
    assert refused.stderr == ('Error from server (MethodNotAllowed): error when creating "STDIN": create not allowed '
                              "while custom resource definition is terminating\n")
    released = kubectl.run("patch", "hold", "kept", "-n", namespace, "--type=merge", "-p",
                           '{"metadata":{"finalizers":null}}')
    assert released.returncode == 0, released.stderr
    while (gone := kubectl.run("get", "crd", "holds.held.example.com")).returncode == 0:
        assert time.monotonic() < deadline + 30, gone.stdout
        time.sleep(0.1)
    assert gone.stderr == ('Error from server (NotFound): customresourcedefinitions.apiextensions.k8s.io '
                           '"holds.held.example.com" not found\n')
