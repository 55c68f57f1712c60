"""The webhook rejection and fail-open counters, recorded where upstream's dispatchers record them."""
from __future__ import annotations

from typing import Any

import pytest
from prometheus_client import generate_latest

from apiserver.endpoints.metrics import _AsGoWritesIt
from apiserver.observability.metrics import default_metrics
from tests.admission.webhooks.conftest import CONFIGMAPS, MUTATING, VALIDATING, config_map, configure, webhook
from tests.support.resource_app import ResourceApp
from tests.support.webhook_server import Reply, WebhookServer, allow, deny, json_patch

DOWN_URL = "https://127.0.0.1:1/down"  # nothing listens on port 1


def rejections(name: str, kind: str, error_type: str, code: str, operation: str = "CREATE") -> float:
    labels = {"name": name, "type": kind, "operation": operation, "error_type": error_type, "rejection_code": code}
    return default_metrics().registry.get_sample_value("apiserver_admission_webhook_rejection_count", labels) or 0.0


def fail_opens(name: str, kind: str) -> float:
    return default_metrics().registry.get_sample_value("apiserver_admission_webhook_fail_open_count",
                                                       {"name": name, "type": kind}) or 0.0


def all_rejections(name: str) -> float:
    return sum(sample.value for family in default_metrics().registry.collect() for sample in family.samples
               if family.name == "apiserver_admission_webhook_rejection_count" and sample.labels["name"] == name)


@pytest.mark.parametrize(("path", "kind"), [(VALIDATING, "validating"), (MUTATING, "admit")],
                         ids=["validating", "mutating"])
async def test_a_denial_counts_as_no_error_with_the_webhooks_code(app: ResourceApp, hooks: WebhookServer,
                                                                   path: str, kind: str) -> None:
    name = f"denied-{kind}.example.com"
    hooks.routes["/deny"] = deny("no", 403)
    await configure(app, path, "denier", webhook(hooks, name, "/deny"))
    before = rejections(name, kind, "no_error", "403")
    assert (await app.request("POST", CONFIGMAPS, config_map("one"))).status == 403
    assert rejections(name, kind, "no_error", "403") == before + 1


async def test_a_denial_code_over_600_is_written_as_600(app: ResourceApp, hooks: WebhookServer) -> None:
    name = "huge-code.example.com"
    hooks.routes["/deny"] = deny("no", 999)
    await configure(app, VALIDATING, "denier", webhook(hooks, name, "/deny"))
    before = rejections(name, "validating", "no_error", "600")
    assert (await app.request("POST", CONFIGMAPS, config_map("one"))).status == 999
    assert rejections(name, "validating", "no_error", "600") == before + 1


@pytest.mark.parametrize(("path", "kind"), [(VALIDATING, "validating"), (MUTATING, "admit")],
                         ids=["validating", "mutating"])
async def test_a_failed_call_under_fail_counts_a_calling_webhook_error(app: ResourceApp, hooks: WebhookServer,
                                                                       path: str, kind: str) -> None:
    name = f"boom-{kind}.example.com"
    hooks.routes["/boom"] = lambda recorded: Reply(500, b"kaboom", {"Content-Type": "text/plain"})
    await configure(app, path, "boom", webhook(hooks, name, "/boom"))
    before, opened = rejections(name, kind, "calling_webhook_error", "500"), fail_opens(name, kind)
    assert (await app.request("POST", CONFIGMAPS, config_map("one"))).status == 500
    assert rejections(name, kind, "calling_webhook_error", "500") == before + 1
    assert fail_opens(name, kind) == opened


@pytest.mark.parametrize(("path", "kind"), [(VALIDATING, "validating"), (MUTATING, "admit")],
                         ids=["validating", "mutating"])
async def test_a_failed_call_under_ignore_counts_a_fail_open_and_no_rejection(
        app: ResourceApp, hooks: WebhookServer, path: str, kind: str) -> None:
    name = f"down-{kind}.example.com"
    entry = webhook(hooks, name, "/down", failurePolicy="Ignore")
    entry["clientConfig"]["url"] = DOWN_URL
    await configure(app, path, "down", entry)
    opened, rejected = fail_opens(name, kind), all_rejections(name)
    assert (await app.request("POST", CONFIGMAPS, config_map("one"))).status == 201
    assert fail_opens(name, kind) == opened + 1
    assert all_rejections(name) == rejected


async def test_a_patch_that_fails_to_apply_counts_an_apiserver_internal_error(
        app: ResourceApp, hooks: WebhookServer) -> None:
    name = "bad-patch.example.com"
    hooks.routes["/patch"] = json_patch([{"op": "remove", "path": "/nothing/here"}])
    await configure(app, MUTATING, "bad-patch", webhook(hooks, name, "/patch"))
    before = rejections(name, "admit", "apiserver_internal_error", "0")
    assert (await app.request("POST", CONFIGMAPS, config_map("one"))).status == 500
    assert rejections(name, "admit", "apiserver_internal_error", "0") == before + 1


async def test_an_admitted_call_counts_no_rejection(app: ResourceApp, hooks: WebhookServer) -> None:
    name = "allowed.example.com"
    hooks.routes["/allow"] = allow
    await configure(app, VALIDATING, "allowed", webhook(hooks, name, "/allow"))
    before = all_rejections(name)
    assert (await app.request("POST", CONFIGMAPS, config_map("one"))).status == 201
    assert all_rejections(name) == before


async def test_both_counters_are_exposed_under_upstreams_names_without_a_total_suffix(
        app: ResourceApp, hooks: WebhookServer) -> None:
    hooks.routes["/deny"] = deny("no", 403)
    entry: dict[str, Any] = webhook(hooks, "exposed-down.example.com", "/down", failurePolicy="Ignore")
    entry["clientConfig"]["url"] = DOWN_URL
    await configure(app, VALIDATING, "exposed", entry, webhook(hooks, "exposed.example.com", "/deny"))
    assert (await app.request("POST", CONFIGMAPS, config_map("one"))).status == 403
    text = generate_latest(_AsGoWritesIt(default_metrics().registry)).decode()
    assert "# TYPE apiserver_admission_webhook_rejection_count counter" in text
    assert "# TYPE apiserver_admission_webhook_fail_open_count counter" in text
    assert "apiserver_admission_webhook_rejection_count_total" not in text
    assert 'apiserver_admission_webhook_fail_open_count{name="exposed-down.example.com",type="validating"}' in text
    assert ('apiserver_admission_webhook_rejection_count{error_type="no_error",name="exposed.example.com",'
            'operation="CREATE",rejection_code="403",type="validating"}') in text
