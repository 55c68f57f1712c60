"""ValidatingAdmissionPolicy on a live server (SQLite and etcd): kubectl sees upstream's denial and warnings, the
audit log carries the validation failure, params come from ConfigMaps (by name and by selector), match
conditions and failure policies apply, and the status controller type-checks the expressions."""
from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.rest import ApiException

from tests.e2e.conftest import BACKENDS
from tests.support.kubectl import Kubectl
from tests.support.server import ServerProcess

pytestmark = pytest.mark.slow

AUDIT_POLICY = """apiVersion: audit.k8s.io/v1
kind: Policy
rules:
- level: Metadata
  resources:
  - group: apps
    resources: ["deployments"]
- level: None
"""
GROUP, VERSION = "admissionregistration.k8s.io", "v1"


@pytest.fixture(scope="module", params=BACKENDS)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A live server with an audit log of deployment writes, on SQLite or on the session's etcd."""
    data_dir = tmp_path_factory.mktemp(f"e2e-vap-{request.param}") / "data"
    config_dir = data_dir.parent / "config"
    config_dir.mkdir(parents=True)
    (config_dir / "audit-policy.yaml").write_text(AUDIT_POLICY)
    flags = ["--audit-policy-file", str(config_dir / "audit-policy.yaml"),
             "--audit-log-path", str(config_dir / "audit.log")]
    if request.param == "etcd3":
        etcd = request.getfixturevalue("etcd")
        process = ServerProcess(data_dir, storage_backend="etcd3", etcd_servers=etcd.url,
                                extra_args=[*flags, "--etcd-prefix", f"/e2e-{uuid.uuid4().hex[:8]}"])
    else:
        process = ServerProcess(data_dir, extra_args=flags)
    with process:
        yield process


def eventually(check: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            assert result, f"condition not met within {timeout}s: {result!r}"
            return result
        time.sleep(0.05)


def policy(name: str, namespace: str, validations: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    """A policy on the deployments of one test namespace (the server is shared by the module's tests)."""
    constraints = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}},
                   "resourceRules": [{"apiGroups": ["apps"], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"],
                                      "resources": ["deployments"]}]}
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "ValidatingAdmissionPolicy", "metadata": {"name": name},
            "spec": {"matchConstraints": constraints, "validations": validations, **spec}}


def binding(name: str, policy_name: str, actions: list[str], **spec: Any) -> dict[str, Any]:
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": {"name": name}, "spec": {"policyName": policy_name, "validationActions": actions, **spec}}


def deployment(name: str, replicas: int, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": labels or {}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}}


def install(api_client: k8s.ApiClient, *objects: dict[str, Any]) -> None:
    custom = k8s.CustomObjectsApi(api_client)
    for obj in objects:
        plural = "validatingadmissionpolicies" if obj["kind"] == "ValidatingAdmissionPolicy" else (
            "validatingadmissionpolicybindings")
        custom.create_cluster_custom_object(GROUP, VERSION, plural, obj)


def create(api_client: k8s.ApiClient, namespace: str, body: dict[str, Any],
           dry_run: bool = False) -> ApiException | None:
    """Create a deployment; the refusal, or None when it was admitted."""
    try:
        k8s.AppsV1Api(api_client).create_namespaced_deployment(namespace, body, dry_run="All" if dry_run else None)
    except ApiException as error:
        return error
    return None


def until_denied(api_client: k8s.ApiClient, namespace: str, body: dict[str, Any]) -> ApiException:
    """The policy is effective once admission's caches carry it: probe with dry-run creates."""
    return eventually(lambda: create(api_client, namespace, body, dry_run=True))


def test_kubectl_apply_is_denied_with_upstream_message(api_client: k8s.ApiClient, kubectl: Kubectl,
                                                       namespace: str, tmp_path: Path) -> None:
    name = f"max-replicas-{namespace}"
    install(api_client, policy(name, namespace, [{
        "expression": "object.spec.replicas <= 5",
        "messageExpression": "'replicas must be at most 5, got ' + string(object.spec.replicas)"}]),
        binding(f"{name}-binding", name, ["Deny"]))
    until_denied(api_client, namespace, deployment("probe", 9))
    manifest = tmp_path / "web.yaml"
    manifest.write_text(yaml.safe_dump(deployment("web", 10)))
    result = kubectl.run("apply", "-n", namespace, "-f", str(manifest))
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f'The deployments "web" is invalid: : ValidatingAdmissionPolicy \'{name}\' with binding \'{name}-binding\' '
        "denied request: replicas must be at most 5, got 10")
    manifest.write_text(yaml.safe_dump(deployment("web", 3)))
    assert kubectl.run("apply", "-n", namespace, "-f", str(manifest)).returncode == 0


def test_warn_and_audit_actions(api_client: k8s.ApiClient, kubectl: Kubectl, namespace: str,
                                server: ServerProcess, tmp_path: Path) -> None:
    name = f"no-latest-{namespace}"
    install(api_client, policy(name, namespace, [{
        "expression": "object.spec.template.spec.containers.all(c, c.image.contains(':'))",
        "message": "images need a tag"}]), binding(f"{name}-binding", name, ["Warn", "Audit"]))
    manifest = tmp_path / "untagged.yaml"
    manifest.write_text(yaml.safe_dump(deployment("untagged", 1)))
    warning = (f"Warning: Validation failed for ValidatingAdmissionPolicy '{name}' with binding '{name}-binding': "
               "images need a tag")

    def warned() -> bool:
        return warning in kubectl.run("apply", "--dry-run=server", "-n", namespace, "-f", str(manifest)).stderr

    eventually(warned)
    result = kubectl.run("apply", "-n", namespace, "-f", str(manifest))
    assert result.returncode == 0, result.stderr
    assert warning in result.stderr
    log = server.data_dir.parent / "config" / "audit.log"

    def audited() -> dict[str, Any] | None:
        for line in log.read_text().splitlines() if log.exists() else ():
            event = json.loads(line)
            if (event.get("objectRef", {}).get("name") == "untagged" and event.get("stage") == "ResponseComplete"
                    and event.get("verb") == "create" and "dryRun" not in event.get("requestURI", "")):
                return event
        return None

    event = eventually(audited)
    failure = json.loads(event["annotations"]["validation.policy.admission.k8s.io/validation_failure"])
    assert failure == [{"message": "images need a tag", "policy": name, "binding": f"{name}-binding",
                        "expressionIndex": 0, "validationActions": ["Warn", "Audit"]}]


def test_params_from_config_maps_by_name_and_selector(api_client: k8s.ApiClient, namespace: str) -> None:
    core = k8s.CoreV1Api(api_client)
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "limits"}, "data": {"max": "4"}})
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "strict", "labels": {"limit": "yes"}},
                                                  "data": {"max": "2"}})
    name = f"param-replicas-{namespace}"
    install(api_client, policy(name, namespace, [{
        "expression": "object.spec.replicas <= int(params.data.max)",
        "messageExpression": "params.metadata.name + ' allows at most ' + params.data.max"}],
        paramKind={"apiVersion": "v1", "kind": "ConfigMap"}),
        binding(f"{name}-by-name", name, ["Deny"], paramRef={"name": "limits", "parameterNotFoundAction": "Deny"}))
    refused = until_denied(api_client, namespace, deployment("five", 5))
    assert json.loads(refused.body)["message"] == (
        f"deployments.apps \"five\" is forbidden: ValidatingAdmissionPolicy '{name}' with binding "
        f"'{name}-by-name' denied request: limits allows at most 4")
    assert create(api_client, namespace, deployment("three", 3)) is None
    install(api_client, binding(f"{name}-by-selector", name, ["Deny"], paramRef={
        "selector": {"matchLabels": {"limit": "yes"}}, "parameterNotFoundAction": "Allow"}))
    refused = until_denied(api_client, namespace, deployment("three-again", 3))
    assert json.loads(refused.body)["message"].endswith(
        f"with binding '{name}-by-selector' denied request: strict allows at most 2")
    core.delete_namespaced_config_map("limits", namespace)
    refused = eventually(lambda: (error := create(api_client, namespace, deployment("one", 1), dry_run=True))
                         and "no params found" in error.body and error)
    assert json.loads(refused.body)["message"].endswith(
        f"with binding '{name}-by-name' denied request: failed to configure binding: no params found for policy "
        "binding with `Deny` parameterNotFoundAction")


def test_match_conditions_and_failure_policy(api_client: k8s.ApiClient, namespace: str) -> None:
    name = f"labelled-{namespace}"
    install(api_client, policy(name, namespace, [{"expression": "object.metadata.labels.team != ''"}],
                               matchConditions=[{"name": "checked", "expression": "has(object.metadata.labels) && "
                                                 "'checked' in object.metadata.labels"}]),
            binding(f"{name}-binding", name, ["Deny"]))
    refused = until_denied(api_client, namespace, deployment("checked", 1, {"checked": "yes"}))
    assert refused.status == 422
    assert json.loads(refused.body)["message"].endswith(
        "denied request: expression 'object.metadata.labels.team != ''' resulted in error: no such key: team")
    assert create(api_client, namespace, deployment("unchecked", 1)) is None
    custom = k8s.CustomObjectsApi(api_client)
    custom.patch_cluster_custom_object(GROUP, VERSION, "validatingadmissionpolicies", name,
                                       {"spec": {"failurePolicy": "Ignore"}})
    eventually(lambda: create(api_client, namespace, deployment("checked", 1, {"checked": "yes"}), dry_run=True)
               is None)


def test_status_reports_type_checking(api_client: k8s.ApiClient, namespace: str) -> None:
    name = f"typo-{namespace}"
    install(api_client, policy(name, namespace, [{"expression": "object.spec.replicass > 1"}]))
    custom = k8s.CustomObjectsApi(api_client)

    def status() -> dict[str, Any] | None:
        found = custom.get_cluster_custom_object(GROUP, VERSION, "validatingadmissionpolicies", name)
        return found.get("status") if found.get("status", {}).get("observedGeneration") == 1 else None

    assert eventually(status) == {"observedGeneration": 1, "typeChecking": {"expressionWarnings": [{
        "fieldRef": "spec.validations[0].expression",
        "warning": "apps/v1, Kind=Deployment: ERROR: <input>:1:12: undefined field 'replicass'\n"
                   " | object.spec.replicass > 1\n"
                   " | ...........^"}]}}


def impersonating(server: ServerProcess, user: str) -> k8s.ApiClient:
    """The admin's client acting as `user` (Impersonate-User), so admission and RBAC see that user."""
    configuration = k8s.Configuration()
    k8s_config.load_kube_config(config_file=str(server.kubeconfig), client_configuration=configuration)
    return k8s.ApiClient(configuration, header_name="Impersonate-User", header_value=user)


def grant(api_client: k8s.ApiClient, namespace: str, user: str, verbs: list[str]) -> None:
    rbac = k8s.RbacAuthorizationV1Api(api_client)
    rule = {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": verbs}
    rbac.create_namespaced_role(namespace, {"metadata": {"name": f"{user}-deployments"}, "rules": [rule]})
    rbac.create_namespaced_role_binding(namespace, {
        "metadata": {"name": f"{user}-deployments"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": f"{user}-deployments"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}]})


def test_authorizer_request_resource_checks_the_requesting_users_access(api_client: k8s.ApiClient,
                                                                        server: ServerProcess,
                                                                        namespace: str) -> None:
    name = f"updaters-{namespace}"
    install(api_client, policy(name, namespace, [{
        "expression": "authorizer.requestResource.check('update').allowed()",
        "message": "only users who may update deployments may create them"}]),
        binding(f"{name}-binding", name, ["Deny"]))
    grant(api_client, namespace, "alice", ["create", "get"])
    with impersonating(server, "alice") as alice:
        def denied_by_policy() -> ApiException | None:
            error = create(alice, namespace, deployment("web", 1), dry_run=True)
            return error if error is not None and "ValidatingAdmissionPolicy" in str(error.body) else None

        refused = eventually(denied_by_policy)
        assert refused.status == 422
        assert json.loads(refused.body)["message"] == (
            f"deployments.apps \"web\" is forbidden: ValidatingAdmissionPolicy '{name}' with binding "
            f"'{name}-binding' denied request: only users who may update deployments may create them")
        # The admin may update deployments, so the same request is admitted for them.
        assert create(api_client, namespace, deployment("admins", 1)) is None
        k8s.RbacAuthorizationV1Api(api_client).patch_namespaced_role(
            "alice-deployments", namespace, {"rules": [{"apiGroups": ["apps"], "resources": ["deployments"],
                                                        "verbs": ["create", "get", "update"]}]})
        eventually(lambda: create(alice, namespace, deployment("web", 1)) is None)
