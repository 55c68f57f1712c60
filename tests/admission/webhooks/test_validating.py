"""Validating webhooks through the endpoints: denials, parallel calls, warnings, invalid answers."""
from __future__ import annotations

from typing import Any

import pytest

from apiserver.observability.metrics import default_metrics
from tests.admission.webhooks.conftest import CONFIGMAPS, VALIDATING, config_map, configure, webhook
from tests.support.resource_app import ResourceApp
from tests.support.webhook_server import Reply, WebhookServer, allow, deny, non_loopback_address, review_answer


async def test_a_denial_carries_the_webhooks_message(app: ResourceApp, hooks: WebhookServer) -> None:
    hooks.routes["/deny"] = deny("no configmaps today")
    await configure(app, VALIDATING, "denier", webhook(hooks, "deny.example.com", "/deny"))
    answer = await app.request("POST", CONFIGMAPS, config_map("one"))
    assert answer.status == 400
    assert answer.json() == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": 'admission webhook "deny.example.com" denied the request: no configmaps today', "code": 400,
    }
    assert (await app.request("GET", f"{CONFIGMAPS}/one")).status == 404


@pytest.mark.parametrize(
    ("status", "code", "reason", "message"),
    [
        ({"code": 403, "reason": "Forbidden", "message": "nope"}, 403, "Forbidden",
         'admission webhook "deny.example.com" denied the request: nope'),
        ({"code": 200, "message": "low code"}, 400, None,
         'admission webhook "deny.example.com" denied the request: low code'),
        ({"reason": "OnlyReason"}, 400, "OnlyReason",
         'admission webhook "deny.example.com" denied the request: OnlyReason'),
        ({}, 400, None, 'admission webhook "deny.example.com" denied the request without explanation'),
    ],
    ids=["code-and-reason", "code-below-400", "reason-only", "empty"],
)
async def test_denial_status_shapes(app: ResourceApp, hooks: WebhookServer, status: dict[str, Any], code: int,
                                    reason: str | None, message: str) -> None:
    hooks.routes["/deny"] = lambda recorded: review_answer(recorded, allowed=False, status=status)
    await configure(app, VALIDATING, "denier", webhook(hooks, "deny.example.com", "/deny"))
    answer = await app.request("POST", CONFIGMAPS, config_map("one"))
    body = answer.json()
    assert (answer.status, body["code"], body.get("reason"), body["message"]) == (code, code, reason, message)


async def test_the_first_denial_in_webhook_order_wins(app: ResourceApp, hooks: WebhookServer) -> None:
    hooks.routes["/deny-a"] = deny("first")
    hooks.routes["/deny-b"] = deny("second")
    await configure(app, VALIDATING, "denier", webhook(hooks, "a.example.com", "/deny-a"),
                    webhook(hooks, "b.example.com", "/deny-b"))
    answer = await app.request("POST", CONFIGMAPS, config_map("one"))
    assert answer.json()["message"] == 'admission webhook "a.example.com" denied the request: first'
    assert hooks.recorded("/deny-b")


async def test_warnings_reach_the_client(app: ResourceApp, hooks: WebhookServer) -> None:
    hooks.routes["/warn"] = lambda recorded: review_answer(recorded, warnings=["be careful"])
    await configure(app, VALIDATING, "warner", webhook(hooks, "warn.example.com", "/warn"))
    answer = await app.request("POST", CONFIGMAPS, config_map("one"))
    assert answer.status == 201
    assert answer.headers["warning"] == '299 - "be careful"'


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (lambda recorded: {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                           "response": {"uid": "other", "allowed": True}},
         'expected response.uid="{uid}", got "other"'),
        (lambda recorded: {"response": {"uid": recorded.request["uid"], "allowed": True}},
         "expected webhook response of admission.k8s.io/v1, Kind=AdmissionReview, got /, Kind="),
        (lambda recorded: {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"},
         "webhook response was absent"),
        (lambda recorded: review_answer(recorded, patch="W10=", patchType="JSONPatch"),
         "validating webhook may not return response.patch"),
    ],
    ids=["uid", "kind", "absent", "patch"],
)
async def test_invalid_answers_fail_the_call(app: ResourceApp, hooks: WebhookServer, reply: Any,
                                             reason: str) -> None:
    hooks.routes["/odd"] = reply
    await configure(app, VALIDATING, "odd", webhook(hooks, "odd.example.com", "/odd"))
    answer = await app.request("POST", CONFIGMAPS, config_map("one"))
    uid = hooks.recorded("/odd")[-1].request["uid"]
    assert answer.status == 500
    assert answer.json()["message"] == (
        'Internal error occurred: failed calling webhook "odd.example.com": received invalid webhook response: '
        + reason.replace("{uid}", uid))


async def test_v1beta1_is_used_when_it_is_the_only_version(app: ResourceApp, hooks: WebhookServer) -> None:
    hooks.routes["/beta"] = allow
    await configure(app, VALIDATING, "beta", webhook(hooks, "beta.example.com", "/beta",
                                                     admissionReviewVersions=["v1beta1"]))
    assert (await app.request("POST", CONFIGMAPS, config_map("one"))).status == 201
    assert hooks.recorded("/beta")[-1].body["apiVersion"] == "admission.k8s.io/v1beta1"


async def test_a_service_reference_reaches_its_endpoints(app: ResourceApp) -> None:
    with WebhookServer(dns_names=("hooks.webhooks.svc",), host=non_loopback_address()) as service_hooks:
        service_hooks.routes["/svc"] = deny("from the service")
        await app.request("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                         "metadata": {"name": "webhooks"}})
        service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "hooks", "namespace": "webhooks"},
                   "spec": {"ports": [{"name": "https", "port": 443, "targetPort": 8443}]}}
        assert (await app.request("POST", "/api/v1/namespaces/webhooks/services", service)).status == 201
        endpoints = {"apiVersion": "v1", "kind": "Endpoints",
                     "metadata": {"name": "hooks", "namespace": "webhooks"},
                     "subsets": [{"addresses": [{"ip": service_hooks.host}],
                                  "ports": [{"name": "https", "port": service_hooks.port}]}]}
        created = await app.request("POST", "/api/v1/namespaces/webhooks/endpoints", endpoints)
        assert created.status == 201, created.json()
        entry = webhook(service_hooks, "svc.example.com", "/svc")
        entry["clientConfig"] = {"service": {"namespace": "webhooks", "name": "hooks", "path": "/svc"},
                                 "caBundle": service_hooks.ca_bundle}
        await configure(app, VALIDATING, "svc", entry)
        answer = await app.request("POST", CONFIGMAPS, config_map("one"))
        assert answer.json()["message"] == ('admission webhook "svc.example.com" denied the request: from the '
                                            "service")
        assert service_hooks.recorded("/svc")[-1].headers["Host"] == "hooks.webhooks.svc:443"


async def test_a_missing_service_fails_the_call(app: ResourceApp, hooks: WebhookServer) -> None:
    entry = webhook(hooks, "svc.example.com", "/svc")
    entry["clientConfig"] = {"service": {"namespace": "default", "name": "absent"}, "caBundle": hooks.ca_bundle}
    await configure(app, VALIDATING, "svc", entry)
    answer = await app.request("POST", CONFIGMAPS, config_map("one"))
    # client-go resolves the Service when it dials: the failure is the POST's own error.
    assert answer.json()["message"] == ('Internal error occurred: failed calling webhook "svc.example.com": '
                                        'failed to call webhook: Post "https://absent.default.svc:443?timeout=10s": '
                                        'service "absent" not found')


async def test_webhook_configurations_are_never_sent_to_webhooks(app: ResourceApp, hooks: WebhookServer) -> None:
    hooks.routes["/all"] = deny("everything")
    await configure(app, VALIDATING, "all", webhook(hooks, "all.example.com", "/all", rules=[
        {"operations": ["*"], "apiGroups": ["*"], "apiVersions": ["*"], "resources": ["*"]}]))
    answer = await app.request("DELETE", f"{VALIDATING}/all")
    assert answer.status == 200
    assert hooks.recorded("/all") == []


async def test_a_server_error_text_is_quoted(app: ResourceApp, hooks: WebhookServer) -> None:
    hooks.routes["/boom"] = lambda recorded: Reply(500, b"kaboom", {"Content-Type": "text/plain"})
    await configure(app, VALIDATING, "boom", webhook(hooks, "boom.example.com", "/boom"))
    answer = await app.request("POST", CONFIGMAPS, config_map("one"))
    assert answer.json()["message"] == (
        'Internal error occurred: failed calling webhook "boom.example.com": failed to call webhook: an error on '
        'the server ("kaboom") has prevented the request from succeeding')




async def test_calls_are_counted_in_upstreams_metrics(app: ResourceApp, hooks: WebhookServer) -> None:
    registry = default_metrics().registry
    labels = {"name": "counted.example.com", "type": "validating", "operation": "CREATE"}

    def count(code: str, rejected: str) -> float:
        return registry.get_sample_value("apiserver_admission_webhook_request_total",
                                         {**labels, "code": code, "rejected": rejected}) or 0.0

    hooks.routes["/counted"] = deny("counted", 403)
    await configure(app, VALIDATING, "counted", webhook(hooks, "counted.example.com", "/counted"))
    before = count("403", "true")
    assert (await app.request("POST", CONFIGMAPS, config_map("one"))).status == 403
    assert count("403", "true") == before + 1
    assert registry.get_sample_value("apiserver_admission_webhook_admission_duration_seconds_count",
                                     {**labels, "rejected": "true"})
