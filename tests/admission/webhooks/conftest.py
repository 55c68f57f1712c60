"""In-memory endpoints with both webhook plugins, and a real HTTPS webhook server."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from apiserver.admission.chain import DEFAULT_PLUGINS
from tests.support.resource_app import ResourceApp, resource_app
from tests.support.webhook_server import WebhookServer

WEBHOOK_PLUGINS = (*DEFAULT_PLUGINS, "MutatingAdmissionWebhook", "ValidatingAdmissionWebhook")
MUTATING = "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations"
VALIDATING = "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations"


@pytest.fixture(scope="module")
def hooks() -> Iterator[WebhookServer]:
    with WebhookServer(dns_names=("hooks.webhooks.svc",)) as server:
        yield server


@pytest.fixture
async def app(hooks: WebhookServer) -> AsyncIterator[ResourceApp]:
    hooks.reset()
    async with resource_app(plugins=WEBHOOK_PLUGINS) as running:
        yield running


def webhook(hooks: WebhookServer, name: str, path: str, **fields: Any) -> dict[str, Any]:
    """A webhook entry for pods (CREATE, UPDATE) at the server's URL, with v1 defaults spelled out."""
    entry: dict[str, Any] = {
        "name": name,
        "clientConfig": {"url": hooks.url(path), "caBundle": hooks.ca_bundle},
        "rules": [{"operations": ["CREATE", "UPDATE"], "apiGroups": [""], "apiVersions": ["v1"],
                   "resources": ["configmaps"]}],
        "sideEffects": "None", "admissionReviewVersions": ["v1"],
    }
    entry.update(fields)
    return entry


async def configure(app: ResourceApp, path: str, name: str, *webhooks: dict[str, Any]) -> None:
    """Create a webhook configuration and wait until admission's cache serves it."""
    kind = "MutatingWebhookConfiguration" if "mutating" in path else "ValidatingWebhookConfiguration"
    body = {"apiVersion": "admissionregistration.k8s.io/v1", "kind": kind, "metadata": {"name": name},
            "webhooks": list(webhooks)}
    answer = await app.request("POST", path, body)
    assert answer.status == 201, answer.json()
    plural = path.rsplit("/", 1)[1]
    store = app.registry.store_for("admissionregistration.k8s.io", "v1", plural)
    assert store is not None
    cache = app.registry.cache_for(store.spec.storage_path)
    assert cache is not None
    async with asyncio.timeout(5):
        while cache.get(store.key("", name)) is None:
            await asyncio.sleep(0.01)


def config_map(name: str, labels: dict[str, str] | None = None, namespace: str = "default") -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "namespace": namespace}
    if labels is not None:
        metadata["labels"] = labels
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": {"a": "b"}}


CONFIGMAPS = "/api/v1/namespaces/default/configmaps"
