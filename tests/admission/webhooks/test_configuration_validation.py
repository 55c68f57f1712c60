"""Mutating/ValidatingWebhookConfiguration defaults and validation, with upstream's messages and field paths."""
from __future__ import annotations

from typing import Any

import pytest

from tests.admission.webhooks.conftest import MUTATING, VALIDATING
from tests.support.resource_app import ResourceApp

URL_FORM = "; desired format: https://host[/path]"
SUBDOMAIN = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and "
             "must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
             "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")


def _hook(**fields: Any) -> dict[str, Any]:
    hook: dict[str, Any] = {
        "name": "hook.example.com", "clientConfig": {"url": "https://hooks.example.com/path"},
        "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}],
        "sideEffects": "None", "admissionReviewVersions": ["v1"],
    }
    for key, value in fields.items():
        if value is None:
            hook.pop(key, None)
        else:
            hook[key] = value
    return hook


def _configuration(path: str, *webhooks: dict[str, Any]) -> dict[str, Any]:
    kind = "MutatingWebhookConfiguration" if path == MUTATING else "ValidatingWebhookConfiguration"
    return {"apiVersion": "admissionregistration.k8s.io/v1", "kind": kind, "metadata": {"name": "config"},
            "webhooks": list(webhooks)}


CASES: list[tuple[str, list[dict[str, Any]], list[tuple[str, str]]]] = [
    ("two-segment-name", [_hook(name="hook.example")],
     [("webhooks[0].name", 'Invalid value: "hook.example": should be a domain with at least three segments '
                           "separated by dots")]),
    ("missing-name", [_hook(name=None)], [("webhooks[0].name", "Required value")]),
    ("bad-name", [_hook(name="Hook.Example.com")],
     [("webhooks[0].name", f'Invalid value: "Hook.Example.com": {SUBDOMAIN}')]),
    ("duplicate-name", [_hook(), _hook()], [("webhooks[1].name", 'Duplicate value: "hook.example.com"')]),
    ("missing-side-effects", [_hook(sideEffects=None)],
     [("webhooks[0].sideEffects", "Required value: must specify one of None, NoneOnDryRun")]),
    ("unknown-side-effects", [_hook(sideEffects="Unknown")],
     [("webhooks[0].sideEffects", 'Unsupported value: "Unknown": supported values: "None", "NoneOnDryRun"')]),
    ("timeout", [_hook(timeoutSeconds=31)],
     [("webhooks[0].timeoutSeconds", "Invalid value: 31: the timeout value must be between 1 and 30 seconds")]),
    ("failure-policy", [_hook(failurePolicy="Maybe")],
     [("webhooks[0].failurePolicy", 'Unsupported value: "Maybe": supported values: "Fail", "Ignore"')]),
    ("match-policy", [_hook(matchPolicy="Close")],
     [("webhooks[0].matchPolicy", 'Unsupported value: "Close": supported values: "Equivalent", "Exact"')]),
    ("unknown-review-version", [_hook(admissionReviewVersions=["v2"])],
     [("webhooks[0].admissionReviewVersions",
       'Invalid value: []string{"v2"}: must include at least one of v1, v1beta1')]),
    ("no-review-version", [_hook(admissionReviewVersions=[])],
     [("webhooks[0].admissionReviewVersions", "Required value: must specify one of v1, v1beta1")]),
    ("duplicate-review-version", [_hook(admissionReviewVersions=["v1", "v1"])],
     [("webhooks[0].admissionReviewVersions[1]", 'Invalid value: "v1": duplicate version')]),
    ("http-url", [_hook(clientConfig={"url": "http://hooks.example.com/"})],
     [("webhooks[0].clientConfig.url", f"Invalid value: \"http\": 'https' is the only allowed URL scheme{URL_FORM}")]),
    ("url-query", [_hook(clientConfig={"url": "https://hooks.example.com/?a=b"})],
     [("webhooks[0].clientConfig.url", 'Invalid value: "a=b": query parameters are not permitted in the URL')]),
    ("url-and-service", [_hook(clientConfig={"url": "https://a.example.com",
                                             "service": {"namespace": "n", "name": "s"}})],
     [("webhooks[0].clientConfig", "Required value: exactly one of url or service is required")]),
    ("service-fields", [_hook(clientConfig={"service": {"port": 0, "path": "/Foo"}})],
     [("webhooks[0].clientConfig.service.name", "Required value: service name is required"),
      ("webhooks[0].clientConfig.service.namespace", "Required value: service namespace is required"),
      ("webhooks[0].clientConfig.service.port",
       "Invalid value: 0: port is not valid: must be between 1 and 65535, inclusive"),
      ("webhooks[0].clientConfig.service.path", f'Invalid value: "/Foo": segment[0]: {SUBDOMAIN}')]),
    ("rule-operations", [_hook(rules=[{"operations": ["*", "CREATE"], "apiGroups": [""], "apiVersions": ["v1"],
                                       "resources": ["pods"]}])],
     [("webhooks[0].rules[0].operations",
       'Invalid value: []admissionregistration.OperationType{"*", "CREATE"}: if \'*\' is present, '
       'must not specify other operations')]),
    ("rule-required", [_hook(rules=[{"operations": [], "apiGroups": [], "apiVersions": [], "resources": []}])],
     [("webhooks[0].rules[0].operations", "Required value"), ("webhooks[0].rules[0].apiGroups", "Required value"),
      ("webhooks[0].rules[0].apiVersions", "Required value"), ("webhooks[0].rules[0].resources", "Required value")]),
    ("rule-resources", [_hook(rules=[{"operations": ["PATCH"], "apiGroups": ["*"], "apiVersions": ["*"],
                                      "resources": ["*", "pods"], "scope": "Everywhere"}])],
     [("webhooks[0].rules[0].operations[0]",
       'Unsupported value: "PATCH": supported values: "*", "CONNECT", "CREATE", "DELETE", "UPDATE"'),
      ("webhooks[0].rules[0].resources", 'Invalid value: []string{"*", "pods"}: if \'*\' is present, must not '
                                         "specify other resources without subresources"),
      ("webhooks[0].rules[0].scope",
       'Unsupported value: "Everywhere": supported values: "*", "Cluster", "Namespaced"')]),
    ("subresource-wildcards", [_hook(rules=[{"operations": ["*"], "apiGroups": [""], "apiVersions": ["v1"],
                                             "resources": ["pods/*", "pods/status"]}])],
     [("webhooks[0].rules[0].resources[1]",
       "Invalid value: \"pods/status\": if 'pods/*' is present, must not specify pods/status")]),
    ("selector", [_hook(namespaceSelector={"matchExpressions": [{"key": "a", "operator": "Near"}]})],
     [("webhooks[0].namespaceSelector.matchExpressions[0].operator",
       'Invalid value: "Near": not a valid selector operator')]),
    ("match-condition-compile", [_hook(matchConditions=[{"name": "c", "expression": "foo == 1"}])],
     [("webhooks[0].matchConditions[0].expression",
       "Invalid value: \"foo == 1\": compilation failed: ERROR: <input>:1:1: undeclared reference to 'foo' "
       "(in container '')\n | foo == 1\n | ^")]),
    ("match-condition-not-bool", [_hook(matchConditions=[{"name": "c", "expression": "object.metadata.name"}])],
     [("webhooks[0].matchConditions[0].expression", 'Invalid value: "object.metadata.name": must evaluate to bool')]),
    ("match-condition-names", [_hook(matchConditions=[{"name": "c", "expression": "true"},
                                                      {"name": "c", "expression": "true"},
                                                      {"name": "", "expression": " "}])],
     [("webhooks[0].matchConditions[1].name", 'Duplicate value: "c"'),
      ("webhooks[0].matchConditions[2].expression", "Required value"),
      ("webhooks[0].matchConditions[2].name", "Required value")]),
]


@pytest.mark.parametrize("path", [VALIDATING, MUTATING], ids=["validating", "mutating"])
@pytest.mark.parametrize(("webhooks", "expected"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
async def test_invalid_configurations_are_refused(app: ResourceApp, path: str, webhooks: list[dict[str, Any]],
                                                  expected: list[tuple[str, str]]) -> None:
    answer = await app.request("POST", path, _configuration(path, *webhooks))
    body = answer.json()
    kind = "MutatingWebhookConfiguration" if path == MUTATING else "ValidatingWebhookConfiguration"
    details = [f"{field}: {text}" for field, text in expected]
    summary = details[0] if len(details) == 1 else "[" + ", ".join(details) + "]"
    assert (answer.status, body["reason"]) == (422, "Invalid")
    assert body["message"] == f'{kind}.admissionregistration.k8s.io "config" is invalid: {summary}'
    assert [(cause["field"], cause["message"]) for cause in body["details"]["causes"]] == [
        (field, text) for field, text in expected]
    assert (await app.request("GET", f"{path}/config")).status == 404


async def test_mutating_reinvocation_policy_is_checked(app: ResourceApp) -> None:
    answer = await app.request("POST", MUTATING, _configuration(MUTATING, _hook(reinvocationPolicy="Always")))
    assert answer.json()["details"]["causes"] == [{
        "reason": "FieldValueNotSupported", "field": "webhooks[0].reinvocationPolicy",
        "message": 'Unsupported value: "Always": supported values: "IfNeeded", "Never"'}]


@pytest.mark.parametrize("path", [VALIDATING, MUTATING], ids=["validating", "mutating"])
async def test_defaults(app: ResourceApp, path: str) -> None:
    service_hook = _hook(name="svc.example.com", clientConfig={"service": {"namespace": "n", "name": "s"}})
    created = await app.request("POST", path, _configuration(path, _hook(), service_hook))
    assert created.status == 201, created.json()
    hook, service = created.json()["webhooks"]
    expected = {
        "name": "hook.example.com", "clientConfig": {"url": "https://hooks.example.com/path"},
        "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"],
                   "scope": "*"}],
        "failurePolicy": "Fail", "matchPolicy": "Equivalent", "namespaceSelector": {}, "objectSelector": {},
        "sideEffects": "None", "timeoutSeconds": 10, "admissionReviewVersions": ["v1"],
    }
    if path == MUTATING:
        expected["reinvocationPolicy"] = "Never"
    assert hook == expected
    assert list(hook) == list(expected)
    assert service["clientConfig"] == {"service": {"namespace": "n", "name": "s", "port": 443}}


async def test_an_update_is_validated(app: ResourceApp) -> None:
    created = await app.request("POST", VALIDATING, _configuration(VALIDATING, _hook()))
    stored = created.json()
    stored["webhooks"][0]["timeoutSeconds"] = 0
    answer = await app.request("PUT", f"{VALIDATING}/config", stored)
    assert answer.json()["details"]["causes"][0]["field"] == "webhooks[0].timeoutSeconds"
