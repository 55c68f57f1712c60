"""Admission rules (apiserver.resources.admissionregistration.matching_rules), shared by webhook configurations
and ValidatingAdmissionPolicy(Binding): upstream v1.32's validateRuleWithOperations and validateResources."""
from __future__ import annotations

from typing import Any

import pytest

from apiserver.meta.validation import FieldPath
from apiserver.resources.admissionregistration.matching_rules import validate_rule_with_operations

RULE = {"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"], "scope": "*"}


def _messages(**changes: Any) -> list[str]:
    return [error.error_message() for error in validate_rule_with_operations({**RULE, **changes}, FieldPath("rules"))]


@pytest.mark.parametrize(
    ("changes", "messages"),
    [
        ({}, []),
        ({"resources": ["pods", "pods/status", "*/scale"]}, []),
        ({"operations": []}, ["rules.operations: Required value"]),
        ({"operations": ["*", "CREATE"]},
         ['rules.operations: Invalid value: []admissionregistration.OperationType{"*", "CREATE"}: if \'*\' is '
          "present, must not specify other operations"]),
        ({"operations": ["PATCH"]},
         ['rules.operations[0]: Unsupported value: "PATCH": supported values: "*", "CONNECT", "CREATE", "DELETE", '
          '"UPDATE"']),
        ({"apiGroups": ["*", "apps"], "apiVersions": ["v1", ""]},
         ['rules.apiGroups: Invalid value: []string{"*", "apps"}: if \'*\' is present, must not specify other API '
          "groups",
          "rules.apiVersions[1]: Required value"]),
        ({"resources": ["pods/*", "pods/status"]},
         ["rules.resources[1]: Invalid value: \"pods/status\": if 'pods/*' is present, must not specify pods/status"]),
        ({"resources": ["*/status", "pods/status"]},
         ["rules.resources[1]: Invalid value: \"pods/status\": if '*/status' is present, must not specify "
          "pods/status"]),
        ({"resources": ["*/*", "pods"]},
         ['rules.resources: Invalid value: []string{"*/*", "pods"}: if \'*/*\' is present, must not specify other '
          "resources"]),
        ({"resources": ["*", "pods"]},
         ['rules.resources: Invalid value: []string{"*", "pods"}: if \'*\' is present, must not specify other '
          "resources without subresources"]),
        ({"resources": ["pods", "*"]}, []),
        ({"resources": ["", "pods"]}, ["rules.resources[0]: Required value"]),
        ({"scope": "Global"},
         ['rules.scope: Unsupported value: "Global": supported values: "*", "Cluster", "Namespaced"']),
    ],
    ids=["valid", "subresources", "no-operations", "star-and-operation", "unknown-operation", "groups-and-versions",
         "any-subresource", "any-resource", "star-star", "star-and-plain", "plain-then-star", "empty-resource",
         "scope"],
)
def test_rule_errors(changes: dict[str, Any], messages: list[str]) -> None:
    assert _messages(**changes) == messages
