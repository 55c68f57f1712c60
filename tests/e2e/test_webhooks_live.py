"""Admission webhooks on a live server (SQLite and etcd): a real HTTPS webhook registered by URL and by
Service + Endpoints, seen through kubectl and the official Python client."""
from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes.client.rest import ApiException

from tests.support.kubectl import Kubectl
from tests.support.webhook_server import Reply, WebhookServer, add_label, deny, non_loopback_address, review_answer

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def hooks() -> Iterator[WebhookServer]:
    with WebhookServer(dns_names=("hooks.webhooks.svc",), host=non_loopback_address()) as server:
        yield server


def eventually(check: Callable[[], Any], timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            assert result, f"condition not met within {timeout}s: {result!r}"
            return result
        time.sleep(0.05)


def _webhook(hooks: WebhookServer, name: str, path: str, namespace: str, **fields: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": name, "clientConfig": {"url": hooks.url(path), "caBundle": hooks.ca_bundle},
        "rules": [{"operations": ["CREATE", "UPDATE"], "apiGroups": [""], "apiVersions": ["v1"],
                   "resources": ["configmaps"]}],
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}},
        "sideEffects": "None", "admissionReviewVersions": ["v1"],
    }
    entry.update(fields)
    return entry


class Configurations:
    """Creates webhook configurations for one test and deletes them afterwards."""

    def __init__(self, api: k8s.ApiClient) -> None:
        self.api = k8s.AdmissionregistrationV1Api(api)
        self.created: list[tuple[str, str]] = []

    def mutating(self, *webhooks: dict[str, Any]) -> str:
        name = f"m-{uuid.uuid4().hex[:8]}"
        self.api.create_mutating_webhook_configuration({
            "apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
            "metadata": {"name": name}, "webhooks": list(webhooks)})
        self.created.append(("mutating", name))
        return name

    def validating(self, *webhooks: dict[str, Any]) -> str:
        name = f"v-{uuid.uuid4().hex[:8]}"
        self.api.create_validating_webhook_configuration({
            "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
            "metadata": {"name": name}, "webhooks": list(webhooks)})
        self.created.append(("validating", name))
        return name

    def delete_all(self) -> None:
        for kind, name in self.created:
            if kind == "mutating":
                self.api.delete_mutating_webhook_configuration(name)
            else:
                self.api.delete_validating_webhook_configuration(name)


@pytest.fixture
def configurations(api_client: k8s.ApiClient, hooks: WebhookServer) -> Iterator[Configurations]:
    hooks.reset()
    made = Configurations(api_client)
    yield made
    made.delete_all()


def _config_map(name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": labels or {}},
            "data": {"a": "b"}}


def _create(api_client: k8s.ApiClient, namespace: str, body: dict[str, Any], **options: Any) -> Any:
    return k8s.CoreV1Api(api_client).create_namespaced_config_map(namespace, body, **options)


def _refusal(api_client: k8s.ApiClient, namespace: str, body: dict[str, Any]) -> dict[str, Any] | None:
    """The Status of a refused create, or None when it was admitted (a probe: dry-run only)."""
    try:
        _create(api_client, namespace, body, dry_run="All")
    except ApiException as error:
        status: dict[str, Any] = json.loads(error.body)
        return status
    return None


def test_a_mutating_webhook_adds_a_label_kubectl_sees(api_client: k8s.ApiClient, kubectl: Kubectl,
                                                      namespace: str, hooks: WebhookServer,
                                                      configurations: Configurations) -> None:
    hooks.routes["/label"] = add_label("mutated-by", "webhook")
    configurations.mutating(_webhook(hooks, "label.pilothouse.test", "/label", namespace))
    eventually(lambda: (_create(api_client, namespace, _config_map("probe"), dry_run="All").metadata.labels or {})
               .get("mutated-by") == "webhook")
    created = kubectl.run("create", "configmap", "web", "-n", namespace, "--from-literal=a=b")
    assert created.returncode == 0, created.stderr
    shown = kubectl.run("get", "configmap", "web", "-n", namespace, "-o", "jsonpath={.metadata.labels}")
    assert json.loads(shown.stdout) == {"mutated-by": "webhook"}
    review = hooks.recorded("/label")[-1]
    assert review.request["userInfo"]["username"] == "kubernetes-admin"
    assert review.request["dryRun"] is False
    assert review.request["options"]["fieldManager"] == "kubectl-create"


def test_a_validating_webhook_behind_a_service_denies_through_kubectl(
        api_client: k8s.ApiClient, kubectl: Kubectl, namespace: str, hooks: WebhookServer,
        configurations: Configurations) -> None:
    hooks.routes["/deny"] = deny("configmaps named bad are not allowed")
    core = k8s.CoreV1Api(api_client)
    # The webhook's certificate names hooks.webhooks.svc: the Service lives in namespace `webhooks`.
    core.create_namespace({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "webhooks"}})
    core.create_namespaced_service("webhooks", {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "hooks"},
        "spec": {"ports": [{"name": "https", "port": 443, "targetPort": hooks.port}]}})
    core.create_namespaced_endpoints("webhooks", {
        "apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "hooks"},
        "subsets": [{"addresses": [{"ip": hooks.host}], "ports": [{"name": "https", "port": hooks.port}]}]})
    entry = _webhook(hooks, "deny.pilothouse.test", "/deny", namespace,
                     objectSelector={"matchLabels": {"check": "yes"}})
    entry["clientConfig"] = {"service": {"namespace": "webhooks", "name": "hooks", "path": "/deny"},
                             "caBundle": hooks.ca_bundle}
    configurations.validating(entry)
    status = eventually(lambda: _refusal(api_client, namespace, _config_map("probe", {"check": "yes"})))
    assert status["message"] == ('admission webhook "deny.pilothouse.test" denied the request: configmaps named '
                                 "bad are not allowed")
    assert _refusal(api_client, namespace, _config_map("unchecked")) is None
    manifest = json.dumps(_config_map("bad", {"check": "yes"}))
    refused = kubectl.run("create", "-n", namespace, "-f", "-", stdin=manifest)
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        'Error from server: error when creating "STDIN": admission webhook "deny.pilothouse.test" denied the '
        "request: configmaps named bad are not allowed")
    assert hooks.recorded("/deny")[-1].headers["Host"] == "hooks.webhooks.svc:443"


def test_failure_policies_with_a_webhook_that_is_down_or_slow(api_client: k8s.ApiClient, namespace: str,
                                                               hooks: WebhookServer,
                                                               configurations: Configurations) -> None:
    hooks.routes["/slow"] = lambda recorded: Reply(200, review_answer(recorded), delay=2.5)
    down = _webhook(hooks, "down.pilothouse.test", "/down", namespace, failurePolicy="Ignore")
    down["clientConfig"]["url"] = "https://127.0.0.1:1/down"
    configurations.validating(down, _webhook(hooks, "slow.pilothouse.test", "/slow", namespace, timeoutSeconds=1))
    status = eventually(lambda: _refusal(api_client, namespace, _config_map("probe")))
    assert (status["code"], status["reason"], status["message"]) == (
        500, "InternalError",
        'Internal error occurred: failed calling webhook "slow.pilothouse.test": failed to call webhook: Post '
        f'"{hooks.url("/slow")}?timeout=1s": context deadline exceeded')
    with pytest.raises(ApiException):
        k8s.CoreV1Api(api_client).read_namespaced_config_map("probe", namespace)


def test_a_redirect_is_not_followed_and_ignore_admits(api_client: k8s.ApiClient, namespace: str,
                                                      hooks: WebhookServer, configurations: Configurations) -> None:
    hooks.routes["/redirect"] = lambda recorded: Reply(302, b"", {"Location": hooks.url("/target")})
    hooks.routes["/target"] = deny("followed")
    configurations.validating(_webhook(hooks, "redirect.pilothouse.test", "/redirect", namespace))
    status = eventually(lambda: _refusal(api_client, namespace, _config_map("probe")))
    assert status["message"] == (
        'Internal error occurred: failed calling webhook "redirect.pilothouse.test": failed to call webhook: the '
        "server responded with the status code 302 but did not return more information")
    assert hooks.recorded("/target") == []


def test_warnings_reinvocation_and_dry_run_reach_kubectl(api_client: k8s.ApiClient, kubectl: Kubectl,
                                                          namespace: str, hooks: WebhookServer,
                                                          configurations: Configurations) -> None:
    hooks.routes["/first"] = lambda recorded: review_answer(recorded, warnings=["first webhook saw this"])
    hooks.routes["/second"] = add_label("second", "yes")
    configurations.mutating(
        _webhook(hooks, "first.pilothouse.test", "/first", namespace, reinvocationPolicy="IfNeeded"),
        _webhook(hooks, "second.pilothouse.test", "/second", namespace, sideEffects="NoneOnDryRun"))
    eventually(lambda: (_create(api_client, namespace, _config_map("probe"), dry_run="All").metadata.labels or {})
               .get("second") == "yes")
    before = len(hooks.recorded("/first"))
    created = kubectl.run("create", "configmap", "dry", "-n", namespace, "--dry-run=server", "-o", "name")
    assert created.returncode == 0, created.stderr
    assert "Warning: first webhook saw this" in created.stderr
    first_calls = hooks.recorded("/first")[before:]
    assert len(first_calls) == 2
    assert first_calls[1].request["object"]["metadata"]["labels"] == {"second": "yes"}
    assert all(call.request["dryRun"] is True for call in first_calls)
    missing = kubectl.run("get", "configmap", "dry", "-n", namespace)
    assert missing.returncode == 1
