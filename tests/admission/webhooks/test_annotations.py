"""Audit annotations of webhook calls: mutation and patch records, failed-open markers, the webhook's own."""
from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from apiserver.admission.plugins.webhooks_mutating import MutatingAdmissionWebhook
from apiserver.admission.plugins.webhooks_validating import ValidatingAdmissionWebhook
from tests.admission.fakes import FakeContext, attributes, pod
from tests.support.webhook_server import WebhookServer, add_label, review_answer

GROUP = "admissionregistration.k8s.io"


@pytest.fixture(scope="module")
def server() -> Iterator[WebhookServer]:
    with WebhookServer() as running:
        yield running


def _configuration(server: WebhookServer, name: str, *hooks: tuple[str, str, dict[str, Any]]) -> dict[str, Any]:
    webhooks = []
    for hook_name, path, fields in hooks:
        webhooks.append({
            "name": hook_name, "clientConfig": {"url": server.url(path), "caBundle": server.ca_bundle},
            "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}],
            "sideEffects": "None", "admissionReviewVersions": ["v1"], **fields})
    return {"metadata": {"name": name, "resourceVersion": "1"}, "webhooks": webhooks}


async def test_mutating_calls_leave_mutation_and_patch_annotations(server: WebhookServer) -> None:
    server.routes["/label"] = add_label("a", "b")
    server.routes["/noop"] = lambda recorded: review_answer(recorded, auditAnnotations={"checked": "yes"})
    context = FakeContext()
    context.add(GROUP, "v1", "mutatingwebhookconfigurations", _configuration(
        server, "config", ("label.example.com", "/label", {}), ("noop.example.com", "/noop", {}),
        ("down.example.com", "/down", {"failurePolicy": "Ignore",
                                       "clientConfig": {"url": "https://127.0.0.1:1/down"}})))
    recorded: dict[str, str] = {}
    request = replace(attributes(pod("p")), annotate=lambda key, value: recorded.__setitem__(key, value))
    await MutatingAdmissionWebhook(context).admit(request)
    assert request.object is not None and request.object["metadata"]["labels"] == {"a": "b"}
    assert json.loads(recorded.pop("mutation.webhook.admission.k8s.io/round_0_index_0")) == {
        "configuration": "config", "webhook": "label.example.com", "mutated": True}
    assert json.loads(recorded.pop("patch.webhook.admission.k8s.io/round_0_index_0")) == {
        "configuration": "config", "webhook": "label.example.com", "patchType": "JSONPatch",
        "patch": [{"op": "add", "path": "/metadata/labels", "value": {"a": "b"}}]}
    assert json.loads(recorded.pop("mutation.webhook.admission.k8s.io/round_0_index_1")) == {
        "configuration": "config", "webhook": "noop.example.com", "mutated": False}
    assert json.loads(recorded.pop("mutation.webhook.admission.k8s.io/round_0_index_2")) == {
        "configuration": "config", "webhook": "down.example.com", "mutated": False}
    assert recorded == {"noop.example.com/checked": "yes",
                        "failed-open.mutation.webhook.admission.k8s.io/round_0_index_2": "down.example.com"}


async def test_validating_failed_open_annotation(server: WebhookServer) -> None:
    context = FakeContext()
    context.add(GROUP, "v1", "validatingwebhookconfigurations", _configuration(
        server, "config", ("down.example.com", "/down", {"failurePolicy": "Ignore",
                                                         "clientConfig": {"url": "https://127.0.0.1:1/down"}})))
    recorded: dict[str, str] = {}
    request = replace(attributes(pod("p")), annotate=lambda key, value: recorded.__setitem__(key, value))
    await ValidatingAdmissionWebhook(context).validate(request)
    assert recorded == {"failed-open.validating.webhook.admission.k8s.io/round_0_index_0": "down.example.com"}
