"""ValidatingAdmissionPolicy and binding objects through the resource endpoints (in memory): v1 defaults, the
status split, and validation with upstream's messages and field paths (v1.32)."""
from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.support.resource_app import ResourceApp, resource_app

GROUP = "/apis/admissionregistration.k8s.io/v1"
POLICIES = f"{GROUP}/validatingadmissionpolicies"
BINDINGS = f"{GROUP}/validatingadmissionpolicybindings"
RULE = {"apiGroups": ["apps"], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"], "resources": ["deployments"]}


@pytest.fixture
async def app() -> AsyncIterator[ResourceApp]:
    async with resource_app() as running:
        yield running


def policy(name: str = "replicas", **spec: Any) -> dict[str, Any]:
    body = {"matchConstraints": {"resourceRules": [copy.deepcopy(RULE)]},
            "validations": [{"expression": "object.spec.replicas <= 5"}]}
    body.update(spec)
    return {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
            "metadata": {"name": name}, "spec": body}


def binding(name: str = "replicas-binding", **spec: Any) -> dict[str, Any]:
    body = {"policyName": "replicas", "validationActions": ["Deny"]}
    body.update(spec)
    return {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": {"name": name}, "spec": body}


async def test_policy_defaults_and_empty_status(app: ResourceApp) -> None:
    sent = policy()
    sent["status"] = {"observedGeneration": 7}
    answer = await app.request("POST", POLICIES, sent)
    assert answer.status == 201, answer.json()
    created = answer.json()
    assert created["spec"]["failurePolicy"] == "Fail"
    constraints = created["spec"]["matchConstraints"]
    assert (constraints["matchPolicy"], constraints["namespaceSelector"], constraints["objectSelector"]) == (
        "Equivalent", {}, {})
    assert constraints["resourceRules"][0]["scope"] == "*"
    assert (created["metadata"]["generation"], created["status"]) == (1, {})


async def test_policy_status_changes_only_through_status(app: ResourceApp) -> None:
    created = (await app.request("POST", POLICIES, policy())).json()
    created["status"] = {"observedGeneration": 1, "typeChecking": {}}
    updated = (await app.request("PUT", f"{POLICIES}/replicas", created)).json()
    assert updated["status"] == {}
    answer = await app.request("PUT", f"{POLICIES}/replicas/status", created)
    assert answer.status == 200
    assert answer.json()["status"] == {"observedGeneration": 1, "typeChecking": {}}
    assert answer.json()["metadata"]["generation"] == 1


async def test_policy_spec_change_bumps_generation(app: ResourceApp) -> None:
    created = (await app.request("POST", POLICIES, policy())).json()
    created["spec"]["failurePolicy"] = "Ignore"
    updated = (await app.request("PUT", f"{POLICIES}/replicas", created)).json()
    assert updated["metadata"]["generation"] == 2


async def test_binding_defaults_match_resources(app: ResourceApp) -> None:
    sent = binding(matchResources={"resourceRules": [copy.deepcopy(RULE)]})
    answer = await app.request("POST", BINDINGS, sent)
    assert answer.status == 201, answer.json()
    resources = answer.json()["spec"]["matchResources"]
    assert (resources["matchPolicy"], resources["namespaceSelector"], resources["objectSelector"]) == (
        "Equivalent", {}, {})
    assert resources["resourceRules"][0]["scope"] == "*"
    assert answer.json()["metadata"]["generation"] == 1


def _rule(**changes: Any) -> dict[str, Any]:
    return {"matchConstraints": {"resourceRules": [{**RULE, **changes}]}}


POLICY_CASES = [
    ({"validations": []}, [
        ("FieldValueRequired", "spec.validations",
         "Required value: validations or auditAnnotations must contain at least one item"),
        ("FieldValueRequired", "spec.auditAnnotations",
         "Required value: validations or auditAnnotations must contain at least one item")]),
    ({"failurePolicy": "Sometimes"}, [
        ("FieldValueNotSupported", "spec.failurePolicy",
         'Unsupported value: "Sometimes": supported values: "Fail", "Ignore"')]),
    ({"matchConstraints": None}, [("FieldValueRequired", "spec.matchConstraints", "Required value")]),
    ({"matchConstraints": {"namespaceSelector": {}}}, [
        ("FieldValueRequired", "spec.matchConstraints.resourceRules", "Required value")]),
    (_rule(operations=[]), [
        ("FieldValueRequired", "spec.matchConstraints.resourceRules[0].operations", "Required value")]),
    (_rule(operations=["*", "CREATE"]), [
        ("FieldValueInvalid", "spec.matchConstraints.resourceRules[0].operations",
         'Invalid value: []admissionregistration.OperationType{"*", "CREATE"}: if \'*\' is present, '
         'must not specify other operations')]),
    (_rule(operations=["PATCH"]), [
        ("FieldValueNotSupported", "spec.matchConstraints.resourceRules[0].operations[0]",
         'Unsupported value: "PATCH": supported values: "*", "CONNECT", "CREATE", "DELETE", "UPDATE"')]),
    (_rule(apiGroups=[], apiVersions=["*", "v1"]), [
        ("FieldValueRequired", "spec.matchConstraints.resourceRules[0].apiGroups", "Required value"),
        ("FieldValueInvalid", "spec.matchConstraints.resourceRules[0].apiVersions",
         'Invalid value: []string{"*", "v1"}: if \'*\' is present, must not specify other API versions')]),
    (_rule(resources=["*/*", "pods"]), [
        ("FieldValueInvalid", "spec.matchConstraints.resourceRules[0].resources",
         'Invalid value: []string{"*/*", "pods"}: if \'*/*\' is present, must not specify other resources')]),
    (_rule(resources=["pods/*", "pods/status"]), [
        ("FieldValueInvalid", "spec.matchConstraints.resourceRules[0].resources[1]",
         'Invalid value: "pods/status": if \'pods/*\' is present, must not specify pods/status')]),
    (_rule(scope="Global"), [
        ("FieldValueNotSupported", "spec.matchConstraints.resourceRules[0].scope",
         'Unsupported value: "Global": supported values: "*", "Cluster", "Namespaced"')]),
    (_rule(resourceNames=["a", "a", "b/c"]), [
        ("FieldValueDuplicate", "spec.matchConstraints.resourceRules[0].resourceNames[1]", 'Duplicate value: "a"'),
        ("FieldValueInvalid", "spec.matchConstraints.resourceRules[0].resourceNames[2]",
         "Invalid value: \"b/c\": may not contain '/'")]),
    ({"paramKind": {"apiVersion": "v1"}}, [("FieldValueRequired", "spec.paramKind.kind", "Required value")]),
    ({"paramKind": {"apiVersion": "a/b/c", "kind": "Config_Map"}}, [
        ("FieldValueInvalid", "spec.paramKind.apiVersion", 'Invalid value: "a/b/c": unexpected GroupVersion string: '
                                                          "a/b/c"),
        ("FieldValueInvalid", "spec.paramKind.kind",
         'Invalid value: "Config_Map": may have mixed case, but should otherwise match: a DNS-1035 label must '
         "consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with "
         "an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is "
         "'[a-z]([-a-z0-9]*[a-z0-9])?')")]),
    ({"validations": [{"expression": "true", "reason": "Teapot", "message": "one\ntwo"}]}, [
        ("FieldValueInvalid", "spec.validations[0].message",
         'Invalid value: "one\\ntwo": message must not contain line breaks'),
        ("FieldValueNotSupported", "spec.validations[0].reason",
         'Unsupported value: "Teapot": supported values: "Forbidden", "Invalid", "RequestEntityTooLarge"')]),
    ({"validations": [{"expression": " ", "messageExpression": " "}]}, [
        ("FieldValueRequired", "spec.validations[0].expression", "Required value: expression is not specified"),
        ("FieldValueInvalid", "spec.validations[0].messageExpression",
         'Invalid value: " ": must be non-empty if specified')]),
    ({"matchConditions": [{"expression": "true"}, {"name": "a", "expression": "true"},
                          {"name": "a", "expression": ""}]}, [
        ("FieldValueRequired", "spec.matchConditions[0].name", "Required value"),
        ("FieldValueRequired", "spec.matchConditions[2].expression", "Required value"),
        ("FieldValueDuplicate", "spec.matchConditions[2].name", 'Duplicate value: "a"')]),
    ({"variables": [{"name": "1x", "expression": "1"}, {"name": "", "expression": ""}]}, [
        ("FieldValueInvalid", "spec.variables[0].name", 'Invalid value: "1x": name is not a valid CEL identifier'),
        ("FieldValueRequired", "spec.variables[1].name", "Required value: name is not specified"),
        ("FieldValueRequired", "spec.variables[1].expression", "Required value: expression is not specified")]),
    ({"auditAnnotations": [{"key": "k", "valueExpression": "'a'"}, {"key": "k", "valueExpression": ""}],
      "validations": []}, [
        ("FieldValueRequired", "spec.auditAnnotations[1].valueExpression",
         "Required value: valueExpression is not specified"),
        ("FieldValueDuplicate", "spec.auditAnnotations[1].key", 'Duplicate value: "k"')]),
]


@pytest.mark.parametrize(("spec", "causes"), POLICY_CASES, ids=[
    "nothing-to-check", "failure-policy", "no-constraints", "no-resource-rules", "no-operations",
    "wildcard-operation", "unknown-operation", "groups-versions", "double-wildcard", "subresource-overlap",
    "scope", "resource-names", "param-kind-required", "param-kind-invalid", "validation-reason-message",
    "blank-expressions", "match-conditions", "variables", "audit-annotations"])
async def test_invalid_policy(app: ResourceApp, spec: dict[str, Any], causes: list[tuple[str, str, str]]) -> None:
    body = policy(**spec)
    body["spec"] = {key: value for key, value in body["spec"].items() if value is not None}
    answer = await app.request("POST", POLICIES, body)
    status = answer.json()
    assert (answer.status, status["reason"]) == (422, "Invalid"), status
    expected = [{"reason": reason, "message": message, "field": field} for reason, field, message in causes]
    assert status["details"]["causes"] == expected
    listed = ", ".join(f"{field}: {message}" for _, field, message in causes)
    summary = listed if len(causes) == 1 else f"[{listed}]"
    assert status["message"] == (
        f'ValidatingAdmissionPolicy.admissionregistration.k8s.io "replicas" is invalid: {summary}')
    assert status["details"] == {"name": "replicas", "group": "admissionregistration.k8s.io",
                                 "kind": "ValidatingAdmissionPolicy", "causes": expected}
    assert not [key for key in await app.stored_keys() if "validatingadmissionpolicies" in key]


BINDING_CASES = [
    ({"policyName": "", "validationActions": []}, [
        ("FieldValueRequired", "spec.policyName", "Required value"),
        ("FieldValueRequired", "spec.validationActions", "Required value: at least one validation action is required"),
    ]),
    ({"policyName": "Bad_Name", "validationActions": ["Deny", "Warn", "Deny", "Log"]}, [
        ("FieldValueInvalid", "spec.policyName",
         'Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric '
         "characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', "
         "regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"),
        ("FieldValueDuplicate", "spec.validationActions[2]", 'Duplicate value: "Deny"'),
        ("FieldValueNotSupported", "spec.validationActions[3]",
         'Unsupported value: "Log": supported values: "Audit", "Deny", "Warn"'),
        ("FieldValueInvalid", "spec.validationActions",
         'Invalid value: []string{"Deny", "Warn", "Deny", "Log"}: must not contain both Deny and Warn (repeating '
         "the same validation failure information in the API response and headers serves no purpose)")]),
    ({"paramRef": {"name": "p", "selector": {}}}, [
        ("FieldValueForbidden", "spec.paramRef.name", "Forbidden: name and selector are mutually exclusive"),
        ("FieldValueForbidden", "spec.paramRef.selector", "Forbidden: name and selector are mutually exclusive"),
        ("FieldValueRequired", "spec.paramRef.parameterNotFoundAction", "Required value")]),
    ({"paramRef": {"parameterNotFoundAction": "Skip"}}, [
        ("FieldValueRequired", "spec.paramRef", "Required value: one of name or selector must be specified"),
        ("FieldValueNotSupported", "spec.paramRef.parameterNotFoundAction",
         'Unsupported value: "Skip": supported values: "Deny", "Allow"')]),
    ({"matchResources": {"matchPolicy": "Fuzzy",
                         "objectSelector": {"matchExpressions": [{"key": "a", "operator": "Near"}]}}}, [
        ("FieldValueNotSupported", "spec.matchResouces.matchPolicy",
         'Unsupported value: "Fuzzy": supported values: "Equivalent", "Exact"'),
        ("FieldValueInvalid", "spec.matchResouces.objectSelector.matchExpressions[0].operator",
         'Invalid value: "Near": not a valid selector operator')]),
]


@pytest.mark.parametrize(("spec", "causes"), BINDING_CASES, ids=[
    "required", "name-and-actions", "param-ref-exclusive", "param-ref-required", "match-resources"])
async def test_invalid_binding(app: ResourceApp, spec: dict[str, Any], causes: list[tuple[str, str, str]]) -> None:
    answer = await app.request("POST", BINDINGS, binding(**spec))
    status = answer.json()
    assert (answer.status, status["reason"]) == (422, "Invalid"), status
    expected = [{"reason": reason, "message": message, "field": field} for reason, field, message in causes]
    assert status["details"]["causes"] == expected
    assert status["message"].startswith(
        'ValidatingAdmissionPolicyBinding.admissionregistration.k8s.io "replicas-binding" is invalid: ')
    assert not [key for key in await app.stored_keys() if "validatingadmissionpolicybindings" in key]


SYNTAX_ERROR = (
    "compilation failed: ERROR: <input>:1:14: Syntax error: mismatched input '<EOF>' expecting {'[', '{', '(', "
    "'.', '-', '!', 'true', 'false', 'null', NUM_FLOAT, NUM_INT, NUM_UINT, STRING, BYTES, IDENTIFIER}\n"
    " | object.foo ==\n | .............^")
NO_PARAMS = ("compilation failed: ERROR: <input>:1:1: undeclared reference to 'params' (in container '')\n"
             " | params.max\n | ^")

EXPRESSION_CASES = [
    ({"validations": [{"expression": "object.foo =="}]}, [
        ("FieldValueInvalid", "spec.validations[0].expression", f'Invalid value: "object.foo ==": {SYNTAX_ERROR}')]),
    ({"validations": [{"expression": "1 + 1", "messageExpression": "42"}]}, [
        ("FieldValueInvalid", "spec.validations[0].expression", 'Invalid value: "1 + 1": must evaluate to bool'),
        ("FieldValueInvalid", "spec.validations[0].messageExpression",
         'Invalid value: "42": must evaluate to string')]),
    ({"validations": [{"expression": "params.max"}]}, [
        ("FieldValueInvalid", "spec.validations[0].expression", f'Invalid value: "params.max": {NO_PARAMS}')]),
    ({"matchConditions": [{"name": "m", "expression": "'yes'"}]}, [
        ("FieldValueInvalid", "spec.matchConditions[0].expression",
         "Invalid value: \"'yes'\": must evaluate to bool")]),
    ({"auditAnnotations": [{"key": "k", "valueExpression": "1"}], "validations": []}, [
        ("FieldValueInvalid", "spec.auditAnnotations[0].valueExpression",
         'Invalid value: "1": must evaluate to one of [string null_type]')]),
    ({"validations": [{"expression": "authorizer.path('/healthz').check('get').allowed()",
                       "messageExpression": "string(authorizer.path('/x').check('get').allowed())"}]}, [
        ("FieldValueInvalid", "spec.validations[0].messageExpression",
         "Invalid value: \"string(authorizer.path('/x').check('get').allowed())\": compilation failed: ERROR: "
         "<input>:1:8: undeclared reference to 'authorizer' (in container '')\n"
         " | string(authorizer.path('/x').check('get').allowed())\n | .......^")]),
]


@pytest.mark.parametrize(("spec", "causes"), EXPRESSION_CASES, ids=[
    "syntax-error", "wrong-types", "params-without-param-kind", "match-condition-type", "audit-value-type",
    "message-expression-without-authorizer"])
async def test_policy_expressions_must_compile(app: ResourceApp, spec: dict[str, Any],
                                               causes: list[tuple[str, str, str]]) -> None:
    answer = await app.request("POST", POLICIES, policy(**spec))
    status = answer.json()
    assert (answer.status, status["reason"]) == (422, "Invalid"), status
    assert status["details"]["causes"] == [
        {"reason": reason, "message": message, "field": field} for reason, field, message in causes]


async def test_policy_with_params_variables_and_authorizer_compiles(app: ResourceApp) -> None:
    body = policy(
        paramKind={"apiVersion": "v1", "kind": "ConfigMap"},
        variables=[{"name": "replicas", "expression": "object.spec.replicas"}],
        matchConditions=[{"name": "not-system", "expression": "request.namespace != 'kube-system'"}],
        validations=[{"expression": "variables.replicas <= int(params.data.max)",
                      "messageExpression": "'at most ' + params.data.max"}],
        auditAnnotations=[{"key": "checked", "valueExpression": "string(variables.replicas)"}],
    )
    answer = await app.request("POST", POLICIES, body)
    assert answer.status == 201, answer.json()


async def test_variables_are_typed_and_declared_in_order(app: ResourceApp) -> None:
    body = policy(variables=[{"name": "first", "expression": "variables.second + 1"},
                             {"name": "second", "expression": "size(object.metadata.name)"}],
                  validations=[{"expression": "variables.second == 'x'"}, {"expression": "variables.third"}])
    causes = (await app.request("POST", POLICIES, body)).json()["details"]["causes"]
    assert causes == [
        {"reason": "FieldValueInvalid", "field": "spec.variables[0].expression",
         "message": 'Invalid value: "variables.second + 1": compilation failed: ERROR: <input>:1:10: undefined '
                    "field 'second'\n | variables.second + 1\n | .........^"},
        {"reason": "FieldValueInvalid", "field": "spec.validations[0].expression",
         "message": "Invalid value: \"variables.second == 'x'\": compilation failed: ERROR: <input>:1:18: found no "
                    "matching overload for '_==_' applied to '(int, string)'\n"
                    " | variables.second == 'x'\n | .................^"},
        {"reason": "FieldValueInvalid", "field": "spec.validations[1].expression",
         "message": 'Invalid value: "variables.third": compilation failed: ERROR: <input>:1:10: undefined field '
                    "'third'\n | variables.third\n | .........^"},
    ]


async def test_match_conditions_do_not_see_variables(app: ResourceApp) -> None:
    body = policy(variables=[{"name": "big", "expression": "object.spec.replicas > 5"}],
                  matchConditions=[{"name": "m", "expression": "variables.big"}])
    causes = (await app.request("POST", POLICIES, body)).json()["details"]["causes"]
    assert causes == [{
        "reason": "FieldValueInvalid", "field": "spec.matchConditions[0].expression",
        "message": 'Invalid value: "variables.big": compilation failed: ERROR: <input>:1:1: undeclared reference '
                   "to 'variables' (in container '')\n | variables.big\n | ^"}]
