"""APIService validation and defaults through the resource endpoints (in memory), with kube-aggregator's
messages and field paths; bad input stores nothing."""
from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.support.resource_app import ResourceApp, resource_app

APISERVICES = "/apis/apiregistration.k8s.io/v1/apiservices"
CA = base64.b64encode(b"-----BEGIN CERTIFICATE-----").decode()
SUBDOMAIN = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and "
             "must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
             "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
LABEL_1035 = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic "
              "character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for "
              "validation is '[a-z]([-a-z0-9]*[a-z0-9])?')")


@pytest.fixture
async def app() -> AsyncIterator[ResourceApp]:
    async with resource_app() as running:
        yield running


def api_service(name: str = "v1alpha1.wardle.example.com", **spec: Any) -> dict[str, Any]:
    group_version = {"group": "wardle.example.com", "version": "v1alpha1", "groupPriorityMinimum": 1000,
                     "versionPriority": 15,
                     "service": {"namespace": "wardle", "name": "api"}, "caBundle": CA}
    return {"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService", "metadata": {"name": name},
            "spec": {**group_version, **spec}}


async def test_create_defaults_the_service_port_and_drops_the_status(app: ResourceApp) -> None:
    sent = api_service()
    sent["status"] = {"conditions": [{"type": "Available", "status": "True"}]}
    answer = await app.request("POST", APISERVICES, sent)
    assert answer.status == 201, answer.body
    created = answer.json()
    assert created["spec"]["service"] == {"namespace": "wardle", "name": "api", "port": 443}
    assert "status" not in created or created["status"] == {}
    assert "generation" not in created["metadata"]


async def test_core_group_is_named_v1_dot(app: ResourceApp) -> None:
    sent = api_service("v1.", group="", version="v1", service=None, caBundle=None)
    answer = await app.request("POST", APISERVICES, sent)
    assert answer.status == 201, answer.body


CASES = [
    ("name", api_service("v1.other.example.com"),
     [("metadata.name", 'Invalid value: "v1.other.example.com": must be `spec.version+"."+spec.group`: '
                        '"v1alpha1.wardle.example.com"')]),
    ("empty-group", api_service("v2.", group="", version="v2"),
     [("spec.group", "Required value: only v1 may have an empty group and it better be legacy kube")]),
    ("bad-group", api_service("v1alpha1.Wardle", group="Wardle"),
     [("spec.group", f'Invalid value: "Wardle": {SUBDOMAIN}')]),
    ("bad-version", api_service("V1.wardle.example.com", version="V1"),
     [("spec.version", f'Invalid value: "V1": {LABEL_1035}')]),
    ("priorities", api_service(groupPriorityMinimum=0, versionPriority=1001),
     [("spec.groupPriorityMinimum", "Invalid value: 0: must be positive and less than 20000"),
      ("spec.versionPriority", "Invalid value: 1001: must be positive and less than 1000")]),
    ("group-priority-too-high", api_service(groupPriorityMinimum=20001),
     [("spec.groupPriorityMinimum", "Invalid value: 20001: must be positive and less than 20000")]),
    ("local-with-ca", api_service(service=None, caBundle=base64.b64encode(b"12345").decode()),
     [("spec.caBundle", 'Invalid value: "5 bytes": local APIServices may not have a caBundle')]),
    ("local-insecure", api_service(service=None, caBundle=None, insecureSkipTLSVerify=True),
     [("spec.insecureSkipTLSVerify", "Invalid value: true: local APIServices may not have insecureSkipTLSVerify")]),
    ("service-names", api_service(service={"port": 443}),
     [("spec.service.namespace", "Required value"), ("spec.service.name", "Required value")]),
    ("service-port", api_service(service={"namespace": "wardle", "name": "api", "port": 70000}),
     [("spec.service.port", "Invalid value: 70000: port is not valid: must be between 1 and 65535, inclusive")]),
    ("ca-and-insecure", api_service(insecureSkipTLSVerify=True),
     [("spec.insecureSkipTLSVerify", "Invalid value: true: may not be true if caBundle is present")]),
]


@pytest.mark.parametrize(("sent", "expected"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
async def test_invalid_api_services_are_refused(
    app: ResourceApp, sent: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    sent["spec"] = {key: value for key, value in sent["spec"].items() if value is not None}
    answer = await app.request("POST", APISERVICES, sent)
    assert answer.status == 422, answer.body
    status = answer.json()
    name = sent["metadata"]["name"]
    joined = ", ".join(f"{field}: {message}" for field, message in expected)
    body = joined if len(expected) == 1 else f"[{joined}]"
    assert status["reason"] == "Invalid"
    assert status["message"] == f'APIService.apiregistration.k8s.io "{name}" is invalid: {body}'
    assert [cause["field"] for cause in status["details"]["causes"]] == [field for field, _ in expected]
    assert await app.stored_keys("/registry/apiregistration.k8s.io/apiservices/") == []


async def test_update_may_not_move_the_group_away_from_the_name(app: ResourceApp) -> None:
    created = (await app.request("POST", APISERVICES, api_service())).json()
    created["spec"]["group"] = "other.example.com"
    answer = await app.request("PUT", f"{APISERVICES}/v1alpha1.wardle.example.com", created)
    assert answer.status == 422
    assert answer.json()["details"]["causes"][0]["field"] == "metadata.name"
    stored = (await app.request("GET", f"{APISERVICES}/v1alpha1.wardle.example.com")).json()
    assert stored["spec"]["group"] == "wardle.example.com"


async def test_status_conditions_must_have_a_known_status(app: ResourceApp) -> None:
    created = (await app.request("POST", APISERVICES, api_service())).json()
    created["status"] = {"conditions": [{"type": "Available", "status": "Maybe"}]}
    answer = await app.request("PUT", f"{APISERVICES}/v1alpha1.wardle.example.com/status", created)
    assert answer.status == 422
    assert answer.json()["message"] == (
        'APIService.apiregistration.k8s.io "v1alpha1.wardle.example.com" is invalid: status.conditions[0].status: '
        'Unsupported value: "Maybe": supported values: "True", "False", "Unknown"')


async def test_status_subresource_keeps_the_spec(app: ResourceApp) -> None:
    created = (await app.request("POST", APISERVICES, api_service())).json()
    created["status"] = {"conditions": [{"type": "Available", "status": "False", "reason": "MissingEndpoints"}]}
    created["spec"]["versionPriority"] = 99
    answer = await app.request("PUT", f"{APISERVICES}/v1alpha1.wardle.example.com/status", created)
    assert answer.status == 200, answer.body
    assert answer.json()["spec"]["versionPriority"] == 15
    assert answer.json()["status"]["conditions"][0]["reason"] == "MissingEndpoints"
