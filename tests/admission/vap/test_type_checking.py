"""Type checking of policy expressions against the schemas of the matched kinds (the status controller)."""
from __future__ import annotations

from typing import Any

from apiserver.controllers.vap_status import kinds_to_check, policy_status, type_check

DEPLOYMENTS = {"apiGroups": ["apps"], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["deployments"]}


def spec(*validations: dict[str, Any], rules: list[dict[str, Any]] | None = None, **more: Any) -> dict[str, Any]:
    return {"matchConstraints": {"resourceRules": rules or [DEPLOYMENTS]}, "validations": list(validations), **more}


def test_unknown_field_is_a_warning_with_the_kind() -> None:
    warnings = type_check(spec({"expression": "object.spec.replicas > 1"},
                               {"expression": "object.spec.replicass > 1"}))
    assert warnings == [{
        "fieldRef": "spec.validations[1].expression",
        "warning": "apps/v1, Kind=Deployment: ERROR: <input>:1:12: undefined field 'replicass'\n"
                   " | object.spec.replicass > 1\n"
                   " | ...........^",
    }]


def test_message_expressions_are_checked_too() -> None:
    warnings = type_check(spec({"expression": "true", "messageExpression": "object.metadata.name + 1"}))
    assert [warning["fieldRef"] for warning in warnings] == ["spec.validations[0].messageExpression"]
    assert warnings[0]["warning"].startswith(
        "apps/v1, Kind=Deployment: ERROR: <input>:1:22: found no matching overload for '_+_' applied to "
        "'(string, int)'")


def test_each_kind_is_checked() -> None:
    rules = [{**DEPLOYMENTS, "resources": ["deployments", "replicasets"]},
             {"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["configmaps"]}]
    assert kinds_to_check(spec(rules=rules)) == [("", "v1", "ConfigMap"), ("apps", "v1", "Deployment"),
                                                 ("apps", "v1", "ReplicaSet")]
    warning = type_check(spec({"expression": "object.spec.replicas > 1"}, rules=rules))[0]["warning"]
    assert warning.splitlines()[0] == "/v1, Kind=ConfigMap: ERROR: <input>:1:7: undefined field 'spec'"


def test_wildcard_rules_are_not_checked() -> None:
    rules = [{**DEPLOYMENTS, "resources": ["*"]}]
    assert type_check(spec({"expression": "object.nonsense > 1"}, rules=rules)) == []


def test_params_are_typed_by_the_param_kind() -> None:
    warnings = type_check(spec({"expression": "params.data.max == '1' && params.spec.x == 1"},
                               paramKind={"apiVersion": "v1", "kind": "ConfigMap"}))
    assert warnings[0]["warning"].splitlines()[0] == (
        "apps/v1, Kind=Deployment: ERROR: <input>:1:33: undefined field 'spec'")


def test_status_records_the_generation() -> None:
    policy = {"metadata": {"name": "p", "generation": 3}, "spec": spec({"expression": "true"})}
    assert policy_status(policy) == {"observedGeneration": 3, "typeChecking": {}}
