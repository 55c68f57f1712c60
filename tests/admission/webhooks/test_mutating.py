"""Mutating webhooks through the endpoints: patches, reinvocation, failure policies, dry-run."""
from __future__ import annotations

from dataclasses import replace

import pytest

from apiserver.admission.interface import AdmissionAttributes, Operation
from apiserver.admission.plugins.webhooks_request import CallError, check_dry_run
from apiserver.meta.errors import BadRequest
from tests.admission.webhooks.conftest import CONFIGMAPS, MUTATING, config_map, configure, webhook
from tests.support.resource_app import ResourceApp
from tests.support.webhook_server import Reply, WebhookServer, add_label, json_patch


async def test_a_mutating_webhook_adds_a_label(app: ResourceApp, hooks: WebhookServer) -> None:
    hooks.routes["/label"] = add_label("mutated", "yes")
    await configure(app, MUTATING, "labeler", webhook(hooks, "labeler.example.com", "/label"))
    created = await app.request("POST", CONFIGMAPS, config_map("one"))
    assert created.status == 201, created.json()
    assert created.json()["metadata"]["labels"] == {"mutated": "yes"}
    stored = await app.request("GET", f"{CONFIGMAPS}/one")
    assert stored.json()["metadata"]["labels"] == {"mutated": "yes"}


async def test_the_review_names_the_request(app: ResourceApp, hooks: WebhookServer) -> None:
    hooks.routes["/label"] = add_label("mutated", "yes")
    await configure(app, MUTATING, "labeler", webhook(hooks, "labeler.example.com", "/label"))
    await app.request("POST", CONFIGMAPS, config_map("one"))
    review = hooks.recorded("/label")[-1].body
    request = review["request"]
    assert review["apiVersion"] == "admission.k8s.io/v1"
    assert request["kind"] == {"group": "", "version": "v1", "kind": "ConfigMap"}
    assert request["resource"] == {"group": "", "version": "v1", "resource": "configmaps"}
    assert request["requestKind"] == request["kind"]
    assert (request["operation"], request["namespace"], request["name"]) == ("CREATE", "default", "one")
    assert request["object"]["data"] == {"a": "b"}
    assert request["oldObject"] is None
    assert request["dryRun"] is False
    assert request["options"] == {"kind": "CreateOptions", "apiVersion": "meta.k8s.io/v1"}


async def test_a_patch_with_an_unknown_field_drops_it(app: ResourceApp, hooks: WebhookServer) -> None:
    hooks.routes["/unknown"] = json_patch([{"op": "add", "path": "/bogus", "value": 1}])
    await configure(app, MUTATING, "bogus", webhook(hooks, "bogus.example.com", "/unknown"))
    created = await app.request("POST", CONFIGMAPS, config_map("one"))
    assert created.status == 201, created.json()
    assert "bogus" not in created.json()


async def test_reinvocation_runs_an_if_needed_webhook_again(app: ResourceApp, hooks: WebhookServer) -> None:
    hooks.routes["/first"] = lambda recorded: {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                                               "response": {"uid": recorded.request["uid"], "allowed": True}}
    hooks.routes["/second"] = add_label("second", "yes")
    await configure(app, MUTATING, "a-first", webhook(hooks, "first.example.com", "/first",
                                                      reinvocationPolicy="IfNeeded"))
    await configure(app, MUTATING, "b-second", webhook(hooks, "second.example.com", "/second"))
    before = len(hooks.recorded("/first"))
    assert (await app.request("POST", CONFIGMAPS, config_map("one"))).status == 201
    calls = hooks.recorded("/first")[before:]
    assert len(calls) == 2
    assert calls[1].request["object"]["metadata"]["labels"] == {"second": "yes"}


async def test_never_reinvoked_without_if_needed(app: ResourceApp, hooks: WebhookServer) -> None:
    hooks.routes["/first"] = lambda recorded: {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                                               "response": {"uid": recorded.request["uid"], "allowed": True}}
    hooks.routes["/second"] = add_label("second", "yes")
    await configure(app, MUTATING, "a-first", webhook(hooks, "first.example.com", "/first"))
    await configure(app, MUTATING, "b-second", webhook(hooks, "second.example.com", "/second"))
    before = len(hooks.recorded("/first"))
    assert (await app.request("POST", CONFIGMAPS, config_map("one"))).status == 201
    assert len(hooks.recorded("/first")) - before == 1


async def test_failure_policy_fail_rejects_when_the_webhook_is_down(app: ResourceApp, hooks: WebhookServer) -> None:
    url = "https://127.0.0.1:1/down"
    entry = webhook(hooks, "down.example.com", "/down")
    entry["clientConfig"]["url"] = url
    await configure(app, MUTATING, "down", entry)
    answer = await app.request("POST", CONFIGMAPS, config_map("one"))
    reason = ('failed calling webhook "down.example.com": failed to call webhook: Post '
              f'"{url}?timeout=10s": dial tcp 127.0.0.1:1: connect: connection refused')
    assert answer.status == 500
    assert answer.json() == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": f"Internal error occurred: {reason}", "reason": "InternalError",
        "details": {"causes": [{"message": reason}]}, "code": 500,
    }
    assert (await app.request("GET", f"{CONFIGMAPS}/one")).status == 404


async def test_failure_policy_ignore_admits_when_the_webhook_is_down(app: ResourceApp, hooks: WebhookServer) -> None:
    entry = webhook(hooks, "down.example.com", "/down", failurePolicy="Ignore")
    entry["clientConfig"]["url"] = "https://127.0.0.1:1/down"
    await configure(app, MUTATING, "down", entry)
    assert (await app.request("POST", CONFIGMAPS, config_map("one"))).status == 201


async def test_a_slow_webhook_times_out(app: ResourceApp, hooks: WebhookServer) -> None:
    hooks.routes["/slow"] = lambda recorded: Reply(200, {}, delay=2.5)
    await configure(app, MUTATING, "slow", webhook(hooks, "slow.example.com", "/slow", timeoutSeconds=1))
    answer = await app.request("POST", CONFIGMAPS, config_map("one"))
    assert answer.status == 500
    assert answer.json()["message"] == (
        'Internal error occurred: failed calling webhook "slow.example.com": failed to call webhook: Post '
        f'"{hooks.url("/slow")}?timeout=1s": context deadline exceeded')


async def test_a_redirect_is_not_followed(app: ResourceApp, hooks: WebhookServer) -> None:
    hooks.routes["/redirect"] = lambda recorded: Reply(302, b"", {"Location": hooks.url("/label")})
    await configure(app, MUTATING, "redirect", webhook(hooks, "redirect.example.com", "/redirect"))
    before = len(hooks.recorded("/label"))
    answer = await app.request("POST", CONFIGMAPS, config_map("one"))
    assert answer.status == 500
    assert answer.json()["message"] == (
        'Internal error occurred: failed calling webhook "redirect.example.com": failed to call webhook: the '
        "server responded with the status code 302 but did not return more information")
    assert len(hooks.recorded("/label")) == before


@pytest.mark.parametrize(
    ("side_effects", "error"),
    [
        ("Unknown", 'admission webhook "effects.example.com" does not support dry run'),
        ("Some", 'admission webhook "effects.example.com" does not support dry run'),
        (None, 'failed calling webhook "effects.example.com": Webhook SideEffects is nil'),
    ],
    ids=["unknown", "some", "nil"],
)
def test_dry_run_refuses_webhooks_with_side_effects(side_effects: str | None, error: str) -> None:
    # v1 configurations cannot hold these classes any more (validation); ones stored before still can.
    attributes = AdmissionAttributes(Operation.CREATE, "", "v1", "configmaps", "ConfigMap", dry_run=True)
    with pytest.raises((BadRequest, CallError)) as caught:
        check_dry_run("effects.example.com", side_effects, attributes)
    assert str(caught.value) == error
    check_dry_run("effects.example.com", side_effects, replace(attributes, dry_run=False))


async def test_dry_run_calls_webhooks_without_side_effects(app: ResourceApp, hooks: WebhookServer) -> None:
    hooks.routes["/label"] = add_label("mutated", "yes")
    await configure(app, MUTATING, "effects", webhook(hooks, "effects.example.com", "/label",
                                                      sideEffects="NoneOnDryRun"))
    answer = await app.request("POST", f"{CONFIGMAPS}?dryRun=All", config_map("one"))
    assert answer.status == 201
    assert answer.json()["metadata"]["labels"] == {"mutated": "yes"}
    request = hooks.recorded("/label")[-1].request
    assert request["dryRun"] is True
    assert request["options"]["dryRun"] == ["All"]
    assert (await app.request("GET", f"{CONFIGMAPS}/one")).status == 404


async def test_a_patch_on_delete_is_refused(app: ResourceApp, hooks: WebhookServer) -> None:
    hooks.routes["/label"] = add_label("mutated", "yes")
    await app.request("POST", CONFIGMAPS, config_map("one"))
    await configure(app, MUTATING, "deleter", webhook(hooks, "deleter.example.com", "/label", rules=[
        {"operations": ["DELETE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["configmaps"]}]))
    answer = await app.request("DELETE", f"{CONFIGMAPS}/one")
    assert answer.status == 500
    assert answer.json()["message"] == (
        'Internal error occurred: admission webhook "deleter.example.com" attempted to modify the object, which '
        "is not supported for this operation")


async def test_a_patched_object_is_validated_again(app: ResourceApp, hooks: WebhookServer) -> None:
    hooks.routes["/bad"] = json_patch([{"op": "add", "path": "/data/bad key", "value": "x"}])
    await configure(app, MUTATING, "bad", webhook(hooks, "bad.example.com", "/bad"))
    answer = await app.request("POST", CONFIGMAPS, config_map("one"))
    assert (answer.status, answer.json()["reason"]) == (422, "Invalid")
    assert [cause["field"] for cause in answer.json()["details"]["causes"]] == ["data[bad key]"]
    assert (await app.request("GET", f"{CONFIGMAPS}/one")).status == 404


async def test_an_update_sends_the_old_object(app: ResourceApp, hooks: WebhookServer) -> None:
    hooks.routes["/label"] = add_label("mutated", "yes")
    await app.request("POST", CONFIGMAPS, config_map("one"))
    await configure(app, MUTATING, "labeler", webhook(hooks, "labeler.example.com", "/label"))
    current = (await app.request("GET", f"{CONFIGMAPS}/one")).json()
    current["data"] = {"a": "changed"}
    updated = await app.request("PUT", f"{CONFIGMAPS}/one", current)
    assert updated.status == 200, updated.json()
    assert updated.json()["metadata"]["labels"] == {"mutated": "yes"}
    request = hooks.recorded("/label")[-1].request
    assert request["operation"] == "UPDATE"
    assert (request["object"]["data"], request["oldObject"]["data"]) == ({"a": "changed"}, {"a": "b"})
    assert request["options"] == {"kind": "UpdateOptions", "apiVersion": "meta.k8s.io/v1"}
